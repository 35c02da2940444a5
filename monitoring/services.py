"""Writing lab results: validate, convert to the canonical unit, store with the lab's range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .catalogue import UnitNotAccepted
from .evaluation import enqueue_evaluation
from .models import Analyte, LabResult, LabSource, ResultStatus


@dataclass(frozen=True)
class LabValue:
    """A value as the lab reported it: number, unit and optional reference range in that unit."""

    analyte: Analyte
    value: float
    unit: str
    collected_at: datetime
    ref_low: float | None = None
    ref_high: float | None = None


def convert_lab_value(lab: LabValue) -> tuple[float, float | None, float | None]:
    """(value, ref_low, ref_high) in the analyte's canonical unit, or ValidationError saying why not."""
    analyte = lab.analyte
    try:
        value = analyte.to_canonical(lab.value, lab.unit)
        low = analyte.to_canonical(lab.ref_low, lab.unit) if lab.ref_low is not None else None
        high = analyte.to_canonical(lab.ref_high, lab.unit) if lab.ref_high is not None else None
    except UnitNotAccepted as error:
        raise ValidationError({"unit": str(error)}) from None
    if value < 0:
        raise ValidationError({"value": f"{analyte.name} cannot be negative."})
    if not analyte.plausible_min <= value <= analyte.plausible_max:
        raise ValidationError(
            {
                "value": f"{analyte.name} {value:g} {analyte.canonical_unit} is outside the plausible range "
                f"{analyte.plausible_min:g}–{analyte.plausible_max:g} {analyte.canonical_unit}."
            }
        )
    if low is not None and high is not None and high < low:
        raise ValidationError({"ref_high": "The upper reference limit is below the lower one."})
    if lab.collected_at > timezone.now():
        raise ValidationError({"collected_at": "The collection time is in the future."})
    return value, low, high


def record_lab_result(
    *,
    patient,
    lab: LabValue,
    source: str = LabSource.MANUAL,
    source_id: str = "",
    status: str = ResultStatus.FINAL,
    entered_by=None,
    visit=None,
) -> LabResult:
    """Store one result in canonical units. Raises ValidationError and stores nothing on bad input."""
    value, low, high = convert_lab_value(lab)
    with transaction.atomic():
        enqueue_evaluation(patient.pk)
        return LabResult.objects.create(
            patient=patient,
            analyte=lab.analyte,
            value=value,
            value_as_reported=f"{lab.value:g}",
            unit_as_reported=lab.unit,
            ref_low=low,
            ref_high=high,
            collected_at=lab.collected_at,
            status=status,
            source=source,
            source_id=source_id,
            entered_by=entered_by,
            visit=visit,
        )
