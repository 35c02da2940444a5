"""Clinical numbers every patient shares: treatment, the monitoring schedule, the typical response,
and routine care (clinical-rules.md §0A, §2.3, §2.6), each with the rule it serves.

A scenario's own numbers are its spec dataclass in `scenarios/<key>.py`; the random mix's are in
`random_mix.py`.
"""

from __future__ import annotations

from datetime import timedelta

Band = tuple[float, float]  # a uniform range of values
DaySpan = tuple[int, int]  # an inclusive range of whole days

# --------------------------------------------------------------------------------------------
# Treatment (clinical-rules.md §0A, §2.3, §2.6)
# --------------------------------------------------------------------------------------------

PREDNISOLONE_PROTOCOL = "prednisolone-weight-based"  # §0A: 0.5-1 mg/kg, max 60, to 10 mg over 4 weeks
BUDESONIDE_PROTOCOL = "budesonide-9mg"  # §0A: 9 mg/day, 6 mg at response
PREDNISOLONE_START_MG_PER_KG: Band = (0.5, 0.8)
PREDNISOLONE_START_LIMITS_MG: Band = (30.0, 60.0)
PREDNISOLONE_TABLET_MG = 5.0
PREDNISOLONE_AFTER_INDUCTION_MG = 10.0  # reached after 4 weekly steps
PREDNISOLONE_INDUCTION_STEPS = 4
PREDNISOLONE_AT_NORMALISATION_MG = 7.5
PREDNISOLONE_MAINTENANCE_MG = 5.0
PREDNISOLONE_LAST_STEP_MG = 2.5
PREDNISOLONE_MONTHS_AT_7_5_MG = 3  # then 5 mg "after 3 months"
PREDNISOLONE_TAPER_OUT_STEP_MONTHS: DaySpan = (91, 122)  # "taper out at 3-4-month steps"
ACUTE_SEVERE_PREDNISOLONE_MG = 60.0
BUDESONIDE_INDUCTION_MG = 9.0
BUDESONIDE_RESPONSE_MG = 6.0
BUDESONIDE_LAST_MG = 3.0
AZA_LEAD_IN_DAYS = 14  # AZA two weeks after steroids
AZA_START_MG = 50.0
AZA_TABLET_MG = 25.0
AZA_TARGET_MG_PER_KG: Band = (1.2, 1.8)
AZA_DOSE_LIMITS_MG_PER_KG: Band = (1.05, 1.9)  # AZA-07's 1-2 mg/kg, with room for weight drift
AZA_LONG_TERM_MG_PER_KG: Band = (1.8, 1.95)  # "2 mg/kg long-term after relapse" (S001)
AZA_REDUCED_MG_PER_KG: Band = (0.6, 0.8)  # AZA-03: 30-80% of the normal dose
AZA_UNREDUCED_MIN_MG_PER_KG = 1.65  # above AZA-03's reduced ceiling (80% of 2 mg/kg)
AZA_INCREASE_AFTER_DAYS: DaySpan = (14, 28)
AZA_ALLOPURINOL_FRACTION = 1 / 3  # AZA-08: 1/4-1/3 of the dose with allopurinol
ALLOPURINOL_MG = 100.0
MMF_START_MG = 1000.0
MMF_TARGET_MG: tuple[float, ...] = (1500.0, 2000.0)  # OTH-02: 1-2 g/day
TACROLIMUS_MG_PER_KG = 0.075  # OTH-01 / S001 starting dose
CALCIUM_VITAMIN_D_MG = 1000.0  # elemental calcium per day
DEXA_AFTER_STEROID_START_DAYS: DaySpan = (20, 80)
DEXA_REPEAT_DAYS: DaySpan = (365, 700)
DEXA_T_SCORE: Band = (-2.9, 0.8)
DEXA_OSTEOPENIA_T = -1.0  # WHO categories
DEXA_OSTEOPOROSIS_T = -2.5

