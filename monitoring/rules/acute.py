"""Acute severe AIH (clinical-rules.md §2.8): ASA-01..ASA-04.

An episode is a recorded AcuteEpisode (timeline.acute_episodes), followed while it is open and for
at most `asaih_episode_horizon_days` after its day 0 (or presentation). Day 0 is the recorded first
day of high-dose steroids; if it is missing, the start of the first systemic steroid course on or
after presentation (the finding says it was inferred).

"A new presentation" (ASA-01), kept conservative:
* a recorded, open episode: the clinician has classified it; ASA-01 reports the classification
  with the presentation labs (and says so when they do not meet the definition), or
* without a recorded episode, screening of labs: only for patients never treated, or within
  `asaih_new_presentation_days` of T0 of their first treatment, without known cirrhosis, with INR and
  bilirubin drawn within `asaih_presentation_lab_days`. The action asks to record the episode so the
  day-7 and day-14 checks (ASA-02/03) can run.

One item per problem (the episode's classification):
* ASA-01 "AS-AIH" (high) or "AS-AIH with ALF" (critical) when HE is present at presentation (the
  episode's HE flag, or a visit with HE grade > 0 up to the presentation date);
* ASA-04 (critical) when the episode turns into ALF afterwards: new HE at a later visit, or INR ≥
  `alf_min_inr` at any time. It replaces ASA-01 for that episode (re-classified); when ALF was already
  present at presentation, ASA-01 carries it and ASA-04 stays quiet.
* ASA-02/03/04 (critical) feed LT-05, the single transplant-referral item (transplant.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from monitoring.catalogue import BY_CODE
from monitoring.engine.formulas import is_at_or_above
from monitoring.engine.timeline import AcuteEpisode, Lab, VisitFacts
from monitoring.rules.base import Context, Family, Finding, NotEvaluable, Severity, days_after, lab_evidence, rule
from monitoring.rules.transplant import MELD_INPUTS, MELD_LABELS, meld_female_term, meld_from_labs
from regimens.catalogue import DrugClass

RAHIM = "Rahim, Miquel, Heneghan, JHEP Rep 2020;2:100149 (E-v)"
ASA01_SOURCE = RAHIM + "; PMC7923616 (E-v); Biewenga et al., Liver Transpl 2020;26:1573 (E-v)"
ASA01_ACTION = (
    "Contact a transplant centre early and start high-dose corticosteroids promptly (S000/S001: IV ≥ 1 mg/kg as "
    "early as possible). No budesonide (CI-02)."
)
ALF_ACTION = "Acute liver failure: transfer to a liver transplant centre immediately. No budesonide (CI-02)."


# -- the episode --------------------------------------------------------------------------------


def current_episode(ctx: Context) -> AcuteEpisode | None:
    """The latest recorded episode that is open on the as-of date and still within the follow-up horizon."""
    for episode in reversed(ctx.t.acute_episodes):
        if episode.ended_on is not None and episode.ended_on < ctx.as_of:
            continue
        start = episode.day0 or episode.presented_on
        if ctx.as_of > days_after(start, ctx.p("asaih_episode_horizon_days")):
            continue
        return episode
    return None


def steroid_day0(ctx: Context, episode: AcuteEpisode) -> tuple[date, str] | None:
    """(day 0, how it is known): recorded, or inferred from the first systemic steroid started since presentation."""
    if episode.day0 is not None:
        return episode.day0, "recorded"
    starts = [
        c.started_on
        for c in ctx.courses
        if c.drug_class == DrugClass.SYSTEMIC_STEROID and c.started_on >= episode.presented_on
    ]
    if not starts:
        return None
    return min(starts), "inferred from the first systemic steroid started after presentation"


def day0_values(ctx: Context, code: str, day0: date) -> Lab | None:
    """The last result on or before day 0, if recent enough to stand for day 0."""
    lab = ctx.last(code, day0)
    if lab is None or lab.on < days_after(day0, -ctx.p("asaih_baseline_max_days")):
        return None
    return lab


def is_jaundiced(ctx: Context, bilirubin: Lab) -> bool | None:
    """Bilirubin above the clinic's cut-off if it set one (e.g. 45 µmol/L), otherwise above the ULN."""
    cutoff = ctx.p("asaih_jaundice_bilirubin_umol_l")
    if cutoff is not None:
        return bilirubin.value > cutoff
    normal = ctx.is_normal(bilirubin)
    return None if normal is None else not normal


def _he_visits(ctx: Context, start: date, end: date) -> list[VisitFacts]:
    return [v for v in ctx.t.visits if start <= v.on <= end and v.encephalopathy_grade > 0]


