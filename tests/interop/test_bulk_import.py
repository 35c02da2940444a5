"""Bulk upload: staff upload HL7 v2 and FHIR files, a Celery task imports them, the page shows
progress and ends with a summary (imported, duplicates skipped, quarantined with reasons)."""

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from django.urls import reverse

from aih_tracker.celery import app as celery_app
from aih_tracker.roles import Role
from monitoring.interop.bulk import (
    MAX_FILE_BYTES,
    batch_messages,
    batch_progress,
    detect_kind,
    receive_file,
    run_batch,
)
from monitoring.models import Analyte, InboundMessage, InboundStatus, LabResult, LocalCode
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, UserFactory, default_clinic

pytestmark = pytest.mark.django_db

INTEROP = Path(__file__).resolve().parents[1] / "data" / "interop"
HL7 = INTEROP / "hl7v2-microsoft-fhir-converter"
GLUCOSE_SYSTEM = "POST 12H CFST:MCNC:PT:SER/PLAS:QN"  # how ORU-R01-RMGEAD.hl7 sends its code


def new_patient_bundle(mrn: str = "BULK-1") -> bytes:
    patient_url = "urn:uuid:7d0c5f1e-0000-4000-8000-000000000001"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": mrn}],
                    "name": [{"family": "Bulk", "given": ["Betty"]}],
                    "gender": "female",
                    "birthDate": "1970-01-01",
                },
            },
            {
                "fullUrl": "urn:uuid:7d0c5f1e-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "1742-6"}]},
                    "subject": {"reference": patient_url},
                    "effectiveDateTime": "2025-03-01T08:00:00Z",
                    "valueQuantity": {"value": 88, "unit": "U/L"},
                },
            },
        ],
    }
    return json.dumps(bundle).encode()


