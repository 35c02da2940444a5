"""OTH-03, OTH-04 and OTH-05 (clinical-rules.md §2.12). Rows cite the spec."""

import pytest

from monitoring.rules.base import Severity
from tests.timelines import AAA, TimelineBuilder, day, fired, not_evaluable, run


# OTH-03 Possible AIH-PBC variant -------------------------------------------------------------
def ama_positive(alt=60, alp=390, alt_uln=40, alp_uln=130, **patient) -> TimelineBuilder:
    """AMA positive, ALT and ALP drawn the same day (day 20), on prednisolone."""
    return (
        TimelineBuilder(**patient)
        .course("prednisolone", AAA, 30)
        .dated("autoantibodies", day(-30), "ama", "positive", 160)
        .lab("alt", day(20), alt, alt_uln)
        .lab("alp", day(20), alp, alp_uln)
    )


@pytest.mark.parametrize(
    ("alt", "alp", "fires"),
    [
        (60, 390, True),  # §3.7: (60/40)/(390/130) = 0.50 (cholestatic) with ALP > ULN: fires
        (180, 330, True),  # §3.7: (180/40)/(330/130) = 1.77 (cholestatic)
        (400, 150, False),  # §3.7: (400/40)/(150/130) = 8.67 (hepatocellular)
        (120, 195, True),  # R exactly 2.00: "R ≤ 2" fires
        (121, 195, False),  # R 2.02
        (20, 130, False),  # ALP exactly at the ULN is normal: no cholestatic feature
    ],
)
def test_oth03_possible_aih_pbc_variant(alt, alp, fires):
    finding = fired(ama_positive(alt, alp), day(30), "OTH-03")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO
        assert finding.evidence["alp"]["uln"] == 130
        assert finding.parameters["variant_pbc_r_max"] == 2.0
        assert "13-15 mg/kg/day" in finding.action


def test_oth03_gives_the_udca_dose_for_the_patients_weight():
    finding = fired(ama_positive().weight(day(0), 60), day(30), "OTH-03")
    assert "780-900 mg/day at 60 kg" in finding.action  # S000: UDCA 13-15 mg/kg/day


@pytest.mark.parametrize(
    "builder",
    [
        ama_positive().dated("autoantibodies", day(10), "ama", "negative"),  # the latest AMA is negative
        TimelineBuilder().lab("alt", day(20), 60).lab("alp", day(20), 390),  # no AMA
        ama_positive().course("ursodeoxycholic_acid", day(25), 900),  # already on UDCA
    ],
)
def test_oth03_quiet(builder):
    assert fired(builder, day(30), "OTH-03") is None


def test_oth03_pairs_alt_within_7_days_of_the_alp():
    builder = ama_positive().lab("alp", day(28), 390).lab("alt", day(35), 60)
    assert fired(builder, day(35), "OTH-03").evidence["alt"]["date"] == "2025-02-10"
    builder = TimelineBuilder().dated("autoantibodies", day(-30), "ama", "positive").lab("alt", day(0), 60)
    builder.lab("alp", day(8), 390)
    assert "within 7 days" in not_evaluable(builder, day(30), "OTH-03").missing


def test_oth03_without_alp_is_not_evaluable():
    builder = TimelineBuilder().dated("autoantibodies", day(-30), "ama", "positive").lab("alt", day(0), 60)
    assert "no ALP" in not_evaluable(builder, day(30), "OTH-03").missing


# OTH-05 Ciclosporin 2-5 mg/kg/day; 6-MP 1.5 mg/kg/day ----------------------------------------
@pytest.mark.parametrize(
    ("drug", "dose", "kg", "fires"),
    [
        ("cyclosporine", 140, 70, False),  # §2.12 OTH-05: 2.0 mg/kg is inside 2-5
        ("cyclosporine", 130, 70, True),  # 1.86 mg/kg: below
        ("cyclosporine", 350, 70, False),  # 5.0 mg/kg: inside
        ("cyclosporine", 360, 70, True),  # 5.14 mg/kg: above
        ("mercaptopurine", 75, 50, False),  # §2.12 OTH-05: 1.5 mg/kg exactly
        ("mercaptopurine", 80, 50, True),  # 1.6 mg/kg: above
        ("mercaptopurine", 25, 50, False),  # 0.5 mg/kg: only a ceiling is given
    ],
)
def test_oth05_dose_per_kg(drug, dose, kg, fires):
    builder = TimelineBuilder().weight(day(-5), kg).course(drug, AAA, dose)
    finding = fired(builder, day(30), "OTH-05")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.INFO
        assert finding.evidence["weight_kg"] == kg
        key = "cyclosporine_mg_per_kg_range" if drug == "cyclosporine" else "mercaptopurine_max_mg_per_kg"
        assert key in finding.parameters


def test_oth05_without_a_weight_is_not_evaluable():
    builder = TimelineBuilder().course("cyclosporine", AAA, 200)
    assert "weight" in not_evaluable(builder, day(30), "OTH-05").missing


def test_oth05_checks_a_planned_prescription():
    builder = TimelineBuilder().weight(day(-5), 50).course("mercaptopurine", day(30), 100, planned=True)
    assert fired(builder, day(30), "OTH-05") is not None


# OTH-04 Seronegative AIH: treatment rules are not suppressed ---------------------------------
def same_patient(aih_type: str, antibodies: list[tuple[str, str]]) -> TimelineBuilder:
    """Prednisolone from T0, AZA from day 14, a poor week-4 fall in ALT, ALT and IgG still high at month 6."""
    builder = (
        TimelineBuilder(aih_type=aih_type, reproductive_potential="no")
        .weight(day(-3), 70)
        .course("prednisolone", AAA, 40)
        .course("azathioprine", day(14), 100)
        .lab("alt", day(-1), 620)
        .lab("alt", day(28), 450)
        .lab("alt", day(180), 120)
        .lab("igg", day(180), 22)
        .lab("alp", day(180), 150)
        .lab("wbc", day(170), 3.5)
    )
    for antibody, result in antibodies:
        builder.dated("autoantibodies", day(-20), antibody, result, 160)
    return builder


@pytest.mark.parametrize("as_of_day", [30, 120, 240])
def test_oth04_seronegative_patients_get_the_same_findings(as_of_day):
    # §2.12 OTH-04 / S000: about 20% of AIH is seronegative and still needs treatment and monitoring.
    seropositive = run(same_patient("type1", [("ana", "positive"), ("sma", "positive")]), day(as_of_day))
    seronegative = run(same_patient("seronegative", []), day(as_of_day))
    assert seropositive.findings, "the scenario must fire something to compare"
    assert {f.rule_id for f in seronegative.findings} == {f.rule_id for f in seropositive.findings}
    assert {(f.rule_id, f.severity) for f in seronegative.findings} == {
        (f.rule_id, f.severity) for f in seropositive.findings
    }
    assert {n.rule_id for n in seronegative.not_evaluable} == {n.rule_id for n in seropositive.not_evaluable}
