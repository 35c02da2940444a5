"""Clinic staff register and edit patients with their intake records; MRNs are unique per clinic."""

import re
from datetime import date, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from aih_tracker.roles import Role
from patients.models import Autoantibody, Patient, PharmacogeneticTest, Vaccination
from tests.factories import ClinicFactory, PatientFactory
from tests.test_tampered_forms import post_forms

pytestmark = pytest.mark.django_db

FORMSETS = ("antibodies", "pgx", "pregnancies", "contraception", "pregnancy_tests", "immunity", "vaccinations")


def management(prefix: str, total: int = 1, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def registration(**fields) -> dict:
    data = {
        "mrn": "H-1001",
        "family_name": "Okafor",
        "given_name": "Ada",
        "date_of_birth": "1984-02-29",
        "sex": "female",
        "status": "active",
        "aih_type": "type1",
        "diagnosis_date": "2024-11-02",
        "viral_hepatitis_excluded": "true",
        "reproductive_potential": "yes",
        "cirrhosis_diagnosed_on": "",
        "cirrhosis_basis": "",
        "portosystemic_shunt": "none",
        "notes": "",
    }
    for prefix in FORMSETS:
        data |= management(prefix)
    # What a browser posts for the untouched blank rows: their fields' initial values.
    data |= {"pregnancies-0-kind": "pregnant", "vaccinations-0-dose_number": "1"}
    data |= fields
    return data


def edited_version(page: str) -> str:
    """The version a browser posts back: the hidden field of the edit page it was given."""
    match = re.search(r'name="edited_version" value="([^"]*)"', page)
    assert match, "the edit form carries the version it was opened at"
    return match.group(1)


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user(Role.STAFF))
    return client


