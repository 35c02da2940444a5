"""Chart builders: plain timelines in, plotly figures out. Assertions on traces and shapes."""

import json
from dataclasses import replace
from datetime import date

from monitoring.engine.timeline import Dose
from monitoring.parameters import defaults
from monitoring.record import charts
from monitoring.record.charts import ScorePoint
from tests.timelines import TimelineBuilder

TODAY = date(2026, 1, 15)


def treated_patient() -> TimelineBuilder:
    b = TimelineBuilder()
    # Two labs with different ULNs: 120 U/L is 3x at a lab with ULN 40, 2x at one with ULN 60.
    b.lab("alt", "2025-01-06", 120, uln=40).lab("alt", "2025-03-01", 120, uln=60).lab("alt", "2025-09-01", 30, uln=40)
    b.lab("ast", "2025-01-06", 90, uln=45).lab("igg", "2025-01-06", 24, uln=16).lab("igg", "2025-09-01", 12, uln=16)
    b.course("prednisolone", "2025-01-06", 40, stop="2025-08-01", reason="remission", doses=[("2025-02-01", 20)], id=7)
    b.course("azathioprine", "2025-01-20", 50, doses=[("2025-03-01", 100)], id=8)
    b.biopsy("2025-01-02", hai=11, stage=2).dexa("2025-04-01")
    b.dated("adverse_events", "2025-02-10", "nausea", "vomiting after doses", 8)
    b.dated("relapses", "2025-11-01", "on_treatment")
    return b


def traces_by_name(fig):
    return {trace.name: trace for trace in fig.data}


def test_alt_and_ast_are_plotted_as_multiples_of_each_results_own_uln():
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY)
    alt = traces_by_name(fig)["ALT × ULN"]
    assert list(alt.y) == [3.0, 2.0, 0.75]
    assert [list(c) for c in alt.customdata][1] == [120, "U/L", 60, "reported"]
    assert "ULN" in alt.hovertemplate and "%{x|%d %b %Y}" in alt.hovertemplate
    assert list(traces_by_name(fig)["AST × ULN"].y) == [2.0]


def test_the_top_panel_shades_the_normal_band_and_draws_2x_and_3x_guides():
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY)
    top = [s for s in fig.layout.shapes if s.yref in ("y", "y domain")]
    band = next(s for s in top if s.type == "rect")
    assert (band.y0, band.y1) == (0, 1)
    assert sorted(s.y0 for s in top if s.type == "line") == [2, 3]


def test_igg_is_drawn_in_g_per_l_against_its_uln():
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY)
    names = traces_by_name(fig)
    assert list(names["IgG (g/L)"].y) == [24, 12]
    assert list(names["IgG ULN"].y) == [16, 16]
    assert names["IgG ULN"].line.dash == "dash"


def test_each_drug_gets_a_lane_with_dose_steps_start_and_stop_markers():
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY)
    names = traces_by_name(fig)
    pred = names["Prednisolone (actual)"]
    assert pred.line.shape == "hv"
    assert list(pred.y) == [40, 20, 0]  # 40, tapered to 20, stopped
    assert names["Prednisolone stop"].customdata[0][0] == "remission (planned withdrawal)"
    assert list(names["Azathioprine (actual)"].y) == [50, 100, 100]  # still running on the last day
    assert "Azathioprine stop" not in names
    assert len(names["Azathioprine start"].x) == 1
    # The lanes sit on their own y-axes below ALT and IgG.
    assert pred.yaxis == "y3" and names["Azathioprine (actual)"].yaxis == "y4"


def test_course_periods_are_shaded_spans_on_their_lane():
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY)
    spans = [s for s in fig.layout.shapes if s.name == "Prednisolone course"]
    assert len(spans) == 1
    assert (spans[0].x0, spans[0].x1) == ("2025-01-06", "2025-08-01")


def test_taper_plan_is_dashed_next_to_the_solid_actual_dose():
    plan = {7: [Dose(date(2025, 1, 6), 40), Dose(date(2025, 1, 20), 30), Dose(date(2025, 2, 3), 20)]}
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY, planned=plan)
    names = traces_by_name(fig)
    assert names["Prednisolone (taper plan)"].line.dash == "dash"
    assert list(names["Prednisolone (taper plan)"].y) == [40, 30, 20]
    assert names["Prednisolone (actual)"].line.dash is None


