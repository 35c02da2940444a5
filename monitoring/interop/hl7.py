"""HL7 v2 ORU^R01 lab results: parse (python-hl7), map, and import whole or quarantine.

    import_message(text, clinic=...)   store the raw text, then import it or quarantine it
    import_text(text, clinic=...)      the same for a file that may hold several messages
    process_message(message)           the quarantine's processor for kind "hl7" (reprocessing)
    acknowledgement(message)           the ACK (AA / AE) for a stored message

Mapping: patient by MRN (PID-3, the identifier typed MR, else the first) within the clinic, or
the patient staff picked on the review page; OBX-3 through the clinic's LocalCode table first,
then by LOINC in the analyte catalogue; OBX-5 value (NM, or SN without comparator), OBX-6 unit
(spellings resolved by monitoring.catalogue.unit_key), OBX-7 reference range, OBX-11 status,
OBX-14 else OBR-7 collection time. A result's identity in the source is sender + filler order
(OBR-3, else placer OBR-2) + code + OBX-4, so a preliminary result and its final share it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import hl7 as hl7lib
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from hl7.parser import create_parse_plan

from monitoring.interop import results
from monitoring.interop.quarantine import (
    Problem,
    ProblemKind,
    Rejected,
    hash_key,
    mark_quarantined,
    process_inbound,
    receive,
    received_fields,
    summarise,
)
from monitoring.labs.services import LabValue
from monitoring.models import Analyte, InboundKind, InboundMessage, InboundStatus, LabSource, LocalCode, ResultStatus
from patients.models import Patient

logger = logging.getLogger(__name__)

LOINC_SYSTEMS = frozenset({"LN", "LNC", "LOINC", "HTTP://LOINC.ORG", "2.16.840.1.113883.6.1"})

# OBX-11 result status -> how the result is stored. Empty is read as final (many senders omit it).
STORED_STATUS = {
    "F": ResultStatus.FINAL,
    "": ResultStatus.FINAL,
    "U": ResultStatus.FINAL,
    "C": ResultStatus.CORRECTED,
    "P": ResultStatus.PRELIMINARY,
    "R": ResultStatus.PRELIMINARY,
    "S": ResultStatus.PRELIMINARY,
}
NO_RESULT_STATUS = {"I": "pending", "N": "not asked", "O": "order detail only", "X": "cannot be obtained"}
RETRACTED_STATUS = {"D": "deleted", "W": "posted wrongly"}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_UNSIGNED = r"(\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"{_UNSIGNED}\s*(?:-|–|_|to)\s*{_UNSIGNED}")
_UPPER_ONLY = re.compile(rf"(?:<|<=|≤)\s*{_UNSIGNED}")
_LOWER_ONLY = re.compile(rf"(?:>|>=|≥)\s*{_UNSIGNED}")
_DROPPED = "\x0b\x1c\x00"  # MLLP framing, and NUL (no database text column can hold it)


# -- text ------------------------------------------------------------------------------------


def decode_text(data: bytes | bytearray) -> str:
    """Bytes from a file or the wire as text: UTF-8 (a byte-order mark dropped), else Latin-1.

    HL7 v2 is usually one or the other (MSH-18, which nothing here reads); FHIR JSON is UTF-8,
    but a file saved by an older tool may be Latin-1. Never replacement characters: "Müller"
    arrives as "Müller" either way."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def normalise(text: str) -> str:
    """Segments separated by \\r, no byte-order mark, no MLLP framing or NUL, no blank segments.

    python-hl7 silently reads a message with \\n breaks as one segment: this runs first, always.
    """
    text = text.lstrip("\ufeff").translate({ord(c): None for c in _DROPPED})
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    return "\r".join(segment for segment in text.split("\r") if segment.strip())


def split_messages(text: str) -> list[str]:
    """The messages in a file: each MSH starts one; batch envelopes (FHS, BHS, BTS, FTS) are dropped."""
    messages: list[list[str]] = []
    for segment in normalise(text).split("\r"):
        if segment[:3] in {"FHS", "BHS", "BTS", "FTS"}:
            continue
        if segment.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(segment)
    return ["\r".join(segments) for segments in messages]


