from django import template

from monitoring.evidence import render_evidence
from monitoring.queue import FAMILY_LABELS, rule_family
from monitoring.queue import rule_title as title_of

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
