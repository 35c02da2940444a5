"""How one open finding qualifies or suppresses another's advice, declared in one place.

The rules stay independent pure functions; after all of them ran, `apply_relations()` makes the
advice coherent. Each row: while `finding` is open, `affected` is either dropped (SUPPRESS) or keeps
its problem but leads with `message` and gives `action` instead of its own (QUALIFY), with the
qualifying finding named (by its title, as the clinician sees it) in its evidence under "see_also".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from monitoring.engine.context import REGISTRY, Finding


class Effect(Enum):
    QUALIFY = "qualify"
    SUPPRESS = "suppress"


@dataclass(frozen=True)
class Relation:
    finding: str  # the open finding that changes the advice
    affected: str  # the finding whose advice changes
    effect: Effect
    message: str = ""  # QUALIFY: sentence added to the affected finding's message
    action: str = ""  # QUALIFY: replaces the affected finding's action
    source: str = ""


_EXCLUDE_AZA_HEPATOTOXICITY = "Exclude azathioprine hepatotoxicity first: {problem} is open on the thiopurine."
_DO_NOT_ESCALATE = (
    "Exclude azathioprine hepatotoxicity first (act on the liver-injury finding: dose reduction or stop, repeat "
    "liver tests); do not re-induce or raise the steroid dose until it is excluded. Check adherence."
)
_SEED_004 = "S004: missed azathioprine hepatotoxicity leads to needless steroid escalation"

RELATIONS: tuple[Relation, ...] = tuple(
    Relation(
        toxicity,
        relapse,
        Effect.QUALIFY,
        _EXCLUDE_AZA_HEPATOTOXICITY.format(problem=problem),
        _DO_NOT_ESCALATE,
        _SEED_004,
    )
    for toxicity, problem in (
        ("HEP-01", "a cholestatic or mixed liver injury"),
        ("HEP-02", "a high 6-MMP with abnormal liver tests"),
    )
    for relapse in ("REL-01", "REL-02")
)


def apply_relations(findings: list[Finding], relations: tuple[Relation, ...] = RELATIONS) -> list[Finding]:
    """The findings with every declared relation applied (order kept; pure)."""
    open_ids = {f.rule_id for f in findings}
    result: list[Finding] = []
    for finding in findings:
        applying = [r for r in relations if r.affected == finding.rule_id and r.finding in open_ids]
        if any(r.effect is Effect.SUPPRESS for r in applying):
            continue
        for relation in applying:
            spec = REGISTRY.get(relation.finding)
            see_also = [*finding.evidence.get("see_also", []), spec.title if spec else relation.finding]
            finding = replace(
                finding,
                message=f"{finding.message} {relation.message}",
                action=relation.action,
                evidence=finding.evidence | {"see_also": see_also},
                source=f"{finding.source}; {relation.source}" if relation.source else finding.source,
            )
        result.append(finding)
    return result