@dataclass(frozen=True)
class Header:
    control_id: str = ""
    sender: str = ""
    receiver: str = ""
    message_type: str = ""
    processing_id: str = "P"
    version: str = "2.5"


def read_header(text: str) -> Header:
    """MSH fields needed to de-duplicate and acknowledge, read without parsing (never raises)."""
    return _header_of(normalise(text))


def _header_of(normal: str) -> Header:
    """read_header of a text already normalised."""
    first = normal.split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        return Header()
    fields = first.split(first[3])

    def msh(n: int) -> str:  # fields[1] is MSH-2, so MSH-n is fields[n - 1]
        return fields[n - 1].strip() if len(fields) > n - 1 else ""

    return Header(
        control_id=msh(10),
        sender=f"{msh(3)}|{msh(4)}",
        receiver=f"{msh(5)}|{msh(6)}",
        message_type=msh(9),
        processing_id=msh(11)[:1] or "P",
        version=msh(12) or "2.5",
    )


def dedupe_key(text: str, header: Header | None = None) -> str:
    header = header or read_header(text)
    return f"{header.sender}|{header.control_id}" if header.control_id else hash_key(normalise(text))


# -- importing -------------------------------------------------------------------------------


def import_message(text: str, *, clinic, origin: str = "") -> InboundMessage:
    """Store one message as received, then import it whole or quarantine it. Never raises for
    a bad message (a database outage does raise: then nothing was stored)."""
    header = read_header(text)
    message = receive(
        clinic=clinic,
        kind=InboundKind.HL7,
        raw=text,
        dedupe_key=dedupe_key(text, header),
        control_id=header.control_id,
        sender=header.sender,
        origin=origin,
    )
    if message.status == InboundStatus.DUPLICATE:
        original = message.duplicate_of
        if original.status == InboundStatus.RECEIVED:  # stored, then the process died: finish it now
            process_inbound(original)
        return message
    return process_inbound(message)


def import_text(text: str, *, clinic, origin: str = "", batch_size: int = 500) -> list[InboundMessage]:
    """Every message of a file (a file may hold one or several), in batches."""
    parts = split_messages(text)
    if len(parts) == 1:
        return [import_message(parts[0], clinic=clinic, origin=origin)]
    imported = []
    for start in range(0, len(parts), batch_size):
        imported += import_batch(parts[start : start + batch_size], clinic=clinic, origin=origin)
    return imported


def effective_status(message: InboundMessage) -> str:
    """A duplicate answers as its original does."""
    if message.status == InboundStatus.DUPLICATE and message.duplicate_of_id:
        return InboundMessage.objects.values_list("status", flat=True).get(pk=message.duplicate_of_id)
    return message.status


# -- the processor ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    where: str
    code: str
    system: str
    display: str
    value_type: str
    value: str
    unit: str
    ref_range: str
    status: str
    observed_at: str
    order_time: str
    order_id: str
    sub_id: str


Segment = list[str]  # a segment's raw fields, numbered as python-hl7 numbers them (0 is the name)


class _Fields:
    """Safe access to a parsed message's fields: missing fields are empty strings, text unescaped."""

    def __init__(self, message: hl7lib.Message):
        self.message = message  # python-hl7's separators and escape character (to unescape text)
        seps = message.separators
        self.rep, self.comp = seps[2], seps[3]
        self.esc = message.esc

    def raw(self, segment: Segment, n: int) -> str:
        return segment[n] if len(segment) > n else ""

    def text(self, raw: str) -> str:
        if self.esc not in raw:  # nothing to unescape (most fields): python-hl7 would return it as it is
            return raw.strip()
        try:
            return self.message.unescape(raw).strip()
        except Exception:  # noqa: BLE001 - a broken escape stays as sent
            return raw.strip()

    def component(self, raw: str, n: int) -> str:
        parts = raw.split(self.rep, 1)[0].split(self.comp)
        return self.text(parts[n - 1]) if len(parts) >= n else ""


