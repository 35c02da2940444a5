"""Chart builders for the physician's patient page: plain data in, `go.Figure` out.

No ORM and no HTML here. Each builder takes a `Timeline` (monitoring/engine/timeline.py), the clinic's
parameters and a date, and returns a figure; the view passes it to the template through
`json_script` and `static/js/charts.js` draws every `[data-chart]`. Reference ranges are bands
and lines (shapes), regimen periods are shaded spans; tests assert on `fig.data` and shapes.

Liver enzymes are plotted as multiples of the ULN of the lab that produced each result, so
results from labs with different reference ranges are comparable.

Plotly draws a subset of HTML (<a href>, <b>, <br>...) in trace names, text, hover labels and
annotations, and data can come from outside (imported HL7/FHIR strings, notes, adverse-event
text, drug and analyte names). Every string taken from data goes through `_text` (HTML-escaped)
before it is put into a figure; our own markup is only in the literal templates written here.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
from dateutil.relativedelta import relativedelta

from monitoring.catalogue import BY_CODE
from monitoring.engine.timeline import Course, Dose, Lab, Timeline
from regimens.catalogue import DRUGS, IMMUNOSUPPRESSANT_CLASSES

DRUG_NAMES = {entry.code: entry.name for entry in DRUGS}

# Range buttons: key -> (label, months back from today; None = everything).
RANGES: dict[str, tuple[str, int | None]] = {
    "6m": ("6 months", 6),
    "1y": ("1 year", 12),
    "2y": ("2 years", 24),
    "all": ("All", None),
}
DEFAULT_RANGE = "2y"


@dataclass(frozen=True)
class Panel:
    key: str
    label: str
    analytes: tuple[str, ...]  # the panel has data when any of these has a result


PANELS: dict[str, Panel] = {
    p.key: p
    for p in (
        Panel("main", "ALT, AST, IgG and treatment", ("alt", "ast", "igg")),
        Panel("cholestatic", "ALP, GGT, bilirubin", ("alp", "ggt", "bilirubin")),
        Panel("counts", "Blood counts", ("wbc", "neutrophils", "platelets")),
        Panel("metabolites", "Thiopurine metabolites", ("tgn", "mmp")),
        Panel("tacrolimus", "Tacrolimus trough", ("tacrolimus",)),
        Panel("scores", "MELD and Child-Pugh", ("creatinine", "bilirubin", "inr")),
    )
}
DEFAULT_PANEL = "main"

COLOURS = {
    "alt": "#0b5cad",
    "ast": "#7c3aed",
    "igg": "#0f766e",
    "alp": "#b45309",
    "ggt": "#be185d",
    "bilirubin": "#ca8a04",
    "wbc": "#1d4ed8",
    "neutrophils": "#0f766e",
    "platelets": "#9333ea",
    "tgn": "#0b5cad",
    "mmp": "#c2410c",
    "tacrolimus": "#0f766e",
    "drug": "#10324f",
    "planned": "#6b7280",
}
NORMAL_BAND = "rgba(22, 163, 74, 0.10)"
TARGET_BAND = "rgba(22, 163, 74, 0.13)"
COURSE_SPAN = "rgba(16, 50, 79, 0.07)"
PREGNANCY_SPAN = "rgba(219, 39, 119, 0.08)"
AXIS_TITLE_FONT = {"size": 11}
GUIDE = {"color": "#b91c1c", "width": 1, "dash": "dot"}
ACTION_LINE = {"color": "#b91c1c", "width": 1, "dash": "dash"}

EVENT_KINDS = ("Biopsy", "DEXA", "Adverse event", "Pregnancy", "Relapse", "Withdrawal")
EVENT_SYMBOLS = {
    "Biopsy": "diamond",
    "DEXA": "square",
    "Adverse event": "triangle-up",
    "Pregnancy": "circle",
    "Relapse": "star",
    "Withdrawal": "triangle-down",
}
EVENT_COLOURS = {
    "Biopsy": "#7c2d12",
    "DEXA": "#475569",
    "Adverse event": "#c2410c",
    "Pregnancy": "#db2777",
    "Relapse": "#a4161a",
    "Withdrawal": "#0f766e",
}
STOP_REASONS = {
    "remission": "remission (planned withdrawal)",
    "intolerance": "intolerance",
    "non_response": "non-response",
    "pregnancy": "pregnancy",
    "switch": "switched",
    "other": "other",
}


def _text(value: object) -> str:
    """A data-derived string as plotly text: &, < and > escaped (plotly reads those entities back), so
    `<a href=...>` in a note or an imported name is shown as written, never drawn as a link."""
    return html.escape(str(value), quote=False)


def _iso(day: date) -> str:
    return day.isoformat()


def _unit(code: str) -> str:
    """The analyte's unit, escaped for a figure."""
    return _text(BY_CODE[code].canonical_unit) if code in BY_CODE else ""


