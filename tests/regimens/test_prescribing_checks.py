"""Prescribing safety checks run the engine's rules on the timeline with the prescription added.

Table-driven: each row names the spec rule (clinical-rules.md §2.3, §2.7) it exercises. The
patient is otherwise fit for the drug, so each row changes one fact and expects one finding.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from monitoring.parameters import defaults
from monitoring.rules.base import Severity
from regimens.prescribing import NewCourse, Prescription, check_prescription, proposed_timeline
from tests.timelines import DRUG_CLASS, TimelineBuilder

TODAY = date(2025, 3, 3)


def fit_patient(**patient) -> TimelineBuilder:
    """A woman of 70 kg with a normal TPMT, recent normal bilirubin and blood count, on prednisolone."""
    return (
        TimelineBuilder(**patient)
        .weight("2025-02-24", 70)
        .pgx("tpmt", "normal", on="2025-01-10")
        .lab("bilirubin", "2025-02-24", 15)
        .lab("wbc", "2025-02-24", 6.0)
        .lab("platelets", "2025-02-24", 250)
        .course("prednisolone", "2025-02-03", 30, id=1)
    )


def start(drug: str, dose: float | None, on: date = TODAY) -> Prescription:
    return Prescription(on, start=NewCourse(drug, DRUG_CLASS[drug], on, dose))


def check(builder: TimelineBuilder, prescription: Prescription):
    return check_prescription(builder.build(), prescription, defaults())


Setup = Callable[[TimelineBuilder], TimelineBuilder]
CRIT, HIGH, WARN = Severity.CRITICAL, Severity.HIGH, Severity.WARNING
AZA, MMF, BUD = "azathioprine", "mycophenolate_mofetil", "budesonide"


def _without_tpmt(builder: TimelineBuilder) -> TimelineBuilder:
    builder.extra["pharmacogenetics"] = []
    return builder


def _with(builder: TimelineBuilder, **patient) -> TimelineBuilder:
    builder.patient.update(patient)
    return builder


ROWS: list[tuple[str, str, Setup, Prescription, Severity]] = [
    # (spec id, what, patient change, prescription, expected severity)
    ("AZA-01", "no TPMT result, thiopurine not started", lambda b: _without_tpmt(b), start(AZA, 100), CRIT),
    ("AZA-01", "6-MP counts as a thiopurine", lambda b: _without_tpmt(b), start("mercaptopurine", 50), CRIT),
    ("AZA-02", "TPMT poor metaboliser", lambda b: b.pgx("tpmt", "poor", on="2025-02-01"), start(AZA, 100), CRIT),
    ("AZA-02", "NUDT15 poor metaboliser", lambda b: b.pgx("nudt15", "poor", on="2025-02-01"), start(AZA, 100), CRIT),
    ("AZA-03", "TPMT intermediate", lambda b: b.pgx("tpmt", "intermediate", on="2025-02-01"), start(AZA, 50), WARN),
    (
        "AZA-04",
        "bilirubin 6 mg/dL = 102.6 µmol/L (at the limit)",
        lambda b: b.lab("bilirubin", "2025-03-01", 102.6),
        start(AZA, 100),
        HIGH,
    ),
    ("AZA-04", "bilirubin 140 µmol/L", lambda b: b.lab("bilirubin", "2025-03-01", 140), start(AZA, 100), HIGH),
    ("AZA-05", "WBC 2.0 < 2.5", lambda b: b.lab("wbc", "2025-03-01", 2.0), start(AZA, 100), HIGH),
    ("AZA-05", "platelets 45 < 50", lambda b: b.lab("platelets", "2025-03-01", 45), start(AZA, 100), HIGH),
    ("AZA-07", "150 mg at 72 kg = 2.08 mg/kg (§3.7)", lambda b: b.weight("2025-03-01", 72), start(AZA, 150), WARN),
    (
        "AZA-08",
        "azathioprine started on allopurinol, unreduced",
        lambda b: b.course("allopurinol", "2024-06-01", 300, id=7),
        start(AZA, 100),
        CRIT,
    ),
    (
        "AZA-08",
        "allopurinol added to azathioprine 150 mg",
        lambda b: b.course("azathioprine", "2024-06-01", 150, id=7),
        start("allopurinol", 100),
        CRIT,
    ),
    (
        "AZA-08",
        "febuxostat with azathioprine",
        lambda b: b.course("febuxostat", "2024-06-01", 80, id=7),
        start(AZA, 100),
        CRIT,
    ),
    ("CI-01", "budesonide in cirrhosis", lambda b: _with(b, cirrhosis_on=date(2024, 5, 1)), start(BUD, 9), CRIT),
    ("CI-02", "budesonide in acute severe AIH", lambda b: b.acute_episode("2025-02-20"), start(BUD, 9), CRIT),
    ("CI-03", "budesonide with a TIPS", lambda b: _with(b, portosystemic_shunt="tips"), start(BUD, 9), HIGH),
    ("CI-03b", "budesonide with advanced fibrosis", lambda b: _with(b, advanced_fibrosis=True), start(BUD, 9), WARN),
    ("CI-04", "mycophenolate in pregnancy", lambda b: b.pregnancy("2025-01-20"), start(MMF, 2000), CRIT),
    (
        "CI-05",
        "mycophenolate, no pregnancy test or contraception",
        lambda b: _with(b, reproductive_potential="yes"),
        start(MMF, 2000),
        HIGH,
    ),
    (
        "CI-06",
        "mycophenolate with a planned pregnancy",
        lambda b: b.pregnancy("2025-02-01", kind="planned"),
        start(MMF, 2000),
        HIGH,
    ),
]


@pytest.mark.parametrize(("rule_id", "what", "setup", "prescription", "severity"), ROWS, ids=[r[1] for r in ROWS])
def test_each_safety_check_fires_at_prescribing(rule_id, what, setup, prescription, severity):
    result = check(setup(fit_patient()), prescription)
    found = {f.rule_id: f for f in result.findings}
    assert rule_id in found, f"{rule_id} ({what}) did not fire: {[f.rule_id for f in result.findings]}"
    assert found[rule_id].severity == severity
    assert (found[rule_id] in result.blocking) == (severity == Severity.CRITICAL)


@pytest.mark.parametrize(
    ("drug", "dose"), [("azathioprine", 100), ("budesonide", 9), ("mycophenolate_mofetil", 2000), ("prednisolone", 40)]
)
def test_a_fit_patient_gets_no_finding(drug, dose):
    result = check(fit_patient(reproductive_potential="no"), start(drug, dose))
    assert result.findings == ()
    assert result.blocking == ()


def test_the_bilirubin_just_below_6_mg_dl_does_not_block():
    result = check(fit_patient().lab("bilirubin", "2025-03-01", 100), start("azathioprine", 100))
    assert "AZA-04" not in {f.rule_id for f in result.findings}  # AZA-04: ≥ 102.6 µmol/L only


def test_a_problem_that_exists_without_the_prescription_is_not_repeated():
    # Already on budesonide with cirrhosis (CI-01 is in the alert queue); prescribing AZA does not repeat it.
    builder = _with(fit_patient(), cirrhosis_on=date(2024, 5, 1)).course("budesonide", "2024-09-01", 9, id=5)
    result = check(builder, start("azathioprine", 100))
    assert "CI-01" not in {f.rule_id for f in result.findings}


def test_a_dose_increase_above_2_mg_per_kg_warns():
    builder = fit_patient().course("azathioprine", "2024-06-01", 100, id=7)
    prescription = Prescription(TODAY, dose_change_course_id=7, dose_mg_per_day=175)
    result = check(builder, prescription)
    assert [(f.rule_id, f.severity) for f in result.findings] == [("AZA-07", Severity.WARNING)]
    assert result.findings[0].evidence["mg_per_kg"] == 2.5


def test_a_switch_checks_the_new_drug_with_the_old_one_stopped():
    # AZA -> MMF in a pregnant woman: CI-04 blocks; AZA's own problems are gone with the stop.
    builder = fit_patient().pregnancy("2025-02-10").course("azathioprine", "2024-06-01", 100, id=7)
    prescription = Prescription(
        TODAY,
        start=NewCourse("mycophenolate_mofetil", DRUG_CLASS["mycophenolate_mofetil"], TODAY, 2000),
        stop_course_id=7,
        stop_reason="intolerance",
    )
    result = check(builder, prescription)
    assert [f.rule_id for f in result.blocking] == ["CI-04"]
    timeline = proposed_timeline(builder.build(), prescription)
    stopped = next(c for c in timeline.courses if c.id == 7)
    assert stopped.stopped_on == TODAY and not stopped.active_on(TODAY)


def test_missing_baseline_labs_are_reported_as_not_checked():
    builder = TimelineBuilder().weight("2025-02-24", 70).pgx("tpmt", "normal")
    result = check(builder, start("azathioprine", 100))
    missing = {n.rule_id: n.missing for n in result.not_evaluable}
    assert "no bilirubin" in missing["AZA-04"]
    assert "white cell count and platelet count" in missing["AZA-05"]


def test_critical_findings_come_first():
    builder = _without_tpmt(fit_patient()).lab("wbc", "2025-03-01", 2.0)
    result = check(builder, start("azathioprine", 100))
    assert [f.rule_id for f in result.findings][:2] == ["AZA-01", "AZA-05"]