def _parse(text: str) -> tuple[list[Segment], _Fields]:
    """The segments of a normalised message, each a list of its raw fields, or Rejected.

    python-hl7 reads the separators (and refuses what it cannot parse: MSH too short, separators
    that collide); the segments are then split on the field separator only. They are the fields
    python-hl7 gives (`str(segment[n])`), without building its objects for every component and
    subcomponent, which took a third of the import's time. Components are split when a field is
    read (`_Fields`). MSH is numbered as python-hl7 numbers it, but its fields are read_header's.
    """
    if not text.startswith("MSH"):
        raise Rejected([Problem(ProblemKind.MALFORMED, "Not an HL7 v2 message: it does not start with MSH.")])
    text = text.strip()  # as python-hl7 does
    try:
        plan = create_parse_plan(text)
        level = plan
        while level is not None:  # python-hl7 checks its separators level by level as it parses
            level = level.next()
    except Exception as error:  # noqa: BLE001 - any parser failure means "malformed"
        raise Rejected([Problem(ProblemKind.MALFORMED, f"Not a readable HL7 v2 message ({error}).")]) from None
    separator = plan.separators[1]
    msh, *others = text.split("\r")
    segments = [["MSH", separator, *msh[4:].split(separator)], *(line.split(separator) for line in others)]
    return segments, _Fields(hl7lib.Message("\r", [], esc=plan.esc, separators=plan.separators))


def _observations(segments: list[Segment], f: _Fields) -> list[Observation]:
    observations = []
    order_time = order_id = ""
    orders = obx_count = 0
    for segment in segments:
        name = f.raw(segment, 0)
        if name == "OBR":
            orders += 1
            order_time = f.component(f.raw(segment, 7), 1)
            order_id = f.raw(segment, 3).strip() or f.raw(segment, 2).strip()
        elif name == "OBX":
            obx_count += 1
            set_id = f.raw(segment, 1).strip() or str(obx_count)
            code = f.raw(segment, 3)
            unit_raw = f.raw(segment, 6)
            unit_parts = unit_raw.split(f.comp)
            # "10^9/L" sent without escaping the ^ arrives as components "10" and "9/L".
            unit = f.text(unit_raw) if len(unit_parts) > 1 and unit_parts[0].strip().isdigit() else None
            observations.append(
                Observation(
                    where=f"OBR {orders} OBX {set_id}" if orders else f"OBX {set_id}",
                    code=f.component(code, 1),
                    system=f.component(code, 3),
                    display=f.component(code, 2),
                    value_type=f.raw(segment, 2).strip().upper(),
                    value=f.raw(segment, 5),
                    unit=unit if unit is not None else f.component(unit_raw, 1),
                    ref_range=f.text(f.raw(segment, 7)),
                    status=f.raw(segment, 11).strip().upper(),
                    observed_at=f.component(f.raw(segment, 14), 1),
                    order_time=order_time,
                    order_id=order_id,
                    sub_id=f.raw(segment, 4).strip(),
                )
            )
    return observations


def _mrn(segments: list[Segment], f: _Fields) -> str:
    pids = [segment for segment in segments if f.raw(segment, 0) == "PID"]
    if not pids:
        return ""
    identifiers = [rep for rep in f.raw(pids[0], 3).split(f.rep) if rep.strip()]
    typed = [rep for rep in identifiers if f.component(rep, 5).upper() == "MR"]
    chosen = (typed or identifiers or [""])[0]
    return f.component(chosen, 1)


LOINC_CACHE_SECONDS = 60
_loinc_cache: tuple[float, dict[str, Analyte]] = (0.0, {})


def _loinc_map() -> dict[str, Analyte]:
    """The analytes by LOINC, re-read at most once a minute per process: they change with a
    deployment (the catalogue), not between two messages. A clinic's own codes are read fresh."""
    global _loinc_cache
    read_at, by_code = _loinc_cache
    if time.monotonic() - read_at > LOINC_CACHE_SECONDS:
        by_code = {}
        for analyte in Analyte.objects.all():
            for code in [analyte.loinc, *analyte.other_loincs]:
                if code:
                    by_code.setdefault(code, analyte)
        _loinc_cache = (time.monotonic(), by_code)
    return by_code