def test_staff_register_a_patient_with_antibodies_tpmt_and_vaccination(
    staff_client, django_capture_on_commit_callbacks
):
    data = registration(
        **{
            "antibodies-0-antibody": "sma",
            "antibodies-0-positive": "True",
            "antibodies-0-titre": "160",
            "antibodies-0-tested_on": "2024-10-20",
            "pgx-0-gene": "tpmt",
            "pgx-0-phenotype": "normal",
            "pgx-0-activity": "35",
            "pgx-0-activity_unit": "U/mL RBC",
            "pgx-0-tested_on": "2024-10-21",
            "vaccinations-0-vaccine": "hbv",
            "vaccinations-0-dose_number": "1",
            "vaccinations-0-given_on": "2024-12-01",
        }
    )
    with (
        mock.patch("monitoring.tasks.evaluate_patient.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = staff_client.post("/patients/new/", data)
    patient = Patient.objects.get(mrn="H-1001")
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert patient.aih_type == "type1" and patient.viral_hepatitis_excluded is True
    antibody = Autoantibody.objects.get(patient=patient)
    assert (antibody.antibody, antibody.positive, antibody.titre) == ("sma", True, 160)
    assert PharmacogeneticTest.objects.get(patient=patient).activity == 35
    assert Vaccination.objects.get(patient=patient).given_on == date(2024, 12, 1)
    send.assert_called_once()
    assert send.call_args.args[0] == (patient.pk,)
    page = staff_client.get(response["Location"]).content.decode()
    assert "OKAFOR, Ada (H-1001) registered." in page


def test_a_duplicate_mrn_is_refused_next_to_the_field_with_a_link_to_the_patient(staff_client):
    existing = PatientFactory(mrn="H-1001", family_name="Brennan", given_name="Liam")
    response = staff_client.post("/patients/new/", registration(mrn=" h-1001 ", family_name="Okafor"))
    page = response.content.decode()
    assert response.status_code == 200
    assert Patient.objects.count() == 1
    assert 'id="id_mrn_error"' in page
    assert "MRN H-1001 is already registered in this clinic to BRENNAN, Liam (H-1001)" in page
    assert f'href="/patients/{existing.pk}/"' in page
    assert 'value="Okafor"' in page  # what was typed is kept
    assert 'aria-describedby="id_mrn_helptext id_mrn_error"' in page


def test_the_same_mrn_may_be_used_by_another_clinic(staff_client):
    PatientFactory(mrn="H-1001", clinic=ClinicFactory())
    assert staff_client.post("/patients/new/", registration()).status_code == 302
    assert Patient.objects.filter(mrn="H-1001").count() == 2


def test_a_duplicate_that_races_past_the_form_is_caught_by_the_database(staff_client):
    # Another session registers the MRN after this form's check and before this save: the
    # database's unique constraint refuses the row and the message says what happened.
    PatientFactory(mrn="H-1001")
    with (
        mock.patch("patients.forms.find_mrn_owner", return_value=None),
        mock.patch("patients.services.find_mrn_owner", side_effect=[None, Patient.objects.get(mrn="H-1001")]),
    ):
        response = staff_client.post("/patients/new/", registration())
    assert response.status_code == 200
    assert "registered in this clinic a moment ago" in response.content.decode()
    assert Patient.objects.filter(mrn="H-1001").count() == 1


def test_a_bad_intake_row_saves_nothing_and_keeps_what_was_typed(staff_client):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    data = registration(
        **{"antibodies-0-antibody": "ana", "antibodies-0-positive": "True", "antibodies-0-tested_on": tomorrow}
    )
    response = staff_client.post("/patients/new/", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert not Patient.objects.exists() and not Autoantibody.objects.exists()
    assert "This date is in the future." in page
    assert 'id="id_antibodies-0-tested_on_error"' in page
    assert f'value="{tomorrow}"' in page
    assert 'value="H-1001"' in page
    assert "Not saved" in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"cirrhosis_diagnosed_on": "2023-05-01"}, "cirrhosis_basis", "Give both the date cirrhosis was found"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
        ({"diagnosis_date": "1970-01-01"}, "diagnosis_date", "before the date of birth"),
        ({"antibodies-0-antibody": "ana", "antibodies-0-positive": "False", "antibodies-0-titre": "80",
          "antibodies-0-tested_on": "2024-01-01"}, "antibodies-0-titre", "A negative result has no titre"),
        ({"pgx-0-gene": "tpmt", "pgx-0-phenotype": "normal", "pgx-0-activity": "30", "pgx-0-tested_on": "2024-01-01"},
         "pgx-0-activity_unit", "Give the unit"),
        ({"pregnancies-0-kind": "pregnant", "pregnancies-0-started_on": "2024-05-01",
          "pregnancies-0-ended_on": "2024-04-01"}, "pregnancies-0-ended_on", "before the from"),
        ({"vaccinations-0-vaccine": "hbv", "vaccinations-0-dose_number": "0", "vaccinations-0-given_on": "2024-01-01"},
         "vaccinations-0-dose_number", "Doses count from 1"),
    ],
)  # fmt: skip
def test_each_intake_check_shows_its_message_next_to_the_field(staff_client, fields, field, message):
    response = staff_client.post("/patients/new/", registration(**fields))
    page = response.content.decode()
    assert response.status_code == 200
    assert not Patient.objects.exists()
    error_start = page.index(f'id="id_{field}_error"')
    assert message in page[error_start : error_start + 300]


def test_editing_corrects_the_patient_and_an_existing_record(staff_client):
    patient = PatientFactory(
        mrn="E-1", family_name="Keyes", given_name="Tom", sex="male", viral_hepatitis_excluded=True
    )
    antibody = Autoantibody.objects.create(
        patient=patient, antibody="ana", positive=True, titre=80, tested_on=date(2024, 1, 2)
    )
    page = staff_client.get(f"/patients/{patient.pk}/edit/").content.decode()
    assert 'value="E-1"' in page and 'value="80"' in page
    assert '<option value="True" selected>Positive</option>' in page  # stored values show as stored
    assert '<option value="true" selected>Yes: markers negative</option>' in page
    data = registration(mrn="E-1", family_name="Keyes", given_name="Tom", sex="male", aih_type="type2")
    data |= {"edited_version": edited_version(page)}
    data |= management("antibodies", total=2, initial=1) | {
        "antibodies-0-id": str(antibody.pk),
        "antibodies-0-antibody": "ana",
        "antibodies-0-positive": "True",
        "antibodies-0-titre": "320",
        "antibodies-0-tested_on": "2024-01-02",
    }
    response = staff_client.post(f"/patients/{patient.pk}/edit/", data)
    assert response.status_code == 302
    patient.refresh_from_db()
    antibody.refresh_from_db()
    assert patient.aih_type == "type2"
    assert antibody.titre == 320
    assert Patient.objects.count() == 1  # its own MRN is not a duplicate


