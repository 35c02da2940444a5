"""Evidence of a finding, made readable. Each rule family shapes its evidence its own way, so this
walks any JSON (dicts, lists, scalars) and only recognises lab results ({"test", "value", ...})."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Evidence dates whose distance from today the reader wants to see, and what to call them. The
# count is made when the alert is shown, never stored: a stored count would change the alert (and
# write its history) every night although nothing clinical changed.
DAY_COUNTS = {
    "last_result": "last drawn",  # MON-01/04/05/06/07: "FBC last drawn 149 days ago"
    "steroid_since": "steroids started",  # STER-01, LT-06
    "change_date": "change",  # MON-02 (steroid), MON-08 (thiopurine)
    "limit_passed_on": "limit passed",  # STER-03
}
RANGE_SOURCES = {"lab": "lab's range", "clinic": "clinic range", "typical": "typical range"}
LABELS = {"x_uln": "× ULN", "uln": "ULN", "alt": "ALT", "ast": "AST", "igg": "IgG", "inr": "INR", "meld": "MELD",
          "tpmt": "TPMT", "nudt15": "NUDT15", "dexa": "DEXA", "t0": "T0", "6mp": "6-MP"}  # fmt: skip


@dataclass
class Node:
    label: str
    text: str = ""
    children: list[Node] = field(default_factory=list)


def humanise(key: str) -> str:
    if key.lower() in LABELS:
        return LABELS[key.lower()]
    words = [LABELS.get(word, word) for word in str(key).split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def number(value: float) -> str:
    return f"{value:g}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"


def scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    text = str(value)
    if ISO_DATE.match(text):
        try:
            return date.fromisoformat(text).strftime("%-d %b %Y")
        except ValueError:
            return text
    return text


def days_ago(day: date, today: date) -> str:
    """'today', '1 day ago', '149 days ago', 'in 3 days'."""
    days = (today - day).days
    if days == 0:
        return "today"
    count = f"{abs(days):,} day{'s' if abs(days) != 1 else ''}"
    return f"{count} ago" if days > 0 else f"in {count}"


def day_counts(evidence: Any, today: date) -> list[str]:
    """The DAY_COUNTS dates found anywhere in the evidence, counted from today:
    ['FBC last drawn 149 days ago', 'LFT last drawn 12 days ago']."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in DAY_COUNTS and isinstance(item, str) and ISO_DATE.match(item):
                    what = f"{value['panel']} {DAY_COUNTS[key]}" if value.get("panel") else DAY_COUNTS[key].capitalize()
                    found.append(f"{what} {days_ago(date.fromisoformat(item), today)}")
                else:
                    walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(evidence)
    return found


def is_lab(value: Any) -> bool:
    return isinstance(value, dict) and "test" in value and "value" in value


def lab_text(lab: dict) -> str:
    """'ALT 120 U/L · 3 × ULN (ULN 40, lab's range) · 6 Jan 2025'"""
    parts = [f"{lab['test']} {scalar(lab['value'])} {lab.get('unit', '')}".strip()]
    if lab.get("x_uln") is not None:
        source = RANGE_SOURCES.get(lab.get("range_source", ""), lab.get("range_source", ""))
        uln = f"ULN {scalar(lab['uln'])}" if lab.get("uln") is not None else ""
        detail = ", ".join(p for p in (uln, source) if p)
        parts.append(f"{scalar(lab['x_uln'])} × ULN" + (f" ({detail})" if detail else ""))
    if lab.get("date"):
        parts.append(scalar(lab["date"]))
    return " · ".join(parts)


def nodes(value: Any, label: str = "") -> list[Node]:
    """The evidence as a tree of labelled lines."""
    if is_lab(value):
        return [Node(label, lab_text(value))]
    if isinstance(value, dict):
        if not label:
            return [node for key, item in value.items() for node in nodes(item, humanise(key))]
        return [Node(label, children=[n for key, item in value.items() for n in nodes(item, humanise(key))])]
    if isinstance(value, list | tuple):
        if not value:
            return [Node(label, "none")]
        if all(not isinstance(item, dict | list | tuple) for item in value):
            return [Node(label, ", ".join(scalar(item) for item in value))]
        children = [n for index, item in enumerate(value, 1) for n in nodes(item, "" if is_lab(item) else f"{index}")]
        return [Node(label, children=children)] if label else children
    return [Node(label, scalar(value))]


def render_nodes(items: list[Node]) -> SafeString:
    if not items:
        return mark_safe("")
    rows = format_html_join(
        "",
        "<li>{}{}{}</li>",
        (
            (
                format_html("<span class='ev-label'>{}</span>", node.label) if node.label else "",
                format_html(" <span class='ev-value'>{}</span>", node.text) if node.text else "",
                render_nodes(node.children),
            )
            for node in items
        ),
    )
    return format_html("<ul class='evidence'>{}</ul>", rows)


def render_evidence(evidence: Any) -> SafeString:
    """HTML for an alert's evidence; every value escaped."""
    if not evidence:
        return format_html("<p class='empty'>{}</p>", "No evidence recorded.")
    return render_nodes(nodes(evidence))
