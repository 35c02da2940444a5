"""Storing an imported result: new, unchanged, or replacing a preliminary one (any importer).

Conversion and validation are monitoring.services.convert_lab_value's (through
record_lab_result for a new row); this module only decides what an incoming result means for
the row already stored under the same source id.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluation import enqueue_evaluation
from ..models import LabResult, ResultStatus
from ..services import LabValue, convert_lab_value, record_lab_result


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


def store(incoming: Incoming, *, patient, existing: LabResult | None, entered_by=None) -> tuple[str, LabResult | None]:
    """Write `incoming` (call inside the importer's transaction). Returns what was done and the row."""
    outcome = decide(incoming, existing)
    if outcome == CREATED:
        existing = record_lab_result(
            patient=patient,
            lab=incoming.lab,
            source=incoming.source,
            source_id=incoming.source_id,
            status=incoming.status,
            entered_by=entered_by,
        )
    elif outcome == UPDATED:
        value, low, high = check(incoming)
        existing.value = value
        existing.ref_low, existing.ref_high = low, high
        existing.value_as_reported = f"{incoming.lab.value:g}"
        existing.unit_as_reported = incoming.lab.unit
        existing.collected_at = incoming.lab.collected_at
        existing.status = incoming.status
        existing.save()  # the audit history keeps the preliminary value
        enqueue_evaluation(patient.pk)
    return outcome, existing


def existing_results(patient, source: str, source_ids: list[str]) -> dict[tuple[int, str], LabResult]:
    """Rows already stored for these source ids, by (analyte id, source id): one query."""
    if not source_ids:
        return {}
    rows = LabResult.objects.filter(patient=patient, source=source, source_id__in=source_ids).select_related("analyte")
    return {(row.analyte_id, row.source_id): row for row in rows}