def _fmt(value: float, code: str = "") -> str:
    """A number as the lab reports it (the catalogue's decimals), without trailing zeros."""
    entry = BY_CODE.get(code)
    return f"{round(value, entry.decimals) if entry else value:g}"


def _name(code: str) -> str:
    return "INR" if code == "inr" else code


def _unit(code: str) -> str:
    return " µmol/L" if code == "bilirubin" else ""


@dataclass(frozen=True)
class Classification:
    """How a recorded episode stands: HE at presentation (ALF), or ALF that developed later."""

    presentation_labs: dict[str, Lab]
    he_at_presentation: bool
    he_visits_at_presentation: list[VisitFacts]
    new_he_visits: list[VisitFacts]
    alf_inr: list[Lab]

    @property
    def reclassified_as_alf(self) -> bool:
        # Acute liver failure needs hepatic encephalopathy (Rahim; a change from the INR ≥ 2 convention of
        # clinical-rules.md ASA-04, issue 14): an INR of 2 that then falls, with no encephalopathy, is a
        # severe presentation responding to treatment, which ASA-02 judges on the day-7 labs.
        return not self.he_at_presentation and bool(self.new_he_visits)


def classify(ctx: Context, episode: AcuteEpisode) -> Classification:
    window_start = days_after(episode.presented_on, -ctx.p("asaih_baseline_max_days"))
    window_end = days_after(episode.presented_on, ctx.p("asaih_baseline_max_days"))
    presentation = {
        code: lab
        for code in ("inr", "bilirubin")
        if (lab := ctx.nearest(code, episode.presented_on, window_start, window_end)) is not None
    }
    he_before = _he_visits(ctx, window_start, episode.presented_on)
    he_later = _he_visits(ctx, days_after(episode.presented_on, 1), ctx.as_of)
    alf_limit = ctx.p("alf_min_inr")
    alf_inr = [lab for lab in ctx.window("inr", window_start, ctx.as_of) if lab.value >= alf_limit]
    return Classification(presentation, episode.encephalopathy or bool(he_before), he_before, he_later, alf_inr)


# -- ASA-01 -------------------------------------------------------------------------------------


@rule("ASA-01", family=Family.ACUTE, title="Classify an acute severe presentation", source=ASA01_SOURCE)
def classify_presentation(ctx: Context):
    episode = current_episode(ctx)
    if episode is not None:
        return _recorded_episode(ctx, episode)
    return _screen_new_presentation(ctx)


def _meets_definition(ctx: Context, inr: Lab | None, bilirubin: Lab | None) -> bool | None:
    if inr is None or bilirubin is None:
        return None
    jaundiced = is_jaundiced(ctx, bilirubin)
    if jaundiced is None:
        return None
    return inr.value >= ctx.p("asaih_min_inr") and jaundiced


def _recorded_episode(ctx: Context, episode: AcuteEpisode):
    state = classify(ctx, episode)
    if state.reclassified_as_alf:
        return None  # ASA-04 carries the episode from here (re-classified as ALF)
    inr, bilirubin = state.presentation_labs.get("inr"), state.presentation_labs.get("bilirubin")
    meets = _meets_definition(ctx, inr, bilirubin)
    cirrhosis_before = ctx.t.cirrhosis_on is not None and ctx.t.cirrhosis_on <= episode.presented_on
    evidence: dict[str, Any] = {
        "presented_on": episode.presented_on.isoformat(),
        "presentation_labs": [lab_evidence(code, lab) for code, lab in state.presentation_labs.items()],
        "meets_definition": meets,
        "encephalopathy": state.he_at_presentation,
        "he_visits": [
            {"date": v.on.isoformat(), "grade": v.encephalopathy_grade} for v in state.he_visits_at_presentation
        ],
    }
    notes = []
    if meets is False:
        notes.append(
            f"presentation labs do not meet the definition (INR ≥ {_fmt(ctx.p('asaih_min_inr'))} and jaundice)"
        )
    elif meets is None:
        notes.append("no INR and bilirubin around presentation")
    if cirrhosis_before:
        evidence["cirrhosis_since"] = ctx.t.cirrhosis_on.isoformat()
        notes.append("known cirrhosis: acute-on-chronic, outside the AS-AIH definition")
    if notes:
        evidence["check"] = notes
    labs = _labs_text(inr, bilirubin)
    suffix = f" ({'; '.join(notes)}: check the classification)" if notes else ""
    if state.he_at_presentation:
        return Finding(
            "ASA-01",
            Severity.CRITICAL,
            f"Acute severe AIH with acute liver failure (encephalopathy){labs}{suffix}.",
            evidence,
            ALF_ACTION,
            ASA01_SOURCE,
            {},
        )
    return Finding(
        "ASA-01",
        Severity.HIGH,
        f"Acute severe AIH (no encephalopathy){labs}{suffix}.",
        evidence,
        ASA01_ACTION,
        ASA01_SOURCE,
        {},
    )