def test_add_another_row_without_javascript_keeps_what_was_typed(staff_client):
    data = registration(**{"add_row": "vaccinations", "vaccinations-0-vaccine": "hav"})
    response = staff_client.post("/patients/new/", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert not Patient.objects.exists()
    assert 'name="vaccinations-TOTAL_FORMS" value="2"' in page
    assert 'id="id_vaccinations-1-vaccine"' in page
    assert '<option value="hav" selected>' in page
    assert 'value="Okafor"' in page


def test_htmx_adds_a_row_and_updates_the_form_count(staff_client):
    response = staff_client.get("/patients/new/rows/immunity/?immunity-TOTAL_FORMS=3", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert 'name="immunity-3-virus"' in page
    assert "Virus (row 4)" in page
    assert 'name="immunity-TOTAL_FORMS" value="4"' in page and 'hx-swap-oob="true"' in page
    assert staff_client.get("/patients/new/rows/nope/?nope-TOTAL_FORMS=1").status_code == 404


def test_the_patient_list_offers_registration_and_the_patient_page_offers_edit(staff_client):
    patient = PatientFactory()
    assert 'href="/patients/new/"' in staff_client.get("/patients/").content.decode()
    page = staff_client.get(f"/patients/{patient.pk}/").content.decode()
    assert f'href="/patients/{patient.pk}/edit/"' in page
    assert f'href="/patients/{patient.pk}/visits/new/"' in page


def test_a_save_over_someone_elses_newer_save_is_refused_and_keeps_what_was_typed(client, make_user):
    """Two people edit the same patient: the second save must not silently undo the first."""
    patient = PatientFactory(mrn="E-2", family_name="Keyes", given_name="Tom", sex="male", notes="")
    first, second = make_user(Role.STAFF, first_name="Ann", last_name="First"), make_user(Role.NURSE)
    url = f"/patients/{patient.pk}/edit/"
    client.force_login(second)
    opened_at = edited_version(client.get(url).content.decode())

    client.force_login(first)
    page = client.get(url).content.decode()
    fields = {"mrn": "E-2", "given_name": "Tom", "sex": "male"}
    data = registration(**fields, family_name="Keyes-Hart", edited_version=edited_version(page))
    assert client.post(url, data).status_code == 302

    client.force_login(second)
    data = registration(**fields, family_name="Keyes", notes="Prefers morning appointments", edited_version=opened_at)
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not saved: Ann First saved this patient at" in html
    assert "Prefers morning appointments" in html  # what was typed is kept
    patient.refresh_from_db()
    assert (patient.family_name, patient.notes) == ("Keyes-Hart", "")

    # Having seen the warning, a second save is deliberate and goes through.
    data["edited_version"] = edited_version(html)
    assert client.post(url, data).status_code == 302
    patient.refresh_from_db()
    assert (patient.family_name, patient.notes) == ("Keyes", "Prefers morning appointments")


def test_a_change_to_an_intake_record_since_the_page_opened_is_a_conflict_too(staff_client):
    patient = PatientFactory(mrn="E-3", family_name="Keyes", given_name="Tom", sex="male")
    antibody = Autoantibody.objects.create(patient=patient, antibody="ana", positive=True, tested_on=date(2024, 1, 2))
    url = f"/patients/{patient.pk}/edit/"
    opened_at = edited_version(staff_client.get(url).content.decode())
    antibody.titre = 640  # saved elsewhere (the admin, another tab)
    antibody.save()
    data = registration(mrn="E-3", family_name="Keyes", given_name="Tom", sex="male", aih_type="type2")
    response = staff_client.post(url, data | {"edited_version": opened_at})
    assert response.status_code == 200 and "after you opened this page" in response.content.decode()
    patient.refresh_from_db()
    assert patient.aih_type != "type2"


def test_saving_without_changes_writes_nothing_and_says_so(staff_client):
    """An unchanged save must not write audit rows (nor make a colleague's edit look overtaken)."""
    patient = PatientFactory(mrn="E-4", family_name="Keyes", given_name="Tom", sex="male")
    Autoantibody.objects.create(patient=patient, antibody="ana", positive=True, titre=80, tested_on=date(2024, 1, 2))
    url = f"/patients/{patient.pk}/edit/"
    _, fields, _ = post_forms(staff_client, url)[0]  # the form as a browser submits it untouched
    before = (patient.history.count(), Autoantibody.history.count())
    response = staff_client.post(url, fields, follow=True)
    assert "Nothing was changed, so nothing was saved." in response.content.decode()
    assert (patient.history.count(), Autoantibody.history.count()) == before
