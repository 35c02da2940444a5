"""The inbound log and quarantine every importer shares: raw text first, all or nothing."""

import pytest

from monitoring.interop import quarantine as q
from monitoring.models import InboundMessage, InboundStatus, LabResult
from tests.factories import LabResultFactory, PatientFactory, default_clinic

pytestmark = pytest.mark.django_db


def fake_processor(message):
    """Stores one result, then rejects messages that say so: the result must be rolled back."""
    LabResultFactory(patient=PatientFactory(mrn=f"P{message.pk}"))
    if "bad" in message.raw:
        raise q.Rejected([q.Problem(q.ProblemKind.UNKNOWN_CODE, "Code XYZ is unknown.", where="OBX 1", code="XYZ")])
    if "boom" in message.raw:
        raise ZeroDivisionError("a bug")
    return {"created": 1}


@pytest.fixture
def processor(monkeypatch):
    monkeypatch.setitem(q.PROCESSORS, "hl7", "tests.interop.test_interop_quarantine.fake_processor")


def test_the_raw_text_is_stored_before_processing():
    message = q.receive(clinic=default_clinic(), kind="hl7", raw="MSH|...", dedupe_key="LAB|1", control_id="1")
    assert InboundMessage.objects.get(pk=message.pk).raw == "MSH|..."
    assert message.status == InboundStatus.RECEIVED


def test_a_repeated_key_is_kept_as_a_duplicate_of_the_original():
    first = q.receive(clinic=default_clinic(), kind="hl7", raw="one", dedupe_key="LAB|1")
    again = q.receive(clinic=default_clinic(), kind="hl7", raw="one", dedupe_key="LAB|1")
    assert again.status == InboundStatus.DUPLICATE
    assert again.duplicate_of == first
    # The same key from FHIR is another message.
    assert q.receive(clinic=default_clinic(), kind="fhir", raw="one", dedupe_key="LAB|1").duplicate_of is None


def test_quarantine_stores_raw_text_reason_and_items():
    message = q.quarantine(
        default_clinic(), "fhir", '{"resourceType": "Bundle"}', "", items=[{"kind": "unknown_code", "detail": "X"}]
    )
    assert message.status == InboundStatus.QUARANTINED
    assert message.reason == "X"
    assert message.items == [{"kind": "unknown_code", "detail": "X"}]
    assert InboundMessage.objects.quarantined().get() == message


def test_an_accepted_message_is_imported_whole(processor):
    message = q.receive(clinic=default_clinic(), kind="hl7", raw="good")
    message = q.process_inbound(message)
    assert message.status == InboundStatus.ACCEPTED
    assert message.counts == {"created": 1}
    assert LabResult.objects.count() == 1
    # Processing it again does nothing.
    assert q.process_inbound(message).status == InboundStatus.ACCEPTED
    assert LabResult.objects.count() == 1


@pytest.mark.parametrize("raw", ["bad", "boom"])
def test_a_rejected_or_failing_message_stores_nothing_and_is_quarantined(processor, raw):
    message = q.process_inbound(q.receive(clinic=default_clinic(), kind="hl7", raw=raw))
    assert message.status == InboundStatus.QUARANTINED
    assert LabResult.objects.count() == 0
    assert message.reason
    assert message.items[0]["kind"] in {"unknown_code", "error"}


def test_reprocessing_a_fixed_message_marks_it_reprocessed(processor, make_user):
    user = make_user()
    message = q.process_inbound(q.receive(clinic=default_clinic(), kind="hl7", raw="bad"))
    InboundMessage.objects.filter(pk=message.pk).update(raw="fixed")
    message.refresh_from_db()
    message = q.reprocess(message, user=user)
    assert message.status == InboundStatus.REPROCESSED
    assert message.reviewed_by == user
    assert message.reason == ""
    assert LabResult.objects.count() == 1
