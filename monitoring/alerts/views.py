"""Alert queue, recall list and clinic dashboard. Thin: parse → authorise → call a service → render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from aih_tracker.access import get_patient_for_user, patients_for_user, require_action
from aih_tracker.models import Clinic
from aih_tracker.roles import Action
from monitoring.alerts import services
from monitoring.alerts.dashboard import cohort_snapshot, dashboard_tiles
from monitoring.alerts.queue import (
    ASSIGNEES,
    FAMILY_LABELS,
    VIEWS,
    QueueFilters,
    clinic_choices,
    queue_alerts,
    rule_title,
    urgent_count,
    view_counts,
    with_details,
)
from monitoring.alerts.recall import SHOW, RecallFilters, filter_rows, recall_csv, schedule_rows
from monitoring.alerts.services import AlertAlreadyHandled
from monitoring.models import Alert, ContactMethod, ContactOutcome, LapseReason

ALERTS_PER_PAGE = 20
# The htmx event every alert action sends, so the nav badge (and anything else listening) refreshes.
ALERTS_CHANGED = "alertsChanged"


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _snooze_limit(user, clinic_id: int | None = None) -> date:
    """The latest snooze date to offer: the clinic on screen, the user's, else the default clinic's
    (the service checks each alert against its own patient's clinic)."""
    clinic_id = clinic_id or user.clinic_id or Clinic.default().pk
    return services.snooze_limit(clinic_id, timezone.localdate())


def _url(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _item_context(request: HttpRequest, clinic_id: int | None = None, **extra) -> dict:
    """What an alert item needs besides the alert: who may act, colleagues, the snooze limit."""
    can_work = request.user.can(Action.WORK_ALERTS)
    return {
        "can_work": can_work,
        "colleagues": list(services.colleagues_for(request.user)) if can_work else [],
        "snooze_max": _snooze_limit(request.user, clinic_id) if can_work else None,
        "tomorrow": timezone.localdate() + timedelta(days=1),
        **extra,
    }


class _CountedPaginator(Paginator):
    """A paginator told its count (the tab counts already hold it), so it runs no COUNT of its own."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count


def _queue_context(request: HttpRequest, filters: QueueFilters) -> dict:
    counts = view_counts(request.user, filters.clinic)
    ids = queue_alerts(request.user, filters).values_list("pk", flat=True)
    if filters.narrows_within_tab:
        paginator = Paginator(ids, ALERTS_PER_PAGE)
    else:
        paginator = _CountedPaginator(ids, ALERTS_PER_PAGE, counts[filters.view])
    page = paginator.get_page(filters.page)
    page.object_list = with_details(list(page.object_list))
    base = reverse("monitoring:alerts")
    # The nav badge counts every alert the user may see: the tab counts' query has it unless narrowed.
    badge = {} if filters.clinic else {"alert_badge": counts["urgent"]}
    return _item_context(
        request,
        filters.clinic,
        **badge,
        page=page,
        filters=filters,
        back=filters.querystring(page=page.number),
        tabs=[
            (
                key,
                label,
                counts[key],
                _url(base, QueueFilters(view=key, clinic=filters.clinic).querystring()),
                key == filters.view,
            )
            for key, label in VIEWS.items()
        ],
        previous_url=_url(base, filters.querystring(page=page.previous_page_number())) if page.has_previous() else "",
        next_url=_url(base, filters.querystring(page=page.next_page_number())) if page.has_next() else "",
        families=FAMILY_LABELS,
        rule_name=rule_title(filters.rule) if filters.rule else "",
        without_rule=_url(base, filters.querystring(rule="", page=None)),
        clinics=clinic_choices(request.user),
        assignees=ASSIGNEES,
        severities=[(4, "critical"), (3, "high"), (2, "warning"), (1, "info")],
    )


@require_action(Action.VIEW_PATIENTS)
def alert_queue(request: HttpRequest) -> HttpResponse:
    filters = QueueFilters.from_query(request.GET)
    template = "monitoring/alert_queue.html#results" if request.htmx else "monitoring/alert_queue.html"
    return render(request, template, _queue_context(request, filters))


def _alert_for_user(request: HttpRequest, pk: int) -> Alert:
    """The alert, or 404 if its patient belongs to another clinic."""
    return get_object_or_404(Alert.objects.for_user(request.user).select_related("patient", "assignee"), pk=pk)


@require_action(Action.VIEW_PATIENTS)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert_for_user(request, pk)
    return render(request, "monitoring/alert_detail.html", _item_context(request, alert=alert))


def _act(request: HttpRequest, pk: int, action: str, call: Callable[[Alert, int], Alert]) -> HttpResponse:
    """Run one action; answer with the refreshed item (htmx) or a redirect / the alert page (plain POST)."""
    alert = _alert_for_user(request, pk)
    posted = request.POST.get("version", "")
    # The version the user saw; a damaged one matches no version, so the action is refused as a
    # conflict and the alert is shown as it stands now.
    version = int(posted) if posted.isdigit() and len(posted) <= 9 else 0
    try:
        alert = call(alert, version)
    except AlertAlreadyHandled as conflict:
        context = _item_context(
            request, alert=conflict.alert, conflict=conflict.message, failed=action, typed=request.POST
        )
        if request.htmx:  # htmx 2 swaps only 2xx answers
            return _changed(render(request, "monitoring/partials/alert_item.html", context))
        messages.error(request, conflict.message)
        return redirect("monitoring:alert_detail", pk=pk)
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"general": error.messages}
        context = _item_context(request, alert=alert, errors=errors, failed=action, typed=request.POST)
        if request.htmx:
            return render(request, "monitoring/partials/alert_item.html", context)
        return render(request, "monitoring/alert_detail.html", context, status=400)
    notice = f"{action.capitalize()}d." if action != "snooze" else f"Snoozed until {alert.snoozed_until:%-d %b %Y}."
    if action == "assign":
        notice = f"Assigned to {alert.assignee.display_name}."
    if request.htmx:
        return _changed(
            render(request, "monitoring/partials/alert_item.html", _item_context(request, alert=alert, notice=notice))
        )
    messages.success(request, f"{alert.patient}: {notice}")
    return redirect(_back(request))


def _changed(response: HttpResponse) -> HttpResponse:
    """Tell the page that alerts changed (the nav badge re-fetches its count)."""
    return trigger_client_event(response, ALERTS_CHANGED)


@require_action(Action.VIEW_PATIENTS)
def alert_badge(request: HttpRequest) -> HttpResponse:
    """The nav badge alone (open critical + high), fetched again after every alert action."""
    return render(request, "monitoring/partials/nav_badge.html", {"urgent": urgent_count(request.user)})


def _back(request: HttpRequest) -> str:
    """Back to the queue with the filters the form came from (only ever our own queue URL)."""
    query = QueueFilters.from_query(QueryDict(request.POST.get("back", ""))).querystring()
    return _url(reverse("monitoring:alerts"), query)


@require_POST
@require_action(Action.WORK_ALERTS)
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, "acknowledge", lambda a, v: services.acknowledge_alert(alert=a, version=v, user=request.user)
    )


def _assignee(request: HttpRequest, field: str = "assignee"):
    wanted = request.POST.get(field, "")
    if wanted == "me":
        return request.user
    return services.colleagues_for(request.user).filter(pk=wanted).first() if wanted.isdigit() else None


@require_POST
@require_action(Action.WORK_ALERTS)
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    assignee = _assignee(request)
    return _act(
        request,
        pk,
        "assign",
        lambda a, v: services.assign_alert(alert=a, version=v, user=request.user, assignee=assignee),
    )


@require_POST
@require_action(Action.WORK_ALERTS)
def snooze(request: HttpRequest, pk: int) -> HttpResponse:
    until = _parse_date(request.POST.get("until"))
    reason = request.POST.get("reason", "")
    return _act(
        request,
        pk,
        "snooze",
        lambda a, v: services.snooze_alert(alert=a, version=v, user=request.user, until=until, reason=reason),
    )


@require_POST
@require_action(Action.WORK_ALERTS)
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _act(
        request, pk, "resolve", lambda a, v: services.resolve_alert(alert=a, version=v, user=request.user, note=note)
    )


def _selected(request: HttpRequest) -> list[tuple[Alert, int]]:
    """The ticked alerts as (alert, version the user saw); ids outside the user's clinic are ignored."""
    wanted: dict[int, int] = {}
    for value in request.POST.getlist("selected"):
        pk, _, version = value.partition(":")
        if pk.isdigit() and version.isdigit() and len(pk) <= 18 and len(version) <= 9:
            wanted[int(pk)] = int(version)
    alerts = Alert.objects.for_user(request.user).select_related("patient").filter(pk__in=wanted)
    return [(alert, wanted[alert.pk]) for alert in alerts.in_queue_order()]


def _bulk_message(result: services.BulkResult, verb: str) -> list[tuple[str, str]]:
    lines = []
    if result.done:
        lines.append(("success", f"{verb} {len(result.done)} alert{'s' if len(result.done) != 1 else ''}."))
    for conflict in result.conflicts:
        lines.append(("error", f"{conflict.alert.patient} – {conflict.alert.rule_id}: {conflict.message}"))
    for alert, why in result.skipped:
        lines.append(("warning", f"{alert.patient} – {alert.rule_id}: {why}"))
    return lines


@require_POST
@require_action(Action.WORK_ALERTS)
def bulk(request: HttpRequest) -> HttpResponse:
    selected = _selected(request)
    do = request.POST.get("do")
    if not selected:
        lines = [("warning", "Tick the alerts to act on first.")]
    elif do == "assign":
        assignee = _assignee(request, "assign_to")  # "assignee" is the filter
        if assignee is None:
            lines = [("warning", "Choose who takes the selected alerts.")]
        else:
            result = services.bulk_assign(alerts_and_versions=selected, user=request.user, assignee=assignee)
            lines = _bulk_message(result, f"Assigned to {assignee.display_name}:")
    else:
        result = services.bulk_acknowledge(alerts_and_versions=selected, user=request.user)
        lines = _bulk_message(result, "Acknowledged")
    if request.htmx:
        context = _queue_context(request, QueueFilters.from_query(request.POST))
        return _changed(render(request, "monitoring/alert_queue.html#results", {**context, "bulk_lines": lines}))
    for level, text in lines:
        getattr(messages, level)(request, text)
    return redirect(_back(request))


# -- recall list -------------------------------------------------------------------------------

RECALL_PER_PAGE = 50


def _recall_rows(request: HttpRequest, patients=None) -> list:
    return schedule_rows(patients if patients is not None else patients_for_user(request.user), timezone.localdate())


def _contact_context(request: HttpRequest, **extra) -> dict:
    return {
        "can_work": request.user.can(Action.WORK_ALERTS),
        "methods": ContactMethod.choices,
        "outcomes": ContactOutcome.choices,
        "lapse_reasons": LapseReason.choices,
        "today": timezone.localdate(),
        **extra,
    }


@require_action(Action.VIEW_PATIENTS)
def recall(request: HttpRequest) -> HttpResponse:
    filters = RecallFilters.from_query(request.GET)
    rows = _recall_rows(request)
    shown = filter_rows(rows, filters)
    page = Paginator(shown, RECALL_PER_PAGE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in vars(filters).items() if v})
    context = _contact_context(
        request,
        page=page,
        filters=filters,
        query=query,
        shows=SHOW,
        phases=sorted({row.phase_group for row in rows}),
        panels=sorted({row.panel for row in rows}),
        can_export=request.user.can(Action.EXPORT_DATA),
    )
    template = "monitoring/recall.html#results" if request.htmx else "monitoring/recall.html"
    return render(request, template, context)


@require_action(Action.EXPORT_DATA)
def recall_export(request: HttpRequest) -> HttpResponse:
    """CSV of the list as filtered: an export of patient data, so EXPORT_DATA only (nurses work the list on screen)."""
    rows = filter_rows(_recall_rows(request), RecallFilters.from_query(request.GET))
    response = HttpResponse(recall_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="recall-{timezone.localdate().isoformat()}.csv"'
    return response


@require_POST
@require_action(Action.WORK_ALERTS)
def recall_contact(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    panel = request.POST.get("panel", "")
    try:
        services.record_recall_contact(
            patient=patient,
            user=request.user,
            panel=panel,
            due_on=_parse_date(request.POST.get("due_on")),
            contacted_on=_parse_date(request.POST.get("contacted_on")),
            method=request.POST.get("method", ""),
            outcome=request.POST.get("outcome", ""),
            lapse_reason=request.POST.get("lapse_reason", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as error:
        row = _row_for(request, patient, panel)
        context = _contact_context(request, row=row, errors=error.message_dict, typed=request.POST, patient=patient)
        if request.htmx:
            return render(request, "monitoring/recall.html#row", context)
        return render(request, "monitoring/recall_contact.html", context, status=400)
    notice = f"Contact recorded for {patient}."
    if request.htmx:
        row = _row_for(request, patient, panel)
        return render(request, "monitoring/recall.html#row", _contact_context(request, row=row, notice=notice))
    messages.success(request, notice)
    return redirect("monitoring:recall")


def _row_for(request: HttpRequest, patient, panel: str):
    rows = _recall_rows(request, patients_for_user(request.user).filter(pk=patient.pk))
    return next((row for row in rows if row.panel == panel), None)


def _clinic_param(request: HttpRequest) -> int | None:
    """?clinic= narrows a superuser's view to one clinic; everyone else sees their own clinic anyway."""
    value = request.GET.get("clinic", "")
    return int(value) if request.user.is_superuser and value.isdigit() else None


@require_action(Action.VIEW_PATIENTS)
def dashboard(request: HttpRequest) -> HttpResponse:
    clinic_id = _clinic_param(request)
    snapshot = cohort_snapshot(request.user, clinic_id)
    tiles = dashboard_tiles(request.user, snapshot, clinic_id)
    sections = {}
    for tile in tiles:
        sections.setdefault(tile.section, []).append(tile)
    context = {
        "tiles": tiles,
        "sections": sections,
        "snapshot": snapshot,
        "stale": snapshot.as_of < timezone.localdate(),
        "clinic_id": clinic_id,
        "clinics": clinic_choices(request.user),
    }
    return render(request, "monitoring/dashboard.html", context)


COHORT_PER_PAGE = 50


@require_action(Action.VIEW_PATIENTS)
def dashboard_cohort(request: HttpRequest, key: str) -> HttpResponse:
    """The patients behind one cohort tile, from the same snapshot the tile counted."""
    clinic_id = _clinic_param(request)
    group = cohort_snapshot(request.user, clinic_id).groups.get(key)
    if group is None:
        raise Http404("No such dashboard list.")
    page = Paginator(group.rows, COHORT_PER_PAGE).get_page(request.GET.get("page"))
    people = patients_for_user(request.user).in_bulk([patient_id for patient_id, _ in page.object_list])
    rows = [(people[pk], detail) for pk, detail in page.object_list if pk in people]
    query = f"clinic={clinic_id}&" if clinic_id else ""
    return render(
        request, "monitoring/dashboard_cohort.html", {"group": group, "page": page, "rows": rows, "query": query}
    )