class _Codes:
    """The clinic's local codes (one query per message or batch), then the catalogue's LOINC codes."""

    def __init__(self, clinic):
        self.local = {(c.system, c.code): c for c in LocalCode.objects.filter(clinic=clinic).select_related("analyte")}
        self.loinc = _loinc_map()

    def find(self, system: str, code: str) -> tuple[bool, Analyte | None, str]:
        """(known, analyte or None when the clinic skips the code, unit override)."""
        local = self.local.get((system, code)) or self.local.get(("", code))
        if local is not None:
            return True, local.analyte, local.unit
        if system.upper() in LOINC_SYSTEMS or not system:
            analyte = self.loinc.get(code)
            if analyte is not None:
                return True, analyte, ""
        return False, None, ""


def _number(text: str) -> float | None:
    text = text.strip()
    return float(text) if _NUMBER.fullmatch(text) else None


def _value(obs: Observation, f: _Fields) -> tuple[float | None, str]:
    """(number, problem text) of OBX-5."""
    raw = obs.value
    if f.rep in raw:
        return None, f"OBX-5 holds several values ({f.text(raw)!r})."
    if obs.value_type == "SN":
        parts = [f.text(p) for p in raw.split(f.comp)] + ["", "", "", ""]
        comparator, first, separator, second = parts[:4]
        if comparator not in {"", "="} or separator or second:
            return None, f"'{f.text(raw.replace(f.comp, ''))}' is not a plain number (comparator or range)."
        number = _number(first)
    else:
        text = f.text(raw)
        if text[:1] in {"<", ">"}:
            return None, f"'{text}' has a comparator: it cannot be stored as a number."
        number = _number(text)
    if number is None:
        return None, f"'{f.text(raw)}' is not a number."
    return number, ""


def _reference_range(text: str) -> tuple[float | None, float | None] | None:
    """(low, high) of OBX-7, or None if it cannot be read. Empty gives (None, None)."""
    text = text.strip()
    if not text:
        return None, None
    if match := _RANGE.fullmatch(text):
        return float(match[1]), float(match[2])
    if match := _UPPER_ONLY.fullmatch(text):
        return None, float(match[1])
    if match := _LOWER_ONLY.fullmatch(text):
        return float(match[1]), None
    return None


def _datetime(text: str) -> datetime | None:
    if not text:
        return None
    moment = hl7lib.parse_datetime(text)
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _source_id(sender: str, obs: Observation, collected_at: datetime) -> str:
    order = obs.order_id or collected_at.isoformat()
    source_id = f"{sender}|{order}|{obs.system}^{obs.code}|{obs.sub_id}"
    if len(source_id) > 120:
        source_id = "sha256:" + hashlib.sha256(source_id.encode()).hexdigest()
    return source_id


_PROBLEM_BY_FIELD = {"unit": ProblemKind.BAD_UNIT, "collected_at": ProblemKind.BAD_TIME}


