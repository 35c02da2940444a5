"""What an evaluation was computed from besides the patient's own data: the basis.

Each clinic's parameters, and a digest per clinic of the rules' code, those parameters, the analyte
catalogue and the clinic's reference ranges. EvaluationState.basis records the digest an evaluation
used; the nightly sweep re-evaluates a patient whose clinic's digest has changed since.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aih_tracker.models import Clinic
from monitoring.clinic_parameters import all_clinic_parameters
from monitoring.models import Analyte, ReferenceInterval

_MONITORING = Path(__file__).resolve().parent.parent
# The code that turns a timeline into findings (the loader and the cache only read and remember).
_RULE_SOURCES = (
    "engine/evaluate.py",
    "engine/context.py",
    "engine/horizon.py",
    "engine/response.py",
    "engine/schedule.py",
    "engine/formulas.py",
    "engine/timeline.py",
    "catalogue.py",
)


@cache
def rules_fingerprint() -> str:
    """A digest of the code that turns a timeline into findings: a deployment that changes it re-evaluates all."""
    files = [_MONITORING / name for name in _RULE_SOURCES] + sorted((_MONITORING / "rules").glob("*.py"))
    files.append(_MONITORING.parent / "regimens" / "catalogue.py")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Basis:
    """Everything besides the patients' own data that findings depend on, read together: each clinic's
    parameters, and a digest per clinic of the rules' code, those parameters, the analyte catalogue and
    the clinic's reference ranges (what EvaluationState.basis records)."""

    params: dict[int, dict]  # clinic id -> parameters
    digests: dict[int, str]  # clinic id -> digest
    analyte_codes: dict[int, str]  # analyte id -> code, as the digest saw them


def read_basis() -> Basis:
    """The basis of every clinic, read now (a few small queries)."""
    analytes = list(Analyte.objects.order_by("pk").values_list())
    clinic_ids = list(Clinic.objects.order_by("pk").values_list("pk", flat=True))
    params = all_clinic_parameters(clinic_ids)
    intervals: dict[int, list] = defaultdict(list)
    rows = ReferenceInterval.objects.order_by("pk")
    for row in rows.values_list("clinic_id", "analyte_id", "sex", "low", "high", "lab_name"):
        intervals[row[0]].append(row)
    digests = {
        clinic_id: hashlib.sha256(
            json.dumps(
                [rules_fingerprint(), params[clinic_id], analytes, intervals[clinic_id]], sort_keys=True, default=str
            ).encode()
        ).hexdigest()
        for clinic_id in clinic_ids
    }
    code_at = [field.attname for field in Analyte._meta.concrete_fields].index("code")
    return Basis(params, digests, {row[0]: row[code_at] for row in analytes})
