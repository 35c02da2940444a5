"""Clinic staff log a visit in one screen: weight, lab panel, doses taken, adherence, adverse events."""

import re
from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from aih_tracker.models import Clinic
from aih_tracker.roles import Role
from monitoring.catalogue import VISIT_PANEL
from monitoring.models import ClinicalParameter, LabResult, ReferenceInterval
from patients.models import Visit, WeightMeasurement
from patients.services import AlreadySaved, LabEntry, MedicineEntry, VisitEntry, log_visit
from regimens.models import AdherenceRecord, AdverseEvent, DoseChange
from tests.factories import CourseFactory, DoseChangeFactory, LabResultFactory, PatientFactory, analyte

pytestmark = pytest.mark.django_db

VISIT_DAY = date(2025, 6, 2)
UNITS = {"bilirubin": "µmol/L", "creatinine": "µmol/L", "wbc": "10*9/L", "neutrophils": "10*9/L",
         "lymphocytes": "10*9/L", "platelets": "10*9/L", "haemoglobin": "g/L", "albumin": "g/L", "igg": "g/L",
         "inr": "{INR}", "sodium": "mmol/L", "tgn": "pmol/8x10^8 RBC", "mmp": "pmol/8x10^8 RBC",
         "tacrolimus": "ng/mL"}  # fmt: skip


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def lab_rows(values: dict[int, dict] | None = None) -> dict:
    """The lab grid as the page posts it: every panel row, blank unless `values` fills it (index -> fields)."""
    data = management("labs", len(VISIT_PANEL), len(VISIT_PANEL))
    for index, code in enumerate(VISIT_PANEL):
        unit = UNITS.get(code, "U/L")
        data |= {f"labs-{index}-analyte": code, f"labs-{index}-unit": unit, f"labs-{index}-range_unit": unit}
    for index, fields in (values or {}).items():
        data |= {f"labs-{index}-{name}": value for name, value in fields.items()}
    return data


ALT, BILIRUBIN = VISIT_PANEL.index("alt"), VISIT_PANEL.index("bilirubin")


def visit_data(labs: dict[int, dict] | None = None, **fields) -> dict:
    data = {
        "visit_date": VISIT_DAY.isoformat(),
        "labs_collected_on": VISIT_DAY.isoformat(),
        "weight_kg": "",
        "ascites": "none",
        "encephalopathy_grade": "0",
        "notes": "",
    }
    data |= lab_rows(labs) | management("meds", 0) | management("events", 1)
    data |= fields
    return data


@pytest.fixture
def staff(client, make_user):
    user = make_user(Role.STAFF)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def patient():
    return PatientFactory(sex="female", date_of_birth=date(1980, 5, 17))


def post(client, patient, data):
    return client.post(f"/patients/{patient.pk}/visits/new/", data)


def nothing_saved():
    return not (
        Visit.objects.exists()
        or LabResult.objects.exists()
        or WeightMeasurement.objects.exists()
        or AdherenceRecord.objects.exists()
        or AdverseEvent.objects.exists()
    )


def test_the_page_shows_the_panel_with_default_units_and_ranges(staff, patient):
    ReferenceInterval.objects.create(clinic=Clinic.default(), analyte=analyte("alt"), sex="female", high=33)
    page = staff.get(f"/patients/{patient.pk}/visits/new/").content.decode()
    for name in ("ALT", "AST", "Total bilirubin", "IgG", "Platelets", "6-TGN", "6-MMP", "Tacrolimus trough"):
        assert f"{name} value" in page
    assert 'name="labs-0-ref_high" value="33"' in page  # the clinic's interval for women
    assert 'name="labs-1-ref_high" value="40"' in page  # AST: typical, no clinic interval
    assert "pre-filled: clinic" in page and "pre-filled: typical" in page
    assert '<option value="mg/dL">mg/dL</option>' in page  # bilirubin's accepted units
    assert "No medicine is running on the visit date" in page  # the empty state


