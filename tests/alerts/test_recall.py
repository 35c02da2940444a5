"""The recall list: bloods due and overdue from the monitoring schedule, contact attempts, CSV export."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from aih_tracker.roles import Role
from monitoring.alerts.recall import schedule_rows
from monitoring.alerts.services import record_recall_contact
from monitoring.models import RecallContact
from patients.models import Patient
from tests.factories import CourseFactory, DoseChangeFactory, PatientFactory, drug

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 2)


def on_azathioprine(started_on: date, **patient):
    """A patient started on AZA with no bloods since: FBC and LFT fall due on the MON-01 phases."""
    patient = PatientFactory(**patient)
    course = CourseFactory(patient=patient, drug=drug("azathioprine"), started_on=started_on)
    DoseChangeFactory(course=course, dose_mg_per_day=100)
    return patient


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


def test_a_patient_with_no_bloods_since_starting_aza_is_overdue_for_fbc_and_lft():
    patient = on_azathioprine(TODAY - timedelta(days=30), family_name="Okafor", given_name="Ada")
    rows = schedule_rows(Patient.objects.all(), TODAY)
    states = {r.panel: r.state for r in rows if r.patient_id == patient.pk}
    assert states["FBC"] == states["LFT"] == "overdue"
    row = rows[0]
    assert row.phase.startswith("AZA")
    assert row.last_result is None
    assert row.days_overdue == (TODAY - row.overdue_after).days > 0


def test_the_list_is_sorted_by_how_overdue():
    recent = on_azathioprine(TODAY - timedelta(days=20))
    older = on_azathioprine(TODAY - timedelta(days=40))
    rows = schedule_rows(Patient.objects.all(), TODAY)
    assert [r.patient_id for r in rows][:2] == [older.pk, older.pk]
    assert max(r.days_overdue for r in rows if r.patient_id == recent.pk) < rows[0].days_overdue
    assert [r.days_overdue for r in rows] == sorted((r.days_overdue for r in rows), reverse=True)


def test_inactive_patients_are_not_recalled():
    on_azathioprine(TODAY - timedelta(days=30), status="discharged")
    assert schedule_rows(Patient.objects.all(), TODAY) == []


def test_recording_a_contact_needs_a_method_an_outcome_and_a_note_for_other(nurse):
    patient = on_azathioprine(TODAY - timedelta(days=30))
    with pytest.raises(ValidationError) as error:
        record_recall_contact(
            patient=patient, user=nurse, panel="FBC", contacted_on=TODAY + timedelta(days=1), method="fax",
            outcome="", lapse_reason="other",
        )  # fmt: skip
    assert set(error.value.message_dict) == {"contacted_on", "method", "outcome", "note"}
    assert not RecallContact.objects.exists()


def test_the_list_shows_the_last_contact(nurse):
    patient = on_azathioprine(TODAY - timedelta(days=30))
    record_recall_contact(
        patient=patient, user=nurse, panel="FBC", contacted_on=TODAY, method="phone", outcome="no_answer",
        lapse_reason="self_stopped",
    )  # fmt: skip
    rows = {r.panel: r for r in schedule_rows(Patient.objects.all(), TODAY)}
    assert rows["FBC"].last_contact.get_outcome_display() == "No answer"
    assert rows["LFT"].last_contact is None


def test_a_nurse_records_a_contact_from_the_list_with_htmx(client, nurse):
    patient = on_azathioprine(TODAY - timedelta(days=30), family_name="Okafor")
    client.force_login(nurse)
    page = client.get("/recall/")
    assert "OKAFOR" in page.content.decode() and "Record contact" in page.content.decode()
    response = client.post(
        f"/recall/{patient.pk}/contact/",
        {
            "panel": "FBC",
            "contacted_on": TODAY.isoformat(),
            "method": "letter",
            "outcome": "sent",
            "lapse_reason": "moved",
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="recall-{patient.pk}-fbc"')
    assert "Contact recorded" in body and "letter – letter / message sent (moved away)" in body
    contact = RecallContact.objects.get()
    assert (contact.by, contact.method, contact.lapse_reason) == (nurse, "letter", "moved")


def test_a_bad_contact_keeps_what_was_typed(client, nurse):
    patient = on_azathioprine(TODAY - timedelta(days=30))
    client.force_login(nurse)
    response = client.post(
        f"/recall/{patient.pk}/contact/",
        {"panel": "FBC", "contacted_on": TODAY.isoformat(), "method": "phone", "outcome": "reached",
         "lapse_reason": "other", "note": ""},
    )  # fmt: skip
    assert response.status_code == 400
    body = response.content.decode()
    assert "Say what the other reason is." in body
    assert '<option value="reached" selected>' in body


def export_cells(client, url="/recall/export.csv", delimiter=","):
    response = client.get(url)
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode()), delimiter=delimiter))


def test_the_csv_export_lists_the_filtered_rows(client, physician):
    patient = on_azathioprine(TODAY - timedelta(days=30), mrn="=CMD", family_name="Okafor", given_name="Ada")
    client.force_login(physician)
    header, *rows = export_cells(client, "/recall/export.csv?panel=FBC")
    assert header[:3] == ["MRN", "Patient", "Panel"]
    assert [row[:3] for row in rows] == [["'=CMD", "OKAFOR, Ada", "FBC"]]  # no formula injection into a spreadsheet
    assert patient.pk


FORMULA = ("=", "+", "-", "@")


@pytest.mark.parametrize("delimiter", [",", ";"])  # ";": a spreadsheet in a European locale
def test_no_exported_cell_starts_a_formula_wherever_the_spreadsheet_splits(client, physician, delimiter):
    on_azathioprine(
        TODAY - timedelta(days=30),
        mrn="\t=1+2",
        family_name='Okafor;=HYPERLINK("https://evil.example","x")',
        given_name="+cmd|' /C calc'!A0",
    )
    client.force_login(physician)
    _, *rows = export_cells(client, delimiter=delimiter)
    assert rows
    cells = [cell.lstrip() for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA)]
    # What was typed is still there to read, after the spreadsheet's text mark.
    assert any("HYPERLINK" in cell for cell in cells) and any("cmd|" in cell for cell in cells)


# Exporting is EXPORT_DATA (physicians, admins): nurses work the list on screen but do not download it.
@pytest.mark.parametrize(
    ("role", "view", "export", "contact"),
    [
        (Role.STAFF, 200, 403, 403),
        (Role.NURSE, 200, 403, 200),
        (Role.PHYSICIAN, 200, 200, 200),
        (Role.ADMIN, 200, 200, 403),
    ],
)
def test_the_permission_matrix_holds_on_the_recall_list(client, make_user, role, view, export, contact):
    patient = on_azathioprine(TODAY - timedelta(days=30))
    client.force_login(make_user(role))
    page = client.get("/recall/")
    assert page.status_code == view
    assert ("Download CSV" in page.content.decode()) is (export == 200)  # no link the role cannot follow
    assert client.get("/recall/export.csv").status_code == export
    posted = client.post(
        f"/recall/{patient.pk}/contact/",
        {"panel": "FBC", "contacted_on": TODAY.isoformat(), "method": "phone", "outcome": "booked"},
        headers={"HX-Request": "true"},
    )
    assert posted.status_code == contact


def test_another_clinics_patient_is_not_found(client, nurse):
    from tests.factories import ClinicFactory

    patient = on_azathioprine(TODAY - timedelta(days=30), clinic=ClinicFactory(), mrn="ELSEWHERE-1")
    client.force_login(nurse)
    assert "ELSEWHERE-1" not in client.get("/recall/").content.decode()
    posted = client.post(f"/recall/{patient.pk}/contact/", {"panel": "FBC", "method": "phone", "outcome": "booked"})
    assert posted.status_code == 404


def test_the_list_says_which_analytes_of_a_panel_are_missing(client, nurse):
    # issue 14 / clinical-rules.md §2.2 Panel FBC: a haemoglobin last week does not make an FBC; the
    # recall row says the platelets and the white count are what is missing, and since when.
    from tests.factories import LabResultFactory, analyte

    patient = on_azathioprine(TODAY - timedelta(days=400), family_name="Okafor")
    year_ago = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    for code, value in (("wbc", 6), ("platelets", 250), ("alt", 25), ("bilirubin", 10)):
        LabResultFactory(patient=patient, analyte=analyte(code), value=value, collected_at=year_ago)
    LabResultFactory(patient=patient, analyte=analyte("haemoglobin"), value=130,
                     collected_at=datetime(2025, 5, 26, 9, 0, tzinfo=UTC))  # fmt: skip
    rows = {r.panel: r for r in schedule_rows(Patient.objects.all(), TODAY)}
    assert rows["FBC"].state == "overdue"
    assert rows["FBC"].missing == "WBC or neutrophils missing since 3 Jun 2024; platelets missing since 3 Jun 2024"
    client.force_login(nurse)
    assert "platelets missing since 3 Jun 2024" in client.get("/recall/").content.decode()