# Monitoring schedule (MON-01 / MON-05, A-10): intervals we draw at, inside each phase's maximum.
PHASE_A_DAYS = 56
PHASE_B_DAYS = 183
PHASE_A_INTERVAL: DaySpan = (12, 14)  # max 14
PHASE_B_INTERVAL: DaySpan = (26, 31)  # max 31
PHASE_C_INTERVAL: DaySpan = (84, 91)  # max 92
PRE_TREATMENT_INTERVAL: DaySpan = (7, 14)
SNAP_MIN_GAP = timedelta(days=3)  # a draw this close before a start or dose increase serves as its baseline
AFTER_WITHDRAWAL_INTERVALS: tuple[tuple[int, DaySpan], ...] = ((183, (26, 31)), (365, (80, 91)), (10**6, (150, 180)))
# Clinic reviews (until day since T0, minimum gap): monthly, then 3-monthly to year 2, then 6-monthly.
VISIT_GAPS: tuple[tuple[int, int], ...] = ((183, 35), (730, 80), (10**6, 160))
ALT_AFTER_STEROID_CHANGE_DAYS = 30  # MON-02
ALT_AFTER_STEROID_CHANGE_DRAW: DaySpan = (12, 26)
IGG_EARLY_MONTHS = 7  # monthly IgG up to the 6-month CBR check window (T0+5..7 months)
IGG_EARLY_GAP_DAYS = 26
IGG_LATE_GAP_DAYS = 92  # then with the draw that would otherwise leave > 183 days without one (MON-04)
REFERRAL_BEFORE_DIAGNOSIS_DAYS: DaySpan = (14, 35)
ANTIBODIES_BEFORE_DIAGNOSIS_DAYS: DaySpan = (7, 14)
BIOPSY_BEFORE_DIAGNOSIS_DAYS: DaySpan = (1, 6)
TREATMENT_AFTER_DIAGNOSIS_DAYS: DaySpan = (0, 6)
METABOLITES_AFTER_DOSE_DAYS = 84  # past MON-08's 28 days, at steady state
METABOLITES_YEARLY_PROBABILITY = 0.3

# Typical responder (IAIHG 2022 CBR within 6 months)
ALT_FOLD_AT_DIAGNOSIS: Band = (6.0, 25.0)
IGG_FOLD_AT_DIAGNOSIS: Band = (1.3, 2.2)
ALT_FOLD_DAY_14 = 0.4  # of the day-0 value
ALT_FOLD_DAY_28 = 0.17  # of the day-0 value: a > 50% fall, so no RESP-01
IGG_FOLD_DAY_30 = 0.85
ALT_JUST_NORMAL_FOLD = 0.85
IGG_JUST_NORMAL_FOLD = 0.92
ALT_REMISSION_FOLD: Band = (0.35, 0.75)
IGG_REMISSION_FOLD: Band = (0.55, 0.85)
ALT_NORMAL_AFTER_DAYS: DaySpan = (75, 140)
IGG_NORMAL_AFTER_DAYS: DaySpan = (90, 150)
REMISSION_SETTLES_DAYS = 60
LEAD_IN_DAYS = 45  # the referral labs show rising activity before T0
LEAD_IN_FOLD = 0.7

# --------------------------------------------------------------------------------------------
# Routine care: every patient, scenario or random
# --------------------------------------------------------------------------------------------

FEMALE_FRACTION = 0.75
INTOLERANCE_ONSET_BEFORE_STOP_DAYS = 3
INTOLERANCE_RESOLVES_DAYS = 21
TACROLIMUS_TROUGH: Band = (4.0, 7.0)  # inside OTH-01's 3-8 ng/mL
POTASSIUM_MMOL_L: Band = (3.8, 4.8)
GLUCOSE_MMOL_L: Band = (4.5, 6.5)
METABOLITE_NORMAL_TGN: Band = (250.0, 400.0)
METABOLITE_NORMAL_MMP: Band = (600.0, 3500.0)
ADHERENCE_RECORD_PROBABILITY = 0.25
ADHERENCE_MISSED_ANY_PROBABILITY = 0.2
