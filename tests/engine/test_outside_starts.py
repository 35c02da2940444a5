"""Pre-start checks for courses started outside the prescribing page (issue 14).

A course recorded from the visit log, an HL7/FHIR import or the admin that started within
recent_start_days gets the checks the prescribing page runs (clinical-rules.md §2.3, §2.7), as of its
start, phrased "<drug> started on <date> despite ...". A course prescribed in the app already had them
shown to the physician (and perhaps overridden): it is not re-warned. Rows cite the spec line they check.
"""

from dataclasses import replace

import pytest

from monitoring.engine.context import Severity
from monitoring.engine.evaluate import evaluate
from monitoring.parameters import defaults
from tests.timelines import AAA, TimelineBuilder, day, run

START = day(-10, AAA)  # the outside course started ten days before the evaluation
AS_OF = AAA


def outside_aza(start=START, bilirubin: float | None = 120.0, **course) -> TimelineBuilder:
    """Prednisolone for a month, then azathioprine 100 mg from `start` (70 kg, TPMT normal)."""
    timeline = TimelineBuilder().course("prednisolone", day(-40, AAA), 30)
    timeline.course("azathioprine", start, 100, **course).weight(day(-40, AAA), 70).pgx("tpmt", "normal")
    timeline.lab("wbc", day(-2, start), 6.0).lab("platelets", day(-2, start), 250)
    if bilirubin is not None:
        timeline.lab("bilirubin", day(-2, start), bilirubin)
    return timeline


def in_app(builder: TimelineBuilder) -> TimelineBuilder:
    """The same timeline with its last course prescribed through the in-app prescribing page."""
    builder.courses[-1] = replace(builder.courses[-1], prescribed_in_app=True)
    return builder


def with_override(builder: TimelineBuilder, rule_id: str) -> TimelineBuilder:
    builder.courses[-1] = replace(builder.courses[-1], overridden_rules=frozenset({rule_id}))
    return builder


def outside_mmf_in_pregnancy() -> TimelineBuilder:
    timeline = TimelineBuilder(reproductive_potential="yes").course("mycophenolate_mofetil", START, 1000)
    return timeline.pregnancy(day(-60, AAA))


def outside_budesonide_in_cirrhosis() -> TimelineBuilder:
    return TimelineBuilder(cirrhosis_on=day(-400, AAA)).course("budesonide", START, 9)


def outside_high_prednisolone() -> TimelineBuilder:
    return TimelineBuilder().course("prednisolone", START, 100).weight(day(-30, AAA), 70)


def findings_of(builder, rule_id):
    return [f for f in run(builder, AS_OF).findings if f.rule_id == rule_id]


@pytest.mark.parametrize(
    ("builder", "rule_id", "count", "despite"),
    [
        # clinical-rules.md §2.3 AZA-04 (seed 000, 001: bilirubin >= 6 mg/dL = 102.6 µmol/L): an outside
        # prescriber's AZA started with bilirubin 120 µmol/L is told as started despite it.
        pytest.param(outside_aza(), "AZA-04", 1, True, id="AZA-04 outside start, bilirubin 120 umol/L"),
        # §2.3 AZA-04: the same course prescribed in the app was checked then: no second warning.
        pytest.param(in_app(outside_aza()), "AZA-04", 0, False, id="AZA-04 prescribed in the app"),
        # §2.3 AZA-04 with a PrescribingOverride for the rule: the physician's reason stands.
        pytest.param(with_override(outside_aza(), "AZA-04"), "AZA-04", 0, False, id="AZA-04 overridden"),
        # recent_start_days (28, design): a course started 40 days ago is no longer a "start".
        pytest.param(outside_aza(start=day(-40, AAA)), "AZA-04", 0, False, id="AZA-04 started 40 days ago"),
        # Boundary: 28 days ago is still recent.
        pytest.param(outside_aza(start=day(-28, AAA)), "AZA-04", 1, True, id="AZA-04 started 28 days ago"),
        # §2.3 AZA-04 below 6 mg/dL: nothing to say.
        pytest.param(outside_aza(bilirubin=80.0), "AZA-04", 0, False, id="AZA-04 bilirubin 80 umol/L"),
        # §2.3 AZA-05 (seed 001: WBC < 2.5, platelets < 50 at the start).
        pytest.param(
            outside_aza().lab("platelets", day(-1, START), 40), "AZA-05", 1, True, id="AZA-05 platelets 40 at start"
        ),
        # §2.7 CI-01 (seed 000, 001, 004): budesonide in cirrhosis already fires on a running course:
        # one item, not two.
        pytest.param(outside_budesonide_in_cirrhosis(), "CI-01", 1, False, id="CI-01 running rule, no double"),
        # §2.7 CI-04 (seed 004): MMF in pregnancy already fires on a running course: one item.
        pytest.param(outside_mmf_in_pregnancy(), "CI-04", 1, False, id="CI-04 running rule, no double"),
        # §2.6 STER-04 starting-dose sanity check already covers recent starts: one item.
        pytest.param(outside_high_prednisolone(), "STER-04", 1, False, id="STER-04 running rule, no double"),
    ],
)
def test_outside_starts_get_the_pre_start_checks(builder, rule_id, count, despite):
    found = findings_of(builder, rule_id)
    assert len(found) == count
    assert any("started on" in f.message and "despite" in f.message for f in found) is despite


def test_the_outside_start_says_what_and_when():
    (finding,) = findings_of(outside_aza(), "AZA-04")
    # clinical-rules.md §2.3 AZA-04 keeps its severity (high) and its source.
    assert finding.severity == Severity.HIGH
    assert finding.message.startswith(f"Azathioprine started on {START.day} {START:%b %Y} despite")
    assert "Bilirubin 120 µmol/L" in finding.message
    assert finding.evidence["course_start"] == START.isoformat()
    assert "S000" in finding.source
    assert finding.parameters["recent_start_days"] == 28


def test_the_window_follows_the_clinic_parameter():
    builder = outside_aza(start=day(-20, AAA))
    assert findings_of(builder, "AZA-04")
    assert not [f for f in run(builder, AS_OF, recent_start_days=14).findings if f.rule_id == "AZA-04"]


def test_the_outside_start_finding_holds_until_the_window_ends():
    evaluation = evaluate(outside_aza().build(), AS_OF, defaults(), horizon_days=60)
    assert any(f.rule_id == "AZA-04" for f in evaluation.findings)
    assert evaluation.holds_until is not None
    assert evaluation.holds_until <= day(29, START)
