"""The alert queue a nurse works: which alerts, in what order, narrowed by the filters on screen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import QueryDict

from aih_tracker.models import Clinic
from monitoring.engine.context import PIPELINE_TITLES
from monitoring.models import Alert, AlertAction, AlertStatus, Resolution, Severity
from monitoring.rules import Family, load_rules

FAMILY_LABELS: dict[str, str] = {
    Family.RESPONSE: "Response",
    Family.MONITORING: "Monitoring bloods",
    Family.THIOPURINE: "Thiopurine safety",
    Family.CONTRAINDICATION: "Contraindication",
    Family.STEROID_BONE: "Steroids and bone",
    Family.TRANSPLANT: "Transplant",
    Family.ADHERENCE: "Adherence",
    Family.WITHDRAWAL: "Withdrawal",
    Family.ACUTE: "Acute severe AIH",
    Family.OTHER: "Other",
}

VIEWS = {"open": "To work", "snoozed": "Snoozed", "by_data": "Resolved by data", "by_user": "Resolved by clinicians"}
ASSIGNEES = {"any": "Anyone", "me": "Me", "unassigned": "Unassigned"}


def rule_family(rule_id: str) -> str:
    spec = load_rules().get(rule_id)
    return spec.family if spec else Family.OTHER


def rule_ids_in(family: str) -> list[str]:
    return [rule_id for rule_id, spec in load_rules().items() if spec.family == family]


def rule_title(rule_id: str) -> str:
    spec = load_rules().get(rule_id)
    return spec.title if spec else PIPELINE_TITLES.get(rule_id, rule_id)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class QueueFilters:
    """What the nurse asked to see. Unknown values fall back to the defaults (never a 500)."""

    view: str = "open"
    severity: int | None = None
    family: str = ""
    rule: str = ""
    assignee: str = "any"
    clinic: int | None = None  # superusers (whose queue spans clinics) narrow it to one
    q: str = ""
    page: int | None = None

    @classmethod
    def from_query(cls, params: QueryDict) -> QueueFilters:
        view = params.get("view", "open")
        severity = _int(params.get("severity"))
        family = params.get("family", "")
        assignee = params.get("assignee", "any")
        rule = params.get("rule", "")
        return cls(
            view=view if view in VIEWS else "open",
            severity=severity if severity in Severity.values else None,
            family=family if family in FAMILY_LABELS else "",
            rule=rule if rule in load_rules() else "",
            assignee=assignee if assignee in ASSIGNEES else "any",
            clinic=_int(params.get("clinic")),
            q=params.get("q", "").strip()[:100],
            page=_int(params.get("page")),
        )

    @property
    def narrows_within_tab(self) -> bool:
        """Filters beyond the tab (and clinic): the tab's count is then not the list's count."""
        return bool(self.severity or self.family or self.rule or self.assignee != "any" or self.q)

    def querystring(self, **changes) -> str:
        """The filters as a query string (for pager, tabs and tile links); defaults left out."""
        values = asdict(replace(self, **changes))
        defaults = asdict(QueueFilters())
        return urlencode({k: v for k, v in values.items() if v not in (None, "") and v != defaults[k]})

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The filters as (name, value) pairs for hidden inputs, so a POST can re-render the same page."""
        values = asdict(self)
        defaults = asdict(QueueFilters())
        return [(k, str(v)) for k, v in values.items() if v not in (None, "") and v != defaults[k]]


def filter_alerts(alerts: QuerySet, filters: QueueFilters, user) -> QuerySet:
    if filters.view == "open":
        alerts = alerts.to_work()
    elif filters.view == "snoozed":
        alerts = alerts.snoozed()
    elif filters.view == "by_data":
        alerts = alerts.resolved_by_data()
    else:
        alerts = alerts.filter(status=AlertStatus.RESOLVED, resolution=Resolution.BY_USER)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.family:
        alerts = alerts.filter(rule_id__in=rule_ids_in(filters.family))
    if filters.rule:
        alerts = alerts.filter(rule_id=filters.rule)
    if filters.clinic:
        alerts = alerts.filter(patient__clinic_id=filters.clinic)
    if filters.assignee == "me":
        alerts = alerts.filter(assignee=user)
    elif filters.assignee == "unassigned":
        alerts = alerts.filter(assignee__isnull=True)
    if filters.q:
        text = filters.q
        alerts = alerts.filter(
            Q(patient__mrn__icontains=text)
            | Q(patient__family_name__icontains=text)
            | Q(patient__given_name__icontains=text)
        )
    return alerts


def queue_alerts(user, filters: QueueFilters) -> QuerySet:
    """The alerts to list, in queue order (rows only: `with_details` loads what a page shows)."""
    alerts = filter_alerts(Alert.objects.for_user(user), filters, user)
    if filters.view in ("by_data", "by_user"):
        return alerts.order_by("-resolved_at", "pk")  # what cleared most recently first
    return alerts.in_queue_order()


def with_details(alert_ids: Sequence[int]) -> list[Alert]:
    """These alerts, in this order, with patient, assignee and history fetched in bulk (two queries).
    The queue pages over ids and loads the full rows of one page only: sorting thousands of alerts
    with their evidence, patients and assignees attached costs several times the sort itself.
    """
    alerts = Alert.objects.filter(pk__in=list(alert_ids)).select_related("patient", "assignee")
    alerts = alerts.prefetch_related(
        Prefetch("actions", queryset=AlertAction.objects.select_related("by").order_by("at", "id"))
    )
    by_pk = {alert.pk: alert for alert in alerts}
    return [by_pk[pk] for pk in alert_ids if pk in by_pk]


def view_counts(user, clinic_id: int | None = None) -> dict[str, int]:
    """How many alerts each tab holds (one query)."""
    resolved = Q(status=AlertStatus.RESOLVED)
    alerts = Alert.objects.for_user(user)
    if clinic_id:
        alerts = alerts.filter(patient__clinic_id=clinic_id)
    counts = alerts.aggregate(
        open=Count("pk", filter=Q(status__in=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED))),
        snoozed=Count("pk", filter=Q(status=AlertStatus.SNOOZED)),
        by_data=Count("pk", filter=resolved & Q(resolution=Resolution.BY_DATA)),
        by_user=Count("pk", filter=resolved & Q(resolution=Resolution.BY_USER)),
        urgent=Count("pk", filter=Q(status=AlertStatus.OPEN, severity__gte=Severity.HIGH)),  # as urgent()
    )
    return counts


def clinic_choices(user) -> list[tuple[int, str]]:
    """Clinics a user may narrow the queue to: every clinic for a superuser, none for anyone else
    (their queue is their own clinic's already)."""
    if not user.is_superuser:
        return []
    return [(clinic.pk, str(clinic)) for clinic in Clinic.objects.order_by("name")]


def urgent_count(user) -> int:
    """The nav badge: critical + high alerts nobody has acknowledged yet."""
    return Alert.objects.for_user(user).urgent().count()