def test_a_visit_with_a_lab_panel_is_stored_in_canonical_units_in_one_go(
    staff, patient, django_capture_on_commit_callbacks
):
    data = visit_data(
        {ALT: {"value": "85"}, BILIRUBIN: {"value": "2", "unit": "mg/dL"}},
        weight_kg="71.5",
        ascites="mild",
        encephalopathy_grade="1",
        jaundice="on",
        notes="Tired; no new symptoms.",
    )
    with (
        mock.patch("monitoring.tasks.evaluate_patient.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post(staff, patient, data)
    assert response.status_code == 302
    visit = Visit.objects.get(patient=patient)
    assert (visit.visit_date, visit.ascites, visit.encephalopathy_grade, visit.jaundice) == (VISIT_DAY, "mild", 1, True)
    assert visit.clinician == staff.user
    assert WeightMeasurement.objects.get(visit=visit).weight_kg == 71.5
    results = {r.analyte.code: r for r in LabResult.objects.filter(visit=visit)}
    assert set(results) == {"alt", "bilirubin"}  # empty rows are "not measured"
    assert results["bilirubin"].value == pytest.approx(34.2)
    assert (results["bilirubin"].value_as_reported, results["bilirubin"].unit_as_reported) == ("2", "mg/dL")
    assert results["alt"].entered_by == staff.user
    assert timezone.localdate(results["alt"].collected_at) == VISIT_DAY
    assert send.called and all(call.args[0] == (patient.pk,) for call in send.call_args_list)
    assert "saved with 2 results" in staff.get(response["Location"]).content.decode()


def test_a_range_left_as_prefilled_is_not_stored_as_the_labs_own(staff, patient):
    post(staff, patient, visit_data({ALT: {"value": "85", "ref_low": "0", "ref_high": "40"}}))
    result = LabResult.objects.get()
    assert (result.ref_low, result.ref_high) == (None, None)  # the engine falls back to the same default, and says so


def test_a_range_typed_from_the_report_is_stored_converted(staff, patient):
    bilirubin = {"value": "2", "unit": "mg/dL", "range_unit": "mg/dL", "ref_low": "0.1", "ref_high": "1.2"}
    post(staff, patient, visit_data({BILIRUBIN: bilirubin}))
    result = LabResult.objects.get()
    assert result.ref_high == pytest.approx(20.52)
    assert result.ref_low == pytest.approx(1.71)


def test_a_range_still_in_the_previous_unit_is_converted_from_that_unit(staff, patient):
    # Without JavaScript the range stays in the unit it was shown in (range_unit), whatever the value's unit.
    bilirubin = {"value": "2", "unit": "mg/dL", "range_unit": "µmol/L", "ref_low": "3", "ref_high": "17"}
    post(staff, patient, visit_data({BILIRUBIN: bilirubin}))
    result = LabResult.objects.get()
    assert (result.ref_low, result.ref_high) == (pytest.approx(3), pytest.approx(17))


def tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("labs", "fields", "error_field", "message"),
    [
        ({ALT: {"value": "-3"}}, {}, "labs-0-value", "ALT cannot be negative."),
        ({ALT: {"value": "25000"}}, {}, "labs-0-value", "outside the plausible range 0–20000 U/L"),
        ({BILIRUBIN: {"value": "2", "ref_low": "30", "ref_high": "10"}}, {}, f"labs-{BILIRUBIN}-ref_high",
         "the upper limit must be above the lower limit"),
        ({ALT: {"value": "40", "unit": "%"}}, {}, "labs-0-unit", "Select a valid choice"),
        ({ALT: {"value": "40"}}, {"visit_date": tomorrow()}, "visit_date", "in the future"),
        ({ALT: {"value": "40"}}, {"labs_collected_on": tomorrow()}, "labs_collected_on", "in the future"),
        ({}, {"visit_date": "1970-01-01"}, "visit_date", "is before the patient"),
        ({}, {"weight_kg": "700"}, "weight_kg", "between 0.5 and 400 kg"),
    ],
)  # fmt: skip
def test_impossible_entries_are_refused_next_to_the_field_and_nothing_is_saved(
    staff, patient, labs, fields, error_field, message
):
    data = visit_data(labs, notes="Typed note kept", **fields)
    response = post(staff, patient, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert nothing_saved()
    start = page.index(f'id="id_{error_field}_error"')
    assert message in page[start : start + 400]
    assert "Typed note kept" in page  # a rejected form keeps everything typed
    for index, row in labs.items():
        assert f'name="labs-{index}-value" value="{row["value"]}"' in page


def test_an_impossible_value_suggests_the_unit_it_would_make_sense_in(staff, patient):
    creatinine = VISIT_PANEL.index("creatinine")
    response = post(staff, patient, visit_data({creatinine: {"value": "80", "unit": "mg/dL"}}))
    page = response.content.decode()
    assert "outside the plausible range" in page
    assert "Did you mean 80 µmol/L?" in page
    assert nothing_saved()


def test_a_likely_unit_slip_warns_and_saves_only_once_confirmed(staff, patient):
    row = {"value": "85", "unit": "mg/dL"}
    response = post(staff, patient, visit_data({BILIRUBIN: row}))
    page = response.content.decode()
    assert nothing_saved()
    assert "Total bilirubin 85 mg/dL is 1453.5 µmol/L: unusual. Was it 85 µmol/L?" in page
    assert "Save Total bilirubin anyway" in page
    assert f'name="labs-{BILIRUBIN}-value" value="85"' in page
    response = post(staff, patient, visit_data({BILIRUBIN: row | {"confirm": "on"}}))
    assert response.status_code == 302
    assert LabResult.objects.get().value == pytest.approx(1453.5)


def test_the_unit_slip_threshold_is_the_clinics_parameter(staff, patient):
    ClinicalParameter.objects.create(
        clinic=Clinic.default(), key="lab_entry_unit_slip_uln_multiple", value=100, reason="Liver unit"
    )
    response = post(staff, patient, visit_data({BILIRUBIN: {"value": "85", "unit": "mg/dL"}}))
    assert response.status_code == 302  # 69 × ULN is not unusual for this clinic


def test_a_probable_duplicate_of_a_stored_result_warns(staff, patient):
    LabResultFactory(
        patient=patient, value=85, collected_at=timezone.make_aware(datetime.combine(VISIT_DAY, datetime.min.time()))
    )
    response = post(staff, patient, visit_data({ALT: {"value": "85"}}))
    page = response.content.decode()
    assert "The same ALT result (85 U/L) is already recorded for 02 Jun 2025: probably a duplicate." in page
    assert LabResult.objects.count() == 1 and not Visit.objects.exists()
    response = post(staff, patient, visit_data({ALT: {"value": "85", "confirm": "on"}}))
    assert response.status_code == 302
    assert LabResult.objects.count() == 2


def test_a_different_value_on_the_same_day_is_not_a_duplicate(staff, patient):
    LabResultFactory(
        patient=patient, value=85, collected_at=timezone.make_aware(datetime.combine(VISIT_DAY, datetime.min.time()))
    )
    assert post(staff, patient, visit_data({ALT: {"value": "86"}})).status_code == 302


def test_the_same_test_twice_in_one_panel_warns(staff, patient):
    data = visit_data({ALT: {"value": "85"}})
    extra = len(VISIT_PANEL)
    data |= management("labs", extra + 1, extra) | {
        f"labs-{extra}-analyte": "alt",
        f"labs-{extra}-value": "85",
        f"labs-{extra}-unit": "U/L",
        f"labs-{extra}-range_unit": "U/L",
    }
    page = post(staff, patient, data).content.decode()
    assert "ALT appears twice in this panel with the same value." in page
    assert nothing_saved()


@pytest.fixture
def on_prednisolone(patient):
    course = CourseFactory(patient=patient, started_on=date(2025, 1, 6))
    DoseChangeFactory(course=course, effective_on=date(2025, 1, 6), dose_mg_per_day=40)
    DoseChangeFactory(course=course, effective_on=date(2025, 5, 1), dose_mg_per_day=20)
    return course


def meds(course, **fields) -> dict:
    return management("meds", 1, 1) | {"meds-0-course": str(course.pk)} | {f"meds-0-{k}": v for k, v in fields.items()}


def test_the_running_course_is_listed_with_its_current_dose(staff, patient, on_prednisolone):
    page = staff.get(f"/patients/{patient.pk}/visits/new/").content.decode()
    assert "Prednisolone" in page and "20 mg/day" in page


def test_confirming_the_dose_adds_no_dose_change_but_records_adherence(staff, patient, on_prednisolone):
    data = visit_data() | meds(
        on_prednisolone, taken="as_prescribed", adherence_method="pill_count", missed_doses="2", lapse_reason="Away"
    )
    assert post(staff, patient, data).status_code == 302
    assert DoseChange.objects.filter(course=on_prednisolone).count() == 2
    record = AdherenceRecord.objects.get()
    assert (record.course, record.method, record.missed_doses, record.lapse_reason) == (
        on_prednisolone,
        "pill_count",
        2,
        "Away",
    )
    assert record.visit == Visit.objects.get() and record.recorded_on == VISIT_DAY


def test_a_different_dose_taken_is_recorded_from_the_visit_date(staff, patient, on_prednisolone):
    data = visit_data() | meds(on_prednisolone, taken="different", dose_taken="15")
    assert post(staff, patient, data).status_code == 302
    change = DoseChange.objects.get(course=on_prednisolone, effective_on=VISIT_DAY)
    assert change.dose_mg_per_day == 15 and change.entered_by == staff.user
    assert "prescribed: 20 mg/day" in change.note


@pytest.mark.parametrize(
    ("fields", "error_field", "message"),
    [
        ({"taken": "different"}, "meds-0-dose_taken", "Give the dose the patient actually takes."),
        ({"taken": "different", "dose_taken": "-5"}, "meds-0-dose_taken", "greater than or equal to 0"),
        ({"missed_doses": "3"}, "meds-0-adherence_method", "Say how adherence was checked"),
        ({"dose_taken": "10"}, "meds-0-taken", "Choose “A different dose”"),
    ],
)
def test_dose_and_adherence_checks(staff, patient, on_prednisolone, fields, error_field, message):
    page = post(staff, patient, visit_data({ALT: {"value": "50"}}) | meds(on_prednisolone, **fields)).content.decode()
    start = page.index(f'id="id_{error_field}_error"')
    assert message in page[start : start + 300]
    assert nothing_saved() and DoseChange.objects.count() == 2


def test_an_adverse_event_is_recorded_with_the_visit(staff, patient, on_prednisolone):
    data = visit_data() | {
        "events-0-kind": "rash",
        "events-0-course": str(on_prednisolone.pk),
        "events-0-onset_on": "2025-05-20",
        "events-0-grade": "2",
        "events-0-description": "Itchy rash on arms",
    }
    assert post(staff, patient, data).status_code == 302
    event = AdverseEvent.objects.get()
    assert (event.kind, event.course, event.grade, event.visit) == ("rash", on_prednisolone, 2, Visit.objects.get())


def test_an_adverse_event_resolved_before_onset_is_refused(staff, patient):
    data = visit_data({ALT: {"value": "50"}}) | {
        "events-0-kind": "nausea",
        "events-0-onset_on": "2025-05-20",
        "events-0-resolved_on": "2025-05-01",
    }
    page = post(staff, patient, data).content.decode()
    assert "This is before the onset." in page
    assert nothing_saved()


def test_a_failed_save_leaves_no_rows_behind(patient, make_user, on_prednisolone):
    """The service refuses the last lab after writing the visit, weight, dose and first lab: all roll back."""
    entry = VisitEntry(
        visit_date=VISIT_DAY,
        ascites="none",
        encephalopathy_grade=0,
        weight_kg=70,
        labs=(LabEntry(analyte("alt"), 85, "U/L"), LabEntry(analyte("sodium"), 900, "mmol/L")),
        medicines=(MedicineEntry(course=on_prednisolone, dose_taken=10, adherence_method="self_report"),),
    )
    with pytest.raises(ValidationError):
        log_visit(patient=patient, user=make_user(Role.STAFF), entry=entry)
    assert nothing_saved()
    assert DoseChange.objects.count() == 2


def test_add_a_test_without_javascript_keeps_what_was_typed(staff, patient):
    data = visit_data({ALT: {"value": "85"}}, add_row="labs", add_analyte="potassium", notes="kept")
    page = post(staff, patient, data).content.decode()
    extra = len(VISIT_PANEL)
    assert nothing_saved()
    assert f'name="labs-{extra}-analyte" value="potassium"' in page
    assert "Potassium value" in page
    assert 'name="labs-0-value" value="85"' in page and "kept" in page


def test_htmx_adds_a_row_for_any_catalogue_analyte(staff, patient):
    response = staff.get(
        f"/patients/{patient.pk}/visits/new/add-lab/?add_analyte=glucose&labs-TOTAL_FORMS=18",
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert 'name="labs-18-analyte" value="glucose"' in page
    assert '<option value="mg/dL">mg/dL</option>' in page
    assert 'name="labs-TOTAL_FORMS" value="19"' in page and 'hx-swap-oob="true"' in page


def lab_row_check(client, patient, index, **fields):
    data = {"row": f"labs-{index}", "labs_collected_on": VISIT_DAY.isoformat()}
    data |= {f"labs-{index}-{name}": value for name, value in fields.items()}
    return client.post(f"/patients/{patient.pk}/visits/new/lab-row/", data, headers={"HX-Request": "true"})


def test_htmx_shows_the_converted_value_as_it_is_typed(staff, patient):
    response = lab_row_check(staff, patient, 4, analyte="bilirubin", value="2", unit="mg/dL", range_unit="mg/dL")
    page = response.content.decode()
    # Only the feedback is swapped, never the inputs being typed in (a slow answer cannot undo typing).
    assert page.lstrip().startswith('<td class="converted" id="lab-row-labs-4-converted"')
    assert "34.2 µmol/L" in page
    assert 'name="labs-4-value"' not in page and 'name="labs-4-ref_high"' not in page
    assert 'id="lab-row-labs-4-messages" hx-swap-oob="true"' in page
    assert not LabResult.objects.exists()


def test_htmx_converts_the_range_when_the_unit_changes(staff, patient):
    page = lab_row_check(
        staff, patient, 4, analyte="bilirubin", value="", unit="mg/dL", range_unit="µmol/L", ref_low="0", ref_high="21"
    ).content.decode()
    assert 'id="lab-row-labs-4-range" hx-swap-oob="true"' in page
    assert 'name="labs-4-ref_high" value="1.228"' in page
    assert 'name="labs-4-range_unit" value="mg/dL"' in page
    assert 'name="labs-4-value"' not in page


def test_htmx_warns_of_a_unit_slip_while_typing(staff, patient):
    page = lab_row_check(
        staff, patient, 4, analyte="bilirubin", value="85", unit="mg/dL", range_unit="mg/dL"
    ).content.decode()
    assert "Was it 85 µmol/L" in page and "Save Total bilirubin anyway" in page


def test_a_slip_into_a_non_canonical_unit_shows_both_units(staff, patient):
    haemoglobin, albumin = VISIT_PANEL.index("haemoglobin"), VISIT_PANEL.index("albumin")
    page = post(
        staff, patient, visit_data({haemoglobin: {"value": "12.5"}, albumin: {"value": "3.5"}})
    ).content.decode()
    assert "Was it 12.5 g/dL (125 g/L)?" in page  # warned: 12.5 g/L is possible, if barely
    assert "Did you mean 3.5 g/dL (35.0 g/L)?" in page  # refused: below albumin's plausible range
    assert nothing_saved()


def test_a_tampered_form_count_is_reported_not_crashed_on(staff, patient):
    data = visit_data({ALT: {"value": "85"}}, add_row="labs", add_analyte="potassium")
    data["labs-TOTAL_FORMS"] = "many"
    assert post(staff, patient, data).status_code == 200
    data.pop("add_row")
    response = post(staff, patient, data)
    assert response.status_code == 200
    assert "ManagementForm data is missing or has been tampered with" in response.content.decode()
    assert nothing_saved()


def test_changing_the_visit_date_lists_the_courses_running_then_and_keeps_answers(staff, patient):
    from tests.factories import drug

    stopped = CourseFactory(patient=patient, started_on=date(2025, 1, 6))
    stopped.stopped_on, stopped.stop_reason = date(2025, 4, 1), "other"
    stopped.save()
    azathioprine = CourseFactory(patient=patient, drug=drug("azathioprine"), started_on=date(2025, 3, 1))
    DoseChangeFactory(course=azathioprine, effective_on=date(2025, 3, 1), dose_mg_per_day=100)
    answers = {"meds-TOTAL_FORMS": "1", "meds-0-course": str(azathioprine.pk), "meds-0-taken": "as_prescribed",
               "meds-0-adherence_method": "pill_count", "meds-0-missed_doses": "1"}  # fmt: skip
    url = f"/patients/{patient.pk}/visits/new/medicines/"
    page = staff.post(url, {"visit_date": "2025-02-01", **answers}, headers={"HX-Request": "true"}).content.decode()
    assert page.lstrip().startswith('<fieldset class="card" id="medicines">')
    assert "Prednisolone" in page and "Azathioprine" not in page
    page = staff.post(url, {"visit_date": "2025-06-02", **answers}, headers={"HX-Request": "true"}).content.decode()
    assert "Azathioprine" in page and "Prednisolone" not in page
    assert "100 mg/day" in page
    assert 'value="as_prescribed" id="id_meds-0-taken_0" checked' in page
    assert '<option value="pill_count" selected>' in page and 'name="meds-0-missed_doses" value="1"' in page


def form_key(page: str) -> str:
    """The one-time key the visit form carries (a hidden field), as a browser would post it back."""
    return re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)


def test_the_same_visit_form_sent_twice_saves_one_visit(staff, patient):
    """A double click or a resend after a timeout must not log the visit, its labs and weight twice."""
    key = form_key(staff.get(f"/patients/{patient.pk}/visits/new/").content.decode())
    data = visit_data({ALT: {"value": "85"}}, weight_kg="71.5", submission_key=key)
    assert post(staff, patient, data).status_code == 302
    again = post(staff, patient, data)
    assert again.status_code == 302
    assert "This visit form was sent twice" in staff.get(again["Location"]).content.decode()
    assert Visit.objects.count() == 1 and LabResult.objects.count() == 1 and WeightMeasurement.objects.count() == 1


def test_a_form_corrected_after_a_rejection_keeps_its_key_and_saves_once(staff, patient):
    key = form_key(staff.get(f"/patients/{patient.pk}/visits/new/").content.decode())
    rejected = post(staff, patient, visit_data({ALT: {"value": "-5"}}, submission_key=key))
    assert rejected.status_code == 200 and nothing_saved()
    assert form_key(rejected.content.decode()) == key
    assert post(staff, patient, visit_data({ALT: {"value": "85"}}, submission_key=key)).status_code == 302
    assert Visit.objects.count() == 1


def test_each_new_visit_form_gets_its_own_key(staff, patient):
    first = form_key(staff.get(f"/patients/{patient.pk}/visits/new/").content.decode())
    second = form_key(staff.get(f"/patients/{patient.pk}/visits/new/").content.decode())
    assert first != second
    assert post(staff, patient, visit_data({ALT: {"value": "85"}}, submission_key=first)).status_code == 302
    data = visit_data({ALT: {"value": "60"}}, submission_key=second, second_visit="on")
    assert post(staff, patient, data).status_code == 302
    assert Visit.objects.count() == 2


def test_back_then_save_again_asks_before_a_second_visit_on_the_same_date(staff, patient):
    """Back reloads the form (no-store), so it comes with a new key: the date catches the repeat."""
    for _ in range(2):
        key = form_key(staff.get(f"/patients/{patient.pk}/visits/new/").content.decode())
        response = post(staff, patient, visit_data(weight_kg="71.5", notes="Well, no complaints.", submission_key=key))
    html = response.content.decode()
    assert response.status_code == 200
    assert "A visit on 2 Jun 2025 was already saved at" in html and "tick this box" in html
    assert "Well, no complaints." in html  # what was typed is kept
    assert Visit.objects.count() == 1 and WeightMeasurement.objects.count() == 1
    # Ticked: a real second visit that day is recorded.
    data = visit_data(weight_kg="71.5", notes="Seen again.", submission_key=form_key(html), second_visit="on")
    assert post(staff, patient, data).status_code == 302
    assert Visit.objects.count() == 2


def test_a_second_save_with_the_same_key_is_refused_by_the_service(patient, make_user):
    user = make_user(Role.STAFF)
    entry = VisitEntry(visit_date=VISIT_DAY, ascites="none", encephalopathy_grade=0, weight_kg=70.0)
    first = log_visit(patient=patient, user=user, entry=entry, submission_key="a" * 32)
    with pytest.raises(AlreadySaved) as again:
        log_visit(patient=patient, user=user, entry=entry, submission_key="a" * 32)
    assert again.value.visit == first
    with pytest.raises(ValidationError, match="already used"):
        log_visit(patient=PatientFactory(), user=user, entry=entry, submission_key="a" * 32)
    assert Visit.objects.count() == 1 and WeightMeasurement.objects.count() == 1
