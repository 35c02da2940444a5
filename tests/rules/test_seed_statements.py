"""Seed statements the spec gives no rule id of its own (issue 14), one table per rule.

Every row quotes the seed passage it checks (seed 000, 001, 004: tests/data/ holds no copy; the
quote is the citation). Labs are in canonical units.
"""

from __future__ import annotations

import pytest

from monitoring.engine.schedule import monitoring_schedule
from monitoring.engine.timeline import AdherenceFact
from monitoring.parameters import defaults
from monitoring.rules.base import Context, Severity
from regimens.prescribing import NewCourse, Prescription, check_prescription
from tests.timelines import DRUG_CLASS, PRED_EQUIVALENT, TimelineBuilder, d, fired

CRIT, HIGH, WARN, INFO = Severity.CRITICAL, Severity.HIGH, Severity.WARNING, Severity.INFO
TODAY = "2025-06-02"


def fit_for_a_thiopurine() -> TimelineBuilder:
    """70 kg, TPMT normal, recent normal bilirubin and blood count, on prednisolone."""
    return (
        TimelineBuilder()
        .weight("2025-05-26", 70)
        .pgx("tpmt", "normal", on="2024-06-01")
        .lab("bilirubin", "2025-05-26", 12)
        .lab("wbc", "2025-05-26", 6.0)
        .lab("platelets", "2025-05-26", 240)
        .course("prednisolone", "2024-09-02", 10, id=1)
    )


def prescribe(builder: TimelineBuilder, drug: str, dose: float | None, on=TODAY):
    on = d(on)
    prescription = Prescription(on, start=NewCourse(drug, DRUG_CLASS[drug], on, dose, PRED_EQUIVALENT[drug]))
    return check_prescription(builder.build(), prescription, defaults())


def finding(check, rule_id: str):
    return next((f for f in check.findings if f.rule_id == rule_id), None)


# AZA-11: thiopurine rechallenge ----------------------------------------------------------------
# An earlier azathioprine course (id 2) from 2024-09-16, stopped 2024-11-04 for the event below.
AZA11_ROWS = [
    # (seed passage, event kind, grade, course named, drug prescribed now, expected severity)
    (
        'S004 §4 "Rechallenge is generally contraindicated due to high recurrence risk"',
        "hepatotoxicity",
        None,
        True,
        "azathioprine",
        CRIT,
    ),
    ("S004 §4, any grade: hepatotoxicity rules out rechallenge", "hepatotoxicity", 1, True, "azathioprine", CRIT),
    (
        'S004 §7.1 6-MP "cross-toxicity may occur in patients with dose-independent AZA-induced hepatotoxicity"',
        "hepatotoxicity",
        2,
        True,
        "mercaptopurine",
        CRIT,
    ),
    (
        'S004 §7.1 not supported "in patients with severe AZA-induced adverse events such as pancreatitis"',
        "pancreatitis",
        None,
        True,
        "mercaptopurine",
        CRIT,
    ),
    ('S004 §7.1 "... myelotoxicity" (severe = CTCAE grade 3)', "cytopenia", 3, True, "azathioprine", CRIT),
    (
        "S004 §7.1 unattributed hepatotoxicity while azathioprine was running counts",
        "hepatotoxicity",
        None,
        False,
        "azathioprine",
        CRIT,
    ),
    (
        'S004 §7.1 6-MP "can be used in patients intolerant to ... hypersensitivity related to its imidazole moiety"',
        "rash",
        2,
        True,
        "mercaptopurine",
        None,
    ),
    (
        "S004 §3 mild nausea is intolerance, not a contraindication to a thiopurine again",
        "nausea",
        1,
        True,
        "azathioprine",
        None,
    ),
    ("S004 Table 2: thioguanine is an option after AZA intolerance", "hepatotoxicity", None, True, "thioguanine", None),
]


@pytest.mark.parametrize(
    ("passage", "kind", "grade", "named", "drug", "severity"), AZA11_ROWS, ids=[row[0][:60] for row in AZA11_ROWS]
)
def test_aza11_thiopurine_rechallenge_is_blocked_at_prescribing(passage, kind, grade, named, drug, severity):
    builder = fit_for_a_thiopurine().course("azathioprine", "2024-09-16", 100, stop="2024-11-04", id=2)
    builder.adverse_event("2024-10-28", kind, course_id=2 if named else None, grade=grade, detail="on review")
    check = prescribe(builder, drug, 50)
    found = finding(check, "AZA-11")
    assert (found.severity if found else None) == severity
    if found:
        assert "28 Oct 2024" in found.message and "azathioprine" in found.message
        assert "mycophenolate" in found.action
        assert found in check.blocking  # critical: the physician must give an override reason