def _name(code: str) -> str:
    """The analyte's name (else its code, as stored), escaped for a figure."""
    return _text(BY_CODE[code].name if code in BY_CODE else code)


def drug_name(code: str) -> str:
    return DRUG_NAMES.get(code, code.replace("_", " ").capitalize())


# -- layout -----------------------------------------------------------------------------------


def x_range(range_key: str, as_of: date, earliest: date | None) -> list[str]:
    """[start, end] of the x-axis for a range button; "all" starts at the earliest data point."""
    _, months = RANGES.get(range_key, RANGES[DEFAULT_RANGE])
    end = as_of + timedelta(days=7)
    if months is None:
        start = (earliest or as_of - relativedelta(months=12)) - timedelta(days=14)
    else:
        start = as_of - relativedelta(months=months)
    return [_iso(start), _iso(end)]


def base_layout(*, height: int, range_key: str, as_of: date, earliest: date | None) -> dict[str, Any]:
    """What every chart shares: fonts, margins, legend, hover and the x range of the chosen range button."""
    return {
        "height": height,
        "margin": {"l": 64, "r": 16, "t": 40, "b": 36},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1d2733"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "showlegend": True,
        # Top right, clear of the row titles on the left.
        "legend": {
            "orientation": "h",
            "traceorder": "normal",
            "xanchor": "right",
            "x": 1,
            "yanchor": "bottom",
            "y": 1.01,
            "font": {"size": 11},
        },  # noqa: E501
        "meta": {"range": range_key if range_key in RANGES else DEFAULT_RANGE},
        "xaxis": {
            "type": "date",
            "range": x_range(range_key, as_of, earliest),
            "showgrid": True,
            "gridcolor": "#eef2f6",
            "zeroline": False,
        },
        "shapes": [],
        "annotations": [],
    }


def stack_rows(layout: dict[str, Any], heights: Sequence[float], gap: float = 0.035) -> list[str]:
    """Give the figure one y-axis per row, top to bottom, sharing the single x-axis; returns the y refs.

    One x-axis for every row is what makes the time axis shared (zoom and range move all rows).
    """
    total = sum(heights)
    free = 1 - gap * (len(heights) - 1)
    top = 1.0
    refs = []
    for index, height in enumerate(heights, start=1):
        bottom = max(0.0, top - free * height / total)
        name = "yaxis" if index == 1 else f"yaxis{index}"
        layout[name] = {
            "domain": [round(bottom, 4), round(top, 4)],
            "anchor": "x",
            "showgrid": True,
            "gridcolor": "#eef2f6",
            "zeroline": False,
            "title": {"font": {"size": 11}},
        }
        refs.append("y" if index == 1 else f"y{index}")
        top = bottom - gap
    layout["xaxis"]["anchor"] = refs[-1]
    return refs


def axis(layout: dict[str, Any], yref: str) -> dict[str, Any]:
    return layout["yaxis" if yref == "y" else f"yaxis{yref[1:]}"]


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    """One validated figure from plain dicts: much faster than plotly's incremental add_* calls."""
    return go.Figure(data=data, layout=layout)


