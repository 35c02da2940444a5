"""Bulk import of uploaded files (HL7 v2 and FHIR, told apart by their content), with progress.

The upload stores every message in the inbound log at once (`receive`: durable, nothing lost
if a worker dies), all tagged with a batch id in `origin` ("upload <batch>: <file name>"); a
Celery task then processes the batch's messages one by one. Progress and the final summary are
read back from those rows, so they need no extra storage and survive any process restart; the
broker message carries the batch id only (no patient data).
"""

from __future__ import annotations

import logging
import uuid
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from aih_tracker.models import Clinic
from monitoring.changes import IMPORT_BATCH, QUICK_RETRY, task_by_name
from monitoring.interop import hl7
from monitoring.interop.quarantine import Problem, ProblemKind, hash_key, process_inbound, quarantine, receive
from monitoring.models import InboundKind, InboundMessage, InboundStatus

logger = logging.getLogger(__name__)

# The most a file may hold: an uploaded file, or what a .gz file expands to (one limit for both).
MAX_FILE_BYTES = 20 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
GZIP_CHUNK = 1024 * 1024
ORIGIN_PREFIX = "upload"


def new_batch_id() -> str:
    return uuid.uuid4().hex[:12]


def batch_origin(batch_id: str, name: str) -> str:
    return f"{ORIGIN_PREFIX} {batch_id}: {name}"[:200]


def batch_messages(clinic, batch_id: str) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(clinic=clinic, origin__startswith=f"{ORIGIN_PREFIX} {batch_id}: ")


def detect_kind(text: str) -> str | None:
    """HL7 v2 starts with an MSH segment; FHIR JSON with an object. Anything else: None."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("MSH"):
        return InboundKind.HL7
    if head.startswith("{"):
        return InboundKind.FHIR
    return None


class FileTooLarge(ValueError):
    """A file whose content is over MAX_FILE_BYTES; the message says so in the staff's words."""


def file_text(name: str, data: bytes) -> str:
    """A file's text: gunzipped when it is gzip, then read as UTF-8, else Latin-1.

    FileTooLarge if its content (once expanded) is over MAX_FILE_BYTES: a gzip file is expanded
    a chunk at a time and abandoned as soon as it passes the limit, never held whole in memory.
    """
    limit = f"more than {MAX_FILE_BYTES // 2**20} MB"
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(f"{name}: {limit}; not imported.")
    if data[:2] == GZIP_MAGIC:
        try:
            return hl7.decode_text(gunzip(data, MAX_FILE_BYTES))
        except FileTooLarge:
            raise FileTooLarge(f"{name}: expands to {limit}; not imported.") from None
        except (EOFError, zlib.error):
            pass  # Not really gzip: stored as it is, and the importer says why it cannot read it.
    return hl7.decode_text(data)


def gunzip(data: bytes, limit: int) -> bytearray:
    """Every member of a gzip file, expanded GZIP_CHUNK bytes at a time. FileTooLarge as soon as
    the content passes `limit` bytes; EOFError if truncated, zlib.error if not gzip."""
    content = bytearray()
    rest = data
    while rest:
        member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        while not member.eof:
            chunk = member.decompress(rest, GZIP_CHUNK)
            rest = member.unconsumed_tail
            if not chunk and not rest:
                raise EOFError("gzip file ends in the middle of its data")
            content += chunk
            if len(content) > limit:
                raise FileTooLarge
        rest = member.unused_data.lstrip(b"\x00")  # the next member (padding between members allowed)
    return content


def guess_kind(name: str) -> str:
    """For a file the importer cannot read: HL7 v2 by its file name, else FHIR."""
    name = name.lower().removesuffix(".gz")
    return InboundKind.HL7 if name.endswith((".hl7", ".txt", ".oru")) else InboundKind.FHIR


def quarantine_too_large(clinic, kind: str, error: FileTooLarge, *, origin: str) -> InboundMessage:
    """A file too large to import, in the quarantine with its reason; none of its content is kept."""
    reason = str(error)
    return quarantine(clinic, kind, "", reason, [Problem(ProblemKind.UNSUPPORTED, reason)], origin=origin)