def test_events_are_marked_with_their_details():
    fig = charts.main_figure(treated_patient().build(), as_of=TODAY)
    names = traces_by_name(fig)
    assert names["Biopsy"].customdata[0][0] == "Liver biopsy: HAI 11/18, fibrosis 2"
    assert list(names["DEXA"].x) == ["2025-04-01"]
    assert "Nausea" in names["Adverse event"].customdata[0][0]
    assert names["Relapse"].customdata[0][0] == "Relapse on treatment"
    # Prednisolone stopped in remission while azathioprine went on: a taper's end, not a withdrawal.
    assert "Withdrawal" not in names


def test_a_withdrawal_is_marked_when_the_last_immunosuppressant_stops_in_remission():
    b = TimelineBuilder().lab("alt", "2025-01-06", 30)
    b.course("prednisolone", "2023-01-06", 5, stop="2024-06-01", reason="remission")
    b.course("azathioprine", "2023-01-06", 100, stop="2025-03-01", reason="remission")
    b.course("calcium_vitamin_d", "2023-01-06", 1000)  # not an immunosuppressant
    names = traces_by_name(charts.main_figure(b.build(), as_of=TODAY))
    assert list(names["Withdrawal"].x) == ["2025-03-01"]
    assert names["Withdrawal"].customdata[0][0] == "All immunosuppression withdrawn in remission"


def test_pregnancy_is_a_marker_and_a_shaded_span_across_the_chart():
    b = TimelineBuilder().lab("alt", "2025-01-06", 30).pregnancy("2025-05-01")
    fig = charts.main_figure(b.build(), as_of=TODAY)
    assert traces_by_name(fig)["Pregnancy"].customdata[0][0] == "Pregnancy (ongoing)"
    span = next(s for s in fig.layout.shapes if s.name == "pregnancy")
    assert (span.x0, span.x1) == ("2025-05-01", "2026-01-15")


def test_range_buttons_set_the_visible_time_span():
    timeline = treated_patient().build()
    assert charts.main_figure(timeline, as_of=TODAY, range_key="6m").layout.xaxis.range[0] == "2025-07-15"
    assert charts.main_figure(timeline, as_of=TODAY, range_key="1y").layout.xaxis.range[0] == "2025-01-15"
    # "All" starts just before the earliest result or course.
    assert charts.main_figure(timeline, as_of=TODAY, range_key="all").layout.xaxis.range[0] == "2024-12-23"
    assert charts.main_figure(timeline, as_of=TODAY, range_key="bogus").layout.meta["range"] == "2y"


def test_cholestatic_panel_shows_alp_ggt_bilirubin_as_multiples_of_uln():
    b = TimelineBuilder().lab("alp", "2025-03-01", 390, uln=130).lab("ggt", "2025-03-01", 120, uln=60)
    b.lab("bilirubin", "2025-03-01", 42, uln=21)
    fig = charts.cholestatic_figure(b.build(), as_of=TODAY)
    assert {t.name: list(t.y) for t in fig.data} == {
        "ALP × ULN": [3.0],
        "GGT × ULN": [2.0],
        "Total bilirubin × ULN": [2.0],
    }
    assert [s.y0 for s in fig.layout.shapes if s.type == "line"] == [2]


def test_blood_counts_draw_the_action_thresholds_from_the_parameters():
    params = defaults() | {"platelet_thresholds": [100.0, 50.0, 25.0]}
    b = TimelineBuilder().lab("platelets", "2025-03-01", 90, uln=400).lab("neutrophils", "2025-03-01", 1.2, uln=7.5)
    fig = charts.counts_figure(b.build(), as_of=TODAY, params=params)
    platelet_lines = sorted(s.y0 for s in fig.layout.shapes if s.yref == "y2")
    assert platelet_lines == [25.0, 50.0, 100.0]
    neutrophil_lines = sorted(s.y0 for s in fig.layout.shapes if s.yref == "y")
    assert neutrophil_lines == [0.5, 1.0, 1.5, 2.0, 3.0]  # neutrophil and white-cell thresholds