def _read(obs: Observation, f: _Fields, codes: _Codes, sender: str, problems: list[Problem]):
    """An Incoming result, "skip" with a note, or None after adding the problems it has."""

    def problem(kind: str, detail: str) -> None:
        problems.append(Problem(kind, detail, where=obs.where, code=obs.code, system=obs.system, display=obs.display))

    if obs.status in RETRACTED_STATUS:
        known, analyte, _ = codes.find(obs.system, obs.code)
        if known and analyte is None:
            return "skip", "code not tracked by the clinic"
        problem(
            ProblemKind.UNSUPPORTED, f"The lab marked this result {RETRACTED_STATUS[obs.status]}: a person decides."
        )
        return None
    if obs.status in NO_RESULT_STATUS:
        return "skip", f"no result ({NO_RESULT_STATUS[obs.status]})"
    if obs.status not in STORED_STATUS:
        problem(ProblemKind.MALFORMED, f"Unknown result status (OBX-11) '{obs.status}'.")
        return None
    if not obs.code:
        problem(ProblemKind.UNKNOWN_CODE, "The result has no code (OBX-3).")
        return None
    known, analyte, unit_override = codes.find(obs.system, obs.code)
    if not known:
        problem(
            ProblemKind.UNKNOWN_CODE,
            f"Code {obs.code} ({obs.display or 'no name'}, {obs.system or 'no system'}) is not mapped to an analyte.",
        )
        return None
    if analyte is None:
        return "skip", "code not tracked by the clinic"
    value, why = _value(obs, f)
    if value is None:
        problem(ProblemKind.BAD_VALUE, why)
    limits = _reference_range(obs.ref_range)
    if limits is None:
        problem(
            ProblemKind.BAD_VALUE, f"Reference range (OBX-7) '{obs.ref_range}' of {analyte.name} is not understood."
        )
    try:
        collected_at = _datetime(obs.observed_at) or _datetime(obs.order_time)
    except (ValueError, TypeError, OverflowError):
        collected_at = None
        problem(ProblemKind.BAD_TIME, f"Collection time '{obs.observed_at or obs.order_time}' is not a date and time.")
    else:
        if collected_at is None:
            problem(ProblemKind.BAD_TIME, "No collection time (OBX-14 or OBR-7).")
    if value is None or limits is None or collected_at is None:
        return None
    incoming = results.Incoming(
        lab=LabValue(analyte, value, unit_override or obs.unit, collected_at, *limits),
        status=STORED_STATUS[obs.status],
        source=LabSource.HL7,
        source_id=_source_id(sender, obs, collected_at),
    )
    try:
        results.check(incoming)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            text = " ".join(messages)
            if field == "ref_high":
                text = f"Reference range (OBX-7) '{obs.ref_range}': {text}"
            problem(_PROBLEM_BY_FIELD.get(field, ProblemKind.BAD_VALUE), text)
        return None
    return incoming


class _Context:
    """What mapping needs from the database, read once per message (or once per batch)."""

    def __init__(self, clinic_id: int, mrns: list[str] | None = None):
        self.clinic_id = clinic_id
        self.codes = _Codes(clinic_id)
        self.patients: dict[str, Patient | None] = {}
        if mrns:
            found = {p.mrn: p for p in Patient.objects.filter(clinic_id=clinic_id, mrn__in=set(mrns))}
            self.patients = {mrn: found.get(mrn) for mrn in mrns}

    def patient(self, mrn: str) -> Patient | None:
        if mrn not in self.patients:
            self.patients[mrn] = Patient.objects.filter(clinic_id=self.clinic_id, mrn=mrn).first()
        return self.patients[mrn]


@dataclass
class _Reading:
    """A message parsed and its results read (no database yet)."""

    header: Header
    fields: _Fields
    observations: list[Observation]
    mrn: str


def _read_message(text: str, header: Header) -> _Reading:
    """Parse a normalised ORU^R01 and read its results, or raise Rejected (not HL7, not ORU^R01, no OBX)."""
    segments, f = _parse(text)
    kind = header.message_type.split(f.comp)
    if kind[:1] != ["ORU"] or (len(kind) > 1 and kind[1] not in {"R01", ""}):
        raise Rejected([Problem(ProblemKind.UNSUPPORTED, f"Message type '{header.message_type}' is not ORU^R01.")])
    observations = _observations(segments, f)
    if not observations:
        raise Rejected([Problem(ProblemKind.MALFORMED, "The message has no OBX segment: there are no results in it.")])
    return _Reading(header, f, observations, _mrn(segments, f))


@dataclass
class _Plan:
    patient: Patient
    results: list[tuple[Observation, results.Incoming]]
    skipped: list[dict]


