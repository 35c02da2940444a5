"""Contraindications (clinical-rules.md §2.7): CI-01..CI-07.

CI-08 and CI-09 are the thiopurine rules AZA-02 and AZA-08 under another name; they live there.

One alert per problem: a budesonide course with several contraindications (cirrhosis, AS-AIH,
shunt, advanced fibrosis) is one problem with one action (switch to predniso(lo)ne), so only the
most severe of CI-01, CI-02, CI-03, CI-03b fires and lists the others in its evidence. Likewise
mycophenolate and pregnancy: CI-04 (pregnant) outranks CI-06 (planning), which outranks CI-05
(pregnancy test and contraception not documented).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from monitoring.engine.timeline import AcuteEpisode, Course, Dated
from monitoring.rules.base import Context, Family, Finding, NotEvaluable, Severity, days_after, months_after, rule
from monitoring.rules.steroids import course_evidence, drug_name
from regimens.catalogue import DrugClass

BUDESONIDE = DrugClass.BUDESONIDE
MYCOPHENOLATE = DrugClass.MYCOPHENOLATE
SWITCH = "Do not use budesonide: switch to predniso(lo)ne (systemic corticosteroid)."


@dataclass(frozen=True)
class Reason:
    """One contraindication to budesonide present in this patient."""

    rule_id: str
    severity: Severity
    label: str
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _current_acute_episode(ctx: Context) -> AcuteEpisode | None:
    running = [e for e in ctx.t.acute_episodes if e.ended_on is None or e.ended_on >= ctx.as_of]
    return running[-1] if running else None


def budesonide_reasons(ctx: Context) -> list[Reason]:
    """The patient's contraindications to budesonide, most severe first (the order of §2.7)."""
    t = ctx.t
    reasons = []
    if ctx.has_cirrhosis:
        reasons.append(
            Reason(
                "CI-01",
                Severity.CRITICAL,
                "cirrhosis",
                {"cirrhosis_since": t.cirrhosis_on.isoformat()},
                "S000, S001, S004 (impaired first-pass metabolism, systemic side effects, reduced efficacy)",
            )
        )
    # An ongoing episode: budesonide is not a treatment for acute severe AIH. A past, resolved
    # episode is history, not a contraindication now.
    episode = _current_acute_episode(ctx)
    if episode is not None:
        label = "acute severe AIH with acute liver failure" if episode.encephalopathy else "acute severe AIH"
        reasons.append(
            Reason(
                "CI-02",
                Severity.CRITICAL,
                label,
                {"episode_presented": episode.presented_on.isoformat(), "encephalopathy": episode.encephalopathy},
                "S001, S004",
            )
        )
    if t.portosystemic_shunt not in ("", "none"):
        reasons.append(
            Reason(
                "CI-03",
                Severity.HIGH,
                f"portosystemic shunt ({t.portosystemic_shunt})",
                {"portosystemic_shunt": t.portosystemic_shunt},
                "S004",
            )
        )
    # F3 without cirrhosis only: with cirrhosis CI-01 already says it (they never both fire).
    if t.advanced_fibrosis and not ctx.has_cirrhosis:
        reasons.append(
            Reason(
                "CI-03b",
                Severity.WARNING,
                "advanced fibrosis (F3)",
                {"advanced_fibrosis": True},
                "S004 (others say cirrhosis only, A-5)",
            )
        )
    return reasons


def _budesonide_contraindication(ctx: Context, rule_id: str) -> Finding | None:
    courses = ctx.active(BUDESONIDE)
    if not courses:
        return None
    reasons = budesonide_reasons(ctx)
    if not reasons or reasons[0].rule_id != rule_id:
        return None
    top, others = reasons[0], reasons[1:]
    prescribing = all(c.planned for c in courses)
    confirm = rule_id == "CI-03b"
    message = f"Budesonide {'prescription' if prescribing else 'course'} in a patient with {top.label}" + (
        ": clinician to confirm." if confirm else ": contraindicated."
    )
    action = (
        "Clinician to confirm budesonide is appropriate (some guidance contraindicates it in cirrhosis only); "
        "otherwise use predniso(lo)ne."
        if confirm
        else SWITCH
    )
    return Finding(
        rule_id,
        top.severity,
        message,
        {
            "budesonide": [course_evidence(c, ctx.as_of) for c in courses],
            **top.evidence,
            "other_contraindications": [f"{r.rule_id} {r.label}" for r in others],
        },
        action,
        top.source,
        {},
    )


@rule("CI-01", family=Family.CONTRAINDICATION, title="Budesonide in cirrhosis", source="S000, S001, S004")
def budesonide_in_cirrhosis(ctx: Context):
    return _budesonide_contraindication(ctx, "CI-01")


@rule("CI-02", family=Family.CONTRAINDICATION, title="Budesonide in acute severe AIH", source="S001, S004")
def budesonide_in_acute_severe_aih(ctx: Context):
    return _budesonide_contraindication(ctx, "CI-02")


@rule("CI-03", family=Family.CONTRAINDICATION, title="Budesonide with portosystemic shunt", source="S004")
def budesonide_with_shunt(ctx: Context):
    return _budesonide_contraindication(ctx, "CI-03")


@rule("CI-03b", family=Family.CONTRAINDICATION, title="Budesonide with advanced fibrosis", source="S004")
def budesonide_with_advanced_fibrosis(ctx: Context):
    return _budesonide_contraindication(ctx, "CI-03b")


# Mycophenolate and pregnancy -------------------------------------------------------------------
def _mycophenolate(ctx: Context) -> list[Course]:
    return ctx.active(MYCOPHENOLATE)