def test_metabolites_show_the_tgn_band_and_the_mmp_line():
    b = TimelineBuilder().lab("tgn", "2025-03-01", 180, uln=450).lab("mmp", "2025-03-01", 9500, uln=5700)
    fig = charts.metabolites_figure(b.build(), as_of=TODAY, params=defaults())
    band = next(s for s in fig.layout.shapes if s.type == "rect")
    assert (band.y0, band.y1) == (235.0, 450.0)
    line = next(s for s in fig.layout.shapes if s.type == "line")
    assert (line.y0, line.yref) == (5700.0, "y2")
    assert [t.name for t in fig.data] == ["6-TGN (pmol/8x10^8 RBC)", "6-MMP (pmol/8x10^8 RBC)"]


def test_tacrolimus_trough_has_its_target_band():
    b = TimelineBuilder().lab("tacrolimus", "2025-03-01", 9.5, uln=8)
    fig = charts.tacrolimus_figure(b.build(), as_of=TODAY, params=defaults() | {"tacrolimus_trough_range": [4, 7]})
    band = fig.layout.shapes[0]
    assert (band.y0, band.y1) == (4, 7)
    assert list(fig.data[0].y) == [9.5]


def test_scores_chart_has_the_meld_variants_and_child_pugh():
    points = [
        ScorePoint(date(2025, 3, 1), meld=12, meld_na=14, meld3=15, child_pugh=7, child_pugh_class="B"),
        ScorePoint(date(2025, 6, 1), meld=18, meld_na=None, meld3=None),
    ]
    fig = charts.scores_figure(points, as_of=TODAY, params=defaults())
    names = traces_by_name(fig)
    assert list(names["MELD"].y) == [12, 18]
    assert list(names["MELD-Na"].y) == [14]
    assert list(names["MELD 3.0"].y) == [15]
    assert list(names["Child-Pugh"].y) == [7]
    assert sorted((s.yref, s.y0) for s in fig.layout.shapes) == [("y", 15), ("y2", 10)]


def test_a_patient_without_results_has_no_data_in_any_panel():
    timeline = TimelineBuilder().build()
    assert not any(charts.has_data(timeline, key) for key in charts.PANELS)
    fig = charts.main_figure(timeline, as_of=TODAY)  # still a valid (empty) figure
    assert [t for t in fig.data if t.name.endswith("× ULN")] == []


def test_figure_json_is_plain_json():
    data = charts.figure_json(charts.main_figure(treated_patient().build(), as_of=TODAY))
    assert set(data) == {"data", "layout"}


def test_the_enzyme_axis_scales_to_the_results_in_view():
    b = TimelineBuilder().lab("alt", "2023-01-06", 800, uln=40).lab("alt", "2025-12-01", 60, uln=40)
    timeline = b.build()
    assert charts.main_figure(timeline, as_of=TODAY, range_key="1y").layout.yaxis.range[1] == 3.5
    assert charts.main_figure(timeline, as_of=TODAY, range_key="all").layout.yaxis.range[1] == 22.0


EVIL = '<a href="https://evil.example">x</a>'
EVIL_ESCAPED = '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'


def test_text_from_data_is_escaped_so_plotly_draws_no_link():
    # Plotly draws <a href>, <b>, <br> in names, text and hover labels: an imported note, a stop reason, a
    # drug or a lab's range label must be shown as written, never as a link.
    b = TimelineBuilder().lab("alt", "2025-01-06", 120, uln=40, source=EVIL).lab("igg", "2025-01-06", 24, uln=16)
    b.course("prednisolone", "2025-01-06", 40, stop="2025-08-01", reason=EVIL)
    b.dated("adverse_events", "2025-02-10", "other", EVIL)
    timeline = b.build()
    timeline = replace(timeline, courses=tuple(replace(c, drug=EVIL) for c in timeline.courses))
    data = charts.figure_json(charts.main_figure(timeline, as_of=TODAY))
    text = json.dumps(data, ensure_ascii=False)
    assert "<a " not in text
    names = {trace["name"]: trace for trace in data["data"]}
    assert names["ALT × ULN"]["customdata"][0][3] == EVIL_ESCAPED
    assert names["Adverse event"]["customdata"][0][0] == f"Other: {EVIL_ESCAPED}"
    stop = names[f"{EVIL_ESCAPED} stop"]
    assert stop["text"] == [f"stopped: {EVIL_ESCAPED}"] and stop["customdata"][0][0] == EVIL_ESCAPED
    assert stop["hovertemplate"].startswith(f"<b>{EVIL_ESCAPED} stopped</b>")  # our own markup is kept
    assert f"<b>{EVIL_ESCAPED}</b>" in [note["text"] for note in data["layout"]["annotations"]]
