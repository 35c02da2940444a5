"""CI-01..CI-07 (clinical-rules.md §2.7). Rows cite the spec. CI-08/CI-09 are AZA-02/AZA-08."""

import pytest

from monitoring.rules.base import Severity
from tests.timelines import AAA, TimelineBuilder, day, fired, not_evaluable, run

BUDESONIDE_IDS = ("CI-01", "CI-02", "CI-03", "CI-03b")
MMF_IDS = ("CI-04", "CI-05", "CI-06")


def fired_ids(timeline, as_of, among=None) -> set[str]:
    ids = {f.rule_id for f in run(timeline, as_of).findings}
    return ids & set(among) if among else ids


def on_budesonide(planned=False, **patient) -> TimelineBuilder:
    start = day(30) if planned else AAA
    return TimelineBuilder(**patient).course("budesonide", start, 9, planned=planned)


# CI-01..CI-03b Budesonide --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("builder", "rule_id", "severity"),
    [
        (
            on_budesonide(cirrhosis_on=day(-100)),
            "CI-01",
            Severity.CRITICAL,
        ),  # §2.7 CI-01: budesonide active + cirrhosis
        (on_budesonide(True, cirrhosis_on=day(-100)), "CI-01", Severity.CRITICAL),  # CI-01: "or ordered"
        (on_budesonide().acute_episode(day(20)), "CI-02", Severity.CRITICAL),  # §2.7 CI-02: AS-AIH episode
        (on_budesonide(True).acute_episode(day(20), encephalopathy=True), "CI-02", Severity.CRITICAL),  # ALF
        (on_budesonide(portosystemic_shunt="tips"), "CI-03", Severity.HIGH),  # §2.7 CI-03: TIPS
        (on_budesonide(portosystemic_shunt="spontaneous"), "CI-03", Severity.HIGH),  # large spontaneous shunt
        (on_budesonide(advanced_fibrosis=True), "CI-03b", Severity.WARNING),  # §2.7 CI-03b: F3, warning
    ],
)
def test_budesonide_contraindications_fire(builder, rule_id, severity):
    assert fired_ids(builder, day(30), BUDESONIDE_IDS) == {rule_id}
    finding = fired(builder, day(30), rule_id)
    assert finding.severity == severity
    assert finding.evidence["budesonide"][0]["drug"] == "Budesonide"


@pytest.mark.parametrize(
    "builder",
    [
        on_budesonide(),  # no contraindication
        on_budesonide(portosystemic_shunt="none"),  # "none" is no shunt
        on_budesonide(cirrhosis_on=day(60)),  # cirrhosis diagnosed after the as-of date is not known yet
        on_budesonide().acute_episode(day(-60), ended=day(-20)),  # a resolved episode is history
        # Prednisolone is the right drug in cirrhosis with a shunt.
        TimelineBuilder(cirrhosis_on=day(-100), portosystemic_shunt="tips").course("prednisolone", AAA, 40),
        TimelineBuilder(cirrhosis_on=day(-100)).course("budesonide", day(-50), 9, stop=day(10)),  # budesonide stopped
    ],
)
def test_budesonide_contraindications_quiet(builder):
    assert fired_ids(builder, day(30), BUDESONIDE_IDS) == set()


def test_cirrhosis_and_advanced_fibrosis_never_both_fire():
    # §2.7: CI-03b is F3 without cirrhosis; with cirrhosis CI-01 says it (one alert per problem)
    builder = on_budesonide(cirrhosis_on=day(-10), advanced_fibrosis=True)
    assert fired_ids(builder, day(30), BUDESONIDE_IDS) == {"CI-01"}


def test_several_budesonide_contraindications_are_one_alert_naming_the_others():
    builder = on_budesonide(cirrhosis_on=day(-10), portosystemic_shunt="tips").acute_episode(day(25))
    assert fired_ids(builder, day(30), BUDESONIDE_IDS) == {"CI-01"}
    finding = fired(builder, day(30), "CI-01")
    assert finding.evidence["other_contraindications"] == ["CI-02 acute severe AIH", "CI-03 portosystemic shunt (tips)"]
    assert "Switch" in finding.action or "switch" in finding.action
    # Without cirrhosis the AS-AIH episode is the alert.
    builder = on_budesonide(portosystemic_shunt="tips").acute_episode(day(25))
    assert fired_ids(builder, day(30), BUDESONIDE_IDS) == {"CI-02"}


def test_a_budesonide_prescription_says_so():
    finding = fired(on_budesonide(True, cirrhosis_on=day(-100)), day(30), "CI-01")
    assert finding.message.startswith("Budesonide prescription")
    assert finding.evidence["budesonide"][0]["planned"] is True