def _labs_text(inr: Lab | None, bilirubin: Lab | None) -> str:
    parts = []
    if inr is not None:
        parts.append(f"INR {_fmt(inr.value, 'inr')}")
    if bilirubin is not None:
        parts.append(f"bilirubin {_fmt(bilirubin.value, 'bilirubin')} µmol/L")
    return f": {', '.join(parts)}" if parts else ""


def _screening_applies(ctx: Context) -> bool:
    """Untreated, or in the first weeks of a first treatment; no known cirrhosis; no recent recorded episode."""
    if ctx.has_cirrhosis:
        return False
    horizon = days_after(ctx.as_of, -ctx.p("asaih_episode_horizon_days"))
    if any(e.presented_on >= horizon for e in ctx.t.acute_episodes):
        return False  # recorded (and closed) recently: the clinician has dealt with it
    eras = ctx.treatment_eras
    if not eras:
        return True
    return len(eras) == 1 and ctx.as_of <= days_after(eras[0][0], ctx.p("asaih_new_presentation_days"))


def _screen_new_presentation(ctx: Context):
    if not _screening_applies(ctx):
        return None
    since = days_after(ctx.as_of, -ctx.p("asaih_presentation_lab_days"))
    inr, bilirubin = ctx.last("inr"), ctx.last("bilirubin")
    if inr is None or bilirubin is None or inr.on < since or bilirubin.on < since:
        return None
    if not _meets_definition(ctx, inr, bilirubin):
        return None
    he = _he_visits(ctx, min(inr.on, bilirubin.on), ctx.as_of)
    alf_inr = inr.value >= ctx.p("alf_min_inr")
    evidence = {
        "inr": lab_evidence("inr", inr),
        "bilirubin": lab_evidence("bilirubin", bilirubin),
        "he_visits": [{"date": v.on.isoformat(), "grade": v.encephalopathy_grade} for v in he],
        "treatment_start": ctx.t0.isoformat() if ctx.t0 else None,
        "episode_recorded": False,
    }
    record = " Record the acute episode (with steroid day 0) so the day-7 and day-14 checks run."
    labs = _labs_text(inr, bilirubin)
    if he:
        return Finding(
            "ASA-01",
            Severity.CRITICAL,
            f"Possible acute severe AIH with acute liver failure (encephalopathy){labs}.",
            evidence,
            ALF_ACTION + record,
            ASA01_SOURCE,
            {},
        )
    inr_note = (
        f" INR ≥ {_fmt(ctx.p('alf_min_inr'))}: assess for encephalopathy today; with it this is acute liver failure."
        if alf_inr
        else ""
    )
    return Finding(
        "ASA-01",
        Severity.HIGH,
        f"Possible acute severe AIH{labs}, no encephalopathy recorded.{inr_note}",
        evidence,
        ASA01_ACTION + record,
        ASA01_SOURCE,
        {},
    )


# -- ASA-02 / ASA-03 ----------------------------------------------------------------------------


def _episode_day0(ctx: Context, rule_id: str, earliest_day: int):
    """(episode, day 0, how known) for an open episode at least `earliest_day` days after day 0; or a
    NotEvaluable when day 0 is unknown by then; or None."""
    episode = current_episode(ctx)
    if episode is None:
        return None
    known = steroid_day0(ctx, episode)
    if known is None:
        if ctx.as_of >= days_after(episode.presented_on, earliest_day):
            return NotEvaluable(
                rule_id, "steroid day 0 of the acute episode not recorded and no systemic steroid started"
            )
        return None
    day0, how = known
    if ctx.as_of < days_after(day0, earliest_day):
        return None
    return episode, day0, how


