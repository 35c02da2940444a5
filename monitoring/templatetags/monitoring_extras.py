from datetime import date

from django import template
from django.utils import timezone

from monitoring.alerts.evidence import day_counts as counts_in
from monitoring.alerts.evidence import days_ago, render_evidence
from monitoring.alerts.queue import FAMILY_LABELS, rule_family
from monitoring.alerts.queue import rule_title as title_of

register = template.Library()


@register.filter
def evidence(value):
    return render_evidence(value)


@register.filter
def family_label(rule_id: str) -> str:
    return FAMILY_LABELS.get(rule_family(rule_id), "Other")


@register.filter
def rule_title(rule_id: str) -> str:
    return title_of(rule_id)


@register.filter
def days_since(value: date | str | None) -> str:
    """'149 days ago' for a date (or ISO date string), counted from today when the page is shown."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return days_ago(day, timezone.localdate())


@register.filter
def day_counts(evidence) -> str:
    """'FBC last drawn 149 days ago · LFT last drawn 149 days ago': the day counts an alert's evidence
    allows, counted today (alerts store dates only, see monitoring.evidence.DAY_COUNTS)."""
    return " · ".join(counts_in(evidence, timezone.localdate()))