def earliest_date(timeline: Timeline, codes: Sequence[str] = ()) -> date | None:
    days = [series[0].on for code, series in timeline.labs.items() if series and (not codes or code in codes)]
    days += [c.started_on for c in timeline.courses]
    return min(days, default=None)


def has_data(timeline: Timeline, panel: str) -> bool:
    return any(timeline.labs.get(code) for code in PANELS[panel].analytes)


# -- traces -----------------------------------------------------------------------------------


def fold_trace(code: str, labs: Sequence[Lab], yref: str = "y") -> dict[str, Any]:
    """Results as × ULN of each result's own ULN; results without a ULN are left out (no fold to draw)."""
    with_uln = [lab for lab in labs if lab.uln]
    unit = _unit(code)
    return {
        "type": "scatter",
        "x": [_iso(lab.on) for lab in with_uln],
        "y": [round(lab.value / lab.uln, 3) for lab in with_uln],
        "customdata": [[lab.value, unit, lab.uln, _text(lab.range_source)] for lab in with_uln],
        "mode": "lines+markers",
        "name": f"{_name(code)} × ULN",
        "line": {"color": COLOURS.get(code, "#333"), "width": 2},
        "marker": {"size": 5},
        "yaxis": yref,
        "hovertemplate": (
            f"<b>{_name(code)}</b> %{{customdata[0]:~g}} %{{customdata[1]}}<br>"
            "ULN %{customdata[2]:~g} (%{customdata[3]}) · %{y:.2f}× ULN<br>%{x|%d %b %Y}<extra></extra>"
        ),
    }


def value_trace(code: str, labs: Sequence[Lab], yref: str = "y") -> dict[str, Any]:
    unit = _unit(code)
    return {
        "type": "scatter",
        "x": [_iso(lab.on) for lab in labs],
        "y": [lab.value for lab in labs],
        "customdata": [[unit, lab.uln if lab.uln is not None else "–"] for lab in labs],
        "mode": "lines+markers",
        "name": f"{_name(code)} ({unit})",
        "line": {"color": COLOURS.get(code, "#333"), "width": 2},
        "marker": {"size": 5},
        "yaxis": yref,
        "hovertemplate": (
            f"<b>{_name(code)}</b> %{{y:~g}} %{{customdata[0]}}<br>ULN %{{customdata[1]}}<br>"
            "%{x|%d %b %Y}<extra></extra>"
        ),
    }


def uln_trace(code: str, labs: Sequence[Lab], yref: str = "y") -> dict[str, Any]:
    """The ULN each result came with, as a dashed step line (labs change, so does the limit)."""
    with_uln = [lab for lab in labs if lab.uln is not None]
    return {
        "type": "scatter",
        "x": [_iso(lab.on) for lab in with_uln],
        "y": [lab.uln for lab in with_uln],
        "mode": "lines",
        "name": f"{_name(code)} ULN",
        "line": {"color": "#16a34a", "width": 1, "dash": "dash", "shape": "hv"},
        "yaxis": yref,
        "hovertemplate": f"{_name(code)} ULN %{{y:~g}} {_unit(code)}<extra></extra>",
    }


def band(layout: dict[str, Any], y0: float, y1: float, colour: str, name: str, yref: str = "y") -> None:
    """A horizontal reference band (normal range, target range) across one row."""
    layout["shapes"].append(
        {
            "type": "rect",
            "name": _text(name),
            "xref": "x domain",
            "x0": 0,
            "x1": 1,
            "yref": yref,
            "y0": y0,
            "y1": y1,
            "fillcolor": colour,
            "line": {"width": 0},
            "layer": "below",
        }
    )


def hline(layout: dict[str, Any], y: float, name: str, style: dict, yref: str = "y") -> None:
    """A labelled horizontal guide (2× ULN, an action threshold) across one row."""
    layout["shapes"].append(
        {
            "type": "line",
            "name": _text(name),
            "xref": "x domain",
            "x0": 0,
            "x1": 1,
            "yref": yref,
            "y0": y,
            "y1": y,
            "line": style,
        }
    )
    layout["annotations"].append(
        {
            "text": _text(name),
            "xref": "x domain",
            "x": 1,
            "xanchor": "right",
            "yref": yref,
            "y": y,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 10, "color": style["color"]},
        }
    )