def test_aza11_an_event_on_another_drug_does_not_block_azathioprine():
    builder = fit_for_a_thiopurine().course("mycophenolate_mofetil", "2024-09-16", 1000, stop="2024-11-04", id=2)
    builder.adverse_event("2024-10-28", "hepatotoxicity", course_id=2)
    assert finding(prescribe(builder, "azathioprine", 100), "AZA-11") is None


def test_aza11_a_rechallenge_that_went_ahead_stays_in_view_on_the_queue():
    builder = fit_for_a_thiopurine().course("azathioprine", "2024-09-16", 100, stop="2024-11-04", id=2)
    builder.adverse_event("2024-10-28", "pancreatitis", course_id=2)
    builder.course("azathioprine", "2025-03-03", 50, id=3)
    result = fired(builder, TODAY, "AZA-11")
    assert result is not None and result.severity == HIGH
    assert "restarted after pancreatitis" in result.message


# AZA-12: active malignancy -> predniso(lo)ne alone ----------------------------------------------
AZA12_ROWS = [
    # (seed passage, malignancy kind, diagnosed, drug prescribed, expected severity)
    (
        'S000 "Use prednisone alone ... only in these specific situations: ... Active malignancy"',
        "lymphoma",
        "2025-01-20",
        "azathioprine",
        HIGH,
    ),
    (
        'S001 "prednisone alone ... appropriate for patients with ... malignancy"',
        "other",
        "2022-01-10",
        "mercaptopurine",
        HIGH,
    ),
    (
        "S000: a cancer diagnosed more than 5 years ago is not active (active_malignancy_months)",
        "lymphoma",
        "2020-01-10",
        "azathioprine",
        None,
    ),
    (
        "S000: the seed's concern is the antimetabolite; prednisolone itself is the advice",
        "lymphoma",
        "2025-01-20",
        "prednisolone",
        None,
    ),
]


@pytest.mark.parametrize(
    ("passage", "kind", "diagnosed", "drug", "severity"), AZA12_ROWS, ids=[row[0][:60] for row in AZA12_ROWS]
)
def test_aza12_thiopurine_with_an_active_malignancy(passage, kind, diagnosed, drug, severity):
    builder = fit_for_a_thiopurine().dated("malignancies", diagnosed, kind)
    found = finding(prescribe(builder, drug, 50), "AZA-12")
    assert (found.severity if found else None) == severity
    if found:
        assert f"{d(diagnosed):%d %b %Y}" in found.message and "predniso(lo)ne alone" in found.message


def test_aza12_already_running_is_a_warning_on_the_queue():
    builder = (
        fit_for_a_thiopurine().course("azathioprine", "2024-10-01", 100).dated("malignancies", "2025-04-01", "hcc")
    )
    result = fired(builder, TODAY, "AZA-12")
    assert result is not None and result.severity == WARN
    assert result.message.startswith("Hepatocellular carcinoma diagnosed 01 Apr 2025 with azathioprine running")


# OTH-06: tacrolimus starting dose ---------------------------------------------------------------
OTH06_ROWS = [
    # (seed passage, mg/day at 70 kg, expected severity); 0.075 mg/kg × 70 kg = 5.25 mg/day
    ('S001 "Tacrolimus (starting dose 0.075 mg/kg daily)": 5 mg at 70 kg = 0.071 mg/kg', 5.0, None),
    ("S001 0.075 mg/kg, accepted to 0.1 mg/kg (tolerance 0.025): 7 mg at 70 kg = 0.100", 7.0, None),
    ("S001 0.075 mg/kg: 10 mg at 70 kg = 0.143 mg/kg, above", 10.0, WARN),
    ("S001 0.075 mg/kg: 2 mg at 70 kg = 0.029 mg/kg, below", 2.0, INFO),
]


@pytest.mark.parametrize(("passage", "dose", "severity"), OTH06_ROWS, ids=[row[0][:60] for row in OTH06_ROWS])
def test_oth06_tacrolimus_starting_dose_is_checked_per_kg(passage, dose, severity):
    check = prescribe(fit_for_a_thiopurine(), "tacrolimus", dose)
    found = finding(check, "OTH-06")
    assert (found.severity if found else None) == severity
    if found:
        assert "0.075 mg/kg/day (5.2 mg/day at this weight)" in found.message
        assert found in check.warnings and not check.blocking  # a dose check warns; it does not block


