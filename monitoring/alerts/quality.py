"""Cohort quality measures and the patient-level facts behind the dashboard's cohort tiles.

Everything here derives from the engine's own definitions, per patient, from a rules Context:
induction (T0) and treatment eras (`Context.treatment_eras`), the response state history
(monitoring/engine/response.py: complete biochemical response by the deadline), "normal" as the engine
judges it (`Context.is_normal`: the reported ULN, else the clinic's, else the typical value),
current steroid exposure as STER-01 counts it, and the monitoring schedule (monitoring/engine/schedule.py)
replayed on each day bloods were drawn. Every period is a clinical parameter (monitoring/parameters.py).

`patient_facts` is a pure function of one Context; `summarise` folds many facts into the figures.
`cohort_snapshot` loads timelines in chunks (a fixed number of queries per chunk) and is run by the
nightly job, or on demand when no snapshot of the day exists (monitoring/alerts/dashboard.py).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.engine.context import Context
from monitoring.engine.dates import days_after, months_after
from monitoring.engine.loader import load_timelines
from monitoring.engine.response import State
from monitoring.engine.schedule import OVERDUE, monitoring_schedule
from monitoring.rules.steroids import current_steroid_exposure_start


@dataclass(frozen=True)
class PatientFacts:
    """What one active patient contributes to the cohort figures (plain data, picklable)."""

    patient_id: int
    clinic_id: int = 0
    t0: date | None = None  # induction of the current treatment era (None: off treatment)
    not_normalised: bool = False  # on treatment, latest ALT or IgG since T0 above the ULN
    early: bool = False  # fewer than `cbr_deadline_months` since T0
    not_normalised_detail: str = ""
    # complete biochemical response by the deadline, for an induction in the measure's window
    # (None: not induced in the window, or its deadline has not passed yet)
    cbr_by_deadline: bool | None = None
    # Time to ALT normalisation for an induction in the window with ALT above the ULN at T0:
    # (days from T0, normalised?) where not normalised = followed until today (censored).
    alt_normalisation: tuple[int, bool] | None = None
    on_steroids: bool = False  # on a corticosteroid for longer than STER-01's baseline window
    dexa_in_window: bool = False
    missed_doses: int = 0  # doses reported missed in the adherence window
    bloods_on_time: int = 0
    bloods_late: int = 0  # drawn after their overdue date, or overdue today and not drawn

    @property
    def missed_bloods(self) -> bool:
        return self.bloods_late > 0


def _latest_since(ctx: Context, code: str, since: date):
    lab = ctx.last(code)
    return lab if lab is not None and lab.on >= since else None


def _not_normalised(ctx: Context, t0: date) -> tuple[bool, str]:
    """ALT or IgG, the latest drawn since T0, above the ULN (a test not drawn since T0 does not count)."""
    above = []
    for code, name in (("alt", "ALT"), ("igg", "IgG")):
        lab = _latest_since(ctx, code, t0)
        if lab is not None and ctx.is_normal(lab) is False:
            above.append(f"{name} {lab.fold_uln:.1f}× ULN on {lab.on.isoformat()}")
    return bool(above), "; ".join(above)


def _era_end(ctx: Context, t0: date) -> date:
    for start, stop in ctx.treatment_eras:
        if start == t0:
            return stop or ctx.as_of
    return ctx.as_of


def _cbr_by_deadline(ctx: Context, t0: date) -> bool:
    deadline = months_after(t0, ctx.p("cbr_deadline_months"))
    reached = ctx.response.first(State.COMPLETE_RESPONSE, after=t0)
    return reached is not None and reached.on <= min(deadline, _era_end(ctx, t0))


def _alt_normalisation(ctx: Context, t0: date) -> tuple[int, bool] | None:
    """(days, normalised) from T0 to the first normal ALT drawn after it; None without a raised baseline."""
    baseline = ctx.last("alt", t0)
    if baseline is None or ctx.is_normal(baseline) is not False:
        return None
    end = _era_end(ctx, t0)
    for lab in ctx.window("alt", days_after(t0, 1), end):
        if ctx.is_normal(lab):
            return (lab.on - t0).days, True
    return (end - t0).days, False


def _bloods(ctx: Context, since: date) -> tuple[int, int]:
    """(on time, late) scheduled panels over [since, as_of].
    On each day bloods were drawn, the schedule as it stood the day before says which panels were
    required: each drawn panel counts on time if drawn no later than its overdue date, else late. A
    panel overdue today and not drawn counts late too. Extra draws of a panel no schedule asked for
    are not counted.
    """
    timeline = ctx.t
    drawn_on: dict[date, set[str]] = {}
    for code, series in timeline.labs.items():
        for lab in series[bisect_left([lab.on for lab in series], since) :]:
            drawn_on.setdefault(lab.on, set()).add(code)
    on_time = late = 0
    for day, drawn in sorted(drawn_on.items()):
        before = Context(timeline, days_after(day, -1), ctx._params)
        for item in monitoring_schedule(before):
            if drawn.intersection(item.analytes):
                if day <= item.overdue_after:
                    on_time += 1
                else:
                    late += 1
    late += sum(1 for item in monitoring_schedule(ctx) if item.state(ctx.as_of) == OVERDUE)
    return on_time, late


def patient_facts(ctx: Context) -> PatientFacts:
    """The cohort facts of one patient as of `ctx.as_of`."""
    today = ctx.as_of
    facts: dict = {"patient_id": ctx.t.patient_id, "clinic_id": ctx.t.clinic_id}
    window_start = months_after(today, -ctx.p("quality_induction_window_months"))
    deadline_months = ctx.p("cbr_deadline_months")

    if ctx.on_treatment:
        t0 = ctx.t0
        facts["t0"] = t0
        facts["early"] = today < months_after(t0, deadline_months)
        facts["not_normalised"], facts["not_normalised_detail"] = _not_normalised(ctx, t0)

    inductions = [start for start, _ in ctx.treatment_eras if window_start <= start <= today]
    if inductions:
        t0 = inductions[-1]
        if months_after(t0, deadline_months) <= today:
            facts["cbr_by_deadline"] = _cbr_by_deadline(ctx, t0)
        facts["alt_normalisation"] = _alt_normalisation(ctx, t0)

    steroid_start = current_steroid_exposure_start(ctx, ctx.p("dexa_counts_budesonide"))
    # As STER-01: a scan is expected once steroids have run longer than the baseline window.
    if steroid_start is not None and (today - steroid_start).days > ctx.p("dexa_baseline_after_days"):
        facts["on_steroids"] = True
        since = months_after(today, -ctx.p("dexa_overdue_months"))
        facts["dexa_in_window"] = any(since <= scan <= today for scan in ctx.t.dexa_scans)

    recent = days_after(today, -ctx.p("adherence_gap_recent_days"))
    facts["missed_doses"] = int(sum(a.number or 0 for a in ctx.t.adherence if a.on >= recent))
    bloods_since = months_after(today, -ctx.p("quality_bloods_lookback_months"))
    facts["bloods_on_time"], facts["bloods_late"] = _bloods(ctx, bloods_since)
    return PatientFacts(**facts)


# -- folding facts into figures -------------------------------------------------------------------


def km_median(times: Iterable[tuple[int, bool]]) -> float | None:
    """Kaplan-Meier median of (days, event) pairs: the first time the share still waiting is ≤ 1/2.
    Patients not yet normalised count as followed until today (censored), so slow responders are not
    left out. None when fewer than half have normalised ("not reached").
    """
    ordered = sorted(times, key=lambda t: (t[0], not t[1]))  # events before censoring on a tie
    at_risk = len(ordered)
    surviving = 1.0
    index = 0
    while index < len(ordered):
        day = ordered[index][0]
        events = censored = 0
        while index < len(ordered) and ordered[index][0] == day:
            events += ordered[index][1]
            censored += not ordered[index][1]
            index += 1
        if events:
            surviving *= 1 - events / at_risk
            if surviving <= 0.5:
                return float(day)
        at_risk -= events + censored
    return None


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    numerator: int | None
    denominator: int
    value: float | None  # a share (0–1) or a number of days
    unit: str  # "share" or "days"
    definition: str

    @property
    def percent(self) -> float | None:
        return None if self.value is None or self.unit != "share" else round(100 * self.value, 1)


@dataclass(frozen=True)
class CohortGroup:
    """The patients behind one cohort tile: (patient id, what put them there)."""

    key: str
    label: str
    definition: str
    rows: tuple[tuple[int, str], ...]

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class CohortSnapshot:
    as_of: date
    computed_at: str  # ISO datetime
    patients: int
    groups: dict[str, CohortGroup] = field(default_factory=dict)
    measures: tuple[Measure, ...] = ()
    pending: bool = False  # a placeholder while the first snapshot of a large cohort is computed


def _share(key: str, label: str, flags: Sequence[bool], definition: str) -> Measure:
    return Measure(key, label, sum(flags), len(flags), sum(flags) / len(flags) if flags else None, "share", definition)


def summarise(facts: Sequence[PatientFacts], params: dict, as_of: date, computed_at: str) -> CohortSnapshot:
    """The tiles' patient groups and the quality measures, with their definitions (parameters spelled out)."""
    months = params["cbr_deadline_months"]
    window = params["quality_induction_window_months"]
    dexa_months = params["dexa_overdue_months"]
    adherence_days = params["adherence_gap_recent_days"]
    blood_months = params["quality_bloods_lookback_months"]
    on_treatment = "Active patients on treatment whose latest ALT or IgG since induction (T0) is above its ULN"

    def group(key, label, definition, rows):
        return CohortGroup(key, label, definition, tuple(rows))

    groups = [
        group(
            "not_normalised_early",
            f"Not normalised, < {months} months since induction",
            f"{on_treatment}, fewer than {months} months after T0 (still within the response deadline).",
            [(f.patient_id, f.not_normalised_detail) for f in facts if f.not_normalised and f.early],
        ),
        group(
            "not_normalised_late",
            f"Not normalised, ≥ {months} months since induction",
            f"{on_treatment}, {months} months or more after T0 (past the complete-response deadline).",
            [(f.patient_id, f.not_normalised_detail) for f in facts if f.not_normalised and not f.early],
        ),
        group(
            "missed_doses",
            "Missed doses",
            f"Active patients with missed doses reported in adherence records of the last {adherence_days} days.",
            [(f.patient_id, f"{f.missed_doses} doses missed") for f in facts if f.missed_doses],
        ),
        group(
            "missed_bloods",
            "Missed bloods",
            f"Active patients with at least one scheduled panel drawn after its overdue date, or overdue "
            f"and not drawn, in the last {blood_months} months (monitoring schedule, MON-01…07).",
            [(f.patient_id, f"{f.bloods_late} late or missed") for f in facts if f.missed_bloods],
        ),
    ]

    cbr = [f.cbr_by_deadline for f in facts if f.cbr_by_deadline is not None]
    times = [f.alt_normalisation for f in facts if f.alt_normalisation is not None]
    dexa = [f.dexa_in_window for f in facts if f.on_steroids]
    on_time = sum(f.bloods_on_time for f in facts)
    due = on_time + sum(f.bloods_late for f in facts)
    measures = (
        _share(
            "cbr",
            f"Complete biochemical response by {months} months",
            cbr,
            f"Of the active patients induced (T0) in the last {window} months whose {months}-month deadline has "
            f"passed, the share who reached complete biochemical response (ALT, AST if measured, and IgG all ≤ ULN) "
            f"no later than T0 + {months} months, as the engine's response history records it (IAIHG 2022).",
        ),
        Measure(
            "alt_normalisation",
            "Median time to ALT normalisation",
            sum(1 for _, normalised in times if normalised),
            len(times),
            km_median(times),
            "days",
            f"Of the active patients induced in the last {window} months with ALT above the ULN at T0, the median "
            f"number of days from T0 to the first ALT ≤ ULN (Kaplan-Meier: patients not yet normalised count as "
            f"followed until today or the end of treatment). Numerator: patients normalised.",
        ),
        _share(
            "dexa",
            f"DEXA in the last {dexa_months} months, on steroids",
            dexa,
            f"Of the active patients on a corticosteroid today for more than {params['dexa_baseline_after_days']} "
            f"days (budesonide counted: {'yes' if params['dexa_counts_budesonide'] else 'no'}), the share with a "
            f"DEXA scan in the last {dexa_months} months (the STER-01 baseline window and overdue interval).",
        ),
        Measure(
            "bloods_on_time",
            "Bloods done on time",
            on_time,
            due,
            on_time / due if due else None,
            "share",
            f"Of the scheduled panels drawn in the last {blood_months} months (the monitoring schedule as it stood "
            f"the day before each draw), plus those overdue today and not drawn, the share drawn no later than "
            f"their overdue date.",
        ),
    )
    return CohortSnapshot(
        as_of=as_of,
        computed_at=computed_at,
        patients=len(facts),
        groups={g.key: g for g in groups},
        measures=measures,
    )


def cohort_facts(patient_ids: Sequence[int], as_of: date, chunk_size: int = 500) -> list[PatientFacts]:
    """Facts of these patients, timelines loaded in chunks (a fixed number of queries per chunk)."""
    params: dict[int, dict] = {}
    facts = []
    for start in range(0, len(patient_ids), chunk_size):
        for timeline in load_timelines(patient_ids[start : start + chunk_size]).values():
            if timeline.clinic_id not in params:
                params[timeline.clinic_id] = parameters_for_clinic(timeline.clinic_id)
            facts.append(patient_facts(Context(timeline, as_of, params[timeline.clinic_id])))
    return facts