def _plan(reading: _Reading, patient: Patient | None, context: _Context) -> _Plan:
    """Map and validate the whole message (no writes), or raise Rejected with every problem.
    `patient`: the one staff picked on the review page, else found by MRN."""
    problems: list[Problem] = []
    if patient is None:
        mrn = reading.mrn
        patient = context.patient(mrn) if mrn else None
        if patient is None:
            detail = f"No patient with MRN {mrn} in this clinic." if mrn else "No MRN in PID-3."
            problems.append(Problem(ProblemKind.UNKNOWN_PATIENT, detail, where="PID", mrn=mrn))

    skipped: list[dict] = []
    incoming: list[tuple[Observation, results.Incoming]] = []
    for obs in reading.observations:
        read = _read(obs, reading.fields, context.codes, reading.header.sender, problems)
        if isinstance(read, tuple):
            skipped.append({"where": obs.where, "code": obs.code, "outcome": "skipped", "detail": read[1]})
        elif read is not None:
            incoming.append((obs, read))
    if problems:
        raise Rejected(problems)
    return _Plan(patient, incoming, skipped)


def _finish(message: InboundMessage, plan: _Plan, outcomes: list[str]) -> dict:
    """Record on the message what its results did; the counts to store."""
    items = list(plan.skipped)
    for (obs, result), outcome in zip(plan.results, outcomes, strict=True):
        items.append({"where": obs.where, "code": obs.code, "analyte": result.lab.analyte.code, "outcome": outcome})
    message.patient = plan.patient
    message.items = items
    counts = Counter(outcomes, skipped=len(plan.skipped))
    return {key: value for key, value in counts.items() if value}


def process_message(message: InboundMessage) -> dict:
    """Import every result of an ORU^R01 or raise Rejected with every problem found."""
    text = normalise(message.raw)
    reading = _read_message(text, _header_of(text))
    plan = _plan(reading, message.patient, _Context(message.clinic_id))
    outcomes = results.store_all([(plan.patient, result) for _, result in plan.results])
    return _finish(message, plan, outcomes)


# -- many messages at once -------------------------------------------------------------------


def import_batch(texts: list[str], *, clinic, origin: str = "") -> list[InboundMessage]:
    """Import many messages (a file, a backlog) with the same outcome as one by one, in few queries.

    Every message is read and mapped first, without writing (the batch's patients, local codes,
    stored originals and stored results are each read in one query). Then one transaction writes
    the batch: the results (one INSERT, one audit-history INSERT), then every message's row with
    its final status: accepted with what its results did, quarantined with its reasons, or a
    duplicate of its original. A message is never half imported: its raw text commits with its
    results. If anything unexpected happens (another process stored one of the messages meanwhile,
    a bug), nothing of the batch is kept and each message goes through `import_message`, the
    careful way. (A file can be imported again; the MLLP listener, which must acknowledge only
    what is stored, uses `import_message`, which stores the raw text before anything else.)
    """
    if not texts:
        return []
    received = [_Received.of(text, clinic, origin) for text in texts]
    originals = _stored_originals(clinic, {message.row.dedupe_key for message in received})
    for original in originals.values():
        if original.status == InboundStatus.RECEIVED:  # stored by a run that died before processing it
            process_inbound(original)
    try:
        with transaction.atomic(), timezone.override(clinic.time_zone):  # a lab's local times are the clinic's
            _write_batch(received, originals, clinic)
    except (OperationalError, InterfaceError):
        raise
    except Exception:  # noqa: BLE001 - nothing of the batch was written: one message at a time
        logger.warning("An HL7 batch of %s messages failed; importing them one by one.", len(texts), exc_info=True)
        return [import_message(text, clinic=clinic, origin=origin) for text in texts]
    return [message.row for message in received]


@dataclass
class _Received:
    """A message of a batch: its row as received (not saved yet), its text normalised, its header."""

    row: InboundMessage
    text: str
    header: Header

    @classmethod
    def of(cls, text: str, clinic, origin: str) -> _Received:
        normal = normalise(text)
        header = _header_of(normal)
        fields = received_fields(
            clinic=clinic,
            kind=InboundKind.HL7,
            raw=text,
            dedupe_key=dedupe_key(normal, header),
            control_id=header.control_id,
            sender=header.sender,
            origin=origin,
        )
        return cls(InboundMessage(**fields), normal, header)


def _stored_originals(clinic, keys: set[str]) -> dict[str, InboundMessage]:
    stored = InboundMessage.objects.filter(clinic=clinic, kind=InboundKind.HL7, dedupe_key__in=keys)
    return {message.dedupe_key: message for message in stored.exclude(status=InboundStatus.DUPLICATE)}