def span(layout: dict[str, Any], x0: date, x1: date, colour: str, name: str, yref: str | None = None) -> None:
    """A shaded period (a course on its lane; a pregnancy across every row when `yref` is None)."""
    layout["shapes"].append(
        {
            "type": "rect",
            "name": _text(name),
            "xref": "x",
            "x0": _iso(x0),
            "x1": _iso(x1),
            "yref": f"{yref} domain" if yref else "paper",
            "y0": 0,
            "y1": 1,
            "fillcolor": colour,
            "line": {"width": 0},
            "layer": "below",
        }
    )


def row_title(layout: dict[str, Any], text: str, yref: str) -> None:
    layout["annotations"].append(
        {
            "text": f"<b>{_text(text)}</b>",
            "xref": "paper",
            "x": 0,
            "xanchor": "left",
            "yref": f"{yref} domain",
            "y": 1,
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 11},
        }
    )


def uln_guides(layout: dict[str, Any], yref: str = "y", multiples: Sequence[float] = (2, 3)) -> None:
    band(layout, 0, 1, NORMAL_BAND, "normal (≤ ULN)", yref)
    for multiple in multiples:
        hline(layout, multiple, f"{multiple:g}× ULN", GUIDE, yref)


# -- drug lanes and events --------------------------------------------------------------------


def lane_drugs(timeline: Timeline) -> list[str]:
    """Drugs with a lane: immunosuppressants first (in order of first start), then the others."""
    order: dict[str, tuple[int, date]] = {}
    for course in timeline.courses:
        if course.planned:
            continue
        rank = 0 if course.drug_class in IMMUNOSUPPRESSANT_CLASSES else 1
        key = (rank, course.started_on)
        if course.drug not in order or key < order[course.drug]:
            order[course.drug] = key
    return sorted(order, key=lambda drug: order[drug])


def _dose_steps(course: Course, until: date) -> tuple[list[str], list[float]]:
    """Step-line points of a course's actual doses, ending at its stop (0) or today."""
    xs = [_iso(dose.on) for dose in course.doses]
    ys = [dose.mg_per_day for dose in course.doses]
    if course.doses:
        xs.append(_iso(course.stopped_on or until))
        ys.append(0 if course.stopped_on is not None else course.doses[-1].mg_per_day)
    return xs, ys


def _joined(series: Sequence[tuple[list, list]]) -> tuple[list, list]:
    """Concatenate step lines with a gap (None) between them, so courses are not joined up."""
    xs: list = []
    ys: list = []
    for x, y in series:
        if not x:
            continue
        if xs:
            xs.append(None)
            ys.append(None)
        xs += x
        ys += y
    return xs, ys