# CI-04 / CI-06 Mycophenolate and pregnancy ---------------------------------------------------
def on_mmf(drug="mycophenolate_mofetil", start=AAA, planned=False, **patient) -> TimelineBuilder:
    patient = {"reproductive_potential": "yes", **patient}
    return TimelineBuilder(**patient).course(drug, start, 1000, planned=planned)


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (on_mmf().pregnancy(day(10)), {"CI-04"}),  # §2.7 CI-04: MMF + pregnancy, critical
        (on_mmf("mycophenolic_acid").pregnancy(day(10)), {"CI-04"}),  # "or mycophenolic acid"
        (on_mmf(start=day(30), planned=True).pregnancy(day(10)), {"CI-04"}),  # prescribing in pregnancy
        (on_mmf().pregnancy(day(-300), day(-20)), {"CI-05"}),  # pregnancy ended: back to CI-05
        (on_mmf().pregnancy(day(10), kind="planned"), {"CI-06"}),  # §2.7 CI-06: pregnancy planned
        # Pregnant and a plan still open: one alert, the critical one.
        (on_mmf().pregnancy(day(0), kind="planned").pregnancy(day(10)), {"CI-04"}),
        (TimelineBuilder().course("azathioprine", AAA, 100).pregnancy(day(10)), set()),  # AZA: AZA-10, not CI-04
    ],
)
def test_mycophenolate_and_pregnancy(builder, expected):
    assert fired_ids(builder, day(30), MMF_IDS) == expected


def test_ci04_and_ci06_severity():
    assert fired(on_mmf().pregnancy(day(10)), day(30), "CI-04").severity == Severity.CRITICAL
    assert fired(on_mmf().pregnancy(day(10), kind="planned"), day(30), "CI-06").severity == Severity.HIGH


# CI-05 Pregnancy test and contraception ------------------------------------------------------
MMF_START = "2025-06-01"
AS_OF = "2026-01-10"  # the last 12 months run from 2025-01-10
EARLY_START = "2024-06-01"  # 30 days before it is 2024-05-02, well outside the last 12 months


def mmf_patient(test_on=None, result="negative", contraception=True, start=MMF_START, **patient) -> TimelineBuilder:
    builder = on_mmf(start=start, **patient)
    if test_on:
        builder.pregnancy_test(test_on, result)
    if contraception:
        builder.contraception("2024-01-01")
    return builder


@pytest.mark.parametrize(
    ("builder", "fires", "text"),
    [
        (mmf_patient("2025-05-25"), False, ""),  # §2.7 CI-05: negative test before the start and contraception
        (mmf_patient("2025-01-10"), False, ""),  # within the last 12 months counts (exactly 12 months)
        (mmf_patient("2025-01-09"), True, "no recent negative pregnancy test"),  # 12 months + 1 day, > 30 d pre-start
        (mmf_patient("2024-05-02", start=EARLY_START), False, ""),  # exactly 30 days before the MMF start counts
        (mmf_patient("2024-05-01", start=EARLY_START), True, "no recent negative"),  # 31 days before: too early
        (mmf_patient(), True, "no recent negative pregnancy test"),  # never tested
        (mmf_patient("2025-05-25", contraception=False), True, "no current contraception"),  # test but no contraception
        (mmf_patient("2025-12-01", result="positive"), True, "POSITIVE"),  # last test positive
        (mmf_patient(contraception=False), True, "no recent negative pregnancy test and no current contraception"),
        (mmf_patient(reproductive_potential="no"), False, ""),  # no reproductive potential
        (mmf_patient(sex="male"), False, ""),  # the rule is about women (REMS)
        (mmf_patient(sex="other"), True, "no recent negative"),  # reproductive potential "yes" decides
    ],
)
def test_ci05_pregnancy_test_and_contraception(builder, fires, text):
    finding = fired(builder, AS_OF, "CI-05")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.HIGH
        assert text in finding.message
        assert finding.parameters["mmf_pregnancy_test_before_start_days"] == 30
        assert finding.parameters["mmf_pregnancy_test_recent_months"] == 12


def test_ci05_at_a_planned_start():
    # Prescribing mycophenolate today: a test from last week and an IUD are what CI-05 asks for.
    as_of = "2025-06-01"
    ok = on_mmf(start=as_of, planned=True).pregnancy_test("2025-05-25").contraception("2024-01-01")
    assert fired(ok, as_of, "CI-05") is None
    assert fired(on_mmf(start=as_of, planned=True).contraception("2024-01-01"), as_of, "CI-05") is not None


def test_ci05_contraception_that_ended_does_not_count():
    builder = on_mmf(start=MMF_START).pregnancy_test("2025-12-01").contraception("2024-01-01", "2025-10-01")
    assert "no current contraception" in fired(builder, AS_OF, "CI-05").message


def test_ci05_unknown_reproductive_potential_is_not_evaluable():
    builder = on_mmf(start=MMF_START, reproductive_potential="unknown")
    assert fired(builder, AS_OF, "CI-05") is None
    assert "reproductive potential" in not_evaluable(builder, AS_OF, "CI-05").missing


# CI-07 Budesonide and a strong CYP3A4 inhibitor ----------------------------------------------
@pytest.mark.parametrize(
    ("builder", "fires"),
    [
        (on_budesonide().course("ketoconazole", day(20), 400), True),  # §2.7 CI-07: ketoconazole
        (on_budesonide().course("ritonavir", day(30), 200, planned=True), True),  # ordering ritonavir
        (on_budesonide().course("cobicistat", day(-40), 150, stop=day(10)), False),  # inhibitor stopped
        (TimelineBuilder().course("prednisolone", AAA, 20).course("ketoconazole", AAA, 400), False),  # no budesonide
    ],
)
def test_ci07_budesonide_with_cyp3a4_inhibitor(builder, fires):
    finding = fired(builder, day(30), "CI-07")
    assert (finding is not None) is fires
    if fires:
        assert finding.severity == Severity.WARNING
        assert finding.evidence["inhibitors"]
