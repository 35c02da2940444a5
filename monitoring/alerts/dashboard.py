"""The clinic dashboard: tiles that link to the list behind them, and the cohort quality measures.

Two sources, each read in a fixed number of queries whatever the clinic's size:

* alert tiles are counted live from the unresolved alert rows in one aggregate query (the engine
  already judged each patient; the dashboard does not re-run the rules). Each counts what its link
  lists: open or acknowledged alerts, as the queue's "To work" tab shows them.
* cohort tiles and quality measures need each patient's response history and schedule
  (monitoring/alerts/quality.py), which is far too much work for a page view on 10,000 patients. They come
  from a snapshot of the day kept in Django's cache (Redis in a clinic deployment, files under var/
  in the embedded default), refreshed by the nightly job (`refresh_cohort_snapshots`, also the
  `cohort_snapshot` command) and computed on demand when a scope has no snapshot of the day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from aih_tracker.models import Clinic
from monitoring.alerts.quality import CohortSnapshot, PatientFacts, cohort_facts, summarise
from monitoring.changes import REFRESH_COHORT_SNAPSHOTS, task_by_name
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.models import Alert, Severity
from monitoring.parameters import defaults
from patients.models import Patient

logger = logging.getLogger(__name__)

BLOODS_RULES = ("MON-01", "MON-02", "MON-03", "MON-04", "MON-05", "MON-06", "MON-07")
SNAPSHOT_VERSION = 2  # raise when CohortSnapshot changes shape, so old cache entries are ignored
SNAPSHOT_SECONDS = 36 * 3600  # a day's snapshot outlives the day a little; the key carries the date
LATEST_SECONDS = 7 * 24 * 3600  # the latest one stands in while a missed nightly refresh catches up
# A scope that never had a snapshot is computed during the request only if it is this small (about
# 10 ms a patient); a larger one gets a placeholder and a queued refresh instead of a timeout.
SYNC_SNAPSHOT_MAX_PATIENTS = 1000


@dataclass(frozen=True)
class Tile:
    key: str
    section: str
    label: str
    count: int
    unit: str  # "patients" / "alerts"
    definition: str
    url: str


# key, section, label, condition on alerts to work, count, definition, link (path, query)
ALERT_TILES = (
    ("critical", "Needs attention now", "Open critical alerts", Q(severity=Severity.CRITICAL), "alerts",
     "Critical alerts open or acknowledged (not snoozed).", ("monitoring:alerts", {"severity": 4})),
    ("bloods_overdue", "Needs attention now", "Bloods overdue",
     Q(rule_id__in=BLOODS_RULES, severity__gte=Severity.WARNING), "patients",
     "Patients with a monitoring-bloods alert (MON-01…07) of warning or above, open or acknowledged: a panel "
     "past its overdue date (a panel that is merely due raises an info alert).",
     ("monitoring:recall", {"show": "overdue"})),
    ("dexa_due", "Bone", "DEXA due", Q(rule_id="STER-01", severity=Severity.INFO), "patients",
     "On steroids, last DEXA older than the due interval (STER-01, info).",
     ("monitoring:alerts", {"rule": "STER-01", "severity": 1})),
    ("dexa_overdue", "Bone", "DEXA overdue", Q(rule_id="STER-01", severity=Severity.WARNING), "patients",
     "On steroids, DEXA past the overdue interval or no baseline scan (STER-01, warning).",
     ("monitoring:alerts", {"rule": "STER-01", "severity": 2})),
    ("low_metabolites", "Adherence gaps", "Low-metabolite pattern", Q(rule_id="TPM-01"), "patients",
     "Low 6-TGN with low 6-MMP on a thiopurine: possible non-adherence (TPM-01).",
     ("monitoring:alerts", {"rule": "TPM-01"})),
)  # fmt: skip
COHORT_SECTIONS = {
    "not_normalised_early": "Response",
    "not_normalised_late": "Response",
    "missed_doses": "Adherence gaps",
    "missed_bloods": "Adherence gaps",
}
SECTIONS = ("Response", "Adherence gaps", "Needs attention now", "Bone")


def _link(name: str, query: dict, clinic_id: int | None) -> str:
    if clinic_id and name == "monitoring:alerts":
        query = {**query, "clinic": clinic_id}
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


def alert_tiles(user, clinic_id: int | None = None) -> list[Tile]:
    """The live tiles, one aggregate query. Patients are counted once per tile (one unresolved alert per
    patient and rule, so a one-rule tile counts the same rows its queue link lists)."""
    alerts = Alert.objects.for_user(user).to_work()
    if clinic_id:
        alerts = alerts.filter(patient__clinic_id=clinic_id)
    counts = alerts.aggregate(
        **{
            key: Count("pk" if unit == "alerts" else "patient", filter=condition, distinct=True)
            for key, _, _, condition, unit, _, _ in ALERT_TILES
        }
    )
    return [
        Tile(key, section, label, counts[key], unit, definition, _link(*link, clinic_id))
        for key, section, label, _, unit, definition, link in ALERT_TILES
    ]


def cohort_tiles(snapshot: CohortSnapshot, clinic_id: int | None = None) -> list[Tile]:
    query = f"?clinic={clinic_id}" if clinic_id else ""
    return [
        Tile(
            group.key,
            COHORT_SECTIONS[group.key],
            group.label,
            group.count,
            "patients",
            group.definition,
            reverse("monitoring:dashboard_cohort", args=[group.key]) + query,
        )
        for group in snapshot.groups.values()
    ]


def dashboard_tiles(user, snapshot: CohortSnapshot, clinic_id: int | None = None) -> list[Tile]:
    tiles = ([] if snapshot.pending else cohort_tiles(snapshot, clinic_id)) + alert_tiles(user, clinic_id)
    return sorted(tiles, key=lambda tile: SECTIONS.index(tile.section))


# -- the cohort snapshot -----------------------------------------------------------------------------


def scope_of(user, clinic_id: int | None) -> int | str:
    """Whose patients: the chosen clinic, the user's clinic, or every clinic (a superuser)."""
    if user.is_superuser:
        return clinic_id or "all"
    return user.clinic_id


