"""Demographics and diagnosis: names, age, weight and reporting lab; the diagnostic work-up
(autoantibodies, biopsy, cirrhosis, TPMT, hepatitis A/B immunity) and the resting physiology."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from patients.models import (
    AihType,
    Antibody,
    Autoantibody,
    CirrhosisBasis,
    Gene,
    HepatitisImmunity,
    Histology,
    ImmunityStatus,
    LiverBiopsy,
    MetaboliserPhenotype,
    PharmacogeneticTest,
    Sex,
    Vaccination,
    Vaccine,
    Virus,
    YesNoUnknown,
)

from .clinical import (
    ANTIBODIES_BEFORE_DIAGNOSIS_DAYS,
    BIOPSY_BEFORE_DIAGNOSIS_DAYS,
    FEMALE_FRACTION,
    REFERRAL_BEFORE_DIAGNOSIS_DAYS,
    Band,
    DaySpan,
)
from .helpers import days, uniform
from .lab_profiles import LAB_PROFILES
from .physiology import AGE_AT_DIAGNOSIS_YEARS, CIRRHOSIS, PHYSIOLOGY, REPRODUCTIVE_AGE_LIMIT, WEIGHT_KG, Physiology
from .plans import PatientPlan

FEMALE_GIVEN_NAMES = (
    "Amelia", "Aisha", "Beatrice", "Chloe", "Daniela", "Eleanor", "Fatima", "Grace", "Hannah", "Imogen",
    "Joanna", "Katarzyna", "Laura", "Maria", "Nadia", "Olivia", "Priya", "Rachel", "Sofia", "Tamsin",
    "Ursula", "Valentina", "Wendy", "Yasmin", "Zoe", "Alice", "Bronwen", "Claire", "Deborah", "Emily",
    "Freya", "Gemma", "Helen", "Isla", "Julia", "Kirsty", "Lucy", "Megan", "Niamh", "Rebecca",
)  # fmt: skip
MALE_GIVEN_NAMES = (
    "Adam", "Ben", "Callum", "David", "Ethan", "Farhan", "George", "Harry", "Ibrahim", "James",
    "Kieran", "Liam", "Mohammed", "Nathan", "Oliver", "Patrick", "Rajesh", "Samuel", "Thomas", "Umar",
    "Victor", "William", "Yusuf", "Zain", "Andrew", "Bilal", "Connor", "Daniel", "Euan", "Frank",
)  # fmt: skip
FAMILY_NAMES = (
    "Adams", "Ahmed", "Allen", "Anderson", "Bailey", "Baker", "Bell", "Brown", "Campbell", "Carter",
    "Chen", "Clark", "Collins", "Cook", "Cooper", "Davies", "Edwards", "Evans", "Fernandes", "Fisher",
    "Green", "Griffiths", "Hall", "Harris", "Hughes", "Hussain", "Jackson", "James", "Jones", "Kaur",
    "Kelly", "Khan", "King", "Kowalski", "Lee", "Lewis", "Martin", "Mitchell", "Moore", "Morgan",
    "Murphy", "Nowak", "O'Brien", "Owen", "Patel", "Phillips", "Price", "Roberts", "Robinson", "Rossi",
    "Scott", "Shah", "Singh", "Smith", "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Ward",
    "Watson", "White", "Williams", "Wilson", "Wood", "Wright", "Young", "Zhang", "Nguyen", "Okafor",
)  # fmt: skip


def set_demographics(
    plan: PatientPlan,
    rng: random.Random,
    *,
    diagnosed_on: date,
    sex: str | None = None,
    age_years: DaySpan = AGE_AT_DIAGNOSIS_YEARS,
    family_name: str | None = None,
) -> None:
    plan.sex = sex or (Sex.FEMALE if rng.random() < FEMALE_FRACTION else Sex.MALE)
    names = FEMALE_GIVEN_NAMES if plan.sex == Sex.FEMALE else MALE_GIVEN_NAMES
    plan.given_name = rng.choice(names)
    plan.family_name = family_name or rng.choice(FAMILY_NAMES)
    age = rng.randint(*age_years)
    plan.date_of_birth = diagnosed_on - relativedelta(years=age) - timedelta(days=rng.randint(0, 364))
    plan.weight_kg = round(uniform(rng, WEIGHT_KG[plan.sex]), 1)
    plan.lab = rng.choice(LAB_PROFILES)
    age_now = relativedelta(plan.as_of, plan.date_of_birth).years
    if plan.sex == Sex.FEMALE:
        plan.reproductive_potential = YesNoUnknown.YES if age_now < REPRODUCTIVE_AGE_LIMIT else YesNoUnknown.NO


def baseline_physiology(rng: random.Random, sex: str, cirrhotic: bool) -> Physiology:
    ranges = PHYSIOLOGY
    female = sex == Sex.FEMALE
    physiology = Physiology(
        alp_fold=uniform(rng, ranges.alp_fold),
        ggt_fold=uniform(rng, ranges.ggt_fold),
        ast_ratio=uniform(rng, ranges.ast_ratio),
        bilirubin=uniform(rng, ranges.bilirubin),
        albumin=uniform(rng, ranges.albumin),
        inr=uniform(rng, ranges.inr),
        creatinine=uniform(rng, ranges.creatinine_female if female else ranges.creatinine_male),
        sodium=uniform(rng, ranges.sodium),
        wbc=uniform(rng, ranges.wbc),
        neutrophil_fraction=uniform(rng, ranges.neutrophil_fraction),
        lymphocyte_fraction=uniform(rng, ranges.lymphocyte_fraction),
        platelets=uniform(rng, ranges.platelets),
        haemoglobin=uniform(rng, ranges.haemoglobin_female if female else ranges.haemoglobin_male),
    )
    if not cirrhotic:
        return physiology
    return replace(
        physiology,
        bilirubin=physiology.bilirubin * CIRRHOSIS.bilirubin_factor,
        albumin=physiology.albumin - CIRRHOSIS.albumin_drop,
        inr=physiology.inr + CIRRHOSIS.inr_rise,
        platelets=physiology.platelets * CIRRHOSIS.platelet_factor,
        sodium=physiology.sodium - CIRRHOSIS.sodium_drop,
    )


ANA_TITRES = (80, 160, 320, 640, 1280)
SMA_TITRES = (40, 80, 160, 320)
LKM_TITRES = (40, 80, 160, 320)
AIH_TYPE_WEIGHTS: tuple[tuple[str, int], ...] = (
    (AihType.TYPE_1, 88),
    (AihType.TYPE_2, 4),
    (AihType.SERONEGATIVE, 6),
    (AihType.VARIANT_PBC, 2),
)
SMA_POSITIVE_FRACTION = 0.7
SLA_POSITIVE_FRACTION = 0.15
DIAGNOSTIC_HAI: DaySpan = (7, 14)
DIAGNOSTIC_ISHAK: DaySpan = (1, 4)
TYPICAL_HISTOLOGY_FRACTION = 0.6
ADVANCED_FIBROSIS_STAGE = 4
TPMT_ACTIVITY_UNIT = "U/mL RBC"
TPMT_NORMAL_ACTIVITY: Band = (15.1, 26.4)
TPMT_INTERMEDIATE_ACTIVITY: Band = (8.0, 13.0)  # every intermediate metaboliser, scenario or random
TPMT_DEFICIENCY_CUTOFF = 6.3
HAV_STATUS_WEIGHTS = (
    (ImmunityStatus.IMMUNE_NATURAL, 30),
    (ImmunityStatus.IMMUNE_VACCINATED, 20),
    (ImmunityStatus.SUSCEPTIBLE, 50),
)
HBV_STATUS_WEIGHTS = (
    (ImmunityStatus.IMMUNE_VACCINATED, 50),
    (ImmunityStatus.IMMUNE_NATURAL, 5),
    (ImmunityStatus.SUSCEPTIBLE, 45),
)
VACCINE_FIRST_DOSE_AFTER_DAYS: DaySpan = (30, 90)
HAV_DOSE_GAPS = (0, 180)
HBV_DOSE_GAPS = (0, 30, 180)


def weighted_choice(rng: random.Random, weights: Sequence[tuple[str, int]]) -> str:
    keys = [key for key, _ in weights]
    return rng.choices(keys, weights=[w for _, w in weights])[0]


def diagnose(
    plan: PatientPlan,
    rng: random.Random,
    diagnosed_on: date,
    *,
    cirrhosis: str = "",
    tpmt: str = MetaboliserPhenotype.NORMAL,
    hav: str | None = None,
    hbv: str | None = None,
    hai: int | None = None,
    histology: str | None = None,
    biopsy_on: date | None = None,
    antibodies_on: date | None = None,
) -> None:
    """Diagnostic work-up: autoantibodies, biopsy, viral serology, TPMT. `cirrhosis` is its basis, if any."""
    plan.diagnosis_date = diagnosed_on
    plan.first_draw_on = diagnosed_on - days(rng, REFERRAL_BEFORE_DIAGNOSIS_DAYS)
    plan.aih_type = weighted_choice(rng, AIH_TYPE_WEIGHTS)
    add_autoantibodies(plan, rng, antibodies_on or diagnosed_on - days(rng, ANTIBODIES_BEFORE_DIAGNOSIS_DAYS))
    biopsy_on = biopsy_on or diagnosed_on - days(rng, BIOPSY_BEFORE_DIAGNOSIS_DAYS)
    stage = rng.randint(*DIAGNOSTIC_ISHAK)
    if cirrhosis:
        # Cirrhosis on the biopsy itself, or found by elastography with stage 5 on the (sampled) biopsy.
        by_histology = cirrhosis == CirrhosisBasis.HISTOLOGY
        stage = 6 if by_histology else 5
        plan.cirrhosis_diagnosed_on = biopsy_on if by_histology else diagnosed_on
        plan.cirrhosis_basis = cirrhosis
    typical = rng.random() < TYPICAL_HISTOLOGY_FRACTION
    plan.add(
        LiverBiopsy,
        performed_on=biopsy_on,
        hai=hai if hai is not None else rng.randint(*DIAGNOSTIC_HAI),
        fibrosis_stage=stage,
        histology=histology or (Histology.TYPICAL if typical else Histology.COMPATIBLE),
        notes="Diagnostic biopsy: interface hepatitis with lymphoplasmacytic infiltrate.",
    )
    plan.advanced_fibrosis = not cirrhosis and stage >= ADVANCED_FIBROSIS_STAGE
    plan.physiology = baseline_physiology(rng, plan.sex, bool(cirrhosis))
    add_tpmt(plan, rng, diagnosed_on, tpmt)
    add_hepatitis_immunity(plan, rng, diagnosed_on, hav=hav, hbv=hbv)


def add_autoantibodies(plan: PatientPlan, rng: random.Random, tested_on: date) -> None:
    kind = plan.aih_type
    type1 = kind in (AihType.TYPE_1, AihType.VARIANT_PBC)
    ana = rng.choice(ANA_TITRES) if type1 else None
    sma = rng.choice(SMA_TITRES) if type1 and rng.random() < SMA_POSITIVE_FRACTION else None
    lkm = rng.choice(LKM_TITRES) if kind == AihType.TYPE_2 else None
    for antibody, titre in ((Antibody.ANA, ana), (Antibody.SMA, sma), (Antibody.LKM1, lkm)):
        plan.add(Autoantibody, antibody=antibody, positive=titre is not None, titre=titre, tested_on=tested_on)
    plan.add(
        Autoantibody,
        antibody=Antibody.SLA_LP,
        positive=type1 and rng.random() < SLA_POSITIVE_FRACTION,
        titre=None,
        tested_on=tested_on,
    )
    plan.add(Autoantibody, antibody=Antibody.AMA, positive=kind == AihType.VARIANT_PBC, titre=None, tested_on=tested_on)


def add_tpmt(plan: PatientPlan, rng: random.Random, tested_on: date, phenotype: str) -> None:
    intermediate = phenotype == MetaboliserPhenotype.INTERMEDIATE
    activity = uniform(rng, TPMT_INTERMEDIATE_ACTIVITY if intermediate else TPMT_NORMAL_ACTIVITY)
    plan.add(
        PharmacogeneticTest,
        gene=Gene.TPMT,
        phenotype=phenotype,
        activity=round(activity, 1),
        activity_unit=TPMT_ACTIVITY_UNIT,
        deficiency_cutoff=TPMT_DEFICIENCY_CUTOFF,
        genotype="*1/*3A" if intermediate else "",
        tested_on=tested_on,
    )


def add_hepatitis_immunity(
    plan: PatientPlan, rng: random.Random, tested_on: date, *, hav: str | None, hbv: str | None
) -> None:
    for virus, vaccine, status, weights, gaps in (
        (Virus.HAV, Vaccine.HAV, hav, HAV_STATUS_WEIGHTS, HAV_DOSE_GAPS),
        (Virus.HBV, Vaccine.HBV, hbv, HBV_STATUS_WEIGHTS, HBV_DOSE_GAPS),
    ):
        status = status or weighted_choice(rng, weights)
        plan.add(HepatitisImmunity, virus=virus, status=status, tested_on=tested_on)
        if status == ImmunityStatus.SUSCEPTIBLE:
            first = tested_on + days(rng, VACCINE_FIRST_DOSE_AFTER_DAYS)
            for number, gap in enumerate(gaps, start=1):
                given_on = first + timedelta(days=gap)
                if given_on < plan.as_of:
                    plan.add(Vaccination, vaccine=vaccine, dose_number=number, given_on=given_on)
