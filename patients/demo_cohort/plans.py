"""Plans: what one patient will be, as plain data (generation is pure; `writing` inserts them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from datetime import time as clock
from itertools import pairwise

from django.db import models

from patients.models import AihType, Sex, YesNoUnknown

from .identity import PROFILE_NOTE_PREFIX, SCENARIO_DESCRIPTIONS, SCENARIO_NOTE_PREFIX, demo_mrn
from .lab_profiles import LAB_PROFILES, LabProfile
from .physiology import Physiology


@dataclass
class DosePlan:
    effective_on: date
    mg: float
    schedule: str
    note: str = ""
    step: int | None = None  # sequence of the TaperStep this dose carries out


@dataclass
class TaperStepPlan:
    sequence: int
    starts_on: date
    mg: float
    note: str = ""


@dataclass
class AdverseEventPlan:
    kind: str
    onset_on: date
    description: str
    grade: int | None = None
    resolved_on: date | None = None


@dataclass
class CoursePlan:
    key: str
    drug: str
    started_on: date
    line: int = 1
    doses: list[DosePlan] = field(default_factory=list)
    stopped_on: date | None = None
    stop_reason: str = ""
    stop_note: str = ""
    taper_protocol: str = ""
    taper_steps: list[TaperStepPlan] = field(default_factory=list)
    adverse_events: list[AdverseEventPlan] = field(default_factory=list)
    stop_event: AdverseEventPlan | None = None

    def is_active_on(self, on: date) -> bool:
        return self.started_on <= on and (self.stopped_on is None or self.stopped_on > on)

    def dose_on(self, on: date) -> float:
        current = 0.0
        for dose in self.doses:
            if dose.effective_on > on:
                break
            current = dose.mg
        return current if self.is_active_on(on) else 0.0

    def increase_dates(self) -> list[date]:
        return [later.effective_on for earlier, later in pairwise(self.doses) if later.mg > earlier.mg]

    def stop(self, on: date, reason: str, note: str = "", event: AdverseEventPlan | None = None) -> None:
        self.doses = [dose for dose in self.doses if dose.effective_on < on]
        self.stopped_on, self.stop_reason, self.stop_note, self.stop_event = on, reason, note, event


@dataclass
class Draw:
    on: date
    at: clock = clock(9, 0)
    with_igg: bool = False
    pinned: dict[str, float] = field(default_factory=dict)  # canonical values that replace the model


@dataclass
class VisitPlan:
    on: date
    weight_kg: float | None = None
    notes: str = ""
    jaundice: bool = False
    varices: bool | None = None
    splenomegaly: bool | None = None


@dataclass
class AdherencePlan:
    recorded_on: date
    method: str
    missed_doses: int
    lapse_reason: str = ""
    course_key: str = ""


@dataclass
class Row:
    """A leaf row that needs nothing but its patient: model and field values."""

    model: type[models.Model]
    fields: dict[str, object]


@dataclass
class PatientPlan:
    index: int
    as_of: date
    scenario: str = ""
    profile: str = ""
    family_name: str = ""
    given_name: str = ""
    sex: str = Sex.FEMALE
    date_of_birth: date = date(1970, 1, 1)
    aih_type: str = AihType.TYPE_1
    diagnosis_date: date | None = None
    t0: date | None = None
    reproductive_potential: str = YesNoUnknown.UNKNOWN
    cirrhosis_diagnosed_on: date | None = None
    cirrhosis_basis: str = ""
    advanced_fibrosis: bool = False
    lab: LabProfile = LAB_PROFILES[0]
    physiology: Physiology | None = None
    weight_kg: float = 70.0
    courses: list[CoursePlan] = field(default_factory=list)
    curves: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    exact_analytes: frozenset[str] = frozenset()  # drawn without noise (pinned trajectories)
    first_draw_on: date | None = None
    last_draw_on: date | None = None
    use_schedule: bool = True
    extra_draws: list[Draw] = field(default_factory=list)
    draws: list[Draw] = field(default_factory=list)
    visits: list[VisitPlan] = field(default_factory=list)
    adherence: list[AdherencePlan] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    @property
    def mrn(self) -> str:
        return demo_mrn(self.index)

    @property
    def notes(self) -> str:
        if self.scenario:
            return f"{SCENARIO_NOTE_PREFIX}{self.scenario}\n{SCENARIO_DESCRIPTIONS[self.scenario]}"
        return f"{PROFILE_NOTE_PREFIX}{self.profile}"

    @property
    def is_cirrhotic(self) -> bool:
        return self.cirrhosis_diagnosed_on is not None

    def course(self, key: str) -> CoursePlan | None:
        return next((c for c in self.courses if c.key == key), None)

    def add(self, model: type[models.Model], **fields: object) -> None:
        self.rows.append(Row(model, fields))
