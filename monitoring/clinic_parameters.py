"""A clinic's clinical parameters: the declared defaults (parameters.py) overlaid with the values the
clinic's admin chose (ClinicalParameter rows)."""

from __future__ import annotations

from typing import Any

from .models import ClinicalParameter
from .parameters import defaults


def parameters_for_clinic(clinic_id: int) -> dict[str, Any]:
    """Defaults overlaid with the clinic's overrides."""
    return all_clinic_parameters([clinic_id])[clinic_id]


def all_clinic_parameters(clinic_ids) -> dict[int, dict[str, Any]]:
    """{clinic id: its parameters} for these clinics, in one query."""
    by_clinic = {clinic_id: defaults() for clinic_id in clinic_ids}
    overrides = ClinicalParameter.objects.filter(clinic_id__in=list(by_clinic)).order_by()
    for clinic_id, key, value in overrides.values_list("clinic_id", "key", "value"):
        if key in by_clinic[clinic_id]:
            by_clinic[clinic_id][key] = value
    return by_clinic
