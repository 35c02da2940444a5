"""The inbound log and its quarantine, shared by every importer (HL7 v2, FHIR).

Every message is stored as received before anything else happens (`receive`), then processed
in one transaction: the whole message is imported, or nothing is and the message stays in
quarantine with one reason per problem. Staff fix the cause on the review page (map a code,
pick the patient) and `reprocess` it.

An importer plugs in as a *processor*: a function `process(message) -> counts` that raises
`Rejected([...problems])` for anything it cannot import; `process_inbound` runs it atomically.
Processors are named in PROCESSORS by dotted path (imported when first needed).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.module_loading import import_string

from monitoring.catalogue import UnitNotAccepted
from monitoring.models import InboundKind, InboundMessage, InboundStatus, LocalCode

logger = logging.getLogger(__name__)

PROCESSORS: dict[str, str] = {
    InboundKind.HL7: "monitoring.interop.hl7.process_message",
    InboundKind.FHIR: "monitoring.interop.fhir.process_message",
}


class ProblemKind(TextChoices):
    UNKNOWN_PATIENT = "unknown_patient", "Unknown patient"
    UNKNOWN_CODE = "unknown_code", "Unknown code"
    BAD_VALUE = "bad_value", "Value not usable"
    BAD_UNIT = "bad_unit", "Unit not accepted"
    BAD_TIME = "bad_time", "Collection time missing or invalid"
    MALFORMED = "malformed", "Malformed message"
    UNSUPPORTED = "unsupported", "Unsupported content"
    CONFLICT = "conflict", "Conflicts with a stored result"
    ERROR = "error", "Unexpected error"


@dataclass(frozen=True)
class Problem:
    """One reason a message cannot be imported; `where` points into the message (e.g. "OBX 3")."""

    kind: str
    detail: str
    where: str = ""
    code: str = ""
    system: str = ""
    display: str = ""
    mrn: str = ""

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value}


class Rejected(Exception):
    """Raised by a processor: nothing of the message may be stored; these are the reasons."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(summarise(self.problems))


def summarise(problems: Iterable[Problem | dict]) -> str:
    parts = []
    for problem in problems:
        item = problem.as_dict() if isinstance(problem, Problem) else problem
        where = f"{item['where']}: " if item.get("where") else ""
        parts.append(f"{where}{item.get('detail', '')}")
    return "; ".join(parts)[:4000] or "Quarantined."


def hash_key(raw: str) -> str:
    """The dedupe key of a message with no control id: the same text twice is the same message."""
    return "sha256:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def storable(text: str) -> str:
    """Text a database column can hold: PostgreSQL text cannot contain NUL, wherever it came from."""
    return text.replace("\x00", "")


def received_fields(
    *, clinic, kind: str, raw: str, dedupe_key: str = "", control_id: str = "", sender: str = "", origin: str = ""
) -> dict:
    """An inbound row's fields as received: text a database column can hold, cut to the columns' sizes."""
    return {
        "clinic": clinic,
        "kind": kind,
        "raw": storable(raw),
        "dedupe_key": storable(dedupe_key)[:255],
        "control_id": storable(control_id)[:200],
        "sender": storable(sender)[:200],
        "origin": storable(origin)[:200],
    }


def receive(
    *,
    clinic,
    kind: str,
    raw: str,
    dedupe_key: str = "",
    control_id: str = "",
    sender: str = "",
    origin: str = "",
) -> InboundMessage:
    """Store the raw text first. A repeat of a stored dedupe key is kept as a `duplicate` row.

    Call outside any transaction to make the write durable on return (the MLLP listener does).
    Returns the new row; for a repeat, `row.duplicate_of` is the original.
    """
    fields = received_fields(
        clinic=clinic, kind=kind, raw=raw, dedupe_key=dedupe_key, control_id=control_id, sender=sender, origin=origin
    )
    if dedupe_key:
        try:
            if transaction.get_connection().in_atomic_block:
                with transaction.atomic():  # a savepoint, so that a repeat does not break the caller's transaction
                    return InboundMessage.objects.create(**fields)
            return InboundMessage.objects.create(**fields)  # autocommit: durable when this returns
        except IntegrityError:  # the key was seen before (by this process or another)
            original = _original(clinic, kind, dedupe_key)
            if original is None:
                raise
        return InboundMessage.objects.create(
            **fields,
            status=InboundStatus.DUPLICATE,
            duplicate_of=original,
            processed_at=timezone.now(),
            reason="",
        )
    return InboundMessage.objects.create(**fields)


def _original(clinic, kind: str, dedupe_key: str) -> InboundMessage | None:
    return (
        InboundMessage.objects.filter(clinic=clinic, kind=kind, dedupe_key=dedupe_key)
        .exclude(status=InboundStatus.DUPLICATE)
        .first()
    )


