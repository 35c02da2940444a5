"""Clinic dashboard tiles, counted from the unresolved alert rows in one query (the engine already
judged each patient; the dashboard does not re-run the rules)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from .models import Alert, AlertStatus, Severity

TO_WORK = Q(status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED))
BLOODS_RULES = ("MON-01", "MON-02", "MON-03", "MON-04", "MON-05", "MON-06", "MON-07")
RESPONSE_RULES = ("RESP-01", "RESP-02", "RESP-04", "RESP-05", "REL-01", "REL-02")


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    count: int
    definition: str
    url: str


TILES = (
    # key, label, filter on unresolved alerts, definition, link
    ("critical", "Open critical alerts", Q(severity=Severity.CRITICAL) & ~Q(status=AlertStatus.SNOOZED),
     "Alerts of severity critical, open or acknowledged.", "/alerts/?severity=4"),
    ("bloods", "Patients with bloods overdue", Q(rule_id__in=BLOODS_RULES, severity__gte=Severity.WARNING),
     "Patients with an unresolved monitoring-bloods alert (MON-01…07) of warning or above: a panel past its "
     "overdue date (a panel that is merely due raises an info alert).",
     "/recall/?show=overdue"),
    ("response", "Patients not in response", Q(rule_id__in=RESPONSE_RULES),
     "Patients with an unresolved response alert (RESP-01/02/04/05, REL-01/02): ALT or IgG not normalised.",
     "/alerts/?family=response"),
    ("dexa_due", "DEXA due", Q(rule_id="STER-01", severity=Severity.INFO),
     "On steroids, last DEXA older than the due interval (STER-01, info).", "/alerts/?family=steroid_bone"),
    ("dexa_overdue", "DEXA overdue", Q(rule_id="STER-01", severity__gte=Severity.WARNING),
     "On steroids, DEXA past the overdue interval or no baseline (STER-01, warning).",
     "/alerts/?family=steroid_bone"),
    ("low_metabolites", "Low-metabolite pattern", Q(rule_id="TPM-01"),
     "Low 6-TGN with low 6-MMP on a thiopurine: possible non-adherence (TPM-01).",
     "/alerts/?family=thiopurine_safety"),
)  # fmt: skip


def dashboard_tiles(user) -> list[Tile]:
    """Each tile counts distinct patients (or alerts, for critical) among the user's clinic's alerts."""
    aggregates = {
        key: Count("pk" if key == "critical" else "patient", filter=condition, distinct=True)
        for key, _, condition, _, _ in TILES
    }
    counts = Alert.objects.for_user(user).filter(TO_WORK).aggregate(**aggregates)
    return [Tile(key, label, counts[key], definition, url) for key, label, _, definition, url in TILES]