def drug_lane_traces(
    drug: str, courses: Sequence[Course], planned: Mapping[int, Sequence[Dose]], as_of: date, yref: str = "y"
) -> list[dict[str, Any]]:
    """Actual dose (solid step line), taper plan (dashed), start and stop markers for one drug."""
    name = _text(drug_name(drug))
    common = {"type": "scatter", "legendgroup": _text(drug), "showlegend": False, "yaxis": yref}
    actual_x, actual_y = _joined([_dose_steps(c, as_of) for c in courses])
    plan_x, plan_y = _joined(
        [([_iso(s.on) for s in steps], [s.mg_per_day for s in steps]) for c in courses if (steps := planned.get(c.id))]
    )
    traces = [
        {
            **common,
            "x": actual_x,
            "y": actual_y,
            "mode": "lines",
            "name": f"{name} (actual)",
            "line": {"color": COLOURS["drug"], "width": 2, "shape": "hv"},
            "connectgaps": False,
            "hovertemplate": f"<b>{name}</b> %{{y:~g}} mg/day<br>from %{{x|%d %b %Y}}<extra>actual</extra>",
        }
    ]
    if plan_x:
        traces.append(
            {
                **common,
                "x": plan_x,
                "y": plan_y,
                "mode": "lines",
                "name": f"{name} (taper plan)",
                "line": {"color": COLOURS["planned"], "width": 1.5, "dash": "dash", "shape": "hv"},
                "connectgaps": False,
                "hovertemplate": f"{name} planned %{{y:~g}} mg/day<br>from %{{x|%d %b %Y}}<extra>taper plan</extra>",
            }
        )
    traces.append(
        {
            **common,
            "x": [_iso(c.started_on) for c in courses],
            "y": [0] * len(courses),
            "mode": "markers",
            "name": f"{name} start",
            "customdata": [[f"{c.doses[0].mg_per_day:g} mg/day" if c.doses else "dose not recorded"] for c in courses],
            "marker": {"symbol": "triangle-right", "size": 10, "color": "#16a34a"},
            "hovertemplate": f"<b>{name} started</b> %{{x|%d %b %Y}}<br>%{{customdata[0]}}<extra></extra>",
        }
    )
    stopped = [c for c in courses if c.stopped_on is not None]
    if stopped:
        reasons = [_text(STOP_REASONS.get(c.stop_reason, c.stop_reason or "reason not recorded")) for c in stopped]
        traces.append(
            {
                **common,
                "x": [_iso(c.stopped_on) for c in stopped],
                "y": [0] * len(stopped),
                "mode": "markers+text",
                "name": f"{name} stop",
                "text": [f"stopped: {reason}" for reason in reasons],
                "textposition": "top left",
                "textfont": {"size": 10, "color": "#a4161a"},
                "customdata": [[r, c.dose_on(c.stopped_on) or 0] for r, c in zip(reasons, stopped, strict=True)],
                "marker": {"symbol": "x", "size": 10, "color": "#a4161a"},
                "hovertemplate": (
                    f"<b>{name} stopped</b> %{{x|%d %b %Y}}<br>reason: %{{customdata[0]}}"
                    "<br>last dose %{customdata[1]:~g} mg/day<extra></extra>"
                ),
            }
        )
    return traces


def withdrawal_dates(timeline: Timeline) -> list[date]:
    """Days all immunosuppression was stopped in remission (a planned withdrawal, not a steroid taper's end)."""
    immunosuppressants = [c for c in timeline.courses if c.drug_class in IMMUNOSUPPRESSANT_CLASSES and not c.planned]
    return sorted(
        {
            c.stopped_on
            for c in immunosuppressants
            if c.stop_reason == "remission"
            and c.stopped_on is not None
            and not any(other.active_on(c.stopped_on) for other in immunosuppressants)
        }
    )


def events(timeline: Timeline) -> dict[str, list[tuple[date, str]]]:
    """(date, description) per event kind, for the event lane."""
    found: dict[str, list[tuple[date, str]]] = {kind: [] for kind in EVENT_KINDS}
    for biopsy in timeline.biopsies:
        hai = f"HAI {biopsy.hai}/18" if biopsy.hai is not None else "HAI not recorded"
        stage = f", fibrosis {biopsy.fibrosis_stage}" if biopsy.fibrosis_stage is not None else ""
        found["Biopsy"].append((biopsy.on, f"Liver biopsy: {hai}{stage}"))
    for scan in timeline.dexa_scans:
        found["DEXA"].append((scan, "DEXA scan"))
    for event in timeline.adverse_events:
        detail = f": {event.detail}" if event.detail else ""
        found["Adverse event"].append((event.on, f"{event.kind.replace('_', ' ').capitalize()}{detail}"))
    for period in timeline.pregnancies:
        if period.kind == "pregnant":
            end = f" to {period.end:%d %b %Y}" if period.end else " (ongoing)"
            found["Pregnancy"].append((period.start, f"Pregnancy{end}"))
    for relapse in timeline.relapses:
        kind = "after withdrawal" if relapse.kind == "after_withdrawal" else "on treatment"
        found["Relapse"].append((relapse.on, f"Relapse {kind}"))
    for day in withdrawal_dates(timeline):
        found["Withdrawal"].append((day, "All immunosuppression withdrawn in remission"))
    return found