def quarantine(
    clinic,
    kind: str,
    raw: str,
    reason: str,
    items: Iterable[Problem | dict] = (),
    *,
    message: InboundMessage | None = None,
    **receive_kwargs,
) -> InboundMessage:
    """Put a message in quarantine with its reason and per-item problems.

    With `message` (a row from `receive`), that row is updated; otherwise the raw text is stored
    now as a new quarantined row (`receive_kwargs`: dedupe_key, control_id, sender, origin).
    """
    if message is None:
        message = receive(clinic=clinic, kind=kind, raw=raw, **receive_kwargs)
        if message.status == InboundStatus.DUPLICATE:
            return message
    mark_quarantined(message, reason, items)
    message.save(update_fields=["status", "reason", "items", "processed_at"])
    return message


def mark_quarantined(message: InboundMessage, reason: str, items: Iterable[Problem | dict]) -> None:
    """Set a message's quarantine fields (not saved): its status, reason and per-item problems."""
    items = [item.as_dict() if isinstance(item, Problem) else dict(item) for item in items]
    message.status = InboundStatus.QUARANTINED
    message.reason = reason or summarise(items)
    message.items = items
    message.processed_at = timezone.now()


_PROCESSED_FIELDS = ["status", "reason", "counts", "processed_at", "reviewed_by", "reviewed_at"]


def process_inbound(message: InboundMessage, *, user=None) -> InboundMessage:
    """Run the message's processor: all of it is imported (accepted), or it is quarantined.

    Safe to call twice or from two processes: the row is locked, and a message that is already
    accepted is returned as it is. Never raises for a bad message; a database outage does raise.
    """
    processor = processor_for(message.kind)
    reprocessing = message.status == InboundStatus.QUARANTINED
    try:
        with transaction.atomic():
            locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
            if locked.status not in (InboundStatus.RECEIVED, InboundStatus.QUARANTINED):
                return locked
            with timezone.override(locked.clinic.time_zone):  # a lab's local times are the clinic's
                counts = processor(locked)
            locked.status = InboundStatus.REPROCESSED if reprocessing else InboundStatus.ACCEPTED
            locked.reason = ""
            locked.counts = counts or {}
            locked.processed_at = timezone.now()
            if user is not None:
                locked.reviewed_by, locked.reviewed_at = user, locked.processed_at
            locked.save(update_fields=[*_PROCESSED_FIELDS, "patient", "items"])
            return locked
    except Rejected as rejected:
        problems = rejected.problems
    except Exception as error:  # noqa: BLE001 - a bug in one message must not lose it
        if _is_database_outage(error):
            raise
        logger.exception("Importing inbound message %s failed", message.pk)
        problems = [Problem(ProblemKind.ERROR, f"Unexpected error while importing: {type(error).__name__}: {error}")]
    message.refresh_from_db()
    if user is not None:
        message.reviewed_by, message.reviewed_at = user, timezone.now()
        message.save(update_fields=["reviewed_by", "reviewed_at"])
    return quarantine(message.clinic, message.kind, message.raw, summarise(problems), problems, message=message)


def _is_database_outage(error: Exception) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def processor_for(kind: str) -> Callable[[InboundMessage], dict]:
    return import_string(PROCESSORS[kind])


def reprocess(message: InboundMessage, *, user=None) -> InboundMessage:
    """Try a quarantined message again (after a code was mapped or the patient picked)."""
    if message.status != InboundStatus.QUARANTINED:
        return message
    return process_inbound(message, user=user)


def process_pending(clinic=None, kind: str | None = None) -> int:
    """Process messages stored but never processed (e.g. the process died in between)."""
    pending = InboundMessage.objects.filter(status=InboundStatus.RECEIVED)
    if clinic is not None:
        pending = pending.filter(clinic=clinic)
    if kind is not None:
        pending = pending.filter(kind=kind)
    done = 0
    for message in pending.order_by("pk").iterator():
        process_inbound(message)
        done += 1
    return done


# -- what staff do on the review page ------------------------------------------------------------


def map_local_code(
    *, clinic, system: str, code: str, analyte, unit: str = "", display: str = "", user=None
) -> LocalCode:
    """Map a lab's code to an analyte for the clinic (no analyte: skip it). ValidationError if the
    unit override is not one the analyte accepts."""
    code, unit = code.strip(), unit.strip()
    if not code:
        raise ValidationError({"code": "Which code?"})
    if unit and analyte is None:
        raise ValidationError({"unit": "A skipped code needs no unit."})
    if unit and analyte is not None:
        try:
            analyte.to_canonical(1.0, unit)
        except UnitNotAccepted as error:
            raise ValidationError({"unit": str(error)}) from None
    local, _ = LocalCode.objects.update_or_create(
        clinic=clinic,
        system=system.strip()[:100],
        code=code[:60],
        defaults={"analyte": analyte, "unit": unit, "display": display[:200], "created_by": user},
    )
    return local


def assign_patient(*, message: InboundMessage, patient, user=None) -> InboundMessage:
    """The patient a quarantined message is about, chosen by staff (same clinic only)."""
    if patient.clinic_id != message.clinic_id:
        raise ValidationError({"patient": "That patient belongs to another clinic."})
    message.patient = patient
    message.reviewed_by, message.reviewed_at = user, timezone.now()
    message.save(update_fields=["patient", "reviewed_by", "reviewed_at"])
    return message
