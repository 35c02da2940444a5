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