def event_traces(found: Mapping[str, Sequence[tuple[date, str]]], yref: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "scatter",
            "x": [_iso(day) for day, _ in found[kind]],
            "y": [kind] * len(found[kind]),
            "mode": "markers",
            "name": kind,
            "showlegend": False,
            "yaxis": yref,
            "customdata": [[_text(text)] for _, text in found[kind]],
            "marker": {"symbol": EVENT_SYMBOLS[kind], "size": 11, "color": EVENT_COLOURS[kind]},
            "hovertemplate": "<b>%{customdata[0]}</b><br>%{x|%d %b %Y}<extra></extra>",
        }
        for kind in EVENT_KINDS
        if found.get(kind)
    ]


# -- figures ----------------------------------------------------------------------------------


def main_figure(
    timeline: Timeline,
    *,
    as_of: date,
    planned: Mapping[int, Sequence[Dose]] | None = None,
    range_key: str = DEFAULT_RANGE,
) -> go.Figure:
    """ALT/AST × ULN, IgG against its ULN, a drug lane per drug and an event lane, on one time axis."""
    planned = planned or {}
    drugs = lane_drugs(timeline)
    found = events(timeline)
    event_rows = sum(1 for items in found.values() if items)
    has_events = bool(event_rows)
    heights = [3.0, 1.6] + [0.9] * len(drugs) + ([0.35 + 0.3 * event_rows] if has_events else [])
    height = 420 + 75 * len(drugs) + 30 + 26 * event_rows
    layout = base_layout(height=height, range_key=range_key, as_of=as_of, earliest=earliest_date(timeline))
    refs = stack_rows(layout, heights, gap=min(0.05, 18 / height))
    data: list[dict[str, Any]] = []

    enzymes, igg_ref = refs[0], refs[1]
    for code in ("alt", "ast"):
        if labs := timeline.labs.get(code):
            data.append(fold_trace(code, labs, enzymes))
    uln_guides(layout, enzymes)
    # Scale to the results in view: a presentation at 20× ULN years ago must not flatten this year's values.
    start = date.fromisoformat(layout["xaxis"]["range"][0])
    enzyme_labs = [lab for code in ("alt", "ast") for lab in timeline.labs.get(code, ()) if lab.uln]
    if enzyme_labs:
        visible = [lab for lab in enzyme_labs if lab.on >= start] or enzyme_labs
        axis(layout, enzymes)["range"] = [0, max(3.5, 1.1 * max(lab.value / lab.uln for lab in visible))]
    axis(layout, enzymes).update(title={"text": "× ULN", "font": AXIS_TITLE_FONT}, rangemode="tozero")
    row_title(layout, "ALT, AST (× ULN of each lab)", enzymes)

    if igg := timeline.labs.get("igg"):
        data += [value_trace("igg", igg, igg_ref), uln_trace("igg", igg, igg_ref)]
    axis(layout, igg_ref)["title"]["text"] = "g/L"
    row_title(layout, "IgG", igg_ref)

    for drug, yref in zip(drugs, refs[2:], strict=False):
        courses = [c for c in timeline.courses if c.drug == drug and not c.planned]
        data += drug_lane_traces(drug, courses, planned, as_of, yref)
        for course in courses:
            span(layout, course.started_on, course.stopped_on or as_of, COURSE_SPAN, f"{drug_name(drug)} course", yref)
        axis(layout, yref).update(title={"text": "mg/day", "font": AXIS_TITLE_FONT}, rangemode="tozero")
        row_title(layout, drug_name(drug), yref)

    if has_events:
        data += event_traces(found, refs[-1])
        kinds = [kind for kind in EVENT_KINDS if found[kind]]
        axis(layout, refs[-1]).update(
            type="category",
            categoryorder="array",
            categoryarray=kinds,
            tickmode="array",
            tickvals=kinds,
            range=[-0.6, len(kinds) - 0.4],
            showgrid=False,
        )
        row_title(layout, "Events", refs[-1])
    for period in timeline.pregnancies:
        if period.kind == "pregnant":
            span(layout, period.start, period.end or as_of, PREGNANCY_SPAN, "pregnancy")
    return figure(data, layout)