def _mmf_names(courses: list[Course]) -> str:
    return " and ".join(sorted({drug_name(c.drug) for c in courses}))


@rule("CI-04", family=Family.CONTRAINDICATION, title="Mycophenolate in pregnancy", source="S000, S004")
def mycophenolate_in_pregnancy(ctx: Context):
    courses = _mycophenolate(ctx)
    if not courses or not ctx.is_pregnant():
        return None
    pregnancy = next(p for p in ctx.t.pregnancies if p.kind == "pregnant" and p.covers(ctx.as_of))
    return Finding(
        "CI-04",
        Severity.CRITICAL,
        f"{_mmf_names(courses)} in pregnancy: contraindicated (teratogenic).",
        {
            "mycophenolate": [course_evidence(c, ctx.as_of) for c in courses],
            "pregnant_since": pregnancy.start.isoformat(),
        },
        "Stop or switch mycophenolate today under specialist care.",
        'S000 ("absolutely contraindicated ... cranial, facial and cardiac abnormalities"); S004 (teratogenicity)',
        {},
    )


@rule("CI-06", family=Family.CONTRAINDICATION, title="Mycophenolate and planned pregnancy", source="E-m")
def mycophenolate_with_planned_pregnancy(ctx: Context):
    courses = _mycophenolate(ctx)
    if not courses or ctx.is_pregnant() or not ctx.plans_pregnancy():
        return None  # pregnant: CI-04 is the alert
    plan = next(p for p in ctx.t.pregnancies if p.kind == "planned" and p.covers(ctx.as_of))
    return Finding(
        "CI-06",
        Severity.HIGH,
        f"{_mmf_names(courses)} and a planned pregnancy: switch before conception.",
        {"mycophenolate": [course_evidence(c, ctx.as_of) for c in courses], "plan_recorded": plan.start.isoformat()},
        "Switch mycophenolate to a pregnancy-compatible drug before conception (commonly at least 6 weeks before).",
        "E-m",
        {},
    )


def _documented_negative_test(ctx: Context, mmf_start: date) -> tuple[Dated | None, Dated | None]:
    """(the negative test that counts or None, the latest test of any result).

    A negative test counts if it is the latest test and was taken no earlier than
    `mmf_pregnancy_test_before_start_days` before the mycophenolate start, or within the last
    `mmf_pregnancy_test_recent_months`.
    """
    # Read the windows first so every CI-05 finding shows what "recent" meant.
    since_start = days_after(mmf_start, -ctx.p("mmf_pregnancy_test_before_start_days"))
    since_recent = months_after(ctx.as_of, -ctx.p("mmf_pregnancy_test_recent_months"))
    tests = sorted(ctx.t.pregnancy_tests, key=lambda x: x.on)
    latest = tests[-1] if tests else None
    if latest is None or latest.kind != "negative":
        return None, latest
    counts = latest.on >= min(since_start, since_recent)
    return (latest if counts else None), latest


@rule("CI-05", family=Family.CONTRAINDICATION, title="Mycophenolate: pregnancy test and contraception", source="E-m")
def mycophenolate_pregnancy_prevention(ctx: Context):
    courses = _mycophenolate(ctx)
    if not courses or ctx.is_pregnant() or ctx.plans_pregnancy():
        return None  # CI-04 / CI-06 carry the pregnancy problem
    if ctx.t.sex == "male":
        return None
    potential = ctx.t.reproductive_potential
    if potential == "no":
        return None
    if potential != "yes":
        if ctx.t.sex != "female":
            return None
        return NotEvaluable("CI-05", "reproductive potential not recorded (mycophenolate pregnancy prevention)")
    start = min(c.started_on for c in courses)
    test, latest = _documented_negative_test(ctx, start)
    contraception = [p for p in ctx.t.contraception if p.covers(ctx.as_of)]
    missing = []
    if test is None:
        if latest is not None and latest.kind == "positive":
            missing.append(f"last pregnancy test POSITIVE ({latest.on.isoformat()})")
        else:
            missing.append("no recent negative pregnancy test")
    if not contraception:
        missing.append("no current contraception recorded")
    if not missing:
        return None
    return Finding(
        "CI-05",
        Severity.HIGH,
        f"{_mmf_names(courses)} in a woman of reproductive potential: " + " and ".join(missing) + ".",
        {
            "mycophenolate": [course_evidence(c, ctx.as_of) for c in courses],
            "last_pregnancy_test": {"result": latest.kind, "date": latest.on.isoformat()} if latest else None,
            "contraception": [{"method": p.kind, "since": p.start.isoformat()} for p in contraception],
        },
        "Document a negative pregnancy test and effective contraception (mycophenolate REMS).",
        "FDA mycophenolate REMS (E-m)",
        {},
    )


@rule("CI-07", family=Family.CONTRAINDICATION, title="Budesonide with a strong CYP3A4 inhibitor", source="E-m (label)")
def budesonide_with_cyp3a4_inhibitor(ctx: Context):
    budesonide = ctx.active(BUDESONIDE)
    inhibitors = ctx.active(DrugClass.CYP3A4_INHIBITOR)
    if not budesonide or not inhibitors:
        return None
    names = ", ".join(sorted({drug_name(c.drug) for c in inhibitors}))
    return Finding(
        "CI-07",
        Severity.WARNING,
        f"Budesonide with {names} (strong CYP3A4 inhibitor): systemic steroid exposure increased.",
        {
            "budesonide": [course_evidence(c, ctx.as_of) for c in budesonide],
            "inhibitors": [course_evidence(c, ctx.as_of) for c in inhibitors],
        },
        "Avoid the combination: stop or change the inhibitor, or switch budesonide to predniso(lo)ne.",
        "E-m (budesonide label)",
        {},
    )
