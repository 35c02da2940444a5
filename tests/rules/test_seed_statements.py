"""Seed statements the spec gives no rule id of its own (issue 14), one table per rule.

Every row quotes the seed passage it checks (seed 000, 001, 004: tests/data/ holds no copy; the
quote is the citation). Labs are in canonical units.
"""

from __future__ import annotations

import pytest

from monitoring.parameters import defaults
from monitoring.rules.base import Severity
from regimens.prescribing import NewCourse, Prescription, check_prescription
from tests.timelines import DRUG_CLASS, TimelineBuilder, d, fired

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
    prescription = Prescription(on, start=NewCourse(drug, DRUG_CLASS[drug], on, dose))
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