@pytest.fixture
def eager_celery(django_capture_on_commit_callbacks):
    """The task runs when the upload commits (eager), as a worker would run it."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield django_capture_on_commit_callbacks
    celery_app.conf.update(task_always_eager=saved[0], task_eager_propagates=saved[1])


@pytest.fixture
def staff_client(client):
    user = UserFactory(role=Role.STAFF)
    client.force_login(user)
    return client


@pytest.fixture
def glucose_patient():
    """The patient and local code that let the classic GHH LAB glucose message import."""
    LocalCode.objects.create(
        clinic=default_clinic(), system=GLUCOSE_SYSTEM, code="1554-5", analyte=Analyte.objects.get(code="glucose")
    )
    return PatientFactory(mrn="555-44-4444")


def upload(client, *files: tuple[str, bytes]):
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = {"files": [SimpleUploadedFile(name, data) for name, data in files]}
    return client.post(reverse("monitoring:bulk_import"), payload)


def test_staff_upload_hl7_and_fhir_files_and_get_a_summary(staff_client, eager_celery, glucose_patient):
    glucose = (HL7 / "ORU-R01-RMGEAD.hl7").read_bytes()
    files = [
        ("ORU-R01-RMGEAD.hl7", glucose),
        ("new-patient.json", new_patient_bundle()),
        ("creatinine.json", (INTEROP / "fhir-r4-us-core" / "observation-serum-creatinine.json").read_bytes()),
        ("synthea.json.gz", gzip.compress((INTEROP / "synthea-r4-fhiry" / "cfhir-labs-subset.json").read_bytes())),
        ("glucose-again.hl7", glucose),
    ]
    with eager_celery(execute=True):
        response = upload(staff_client, *files)

    assert response.status_code == 302
    page = staff_client.get(response["Location"])
    html = page.content.decode()
    progress = page.context["progress"]
    assert progress.finished and (progress.done, progress.total) == (5, 5)
    assert (progress.accepted, progress.duplicates, progress.quarantined) == (2, 1, 2)
    assert "Finished: 5 of 5 messages" in html and 'hx-get="/imports/' not in html
    assert "2</strong> imported" in html and "1</strong> duplicate skipped" in html and "2</strong> quarantined" in html
    # The reasons are on the page, per resource.
    assert "Patient/example: not in this file and no patient of the clinic has that MRN" in html
    assert "Total protein 793.953 g/L is outside the plausible range" in html
    # What was imported is stored; the quarantined files stored nothing.
    assert LabResult.objects.filter(patient=glucose_patient, analyte__code="glucose").count() == 1
    assert LabResult.objects.filter(patient__mrn="BULK-1", analyte__code="alt").count() == 1
    assert not Patient.objects.filter(mrn="41166989-975d-4d17-b9de-17f94cb3eec1").exists()


def test_the_page_polls_with_htmx_until_the_worker_has_finished(staff_client, glucose_patient):
    response = upload(
        staff_client, ("a.hl7", (HL7 / "ORU-R01-RMGEAD.hl7").read_bytes()), ("b.json", new_patient_bundle())
    )
    url = response["Location"]
    batch_id = url.rstrip("/").rsplit("/", 1)[-1]

    waiting = staff_client.get(url).content.decode()
    assert "Importing: 0 of 2 messages" in waiting
    assert f'hx-get="{url}"' in waiting and '<progress id="import-bar" max="2" value="0">' in waiting

    run_batch(default_clinic(), batch_id)  # what the Celery task does

    fragment = staff_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="import-progress"')  # the partial only
    assert "Finished: 2 of 2 messages" in fragment and "hx-get" not in fragment
    assert '<progress id="import-bar" max="2" value="2">' in fragment


def test_running_a_batch_twice_imports_nothing_twice(staff_client, glucose_patient):
    response = upload(staff_client, ("a.hl7", (HL7 / "ORU-R01-RMGEAD.hl7").read_bytes()))
    batch_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]

    assert run_batch(default_clinic(), batch_id) == 1
    assert run_batch(default_clinic(), batch_id) == 0
    assert LabResult.objects.count() == 1


def test_a_file_that_is_neither_hl7_nor_fhir_goes_to_the_quarantine(staff_client, eager_celery):
    with eager_celery(execute=True):
        response = upload(staff_client, ("notes.txt", b"Dear colleague, ALT was 88."))
    progress = staff_client.get(response["Location"]).context["progress"]

    assert progress.finished and progress.quarantined == 1
    assert "neither an HL7 v2 message (starting with MSH) nor FHIR JSON" in progress.files[0].reason
    assert InboundMessage.objects.get().raw == "Dear colleague, ALT was 88."


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("\ufeffMSH|^~\\&|LAB", "hl7"),
        ("\n\r\nMSH|", "hl7"),
        ('  {"resourceType": "Bundle"}', "fhir"),
        ("<Bundle/>", None),
    ],
)
def test_files_are_told_apart_by_their_content(text, kind):
    assert detect_kind(text) == kind


def test_the_upload_needs_at_least_one_file(staff_client):
    response = staff_client.post(reverse("monitoring:bulk_import"), {})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.STAFF, True), (Role.NURSE, True), (Role.PHYSICIAN, True), (Role.ADMIN, False)]
)
def test_importing_is_for_the_roles_that_log_labs(client, role, allowed):
    client.force_login(UserFactory(role=role))

    assert client.get(reverse("monitoring:bulk_import")).status_code == (200 if allowed else 403)


def test_another_clinics_batch_is_not_found(client, staff_client):
    response = upload(staff_client, ("b.json", new_patient_bundle()))
    other = UserFactory(role=Role.STAFF, clinic=ClinicFactory())
    client.force_login(other)

    assert client.get(response["Location"]).status_code == 404
    assert batch_messages(other.clinic, response["Location"].rstrip("/").rsplit("/", 1)[-1]).count() == 0


def test_progress_counts_only_the_batchs_own_messages(staff_client):
    first = upload(staff_client, ("b.json", new_patient_bundle("ONE")))["Location"].rstrip("/").rsplit("/", 1)[-1]
    upload(staff_client, ("c.json", new_patient_bundle("TWO")))

    assert batch_progress(default_clinic(), first).total == 1
    assert InboundMessage.objects.filter(status=InboundStatus.RECEIVED).count() == 2


def test_with_the_broker_down_the_upload_is_imported_in_the_request(
    staff_client, glucose_patient, monkeypatch, django_capture_on_commit_callbacks
):
    from monitoring.tasks import import_batch

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(import_batch, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(staff_client, ("a.hl7", (HL7 / "ORU-R01-RMGEAD.hl7").read_bytes()))

    progress = staff_client.get(response["Location"]).context["progress"]
    assert progress.finished and progress.accepted == 1
    assert LabResult.objects.filter(patient=glucose_patient).count() == 1


def latin_1_bundle(mrn: str) -> bytes:
    bundle = json.loads(new_patient_bundle(mrn))
    bundle["entry"][0]["resource"]["name"] = [{"family": "Müller", "given": ["Jürgen"]}]
    return json.dumps(bundle, ensure_ascii=False).encode("latin-1")


def test_files_written_in_latin_1_arrive_with_their_accents(staff_client, eager_celery, glucose_patient):
    hl7_text = (HL7 / "ORU-R01-RMGEAD.hl7").read_text().replace("EVERYWOMAN^EVE", "MÜLLER^JÜRGEN")
    assert "MÜLLER^JÜRGEN" in hl7_text
    with eager_celery(execute=True):
        upload(
            staff_client,
            ("latin-1.hl7", hl7_text.encode("latin-1")),
            ("latin-1.json", latin_1_bundle("LATIN-1")),
            ("latin-1.json.gz", gzip.compress(latin_1_bundle("LATIN-1-GZ"))),
        )

    assert "MÜLLER^JÜRGEN" in InboundMessage.objects.get(kind="hl7").raw
    names = set(Patient.objects.filter(mrn__startswith="LATIN-1").values_list("family_name", "given_name"))
    assert names == {("Müller", "Jürgen")}
    assert Patient.objects.filter(mrn__startswith="LATIN-1").count() == 2


def padded_bundle(size: int) -> bytes:
    """A valid FHIR bundle (a new patient with one result) padded with whitespace to `size` bytes."""
    bundle = new_patient_bundle("TOO-BIG")
    return bundle[:-1] + b" " * (size - len(bundle)) + bundle[-1:]


def test_a_gz_file_that_expands_beyond_the_limit_is_quarantined_and_nothing_of_it_imported(staff_client, eager_celery):
    bomb = gzip.compress(padded_bundle(MAX_FILE_BYTES + 1))
    assert len(bomb) < 100_000
    with eager_celery(execute=True):
        response = upload(staff_client, ("upload.json.gz", bomb), ("b.json.gz", gzip.compress(new_patient_bundle())))
    progress = staff_client.get(response["Location"]).context["progress"]

    assert progress.finished and (progress.accepted, progress.quarantined) == (1, 1)
    too_big = progress.quarantined_files[0]
    assert too_big.reason == f"upload.json.gz: expands to more than {MAX_FILE_BYTES // 2**20} MB; not imported."
    assert not Patient.objects.filter(mrn="TOO-BIG").exists()
    assert InboundMessage.objects.get(pk=too_big.message_id).raw == ""  # nothing of it is kept
    assert Patient.objects.filter(mrn="BULK-1").exists()  # the other file of the upload is imported


def test_a_gzip_bomb_is_never_expanded_in_memory_beyond_the_limit():
    member = gzip.compress(bytes(10 * 2**20))
    bomb = member * 12  # 120 MB once expanded, from a file of about 120 KB
    tracemalloc.start()
    try:
        [message] = receive_file(clinic=default_clinic(), batch_id="bomb", name="bomb.json.gz", data=bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert message.status == InboundStatus.QUARANTINED
    assert "expands to more than" in message.reason
    assert peak < 2 * MAX_FILE_BYTES


def test_a_plain_file_over_the_limit_is_refused_by_the_upload_form(staff_client):
    response = upload(staff_client, ("big.json", padded_bundle(MAX_FILE_BYTES + 1)))

    assert response.status_code == 200
    assert f"Larger than {MAX_FILE_BYTES // 2**20} MB: big.json." in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_import_fhir_quarantines_a_gz_file_that_expands_beyond_the_limit(tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "bomb.json.gz"
    path.write_bytes(gzip.compress(padded_bundle(MAX_FILE_BYTES + 1)))
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_fhir", str(path), stdout=io.StringIO())

    message = InboundMessage.objects.get()
    assert (message.status, message.raw) == (InboundStatus.QUARANTINED, "")
    assert message.reason == f"bomb.json.gz: expands to more than {MAX_FILE_BYTES // 2**20} MB; not imported."
    assert not Patient.objects.filter(mrn="TOO-BIG").exists()