def receive_file(*, clinic, batch_id: str, name: str, data: bytes) -> list[InboundMessage]:
    """Store one uploaded file as inbound message(s) of the batch; nothing is processed yet."""
    origin = batch_origin(batch_id, name)
    try:
        text = file_text(name, data)
    except FileTooLarge as error:
        return [quarantine_too_large(clinic, guess_kind(name), error, origin=origin)]
    kind = detect_kind(text)
    if kind == InboundKind.HL7:
        rows = []
        for part in hl7.split_messages(text):
            header = hl7.read_header(part)
            rows.append(
                receive(
                    clinic=clinic,
                    kind=kind,
                    raw=part,
                    dedupe_key=hl7.dedupe_key(part, header),
                    control_id=header.control_id,
                    sender=header.sender,
                    origin=origin,
                )
            )
        if rows:
            return rows
    if kind == InboundKind.FHIR:
        text = text.lstrip("\ufeff")
        return [receive(clinic=clinic, kind=kind, raw=text, dedupe_key=hash_key(text), origin=origin)]
    reason = f"{name}: neither an HL7 v2 message (starting with MSH) nor FHIR JSON."
    return [
        quarantine(clinic, guess_kind(name), text, reason, [{"kind": "malformed", "detail": reason}], origin=origin)
    ]


def start_batch(*, clinic, files: Iterable[tuple[str, bytes]]) -> str:
    """Store every file of an upload, then queue its processing (once the rows are committed)."""
    batch_id = new_batch_id()
    for name, data in files:
        receive_file(clinic=clinic, batch_id=batch_id, name=name, data=data)
    transaction.on_commit(lambda: _enqueue(clinic.pk, batch_id))
    return batch_id


def _enqueue(clinic_id: int, batch_id: str) -> None:
    """Queue the batch for a worker; with no broker, import it here rather than leave it waiting
    (nothing else would pick it up; the files are stored either way)."""
    try:
        task_by_name(IMPORT_BATCH).apply_async((clinic_id, batch_id), retry=True, retry_policy=QUICK_RETRY)
    except Exception:  # noqa: BLE001 - a broker outage must not leave the upload unprocessed
        logger.warning("Could not queue import batch %s; importing it in this process.", batch_id)
        run_batch(Clinic.objects.get(pk=clinic_id), batch_id)


def run_batch(clinic, batch_id: str) -> int:
    """Process the batch's messages not processed yet: FHIR first (it may register the patients
    that HL7 results refer to), then in upload order. Safe to run twice (rows are locked)."""
    messages = batch_messages(clinic, batch_id)
    pending = list(messages.filter(status=InboundStatus.RECEIVED))
    # A repeat of a message stored earlier but never processed (its process died): finish it too.
    pending += [
        m.duplicate_of
        for m in messages.filter(status=InboundStatus.DUPLICATE, duplicate_of__status=InboundStatus.RECEIVED)
    ]
    done = 0
    for message in sorted(set(pending), key=lambda m: (m.kind != InboundKind.FHIR, m.pk)):
        process_inbound(message)
        done += 1
    return done


@dataclass
class FileSummary:
    name: str
    kind: str
    status: str
    status_label: str
    reason: str
    counts: dict[str, int]
    items: list[dict]
    message_id: int


@dataclass
class BatchProgress:
    batch_id: str
    total: int = 0
    done: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    results: Counter = field(default_factory=Counter)  # created / updated / unchanged / skipped
    files: list[FileSummary] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done == self.total

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def quarantined_files(self) -> list[FileSummary]:
        return [f for f in self.files if f.status == InboundStatus.QUARANTINED]


def _duplicate_note(message: InboundMessage) -> str:
    original = message.duplicate_of
    if original is None:
        return "Received before."
    received = timezone.localtime(original.received_at).strftime("%d %b %Y %H:%M")
    where = original.origin or f"message #{original.pk}"
    return f"Received before ({where}, {received}): {original.get_status_display().lower()}."


def batch_progress(clinic, batch_id: str) -> BatchProgress:
    progress = BatchProgress(batch_id=batch_id)
    for message in batch_messages(clinic, batch_id).select_related("duplicate_of").order_by("pk"):
        progress.total += 1
        if message.status == InboundStatus.RECEIVED:
            continue
        progress.done += 1
        if message.status in (InboundStatus.ACCEPTED, InboundStatus.REPROCESSED):
            progress.accepted += 1
            progress.results.update({k: v for k, v in (message.counts or {}).items() if isinstance(v, int)})
        elif message.status == InboundStatus.DUPLICATE:
            progress.duplicates += 1
        elif message.status == InboundStatus.QUARANTINED:
            progress.quarantined += 1
        progress.files.append(
            FileSummary(
                name=message.origin.split(": ", 1)[-1],
                kind=message.get_kind_display(),
                status=message.status,
                status_label=message.get_status_display(),
                reason=_duplicate_note(message) if message.status == InboundStatus.DUPLICATE else message.reason,
                counts=message.counts or {},
                items=message.items if message.status == InboundStatus.QUARANTINED else [],
                message_id=message.pk,
            )
        )
    return progress