def test_oth06_without_a_weight_says_what_is_missing():
    builder = fit_for_a_thiopurine()
    builder.extra["weights"] = []
    check = prescribe(builder, "tacrolimus", 5)
    assert any(n.rule_id == "OTH-06" and "no weight" in n.missing for n in check.not_evaluable)


# ASA-05: steroid dose in acute severe AIH ---------------------------------------------------------
ASA05_ROWS = [
    # (seed passage, drug, mg/day at 70 kg, expected severity)
    (
        'S000 "high-dose intravenous corticosteroids (≥1 mg/kg) as early as possible": 40 mg at 70 kg',
        "prednisolone",
        40,
        WARN,
    ),
    ('S001 "(≥1 mg/kg)": 70 mg prednisolone at 70 kg is 1.0 mg/kg', "prednisolone", 70, None),
    (
        "S000 ≥ 1 mg/kg in prednisolone-equivalent: methylprednisolone 60 mg = 75 mg (1.07 mg/kg)",
        "methylprednisolone",
        60,
        None,
    ),
    (
        "S000 ≥ 1 mg/kg: methylprednisolone 40 mg = 50 mg prednisolone-equivalent (0.71 mg/kg)",
        "methylprednisolone",
        40,
        WARN,
    ),
]


@pytest.mark.parametrize(("passage", "drug", "dose", "severity"), ASA05_ROWS, ids=[row[0][:60] for row in ASA05_ROWS])
def test_asa05_steroid_dose_in_acute_severe_aih(passage, drug, dose, severity):
    builder = TimelineBuilder().weight("2025-05-30", 70).acute_episode("2025-05-31")
    found = finding(prescribe(builder, drug, dose), "ASA-05")
    assert (found.severity if found else None) == severity
    if found:
        assert found.message.startswith("Acute severe AIH:") and "below the 1 mg/kg/day" in found.message
        assert "70 mg/day" in found.message


def test_asa05_outside_an_acute_episode_the_dose_is_not_held_to_1_mg_per_kg():
    builder = TimelineBuilder().weight("2025-05-30", 70)
    assert finding(prescribe(builder, "prednisolone", 40), "ASA-05") is None


# AZA-07 and S001's escalation regimen -----------------------------------------------------------
def _not_responding(aza: float, steroid_mg: float, weight: float, respond: bool = False) -> TimelineBuilder:
    """T0 2025-01-06 on prednisolone + azathioprine; at month 6 ALT and IgG still raised (or normal)."""
    # weighed at the start and again at month 6 (mg/kg doses need a current weight)
    builder = TimelineBuilder().weight("2025-01-06", weight).weight("2025-07-01", weight)
    builder.pgx("tpmt", "normal", on="2024-12-01")
    builder.course("prednisolone", "2025-01-06", 30, doses=[("2025-07-07", steroid_mg)])
    builder.course("azathioprine", "2025-01-20", 100, doses=[("2025-07-07", aza)])
    builder.lab("alt", "2025-01-05", 620).lab("alt", "2025-07-01", 30 if respond else 90)
    return builder.lab("igg", "2025-07-01", 12 if respond else 21)


AZA07_ROWS = [
    # (seed passage, AZA mg/day, prednisolone mg/day, kg, responding, expected severity)
    (
        'S001 "prednisone (30 mg daily) with azathioprine (150 mg daily)" for non-responders, 70 kg',
        150,
        30,
        70,
        False,
        INFO,
    ),
    ("S001 escalation needs the steroid at 30 mg too: 150 mg AZA with prednisolone 10 mg", 150, 10, 70, False, WARN),
    ("S000/S001 1-2 mg/kg: without non-response 150 mg at 70 kg is above 2 mg/kg", 150, 30, 70, True, WARN),
    ("S001's 150 mg is 3.1 mg/kg at 48 kg: above the 3 mg/kg ceiling, still flagged", 150, 30, 48, False, WARN),
    ("S001's regimen is 150 mg: 200 mg is not it", 200, 30, 70, False, WARN),
]


@pytest.mark.parametrize(
    ("passage", "aza", "steroid", "weight", "respond", "severity"), AZA07_ROWS, ids=[r[0][:60] for r in AZA07_ROWS]
)
def test_aza07_recognises_the_escalation_regimen_for_non_response(passage, aza, steroid, weight, respond, severity):
    found = fired(_not_responding(aza, steroid, weight, respond), "2025-07-14", "AZA-07")
    assert (found.severity if found else None) == severity
    if severity == INFO:
        assert "escalation regimen for non-response" in found.message and "at least 1 month" in found.action
    else:
        assert "above 2" in found.message