def _assessment_lab(ctx: Context, code: str, day0: date, window: tuple[int, int], late_until: int | None) -> Lab | None:
    """The result nearest the target day in the window; after the window, the first late one (up to `late_until`)."""
    start, end = days_after(day0, window[0]), days_after(day0, window[1])
    target = days_after(day0, (window[0] + window[1]) // 2)
    lab = ctx.nearest(code, target, start, end)
    if lab is None and late_until is not None and ctx.as_of > end:
        late = ctx.window(code, days_after(end, 1), days_after(day0, late_until))
        lab = late[0] if late else None
    return lab


def _rise(before: Lab, after: Lab) -> float:
    return round((after.value - before.value) / before.value, 3)


def _meld_at(ctx: Context, labs: dict[str, Lab], version: str) -> int | None:
    if not all(code in labs for code in MELD_INPUTS[version]):
        return None
    return meld_from_labs(labs, female=meld_female_term(ctx), age=ctx.t.age_on(ctx.as_of))[version]


@rule("ASA-02", family=Family.ACUTE, title="No improvement by day 7", source="S000, S001")
def day7_non_improvement(ctx: Context):
    window = tuple(ctx.p("asaih_day7_window"))
    found = _episode_day0(ctx, "ASA-02", window[0])
    if not isinstance(found, tuple):
        return found
    _, day0, how = found
    base = {code: lab for code in ("bilirubin", "inr") if (lab := day0_values(ctx, code, day0)) is not None}
    if len(base) < 2:
        missing = " and ".join(_name(c) for c in ("bilirubin", "inr") if c not in base)
        return NotEvaluable("ASA-02", f"no {missing} on or before steroid day 0 ({day0.isoformat()})")
    # A result drawn after the window but before the day-14 window still answers the day-7 question (late).
    late_until = ctx.p("asaih_day14_window")[0] - 1
    day7 = {
        code: lab
        for code in ("bilirubin", "inr", "creatinine", "sodium", "albumin")
        if (lab := _assessment_lab(ctx, code, day0, window, late_until)) is not None
    }
    reasons, numbers = _day7_reasons(ctx, base, day7, day0)
    evidence: dict[str, Any] = {
        "day0": day0.isoformat(),
        "day0_source": how,
        "day0_values": [lab_evidence(code, lab) for code, lab in base.items()],
        "day7_values": [lab_evidence(code, day7[code]) for code in ("bilirubin", "inr") if code in day7],
        "late": any(day7[code].on > days_after(day0, window[1]) for code in ("bilirubin", "inr") if code in day7),
        **numbers,
    }
    if reasons:
        evidence["reasons"] = reasons
        return Finding(
            "ASA-02",
            Severity.CRITICAL,
            f"No improvement by day 7 of steroids: {_changes_text(base, day7, numbers)}.",
            evidence,
            "No improvement by day 7: evaluate for liver transplantation now (S000, S001).",
            "S000, S001 (the 7-day rule); bilirubin/INR/MELD composite: design proposal (§2.8)",
            {},
        )
    missing = [code for code in ("bilirubin", "inr") if code not in day7]
    if not missing or ctx.as_of <= days_after(day0, window[1]):
        return None  # improved, or the window is still open
    # Spec: no bilirubin or INR in the window → "day-7 assessment overdue" (high), until one is drawn.
    drawn_since = [code for code in missing if ctx.window(code, days_after(day0, window[1] + 1), ctx.as_of)]
    if len(drawn_since) == len(missing):
        return None  # drawn after day 11: the day-14 assessment (ASA-03) takes over
    names = " and ".join(_name(c) for c in missing)
    return Finding(
        "ASA-02",
        Severity.HIGH,
        f"Day-7 assessment overdue: no {names} drawn between day {window[0]} and day {window[1]} of steroids.",
        {**evidence, "assessment": "overdue", "missing": missing},
        f"Draw bilirubin, INR and creatinine today and compare with day 0 ({day0.isoformat()}).",
        "S000, S001 (the 7-day rule); §0A (data-missing alert)",
        {},
    )


def _day7_reasons(ctx: Context, base: dict[str, Lab], day7: dict[str, Lab], day0: date) -> tuple[list[str], dict]:
    """Which day-7 criteria are met (short names), and the numbers behind them (evidence and message)."""
    reasons: list[str] = []
    numbers: dict[str, Any] = {}
    b0, i0 = base["bilirubin"], base["inr"]
    b7, i7 = day7.get("bilirubin"), day7.get("inr")
    if b7 is not None and i7 is not None and b7.value >= b0.value and i7.value >= i0.value:
        reasons.append("neither bilirubin nor INR improved")
    rise = ctx.p("asaih_rise_fraction")
    for code, before, after in (("bilirubin", b0, b7), ("inr", i0, i7)):
        if after is None:
            continue
        numbers[f"{code}_change"] = _rise(before, after)
        if is_at_or_above(after.value, before.value, 1 + rise):
            reasons.append(f"{_name(code)} rose by {rise:.0%} or more")
    version = ctx.p("meld_version")
    label = MELD_LABELS[version]
    before_labs = {code: lab for code in MELD_INPUTS[version] if (lab := day0_values(ctx, code, day0)) is not None}
    meld0, meld7 = _meld_at(ctx, before_labs, version), _meld_at(ctx, day7, version)
    if meld0 is None or meld7 is None:
        numbers["meld_not_compared"] = f"{label} needs {', '.join(MELD_INPUTS[version])} at day 0 and day 7"
    else:
        numbers["meld"] = {"version": label, "day0": meld0, "day7": meld7}
        if meld7 >= meld0:
            reasons.append(f"{label} not lower")
    return reasons, numbers


def _changes_text(base: dict[str, Lab], later: dict[str, Lab], numbers: dict[str, Any]) -> str:
    """For the message, e.g. 'bilirubin 280 → 300 µmol/L (+7.1%), INR 1.9 → 2.1 (+10.5%), MELD 3.0 25 → 26'."""
    parts = [
        f"{_name(code)} {_fmt(base[code].value, code)} → {_fmt(later[code].value, code)}{_unit(code)} "
        f"({_rise(base[code], later[code]):+.1%})"
        for code in ("bilirubin", "inr")
        if code in later and code in base
    ]
    if "meld" in numbers:
        meld = numbers["meld"]
        parts.append(f"{meld['version']} {meld['day0']} → {meld['day7']}")
    return ", ".join(parts)


@rule("ASA-03", family=Family.ACUTE, title="Deterioration at 2 weeks", source="Biewenga et al., Liver Transpl 2020")
def day14_deterioration(ctx: Context):
    window = tuple(ctx.p("asaih_day14_window"))
    found = _episode_day0(ctx, "ASA-03", window[0])
    if not isinstance(found, tuple):
        return found
    _, day0, how = found
    base = {code: lab for code in ("bilirubin", "inr") if (lab := day0_values(ctx, code, day0)) is not None}
    if not base:
        return NotEvaluable("ASA-03", f"no bilirubin or INR on or before steroid day 0 ({day0.isoformat()})")
    day14 = {code: lab for code in base if (lab := _assessment_lab(ctx, code, day0, window, None)) is not None}
    if not day14:
        if ctx.as_of > days_after(day0, window[1]):
            return NotEvaluable("ASA-03", f"no bilirubin or INR between day {window[0]} and day {window[1]}")
        return None
    worse = [code for code, lab in day14.items() if lab.value > base[code].value]
    if not worse:
        return None
    text = " and ".join(f"{_name(c)} {_fmt(base[c].value, c)} → {_fmt(day14[c].value, c)}{_unit(c)}" for c in worse)
    return Finding(
        "ASA-03",
        Severity.CRITICAL,
        f"Deterioration at 2 weeks of steroids: {text} (above day 0).",
        {
            "day0": day0.isoformat(),
            "day0_source": how,
            "day0_values": [lab_evidence(code, lab) for code, lab in base.items()],
            "day14_values": [lab_evidence(code, lab) for code, lab in day14.items()],
            "above_baseline": worse,
        },
        "Evaluate for liver transplantation now: a rise in INR or bilirubin at 2 weeks best predicts the need for "
        "transplantation within 12 months.",
        "Biewenga et al., Liver Transpl 2020;26:1573 (E-v)",
        {},
    )


# -- ASA-04 -------------------------------------------------------------------------------------


@rule("ASA-04", family=Family.ACUTE, title="New encephalopathy during the episode (acute liver failure)", source=RAHIM)
def becomes_liver_failure(ctx: Context):
    episode = current_episode(ctx)
    if episode is None:
        return None
    state = classify(ctx, episode)
    if not state.reclassified_as_alf:
        return None
    reasons = []
    first = state.new_he_visits[0]
    reasons.append(f"hepatic encephalopathy grade {first.encephalopathy_grade} on {first.on.isoformat()}")
    if state.alf_inr:
        peak = max(state.alf_inr, key=lambda lab: lab.value)
        reasons.append(f"INR {_fmt(peak.value, 'inr')} on {peak.on.isoformat()}")
    return Finding(
        "ASA-04",
        Severity.CRITICAL,
        "Acute severe AIH now acute liver failure: " + " and ".join(reasons) + ".",
        {
            "presented_on": episode.presented_on.isoformat(),
            "new_he_visits": [{"date": v.on.isoformat(), "grade": v.encephalopathy_grade} for v in state.new_he_visits],
            "inr_at_or_above_alf": [lab_evidence("inr", lab) for lab in state.alf_inr],
            "reclassified": "AS-AIH with ALF",
        },
        ALF_ACTION,
        RAHIM + " (new encephalopathy → acute liver failure)",
        {},
    )
