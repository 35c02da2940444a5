"""Property: whatever arrives, the HL7 importer never raises, never stores part of a message, and
always either imports it or quarantines it (or recognises a repeat)."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from monitoring.interop.hl7 import import_message
from monitoring.interop.hl7_build import LIVER_PANEL, Obx, build_oru
from monitoring.models import InboundMessage, InboundStatus, LabResult
from patients.models import Patient
from tests.factories import PatientFactory, default_clinic

pytestmark = pytest.mark.django_db

NOISE = st.text(alphabet=st.sampled_from("|^~\\&\r\n \x0b\x1c\x00\ufeff0123456789.-<>ABCXYZµ/LMSHOBXPID"), max_size=12)


@st.composite
def messages(draw) -> str:
    """A valid liver panel, then a few mutations of the kind real feeds produce."""
    panel = draw(st.lists(st.sampled_from(LIVER_PANEL), min_size=0, max_size=6, unique=True))
    mangle_fields = draw(st.booleans())
    panel = [
        Obx(
            o.code,
            draw(st.sampled_from([o.value, "12", "0", "abc", "", "<3", "1e3", "-4", "7.5"]))
            if mangle_fields
            else o.value,
            draw(st.sampled_from([o.unit, "", "mg", "U/L", "10^9/L"])) if mangle_fields else o.unit,
            draw(st.sampled_from([o.ref_range, "", "x", "5-1", "<40"])) if mangle_fields else o.ref_range,
            draw(st.sampled_from(["F", "P", "C", "I", "", "D", "Z"])),
        )
        for o in panel
    ]
    text = build_oru(
        mrn=draw(st.sampled_from(["PROP1", "PROP1", "NOBODY", ""])),
        control_id=draw(st.sampled_from(["", "X1", str(draw(st.uuids()))])),
        results=panel,
        collected_at=datetime(2025, 1, draw(st.integers(1, 28)), 9, tzinfo=UTC),
        breaks=draw(st.sampled_from(["\r", "\n", "\r\n"])),
    )
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 4]))):
        position = draw(st.integers(0, len(text)))
        operation = draw(st.sampled_from(["insert", "delete", "truncate", "duplicate"]))
        if operation == "insert":
            text = text[:position] + draw(NOISE) + text[position:]
        elif operation == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 20)) :]
        elif operation == "truncate":
            text = text[:position]
        else:
            text = text[:position] + text[position : position + 40] + text[position:]
    return draw(st.sampled_from(["", "\ufeff"])) + text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messages())
def test_a_mangled_message_is_imported_whole_or_quarantined_never_half(text):
    if not Patient.objects.filter(mrn="PROP1").exists():
        PatientFactory(mrn="PROP1")
    before = LabResult.objects.count()
    stored_before = InboundMessage.objects.count()

    message = import_message(text, clinic=default_clinic())  # must not raise

    after = LabResult.objects.count()
    event(message.status)
    assert InboundMessage.objects.count() == stored_before + 1  # the raw text is always kept
    assert message.status in {InboundStatus.ACCEPTED, InboundStatus.QUARANTINED, InboundStatus.DUPLICATE}
    if message.status == InboundStatus.ACCEPTED:
        assert after - before == message.counts.get("created", 0)
    else:
        assert after == before  # nothing of a quarantined or repeated message
    if message.status == InboundStatus.QUARANTINED:
        assert message.reason and message.items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(messages(), min_size=1, max_size=8))
def test_a_batch_of_mangled_messages_is_imported_or_quarantined_message_by_message(texts):
    from monitoring.interop.hl7 import import_batch

    if not Patient.objects.filter(mrn="PROP1").exists():
        PatientFactory(mrn="PROP1")
    before = LabResult.objects.count()

    imported = import_batch(texts, clinic=default_clinic())  # must not raise

    assert len(imported) == len(texts)
    outcomes = {InboundStatus.ACCEPTED, InboundStatus.QUARANTINED, InboundStatus.DUPLICATE}
    assert all(m.status in outcomes for m in imported)
    created = sum(m.counts.get("created", 0) for m in imported if m.status == InboundStatus.ACCEPTED)
    assert LabResult.objects.count() - before == created
    assert all(m.reason and m.items for m in imported if m.status == InboundStatus.QUARANTINED)


@settings(max_examples=300, deadline=None)
@given(text=messages())
def test_the_importers_split_reads_the_same_fields_as_python_hl7(text):
    """The importer splits segments itself (python-hl7 reads the separators): what it reads,
    python-hl7 reads as the same fields; what python-hl7 cannot read, it refuses too (and it also
    refuses separators that collide, which python-hl7 notices only when a field nests deep enough)."""
    import hl7

    from monitoring.interop.hl7 import _parse, normalise
    from monitoring.interop.quarantine import Rejected

    normal = normalise(text)
    try:
        segments, fields = _parse(normal)
    except Rejected:
        segments = None
    try:
        full = hl7.parse(normal)
    except Exception:  # noqa: BLE001 - python-hl7 cannot read it
        full = None
    if not normal.startswith("MSH"):
        return  # refused before parsing, as before
    if segments is None:  # refused: python-hl7 cannot read it either, or MSH-2 repeats a separator
        assert full is None or len(set(full.separators)) < len(full.separators)
        return
    assert full is not None
    assert len(segments) == len(full)
    for ours, theirs in zip(segments[1:], list(full)[1:], strict=True):  # MSH is read by read_header
        assert ours == [str(field) for field in theirs]
    assert (fields.rep, fields.comp, fields.esc) == (full.separators[2], full.separators[3], full.esc)
