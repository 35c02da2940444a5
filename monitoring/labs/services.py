"""Writing lab results: validate, convert to the canonical unit, store with the lab's range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from monitoring.catalogue import UnitNotAccepted
from monitoring.changes import enqueue_evaluation
from monitoring.models import Analyte, LabResult, LabSource, ResultStatus, reference_range_problem


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
    if problem := reference_range_problem(analyte, low, high):
        raise ValidationError({"ref_high": problem})
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


@dataclass(frozen=True)
class NewLabResult:
    """One result for record_lab_results: whose, the value as reported, and its identity in the source."""

    patient: object
    lab: LabValue
    source: str = LabSource.MANUAL
    source_id: str = ""
    status: str = ResultStatus.FINAL


def record_lab_results(results: Sequence[NewLabResult], *, entered_by=None) -> list[LabResult]:
    """Store many results at once (imported messages): each is converted and validated as by
    record_lab_result, then one INSERT, one audit-history INSERT and one evaluation per patient
    on commit. Raises ValidationError and stores nothing if any result is bad."""
    rows = []
    for result in results:
        value, low, high = convert_lab_value(result.lab)
        rows.append(
            LabResult(
                patient=result.patient,
                analyte=result.lab.analyte,
                value=value,
                value_as_reported=f"{result.lab.value:g}",
                unit_as_reported=result.lab.unit,
                ref_low=low,
                ref_high=high,
                collected_at=result.lab.collected_at,
                status=result.status,
                source=result.source,
                source_id=result.source_id,
                entered_by=entered_by,
            )
        )
    if not rows:
        return []
    # No savepoint of its own: inside an importer's transaction a failure rolls back the whole import.
    with transaction.atomic(savepoint=False):
        for patient_id in {row.patient_id for row in rows}:
            enqueue_evaluation(patient_id)
        created = LabResult.objects.bulk_create(rows)
        # bulk_create sends no post_save, so the audit history is written here, as for one row.
        _copy_into_history(LabResult, [row.pk for row in created], user=entered_by or _history_user(created[0]))
        return created


def _history_user(instance):
    """Who simple_history records for a change made in this context (the request's user, if any)."""
    return type(instance).history.model.get_default_history_user(instance)


def _copy_into_history(model, pks: list[int], *, user) -> None:
    """The "created" audit-history row of each of these rows, as simple_history's
    bulk_history_create writes it (every tracked field, type "+", the user, no change reason),
    but copied inside the database by one INSERT ... SELECT: building a historical object per
    row in Python took a third of an HL7 import's time."""
    from django.conf import settings
    from django.db import connections

    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True) or not pks:
        return
    history = model.history.model
    tracked = [field.attname for field in history.tracked_fields]
    rows = model._base_manager.filter(pk__in=pks).order_by().values_list(*tracked)
    connection = connections[rows.db]
    select, params = rows.query.get_compiler(connection=connection).as_sql()
    columns = [history._meta.get_field(name).column for name in tracked]
    columns += ["history_date", "history_type", "history_change_reason", "history_user_id"]
    constants = [connection.ops.adapt_datetimefield_value(timezone.now()), "+", "", getattr(user, "pk", None)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(history._meta.db_table)} "
            f"({', '.join(connection.ops.quote_name(column) for column in columns)}) "
            f"SELECT copied.*, %s, %s, %s, %s FROM ({select}) AS copied",
            [*constants, *params],
        )
