"""Decision support: the physician's panel as plain data, from a timeline and its evaluation."""

from datetime import date

from monitoring.parameters import defaults
from monitoring.record.decision_support import decision_support, score_history
from tests.timelines import TimelineBuilder, run

TODAY = date(2026, 1, 15)


def panel(builder: TimelineBuilder, as_of: date = TODAY) -> dict:
    timeline = builder.build()
    return decision_support(timeline, run(timeline, as_of), defaults(), as_of)


def options(data: dict) -> dict:
    return {option.key: option for option in data["options"]}


def on_aza() -> TimelineBuilder:
    b = TimelineBuilder()
    b.course("prednisolone", "2025-01-06", 40, doses=[("2025-02-03", 20), ("2025-03-03", 10)])
    b.course("azathioprine", "2025-01-20", 100)
    for on, alt in (("2025-01-06", 400), ("2025-02-03", 120), ("2025-04-01", 35), ("2025-12-01", 30)):
        b.lab("alt", on, alt).lab("igg", on, 20 if alt > 40 else 12)
    return b


def test_pregnancy_greys_out_mmf_with_the_reason():
    data = panel(on_aza().pregnancy("2025-11-01"))
    mmf = options(data)["mmf"]
    assert mmf.contraindicated
    assert "pregnant" in mmf.reasons[0]
    assert not options(data)["tacrolimus"].contraindicated


def test_tpmt_deficiency_greys_out_the_thiopurines():
    data = panel(on_aza().pgx("tpmt", "poor"))
    assert "TPMT deficiency" in options(data)["mercaptopurine"].reasons[0]
    assert "TPMT deficiency" in options(data)["thioguanine"].reasons[0]
    assert not options(data)["mmf"].contraindicated


def test_cirrhosis_greys_out_budesonide_and_renal_impairment_the_calcineurin_inhibitors():
    b = on_aza().lab("creatinine", "2026-01-10", 160, uln=110)
    b.patient["cirrhosis_on"] = date(2025, 6, 1)
    data = panel(b)
    assert options(data)["budesonide"].reasons == ("cirrhosis (CI-01)",)
    assert "nephrotoxicity" in options(data)["tacrolimus"].reasons[0]
    assert "nephrotoxicity" in options(data)["cyclosporine"].reasons[0]


def test_a_severe_aza_reaction_greys_out_6mp_for_cross_toxicity():
    b = on_aza().dated("adverse_events", "2025-03-01", "hepatotoxicity", "cholestatic", 2)
    assert "cross-toxicity" in options(panel(b))["mercaptopurine"].reasons[0]


def test_all_eight_second_line_options_and_budesonide_are_listed_with_their_sources():
    keys = [o.key for o in panel(on_aza())["options"]]
    assert keys == [
        "mmf",
        "mercaptopurine",
        "thioguanine",
        "tacrolimus",
        "cyclosporine",
        "rituximab",
        "infliximab",
        "transplant",
        "budesonide",
    ]
    mmf = options(panel(on_aza()))["mmf"]
    assert mmf.remission_rate == "50-80% in AZA-intolerant; 25-50% in non-responders"
    assert "CAMARO" in mmf.note  # the trial belongs to MMF, not budesonide
    assert "CAMARO" not in options(panel(on_aza()))["budesonide"].remission_rate.split("(")[0]


def test_response_status_with_history_and_months_on_treatment():
    response = panel(on_aza())["response"]
    assert response.current == "Complete biochemical response"
    assert response.cbr_by_6_months is True and response.cbr_on == date(2025, 4, 1)
    assert response.months_on_treatment == 12
    assert [c["state"] for c in response.history][-1] == "Induction"  # newest first


def test_withdrawal_readiness_lists_each_criterion_met_or_not():
    rows = panel(on_aza())["withdrawal"]
    assert [row["criterion"][:3] for row in rows[:4]] == ["(a)", "(b)", "(c)", "(d)"]
    total = rows[0]
    assert total["met"] is False and "24 months on 2027-01-06" in total["detail"]  # when (a) will be met
    assert rows[3]["met"] is True


def test_cumulative_steroid_exposure_in_prednisolone_mg_and_months_above_10():
    steroids = panel(on_aza())["steroids"]
    # 28 days at 40, 28 at 20, then 10 mg/day to 15 Jan 2026 inclusive (319 days).
    assert steroids["total_mg"] == 28 * 40 + 28 * 20 + 319 * 10
    assert steroids["months_above"] == round(56 / 30.4375, 1)


def test_metabolites_show_the_last_two_draws_and_the_tpm_finding():
    b = on_aza()
    b.lab("tgn", "2025-06-01", 210, uln=450).lab("mmp", "2025-06-01", 7000, uln=5700)
    b.lab("tgn", "2025-12-01", 180, uln=450).lab("mmp", "2025-12-02", 9500, uln=5700)
    metabolites = panel(b)["metabolites"]
    assert [(d["tgn"], d["mmp"]) for d in metabolites["draws"]] == [(180, 9500), (210, 7000)]
    assert [f.rule_id for f in metabolites["findings"]] == ["TPM-02"]


def test_not_evaluable_rules_say_what_is_missing():
    b = on_aza().lab("tgn", "2025-12-01", 180, uln=450)  # low 6-TGN without 6-MMP
    items = {item["rule_id"]: item for item in panel(b)["not_evaluable"]}
    assert items["TPM-01"]["missing"] == "no 6-MMP with the low 6-TGN"
    assert items["TPM-01"]["title"].startswith("Low 6-TGN")


def test_meld_and_child_pugh_now_and_over_time():
    b = on_aza()
    for on, bili in (("2025-11-01", 30), ("2026-01-10", 60)):
        b.lab("bilirubin", on, bili).lab("creatinine", on, 90).lab("inr", on, 1.4).lab("sodium", on, 134, uln=145)
        b.lab("albumin", on, 30, uln=50)
    b.visit("2026-01-10", ascites="mild")
    data = panel(b)
    assert data["meld"]["scores"]["MELD"] is not None
    assert data["child_pugh"]["class"] in ("A", "B", "C")
    points = score_history(b.build(), defaults())
    assert [p.on for p in points] == [date(2025, 11, 1), date(2026, 1, 10)]
    assert points[0].child_pugh is None and points[1].child_pugh == data["child_pugh"]["score"]
    assert points[1].meld3 == data["meld"]["scores"]["MELD 3.0"]


def test_sources_link_seed_ids_to_the_source_list_and_dois_out():
    from monitoring.record.decision_support import source_parts

    parts = source_parts("S004 Table 1; Pape, J Hepatol 2022, doi:10.1016/j.jhep.2021.12.041.")
    assert parts[0] == ("S004", "#source-S004")
    assert ("doi:10.1016/j.jhep.2021.12.041", "https://doi.org/10.1016/j.jhep.2021.12.041") in parts
    assert "".join(text for text, _ in parts) == "S004 Table 1; Pape, J Hepatol 2022, doi:10.1016/j.jhep.2021.12.041."
    assert source_parts("") == []