def cholestatic_figure(timeline: Timeline, *, as_of: date, range_key: str = DEFAULT_RANGE) -> go.Figure:
    """ALP, GGT and bilirubin as × ULN, with the normal band and the 2× ULN line."""
    earliest = earliest_date(timeline, PANELS["cholestatic"].analytes)
    layout = base_layout(height=380, range_key=range_key, as_of=as_of, earliest=earliest)
    stack_rows(layout, [1])
    data = [fold_trace(code, labs) for code in ("alp", "ggt", "bilirubin") if (labs := timeline.labs.get(code))]
    uln_guides(layout, multiples=(2,))
    layout["yaxis"].update(title={"text": "× ULN", "font": AXIS_TITLE_FONT}, rangemode="tozero")
    return figure(data, layout)


def counts_figure(
    timeline: Timeline, *, as_of: date, params: Mapping[str, Any], range_key: str = DEFAULT_RANGE
) -> go.Figure:
    """White cells and neutrophils (top), platelets (bottom), with the AZA-06 action thresholds."""
    earliest = earliest_date(timeline, PANELS["counts"].analytes)
    layout = base_layout(height=460, range_key=range_key, as_of=as_of, earliest=earliest)
    top, bottom = stack_rows(layout, [1, 1], gap=0.08)
    data = [value_trace(code, labs, top) for code in ("wbc", "neutrophils") if (labs := timeline.labs.get(code))]
    if platelets := timeline.labs.get("platelets"):
        data.append(value_trace("platelets", platelets, bottom))
    for value in params["neutrophil_thresholds"]:
        hline(layout, value, f"neutrophils < {value:g}", ACTION_LINE, top)
    for value in params["wbc_thresholds"]:
        hline(layout, value, f"white cells < {value:g}", {**ACTION_LINE, "color": "#1d4ed8"}, top)
    for value in params["platelet_thresholds"]:
        hline(layout, value, f"platelets < {value:g}", ACTION_LINE, bottom)
    for yref, title in ((top, "White cells, neutrophils"), (bottom, "Platelets")):
        axis(layout, yref).update(title={"text": "10⁹/L", "font": AXIS_TITLE_FONT}, rangemode="tozero")
        row_title(layout, title, yref)
    return figure(data, layout)


def metabolites_figure(
    timeline: Timeline, *, as_of: date, params: Mapping[str, Any], range_key: str = DEFAULT_RANGE
) -> go.Figure:
    """6-TGN with its therapeutic band (top), 6-MMP with the hepatotoxicity line (bottom)."""
    earliest = earliest_date(timeline, PANELS["metabolites"].analytes)
    layout = base_layout(height=460, range_key=range_key, as_of=as_of, earliest=earliest)
    top, bottom = stack_rows(layout, [1, 1], gap=0.08)
    data = []
    if tgn := timeline.labs.get("tgn"):
        data.append(value_trace("tgn", tgn, top))
    if mmp := timeline.labs.get("mmp"):
        data.append(value_trace("mmp", mmp, bottom))
    low, high = params["tgn_low"], params["tgn_high"]
    band(layout, low, high, TARGET_BAND, f"6-TGN {low:g}-{high:g}", top)
    hline(layout, params["mmp_high"], f"6-MMP > {params['mmp_high']:g}: hepatotoxicity risk", ACTION_LINE, bottom)
    for yref, title in ((top, f"6-TGN (target {low:g}-{high:g})"), (bottom, "6-MMP")):
        axis(layout, yref).update(title={"text": "pmol/8×10⁸ RBC", "font": AXIS_TITLE_FONT}, rangemode="tozero")
        row_title(layout, title, yref)
    return figure(data, layout)


