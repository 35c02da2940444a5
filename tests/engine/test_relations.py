"""One finding can qualify or suppress another's advice (issue 14: relapse vs drug toxicity).

Seed 004: azathioprine hepatotoxicity mistaken for a relapse leads to needless steroid escalation, so
with HEP-01 (cholestatic injury on AZA) or HEP-02 (6-MMP > 5700 with abnormal liver tests) open,
REL-01 / REL-02 say "exclude azathioprine hepatotoxicity first" and do not advise re-induction.
"""

from __future__ import annotations

import pytest

from monitoring.engine.context import REGISTRY, Finding, Severity
from monitoring.engine.relations import RELATIONS, Effect, apply_relations
from tests.timelines import AAA, TimelineBuilder, day, run


def _finding(rule_id: str, action: str = "Re-induce with prednisolone and azathioprine.") -> Finding:
    return Finding(rule_id, Severity.HIGH, f"{rule_id} fired.", {}, action, "", {})


@pytest.mark.parametrize("relation", RELATIONS, ids=[f"{r.finding}->{r.affected} (seed 004)" for r in RELATIONS])
def test_every_declared_relation_changes_the_advice_only_when_its_finding_is_open(relation):
    affected = _finding(relation.affected)
    alone = apply_relations([affected])
    assert alone == [affected]  # without the toxicity finding, the relapse advice is untouched
    both = apply_relations([_finding(relation.finding, "Act on the toxicity."), affected])
    changed = [f for f in both if f.rule_id == relation.affected]
    if relation.effect is Effect.SUPPRESS:
        assert changed == []
    else:
        (qualified,) = changed
        assert "exclude azathioprine hepatotoxicity first" in qualified.message.lower()
        assert not qualified.action.lower().startswith("re-induce")
        assert "do not re-induce or raise the steroid dose" in qualified.action.lower()
        assert REGISTRY[relation.finding].title in qualified.evidence["see_also"]  # named as on screen


@pytest.mark.parametrize(
    ("toxicity", "relapse"),
    [("HEP-01", "REL-01"), ("HEP-01", "REL-02"), ("HEP-02", "REL-01"), ("HEP-02", "REL-02")],
)
def test_the_table_covers_relapse_against_each_azathioprine_liver_toxicity(toxicity, relapse):
    # seed 004: missed AZA hepatotoxicity leads to needless steroid escalation
    assert any(r.finding == toxicity and r.affected == relapse for r in RELATIONS)


def _relapse_on_aza(mmp: float) -> TimelineBuilder:
    timeline = TimelineBuilder().course("prednisolone", AAA, 30).course("azathioprine", AAA, 100).pgx("tpmt", "normal")
    timeline.lab("alt", day(-1), 620)
    for month in range(3, 13):
        timeline.lab("alt", day(30 * month), 28).lab("igg", day(30 * month), 12)
    timeline.lab("tgn", day(398), 300, uln=None).lab("mmp", day(398), mmp, uln=None)
    return timeline.lab("alt", day(400), 130)  # clinical-rules.md REL-02 example: 3.25x ULN


def test_relapse_with_high_6mmp_says_exclude_hepatotoxicity_first_and_does_not_re_induce():
    evaluation = run(_relapse_on_aza(mmp=9000), day(401))
    found = {f.rule_id: f for f in evaluation.findings}
    assert "HEP-02" in found
    relapse = found["REL-02"]
    assert "exclude azathioprine hepatotoxicity first" in relapse.message.lower()
    assert not relapse.action.lower().startswith("re-induce")
    assert "do not re-induce or raise the steroid dose" in relapse.action.lower()
    assert relapse.evidence["see_also"] == ["High 6-MMP with abnormal LFTs"]


def test_relapse_with_normal_6mmp_still_advises_re_induction():
    relapse = {f.rule_id: f for f in run(_relapse_on_aza(mmp=2000), day(401)).findings}["REL-02"]
    assert relapse.action.startswith("Re-induce")