# RESP-02 and confirmed adherence ------------------------------------------------------------------
def _insufficient_at_month_6() -> TimelineBuilder:
    builder = TimelineBuilder().weight("2025-01-06", 70).pgx("tpmt", "normal", on="2024-12-01")
    builder.course("prednisolone", "2025-01-06", 30).course("azathioprine", "2025-01-20", 100)
    return builder.lab("alt", "2025-01-05", 620).lab("alt", "2025-07-01", 90).lab("igg", "2025-07-01", 21)


RESP02_ROWS = [
    # (seed passage, adherence record (date, missed, confirmed) or None, words in the message, words in the advice)
    (
        'S004 §2 "treatment failure refers to worsening ... despite full adherence"',
        ("2025-07-01", 0, True),
        "Full adherence confirmed on 01 Jul 2025: treatment failure.",
        "consider second-line therapy",
    ),
    (
        'S004 §2 "poor adherence to therapy must be actively excluded"',
        None,
        "Full adherence not yet confirmed.",
        "Confirm full adherence first",
    ),
    (
        'S004 §2 "Unrecognized nonadherence may mimic true pharmacologic failure"',
        ("2025-07-01", 6, False),
        "6 missed doses reported on 01 Jul 2025.",
        "address adherence before calling this treatment failure",
    ),
    (
        "S004 §2: a confirmation from month 1 is too old to exclude non-adherence at month 6",
        ("2025-02-03", 0, True),
        "Full adherence not yet confirmed.",
        "Confirm full adherence first",
    ),
]


@pytest.mark.parametrize(("passage", "record", "message", "advice"), RESP02_ROWS, ids=[r[0][:60] for r in RESP02_ROWS])
def test_resp02_says_whether_full_adherence_was_confirmed(passage, record, message, advice):
    builder = _insufficient_at_month_6()
    if record:
        on, missed, confirmed = record
        builder.add("adherence", AdherenceFact(d(on), "pill_count", "", missed, confirmed))
    found = fired(builder, "2025-07-10", "RESP-02")
    assert found.message.startswith("Insufficient response (IAIHG)") and found.message.endswith(message)
    assert advice in found.action


# AZA-13: high TPMT activity ---------------------------------------------------------------------
AZA13_ROWS = [
    # (passage, TPMT phenotype, 6-MMP since the start?, planned?, fires)
    ('A-17 "high TPMT activity -> watch 6-MMP/LFTs"; S004 §4 6-MMPR and cholestatic injury', "high", False, True, True),
    ("A-17: running with no 6-MMP measured yet", "high", False, False, True),
    ("A-17: once 6-MMP is measured, TPM-04 / HEP-02 judge it", "high", True, False, False),
    ("S004 §4: TPMT deficiency is a myelotoxicity risk, not this one", "normal", False, True, False),
]


@pytest.mark.parametrize(
    ("passage", "phenotype", "mmp", "planned", "fires"), AZA13_ROWS, ids=[r[0][:60] for r in AZA13_ROWS]
)
def test_aza13_high_tpmt_activity_asks_to_watch_6mmp_and_liver_tests(passage, phenotype, mmp, planned, fires):
    builder = TimelineBuilder().weight("2025-01-06", 70).pgx("tpmt", phenotype, on="2024-12-01")
    builder.course("prednisolone", "2025-01-06", 30).course("azathioprine", "2025-01-20", 100, planned=planned)
    if mmp:
        builder.lab("tgn", "2025-02-24", 300).lab("mmp", "2025-02-24", 2500)
    found = fired(builder, "2025-01-20" if planned else "2025-03-03", "AZA-13")
    assert (found is not None) == fires
    if found:
        assert found.severity == INFO and "High TPMT activity (01 Dec 2024)" in found.message
        assert "6-MMP and liver tests" in found.action


# MON-09: metabolites again 2-4 weeks after under-exposure -----------------------------------------
def _on_aza_with_metabolites(tgn: float, mmp: float, on="2025-04-07") -> TimelineBuilder:
    builder = TimelineBuilder().weight("2025-01-06", 70).pgx("tpmt", "normal", on="2024-12-01")
    builder.course("prednisolone", "2025-01-06", 30).course("azathioprine", "2025-01-20", 100)
    return builder.lab("tgn", on, tgn).lab("mmp", on, mmp)