def _write_batch(received: list[_Received], originals: dict[str, InboundMessage], clinic) -> None:
    """Decide every row's outcome, then write the results and the rows (in the caller's transaction)."""
    now = timezone.now()
    new: dict[str, InboundMessage] = {}  # the batch's originals, by dedupe key
    readings: list[tuple[InboundMessage, _Reading]] = []
    for message in received:
        row = message.row
        original = originals.get(row.dedupe_key) or new.get(row.dedupe_key)
        if original is not None:
            row.status, row.duplicate_of, row.processed_at = InboundStatus.DUPLICATE, original, now
            continue
        new[row.dedupe_key] = row
        try:
            readings.append((row, _read_message(message.text, message.header)))
        except Rejected as rejected:
            mark_quarantined(row, summarise(rejected.problems), rejected.problems)
    context = _Context(clinic.pk, mrns=[reading.mrn for _, reading in readings])
    plans: list[tuple[InboundMessage, _Plan]] = []
    for row, reading in readings:
        try:
            plans.append((row, _plan(reading, None, context)))
        except Rejected as rejected:
            mark_quarantined(row, summarise(rejected.problems), rejected.problems)
    outcomes = iter(results.store_all([(plan.patient, result) for _, plan in plans for _, result in plan.results]))
    for row, plan in plans:
        row.counts = _finish(row, plan, [next(outcomes) for _ in plan.results])
        row.status, row.processed_at = InboundStatus.ACCEPTED, now
    InboundMessage.objects.bulk_create(new.values())
    InboundMessage.objects.bulk_create([m.row for m in received if m.row.status == InboundStatus.DUPLICATE])


# -- acknowledgements ------------------------------------------------------------------------

ACK_CODE = {
    InboundStatus.ACCEPTED: "AA",
    InboundStatus.REPROCESSED: "AA",
    InboundStatus.QUARANTINED: "AE",
    InboundStatus.RECEIVED: "AE",
}
# MSA-3 of an AE: the same words whatever the problem was (see `acknowledgement`).
STORED_FOR_REVIEW = "Stored for review by the clinic."
NOT_YET_PROCESSED = "Stored; not yet processed."


def _escape(text: str) -> str:
    for char, sequence in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        text = text.replace(char, sequence)
    return " ".join(text.split())


def build_ack(header: Header, code: str, text: str = "") -> str:
    """An ACK for `header`'s message: MSA-1 AA / AE / AR, MSA-2 its control id, MSA-3 why."""
    now = timezone.now().strftime("%Y%m%d%H%M%S")
    receiver = header.receiver.split("|") if header.receiver != "|" and header.receiver else ["AIH-TRACKER", ""]
    sender = header.sender.split("|") if header.sender else ["", ""]
    control = f"ACK{now}{header.control_id}"[:20]
    msh = [
        "MSH",
        "^~\\&",
        _escape(receiver[0]) or "AIH-TRACKER",
        _escape(receiver[1] if len(receiver) > 1 else ""),
        _escape(sender[0]),
        _escape(sender[1] if len(sender) > 1 else ""),
        now,
        "",
        "ACK^R01^ACK",
        control,
        _escape(header.processing_id) or "P",
        _escape(header.version) or "2.5",
    ]
    msa = ["MSA", code, _escape(header.control_id), _escape(text)[:200]]
    return "|".join(msh) + "\r" + "|".join(msa).rstrip("|") + "\r"


def acknowledgement(message: InboundMessage) -> tuple[str, str]:
    """(AA or AE, ACK text) for a stored message; a duplicate answers as its original.

    An AE never says why (an unknown MRN, an unknown code ...): a sender could otherwise probe
    which MRNs the clinic has. The reasons are for staff, on the quarantine page."""
    status = effective_status(message)
    code = ACK_CODE.get(status, "AE")
    text = ""
    if code == "AE":
        text = NOT_YET_PROCESSED if status == InboundStatus.RECEIVED else STORED_FOR_REVIEW
    return code, build_ack(read_header(message.raw), code, text)
