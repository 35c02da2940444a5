"""Storing imported results: new, unchanged, or replacing a preliminary one (any importer).

Conversion and validation are monitoring.labs.services.convert_lab_value's (through
record_lab_results for new rows); this module only decides what an incoming result means for
the row already stored under the same source id.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from monitoring.changes import enqueue_evaluation
from monitoring.labs.services import LabValue, NewLabResult, convert_lab_value, record_lab_results
from monitoring.models import LabResult, ResultStatus


@dataclass(frozen=True)
class Incoming:
    """One result as an importer read it (in the lab's unit) with its identity in the source."""

    lab: LabValue
    status: str  # ResultStatus
    source: str  # LabSource
    source_id: str


CREATED, UPDATED, UNCHANGED, STALE = "created", "updated", "unchanged", "stale"


def check(incoming: Incoming) -> tuple[float, float | None, float | None]:
    """The canonical (value, ref_low, ref_high), or ValidationError saying what is wrong."""
    return convert_lab_value(incoming.lab)


def decide(incoming: Incoming, existing: LabResult | None) -> str:
    """What storing `incoming` does, given the row stored under its source id (or None).

    A newer result replaces the stored one (a preliminary by the next or by the final, a final
    by a correction or by a later final: the lab is the source, the audit history keeps the old
    value); a preliminary arriving after the final, or a final after a correction, is stale.
    """
    if existing is None:
        return CREATED
    value, low, high = check(incoming)
    same = (
        existing.value == value
        and existing.ref_low == low
        and existing.ref_high == high
        and existing.collected_at == incoming.lab.collected_at
        and existing.unit_as_reported == incoming.lab.unit
    )
    if same and existing.status == incoming.status:
        return UNCHANGED
    if incoming.status == ResultStatus.PRELIMINARY and existing.status != ResultStatus.PRELIMINARY:
        return STALE
    if incoming.status == ResultStatus.FINAL and existing.status == ResultStatus.CORRECTED:
        return STALE
    return UPDATED


def _update(existing: LabResult, incoming: Incoming, patient) -> LabResult:
    value, low, high = check(incoming)
    existing.value = value
    existing.ref_low, existing.ref_high = low, high
    existing.value_as_reported = f"{incoming.lab.value:g}"
    existing.unit_as_reported = incoming.lab.unit
    existing.collected_at = incoming.lab.collected_at
    existing.status = incoming.status
    existing.save()  # the audit history keeps the value it replaces
    enqueue_evaluation(patient.pk)
    return existing


def store_all(pairs: list[tuple[object, Incoming]], *, entered_by=None) -> list[str]:
    """Write (patient, result) pairs in order (inside the importer's transaction); what each did.

    One query finds what is stored under the same source ids; the new results are written in
    one go (record_lab_results); replacements are saved one by one (rare). A result that comes
    twice (a preliminary and its final in one file) is decided against the earlier one.
    """
    existing = existing_results(pairs)
    new: dict[tuple, tuple[object, Incoming]] = {}
    outcomes = []
    for patient, incoming in pairs:
        key = (patient.pk, incoming.source, incoming.lab.analyte.pk, incoming.source_id)
        if key in new:
            outcome = decide_pending(incoming, new[key][1])
            if outcome == UPDATED:
                new[key] = (patient, incoming)
        else:
            outcome = decide(incoming, existing.get(key))
            if outcome == CREATED:
                new[key] = (patient, incoming)
            elif outcome == UPDATED:
                existing[key] = _update(existing[key], incoming, patient)
        outcomes.append(outcome)
    record_lab_results(
        [
            NewLabResult(patient, incoming.lab, incoming.source, incoming.source_id, incoming.status)
            for patient, incoming in new.values()
        ],
        entered_by=entered_by,
    )
    return outcomes


def decide_pending(incoming: Incoming, pending: Incoming) -> str:
    """`decide` against a result of the same import that is not written yet."""
    if incoming == pending:
        return UNCHANGED
    if incoming.status == ResultStatus.PRELIMINARY and pending.status != ResultStatus.PRELIMINARY:
        return STALE
    if incoming.status == ResultStatus.FINAL and pending.status == ResultStatus.CORRECTED:
        return STALE
    return UPDATED


def existing_results(pairs: list[tuple[object, Incoming]]) -> dict[tuple, LabResult]:
    """Rows already stored under these results' source ids, by (patient, source, analyte, source id)."""
    wanted = sorted(
        {
            (patient.pk, result.lab.analyte.pk, result.source, result.source_id)
            for patient, result in pairs
            if result.source_id
        }
    )
    found = {}
    for start in range(0, len(wanted), IDENTITIES_PER_QUERY):
        rows = LabResult.objects.filter(_stored_as(wanted[start : start + IDENTITIES_PER_QUERY]))
        # source_id <> '' lets PostgreSQL use the unique index (it is partial: ids that are not empty).
        for row in rows.exclude(source_id="").select_related("analyte").order_by():
            found[(row.patient_id, row.source, row.analyte_id, row.source_id)] = row
    return found


# A batch of 500 six-result messages in one query; 4 parameters each stays below SQLite's 32,766.
IDENTITIES_PER_QUERY = 5000


def _stored_as(identities: list[tuple[int, int, str, str]]) -> RawSQL:
    """Rows whose (patient, analyte, source, source id) is one of these: each is looked up in the
    unique index on those columns, joined against a VALUES list (every database reads one). Each
    column IN its own list instead reads every result of the batch's patients (a scan of the table
    when a batch touches most of them), and an OR per identity takes PostgreSQL seconds to plan."""
    quote = connection.ops.quote_name
    table = quote(LabResult._meta.db_table)
    columns = ["patient_id", "analyte_id", "source", "source_id"]
    match = " AND ".join(f"wanted.column{n} = {table}.{quote(column)}" for n, column in enumerate(columns, 1))
    values = ", ".join(["(%s, %s, %s, %s)"] * len(identities))
    sql = f"EXISTS (SELECT 1 FROM (VALUES {values}) AS wanted WHERE {match})"
    return RawSQL(sql, [value for identity in identities for value in identity], output_field=BooleanField())
