"""A patient's history as plain data: what the rules read. No ORM objects in here.

The loader (loader.py) builds these from the database; tests build them by hand.
Everything is immutable, dates are `date`, and each sequence is sorted oldest first.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from monitoring.engine.horizon import derived
from regimens.catalogue import IMMUNOSUPPRESSANT_CLASSES, DrugClass


class Lab(NamedTuple):
    """One result. A NamedTuple rather than a dataclass: the sweep builds millions of them."""

    on: date
    value: float  # canonical unit (monitoring/catalogue.py)
    uln: float | None = None
    lln: float | None = None
    # Where the limits came from: "reported" with the result, the "clinic" interval, the
    # catalogue's "typical" adult value (the finding says so), or "none".
    range_source: str = "reported"

    @property
    def fold_uln(self) -> float | None:
        return round(self.value / self.uln, 9) if self.uln else None


class Dose(NamedTuple):
    on: date
    mg_per_day: float


@dataclass(frozen=True)
class Course:
    id: int
    drug: str  # catalogue code, e.g. "azathioprine"
    drug_class: str  # DrugClass value
    started_on: date
    stopped_on: date | None = None
    stop_reason: str = ""
    doses: tuple[Dose, ...] = ()
    prednisolone_equivalent: float | None = None
    # A course being prescribed but not yet saved: prescribing safety checks (issue 4) evaluate
    # the timeline with the planned course added, starting on the as-of date.
    planned: bool = False
    # Saved through the in-app prescribing page, whose checks the physician saw then (so the
    # evaluation does not repeat them as "started despite": evaluate.py, prestart.py).
    prescribed_in_app: bool = False
    # Rules a physician overrode for this course (regimens PrescribingOverride), with a reason.
    overridden_rules: frozenset[str] = frozenset()

    def active_on(self, on: date) -> bool:
        return self.started_on <= on and (self.stopped_on is None or self.stopped_on > on)

    def dose_on(self, on: date) -> float | None:
        """mg/day in force on a date (the last change on or before it)."""
        index = bisect_right([d.on for d in self.doses], on)
        return self.doses[index - 1].mg_per_day if index else None

    @property
    def is_immunosuppressant(self) -> bool:
        return self.drug_class in IMMUNOSUPPRESSANT_CLASSES

    @property
    def is_steroid(self) -> bool:
        return self.drug_class in (DrugClass.SYSTEMIC_STEROID, DrugClass.BUDESONIDE)


@dataclass(frozen=True, slots=True)
class Period:
    """Something true from `start` to `end` (open if None): a pregnancy, a contraceptive..."""

    kind: str
    start: date
    end: date | None = None

    def covers(self, on: date) -> bool:
        return self.start <= on and (self.end is None or self.end >= on)


@dataclass(frozen=True, slots=True)
class Pharmacogenetic:
    gene: str  # "tpmt" / "nudt15"
    phenotype: str  # normal / intermediate / poor / high / indeterminate
    on: date
    activity: float | None = None
    deficiency_cutoff: float | None = None


@dataclass(frozen=True, slots=True)
class Biopsy:
    on: date
    hai: int | None = None
    fibrosis_stage: int | None = None
    histology: str = ""


@dataclass(frozen=True, slots=True)
class AcuteEpisode:
    presented_on: date
    day0: date | None = None
    encephalopathy: bool = False
    ended_on: date | None = None


@dataclass(frozen=True, slots=True)
class VisitFacts:
    on: date
    ascites: str = "none"
    encephalopathy_grade: int = 0
    jaundice: bool = False
    variceal_bleed: bool = False
    varices: bool | None = None
    splenomegaly: bool | None = None


@dataclass(frozen=True, slots=True)
class Dated:
    """A dated fact with a kind and an optional detail: immunity, vaccination, adverse event..."""

    on: date
    kind: str
    detail: str = ""
    number: float | None = None


@dataclass(frozen=True, slots=True)
class AdverseEventFact(Dated):
    """An adverse event: kind = AdverseEventKind, detail = description, number = the suspected course's id."""

    grade: int | None = None  # CTCAE grade 1-5, if recorded


@dataclass(frozen=True, slots=True)
class AdherenceFact(Dated):
    """An adherence record: kind = method, detail = lapse reason, number = missed doses."""

    # The clinician confirmed full adherence (seed 004: failure is "despite full adherence").
    confirmed_full: bool = False


@dataclass(frozen=True)
class Timeline:
    patient_id: int
    clinic_id: int
    mrn: str
    sex: str
    date_of_birth: date
    status: str = "active"
    aih_type: str = "unknown"
    diagnosis_date: date | None = None
    cirrhosis_on: date | None = None
    portosystemic_shunt: str = "none"
    advanced_fibrosis: bool = False
    reproductive_potential: str = "unknown"
    viral_hepatitis_excluded: bool | None = None
    transplanted_on: date | None = None  # liver transplant
    labs: dict[str, tuple[Lab, ...]] = field(default_factory=dict)
    courses: tuple[Course, ...] = ()
    weights: tuple[Dated, ...] = ()  # kind "weight", number = kg
    pharmacogenetics: tuple[Pharmacogenetic, ...] = ()
    pregnancies: tuple[Period, ...] = ()  # kind "pregnant" / "planned"
    contraception: tuple[Period, ...] = ()
    pregnancy_tests: tuple[Dated, ...] = ()  # kind "negative" / "positive"
    immunity: tuple[Dated, ...] = ()  # kind "hav"/"hbv", detail = status
    vaccinations: tuple[Dated, ...] = ()  # kind "hav" / "hbv" / "hav_hbv"
    dexa_scans: tuple[date, ...] = ()
    biopsies: tuple[Biopsy, ...] = ()
    acute_episodes: tuple[AcuteEpisode, ...] = ()
    visits: tuple[VisitFacts, ...] = ()
    malignancies: tuple[Dated, ...] = ()  # kind "hcc" / ...
    relapses: tuple[Dated, ...] = ()  # kind "after_withdrawal" / "on_treatment"
    adverse_events: tuple[Dated, ...] = ()  # AdverseEventFact (kind = AdverseEventKind, number = course id)
    autoantibodies: tuple[Dated, ...] = ()  # kind = antibody, detail "positive"/"negative", number = titre
    adherence: tuple[Dated, ...] = ()  # AdherenceFact (kind = method, number = missed doses, detail = lapse reason)

    def age_on(self, on: date) -> int:
        dob = self.date_of_birth

        def age(day: date) -> int:
            return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

        return derived(age, on)  # follows a tracked evaluation date (horizon.py)