def tacrolimus_figure(
    timeline: Timeline, *, as_of: date, params: Mapping[str, Any], range_key: str = DEFAULT_RANGE
) -> go.Figure:
    """Tacrolimus trough with the target band."""
    earliest = earliest_date(timeline, PANELS["tacrolimus"].analytes)
    layout = base_layout(height=360, range_key=range_key, as_of=as_of, earliest=earliest)
    stack_rows(layout, [1])
    data = [value_trace("tacrolimus", labs)] if (labs := timeline.labs.get("tacrolimus")) else []
    low, high = params["tacrolimus_trough_range"]
    band(layout, low, high, TARGET_BAND, f"target {low:g}-{high:g} ng/mL")
    layout["yaxis"].update(title={"text": "ng/mL", "font": AXIS_TITLE_FONT}, rangemode="tozero")
    return figure(data, layout)


@dataclass(frozen=True)
class ScorePoint:
    on: date
    meld: int | None = None
    meld_na: int | None = None
    meld3: int | None = None
    child_pugh: int | None = None
    child_pugh_class: str = ""


SCORE_SERIES = (("meld", "MELD", "#0b5cad"), ("meld_na", "MELD-Na", "#7c3aed"), ("meld3", "MELD 3.0", "#a4161a"))


def scores_figure(
    points: Sequence[ScorePoint], *, as_of: date, params: Mapping[str, Any], range_key: str = DEFAULT_RANGE
) -> go.Figure:
    """MELD variants (top, with the referral line) and Child-Pugh (bottom, with its referral line)."""
    earliest = min((p.on for p in points), default=None)
    layout = base_layout(height=460, range_key=range_key, as_of=as_of, earliest=earliest)
    top, bottom = stack_rows(layout, [0.6, 0.4], gap=0.08)
    data = []
    for attr, label, colour in SCORE_SERIES:
        shown = [p for p in points if getattr(p, attr) is not None]
        if shown:
            data.append(
                {
                    "type": "scatter",
                    "x": [_iso(p.on) for p in shown],
                    "y": [getattr(p, attr) for p in shown],
                    "mode": "lines+markers",
                    "name": label,
                    "line": {"color": colour, "width": 2},
                    "yaxis": top,
                    "hovertemplate": f"<b>{label}</b> %{{y}}<br>%{{x|%d %b %Y}}<extra></extra>",
                }
            )
    if child := [p for p in points if p.child_pugh is not None]:
        data.append(
            {
                "type": "scatter",
                "x": [_iso(p.on) for p in child],
                "y": [p.child_pugh for p in child],
                "customdata": [[_text(p.child_pugh_class)] for p in child],
                "mode": "lines+markers",
                "name": "Child-Pugh",
                "line": {"color": "#b45309", "width": 2, "shape": "hv"},
                "yaxis": bottom,
                "hovertemplate": "<b>Child-Pugh</b> %{y} (class %{customdata[0]})<br>%{x|%d %b %Y}<extra></extra>",
            }
        )
    meld_limit, cp_limit = params["meld_referral_above"], params["child_pugh_referral_above"]
    hline(layout, meld_limit, f"refer above {meld_limit}", ACTION_LINE, top)
    hline(layout, cp_limit, f"refer above {cp_limit}", ACTION_LINE, bottom)
    axis(layout, top).update(title={"text": "MELD", "font": AXIS_TITLE_FONT}, rangemode="tozero")
    axis(layout, bottom).update(title={"text": "Child-Pugh", "font": AXIS_TITLE_FONT}, range=[4.5, 15.5])
    row_title(layout, "MELD, MELD-Na, MELD 3.0", top)
    row_title(layout, "Child-Pugh", bottom)
    return figure(data, layout)


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON for `json_script` (numeric arrays may become plotly's typed-array dicts)."""
    return json.loads(fig.to_json())
