"""Staff upload HL7 and FHIR files in a real browser; a real Celery worker imports them through the
broker while the page polls (htmx) a progress bar that ends in a summary."""

from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from aih_tracker.celery import app as celery_app
from aih_tracker.demo_users import DEMO_PASSWORD, create_demo_users
from monitoring.models import Analyte, LabResult, LocalCode
from monitoring.tasks import evaluate_patient, import_batch
from tests.factories import PatientFactory, default_clinic

pytestmark = pytest.mark.django_db(transaction=True)

TESTS = Path(__file__).resolve().parents[1]
HL7 = TESTS / "data" / "interop" / "hl7v2-microsoft-fhir-converter"
INTEROP = TESTS / "data" / "interop"
QUEUE = "aih-test-bulk-import"  # no dots: the filesystem transport splits file names on them


@pytest.fixture
def private_queue(monkeypatch):
    """The import and the evaluations it queues go to a queue of this test's own (purged first),
    so that a developer's running worker cannot take them and old messages cannot stand in."""
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
    for task in (import_batch, evaluate_patient):
        monkeypatch.setattr(task, "queue", QUEUE, raising=False)
        # A task caches its send options on its first apply_async (an earlier test may have queued
        # it): without this the queue set above would be ignored and the message would go elsewhere.
        monkeypatch.setattr(task, "_exec_options", None, raising=False)
    return QUEUE


def test_upload_files_watch_the_progress_and_read_the_summary(log_in, live_server, private_queue, screenshot_dir):
    create_demo_users()
    patient = PatientFactory(mrn="555-44-4444", family_name="Everywoman", given_name="Eve")
    LocalCode.objects.create(
        clinic=default_clinic(),
        system="POST 12H CFST:MCNC:PT:SER/PLAS:QN",
        code="1554-5",
        analyte=Analyte.objects.get(code="glucose"),
    )
    page = log_in("staff", DEMO_PASSWORD)
    page.get_by_role("link", name="Import").click()
    page.get_by_label("HL7 v2 or FHIR JSON files").set_input_files(
        [
            HL7 / "ORU-R01-RMGEAD.hl7",  # imports: the patient and the code are known
            HL7 / "LAB-ORU-2.hl7",  # quarantined: unknown patient and codes
            INTEROP / "fhir-r4-us-core" / "observation-serum-creatinine.json",  # quarantined: unknown patient
            INTEROP / "synthea-r4-fhiry" / "cfhir.json.gz",  # quarantined: implausible total protein
        ]
    )
    page.get_by_role("button", name="Import").click()

    # The files are stored and the task is queued; no worker has taken it yet.
    expect(page.get_by_text("Importing: 0 of 4 messages")).to_be_visible()
    expect(page.locator("progress#import-bar")).to_have_attribute("max", "4")
    page.evaluate("window.__kept = true")  # a full reload would lose this mark

    with start_worker(celery_app, pool="solo", queues=[private_queue], perform_ping_check=False):
        expect(page.get_by_text("Finished: 4 of 4 messages")).to_be_visible(timeout=60_000)

    assert page.evaluate("window.__kept === true"), "the page reloaded instead of polling with htmx"
    expect(page.locator("progress#import-bar")).to_have_attribute("value", "4")
    summary = page.locator(".import-summary")
    expect(summary).to_contain_text("1 imported")
    expect(summary).to_contain_text("0 duplicates skipped")
    expect(summary).to_contain_text("3 quarantined")
    table = page.locator("table.import-files")
    expect(table).to_contain_text("Patient/example: not in this file and no patient of the clinic has that MRN")
    expect(table).to_contain_text("Total protein 793.953 g/L is outside the plausible range")
    page.screenshot(path=str(screenshot_dir / "bulk-import-summary.png"), full_page=True)
    assert LabResult.objects.filter(patient=patient, analyte__code="glucose").count() == 1