MON09_ROWS = [
    # (seed passage, 6-TGN, 6-MMP, as of, recall state or None, alert fires)
    (
        'S004 Table 1 low 6-TGN, low 6-MMPR: "repeat levels in 2-4 weeks" (not yet 2 weeks)',
        150,
        800,
        "2025-04-17",
        "ok",
        False,
    ),
    ("S004 Table 1 repeat in 2-4 weeks: due from day 14", 150, 800, "2025-04-21", "due", False),
    ("S004 Table 1 repeat in 2-4 weeks: overdue after day 28", 150, 800, "2025-05-06", "overdue", True),
    (
        "S004 Table 1 low 6-TGN, high 6-MMPR is preferential methylation, not under-exposure",
        150,
        9500,
        "2025-05-06",
        None,
        False,
    ),
    ("S004 Table 1: an adequate 6-TGN needs no early repeat", 300, 3000, "2025-05-06", None, False),
]


@pytest.mark.parametrize(
    ("passage", "tgn", "mmp", "as_of", "state", "alerts"), MON09_ROWS, ids=[r[0][:60] for r in MON09_ROWS]
)
def test_mon09_metabolites_are_repeated_2_to_4_weeks_after_under_exposure(passage, tgn, mmp, as_of, state, alerts):
    builder = _on_aza_with_metabolites(tgn, mmp)
    ctx = Context(builder.build(), d(as_of), defaults())
    items = {item.panel: item for item in monitoring_schedule(ctx)}
    item = items.get("6-TGN/6-MMP")
    assert (item.state(d(as_of)) if item else None) == state
    if item:
        assert (item.next_due, item.overdue_after) == (d("2025-04-21"), d("2025-05-05"))
    found = fired(builder, as_of, "MON-09")
    assert (found is not None) == alerts
    if found:
        assert "6-TGN 150 with 6-MMP 800 on 07 Apr 2025 showed under-exposure" in found.message
        assert "due by 05 May 2025" in found.message


def test_mon09_a_newer_draw_ends_the_repeat_item():
    builder = _on_aza_with_metabolites(150, 800).lab("tgn", "2025-05-01", 260).lab("mmp", "2025-05-01", 1500)
    assert fired(builder, "2025-05-20", "MON-09") is None


# LT-07: after a liver transplant ---------------------------------------------------------------
TRANSPLANTED = "2024-11-04"
LT07_ROWS = [
    # (seed passage, ALT results after the transplant (date, value), as of, expected words or None)
    (
        'S004 §7.5.4 "Post-transplant recurrence of AIH occurs in up to 30% of patients": ALT 2.5x ULN',
        [("2025-05-26", 100)],
        "2025-06-02",
        "Possible AIH recurrence after the liver transplant of 04 Nov 2024",
    ),
    ("S004 §7.5.4: normal ALT after transplant, no recurrence", [("2025-05-26", 30)], "2025-06-02", None),
    (
        "S004 §7.5.4 recurrence must be looked for: no ALT for more than 92 days",
        [("2025-02-03", 30)],
        "2025-06-02",
        "no ALT since 03 Feb 2025",
    ),
]


@pytest.mark.parametrize(("passage", "alts", "as_of", "words"), LT07_ROWS, ids=[r[0][:60] for r in LT07_ROWS])
def test_lt07_transplanted_patients_are_followed_for_aih_recurrence(passage, alts, as_of, words):
    builder = TimelineBuilder(transplanted_on=d(TRANSPLANTED)).course("tacrolimus", "2024-11-04", 4)
    builder.lab("alt", "2024-10-20", 400)  # before the transplant: not recurrence
    for on, value in alts:
        builder.lab("alt", on, value)
    found = fired(builder, as_of, "LT-07")
    assert (found.message if found else None) is None if words is None else words in found.message


def test_lt_referral_rules_stop_after_the_transplant():
    # §2.9 LT-01: MELD > 15 refers for transplant; once transplanted that advice would contradict itself.
    builder = TimelineBuilder().lab("creatinine", "2025-05-26", 88.4).lab("inr", "2025-05-26", 1.6)
    builder.lab("bilirubin", "2025-05-26", 51.3)
    assert fired(builder, "2025-06-02", "LT-01", meld_version="meld") is not None
    builder.patient["transplanted_on"] = d(TRANSPLANTED)
    assert fired(builder, "2025-06-02", "LT-01", meld_version="meld") is None