def _key(scope: int | str, as_of: date | str) -> str:
    day = as_of.isoformat() if isinstance(as_of, date) else as_of
    return f"aih:cohort-snapshot:v{SNAPSHOT_VERSION}:{scope}:{day}"


def _params(scope: int | str) -> dict:
    return defaults() if scope == "all" else parameters_for_clinic(scope)


def _store(scope: int | str, facts: list[PatientFacts], as_of: date) -> CohortSnapshot:
    snapshot = summarise(facts, _params(scope), as_of, timezone.localtime().isoformat(timespec="minutes"))
    cache.set(_key(scope, as_of), snapshot, SNAPSHOT_SECONDS)
    cache.set(_key(scope, "latest"), snapshot, LATEST_SECONDS)
    return snapshot


def _active_ids(scope: int | str) -> list[int]:

    patients = Patient.objects.active()
    if scope != "all":
        patients = patients.filter(clinic_id=scope)
    return list(patients.order_by("pk").values_list("pk", flat=True))


def cohort_snapshot(user, clinic_id: int | None = None, as_of: date | None = None) -> CohortSnapshot:
    """Today's snapshot for what this user sees.
    If the nightly refresh has not run, the latest earlier snapshot is shown (the page says of which
    day) and a refresh is queued; only a scope that never had one is computed during the request.
    """
    as_of = as_of or timezone.localdate()
    scope = scope_of(user, clinic_id)
    found = cache.get_many([_key(scope, as_of), _key(scope, "latest")])
    if _key(scope, as_of) in found:
        return found[_key(scope, as_of)]
    latest = found.get(_key(scope, "latest"))
    if latest is not None and latest.as_of < as_of:
        _refresh_in_background(as_of)
        return latest
    ids = _active_ids(scope)
    if len(ids) > SYNC_SNAPSHOT_MAX_PATIENTS:
        _refresh_in_background(as_of)
        empty = summarise([], _params(scope), as_of, timezone.localtime().isoformat(timespec="minutes"))
        return replace(empty, patients=len(ids), pending=True)
    return _store(scope, cohort_facts(ids, as_of), as_of)


def _refresh_in_background(as_of: date) -> None:
    """Queue one refresh of every snapshot for the day (the first stale page view does; others wait)."""
    if not cache.add(f"aih:cohort-snapshot:refreshing:{as_of.isoformat()}", True, 3600):
        return
    try:
        task_by_name(REFRESH_COHORT_SNAPSHOTS).delay()
    except Exception:  # noqa: BLE001 - a broker outage must not break the dashboard; tonight's run catches up
        logger.warning("Could not queue the cohort snapshot refresh; showing the latest snapshot.")


def refresh_cohort_snapshots(as_of: date | None = None) -> dict[int | str, CohortSnapshot]:
    """Recompute every clinic's snapshot (and the all-clinics one) from one pass over the patients."""
    as_of = as_of or timezone.localdate()
    facts = cohort_facts(_active_ids("all"), as_of)
    by_clinic: dict[int, list[PatientFacts]] = {}
    for fact in facts:
        by_clinic.setdefault(fact.clinic_id, []).append(fact)

    snapshots = {clinic_id: _store(clinic_id, [], as_of) for clinic_id in Clinic.objects.values_list("pk", flat=True)}
    snapshots.update({clinic_id: _store(clinic_id, rows, as_of) for clinic_id, rows in by_clinic.items()})
    snapshots["all"] = _store("all", facts, as_of)
    return snapshots
