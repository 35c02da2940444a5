"""Clinical parameters: every threshold and interval the rules use, with its default and source.

This is the one place a clinical number is written. A clinic admin overrides a value per
clinic (ClinicalParameter rows, editable in the admin); `clinic_parameters.parameters_for_clinic()` merges the
overrides over these defaults. Defaults follow clinical-rules.md §0A ("Version 1 defaults").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Parameter:
    key: str
    default: Any
    unit: str
    description: str
    source: str
    rules: tuple[str, ...] = ()


PARAMETERS: tuple[Parameter, ...] = (
    # What "normal" means
    Parameter(
        "normal_includes_uln",
        True,
        "",
        "A value equal to the ULN counts as normal (≤ ULN).",
        "§0A A-12 (IAIHG says 'below'; lab flags treat = ULN as normal)",
    ),
    Parameter(
        "treatment_gap_days",
        30,
        "days",
        "Courses less than this apart are one continuous treatment (a switch); a longer gap is a withdrawal.",
        "design (the spec is silent)",
    ),
    # Response
    Parameter(
        "nonresponse_min_fall",
        0.50,
        "fraction",
        "Minimum fall in ALT by week 4 (non-response below).",
        "IAIHG 2022 (Pape, J Hepatol 2022;76:841)",
        ("RESP-01",),
    ),
    Parameter(
        "cbr_deadline_months",
        6,
        "months",
        "Complete biochemical response must be reached by T0 + this.",
        "IAIHG 2022",
        ("RESP-02", "MON-03"),
    ),
    Parameter(
        "prolonged_therapy_months_older",
        24,
        "months",
        "No remission after this long at age ≥ 60.",
        "S000 (AASLD 2002/2010, E-m)",
        ("RESP-05",),
    ),
    Parameter(
        "prolonged_therapy_months_younger",
        36,
        "months",
        "No remission after this long at age ≤ 40.",
        "S000 (AASLD 2002/2010, E-m)",
        ("RESP-05",),
    ),
    Parameter(
        "adherence_assessment_recent_days",
        28,
        "days",
        "An adherence record this recent counts as the assessment RESP-06 asks for.",
        "design (the spec is silent)",
        ("RESP-06",),
    ),
    # Relapse
    Parameter(
        "probable_relapse_uln_multiple",
        2.0,
        "× ULN",
        "ALT above this after CBR: probable relapse.",
        "§0A A-7 (IAIHG 1999 via Dhaliwal 2012)",
        ("REL-02",),
    ),
    Parameter(
        "relapse_uln_multiple",
        3.0,
        "× ULN",
        "ALT at or above this after CBR: relapse.",
        "§0A A-7 (AASLD 2002/2010, E-m)",
        ("REL-02", "REL-03"),
    ),
    Parameter(
        "loss_of_remission_confirm_days",
        [14, 28],
        "days",
        "A repeat in this window confirms loss of remission.",
        "Hartl 2015",
        ("REL-01",),
    ),
    # Monitoring schedule (MON-01 phases, A-10)
    Parameter(
        "thiopurine_phase_starts_days",
        [56, 182],
        "days from start",
        "Days after the start (or dose increase) on which phase B (months 3-6) and phase C begin.",
        "S004; days from the MON-01 worked example (B from day 56, C from day 182; its text says 57 and 183)",
        ("MON-01", "MON-06"),
    ),
    Parameter(
        "thiopurine_max_interval_days",
        [14, 31, 92],
        "days",
        "Blood test interval in phases A, B, C.",
        "S004; §0A A-10",
        ("MON-01", "MON-06"),
    ),
    Parameter(
        "thiopurine_overdue_after_days",
        [21, 38, 106],
        "days",
        "Overdue after this many days in phases A, B, C.",
        "§0A A-10 (grace periods are a design proposal)",
        ("MON-01", "MON-06"),
    ),
    Parameter(
        "taper_alt_within_days",
        30,
        "days",
        "ALT expected within this many days of a steroid dose change.",
        "S001",
        ("MON-02",),
    ),
    Parameter(
        "fbc_required_analytes",
        "wbc|neutrophils, platelets",
        "analyte codes",
        "An FBC counts as drawn when each of these is (comma between required analytes, '|' between "
        "alternatives): a lymphocyte count or a haemoglobin alone is not an FBC.",
        "§2.2 Panel FBC; AZA-05/AZA-06 judge the white count (or neutrophils) and platelets (S000, S004)",
        ("MON-01", "MON-06"),
    ),
    Parameter(
        "lft_required_analytes",
        "alt, bilirubin",
        "analyte codes",
        "A thiopurine LFT panel counts as drawn when each of these is: a GGT alone is not an LFT.",
        "§2.2 Panel LFT; AZA-04 and HEP-01..04 read ALT and total bilirubin (S000, S001, S004)",
        ("MON-01",),
    ),
    Parameter(
        "lft_required_analytes_cirrhosis",
        "albumin, inr",
        "analyte codes",
        "Added to the LFT panel's required analytes when the patient is cirrhotic.",
        "§2.2 Panel LFT (+ albumin and INR if cirrhotic)",
        ("MON-01",),
    ),
    Parameter(
        "unscheduled_result_current_days",
        92,
        "days",
        "A result no monitoring schedule asks for counts as current this long (scheduled ones: until overdue).",
        "S004 ('at least quarterly thereafter'); design (issue 14)",
        ("AZA-06", "WD-01"),
    ),
    Parameter(
        "weight_current_months",
        6,
        "months",
        "A weight counts for mg/kg dose checks this long.",
        "design (the spec is silent; issue 14)",
        ("AZA-07", "OTH-03", "OTH-05", "STER-04"),
    ),
    Parameter(
        "weight_current_months_child",
        3,
        "months",
        "A child's weight counts for mg/kg dose checks this long (children grow).",
        "design (the spec is silent; issue 14)",
        ("AZA-07", "OTH-03", "OTH-05", "STER-04"),
    ),
    Parameter(
        "child_below_age_years",
        18,
        "years",
        "Below this age a patient's weight is a child's (weight_current_months_child).",
        "design (the spec is silent; issue 14)",
        ("AZA-07", "OTH-03", "OTH-05", "STER-04"),
    ),
    Parameter("maintenance_alt_interval_days", 92, "days", "ALT at least this often on therapy.", "S004", ("MON-04",)),
    Parameter(
        "maintenance_igg_interval_days",
        183,
        "days",
        "IgG at least this often on therapy.",
        "proposal (E-m)",
        ("MON-04",),
    ),
    Parameter(
        "post_withdrawal_intervals_days",
        [31, 92, 183],
        "days",
        "ALT interval after stopping all therapy: to month 6, to month 12, then.",
        "S001; proposal (E-m)",
        ("MON-05",),
    ),
    Parameter(
        "tacrolimus_interval_days",
        [31, 92],
        "days",
        "Tacrolimus bloods interval: first 3 months, then.",
        "E-m",
        ("MON-07",),
    ),
    Parameter(
        "tacrolimus_trough_range",
        [3.0, 8.0],
        "ng/mL",
        "Tacrolimus target trough.",
        "S004 citing EASL 2025",
        ("OTH-01",),
    ),
    Parameter(
        "metabolite_steady_state_days",
        28,
        "days",
        "Metabolites drawn sooner after a change are not steady state.",
        "§0A A-15 (E-m)",
        ("MON-08",),
    ),
    Parameter(
        "response_week4_window_days",
        [21, 42],
        "days from T0",
        "Window for the week-4 response bloods (ALT + IgG).",
        "IAIHG 2022 time points (E-v); §2.2 MON-03",
        ("MON-03",),
    ),
    Parameter(
        "response_month6_window_months",
        [5, 7],
        "months from T0",
        "Window for the 6-month response bloods (ALT + IgG).",
        "IAIHG 2022 time points (E-v); §2.2 MON-03",
        ("MON-03",),
    ),
    Parameter(
        "response_labs_escalate_days",
        30,
        "days",
        "Missed response bloods become high this many days after the window closed.",
        "§2.2 MON-03",
        ("MON-03",),
    ),
    Parameter(
        "post_withdrawal_phase_months",
        [6, 12],
        "months after stopping",
        "Ends of the monthly and 3-monthly ALT phases after all treatment stopped.",
        "§2.2 MON-05 (proposal, E-m)",
        ("MON-05",),
    ),
    Parameter(
        "tacrolimus_early_months",
        3,
        "months",
        "Tacrolimus bloods follow the shorter interval for this long after the start.",
        "§2.2 MON-07 (E-m)",
        ("MON-07",),
    ),
    # Thiopurine safety
    Parameter(
        "aza_max_bilirubin_umol_l",
        102.6,
        "µmol/L",
        "Do not start AZA at or above this bilirubin (6 mg/dL).",
        "S000, S001; §0A A-11",
        ("AZA-04",),
    ),
    Parameter("aza_min_baseline_wbc", 2.5, "10*9/L", "Do not start AZA below this white count.", "S000", ("AZA-05",)),
    Parameter(
        "aza_min_baseline_platelets", 50.0, "10*9/L", "Do not start AZA below this platelet count.", "S000", ("AZA-05",)
    ),
    Parameter(
        "neutrophil_thresholds",
        [1.5, 1.0, 0.5],
        "10*9/L",
        "Neutrophils below: warning, high, critical.",
        "CTCAE v5.0 (E-m); §0A A-16",
        ("AZA-06",),
    ),
    Parameter(
        "platelet_thresholds",
        [75.0, 50.0, 25.0],
        "10*9/L",
        "Platelets below: warning, high, critical.",
        "CTCAE v5.0 (E-m); §0A A-16",
        ("AZA-06",),
    ),
    Parameter(
        "wbc_thresholds", [3.0, 2.0], "10*9/L", "White cells below: warning, high.", "CTCAE v5.0 (E-m)", ("AZA-06",)
    ),
    Parameter("lymphocyte_threshold", 0.5, "10*9/L", "Lymphocytes below: warning.", "CTCAE v5.0 (E-m)", ("AZA-06",)),
    Parameter(
        "aza_mg_per_kg_range", [1.0, 2.0], "mg/kg/day", "AIH azathioprine dose range.", "S000, S001", ("AZA-07",)
    ),
    Parameter(
        "aza_steroid_lead_in_days", 14, "days", "Suggested steroid lead-in before AZA.", "S000; §0A A-1", ("AZA-09",)
    ),
    Parameter(
        "allopurinol_reduction_window_days",
        28,
        "days",
        "A thiopurine dose reduction this many days or fewer before allopurinol started anticipated it: "
        "AZA-08 judges the dose against the dose before that reduction.",
        "Proposal (E-m): the seeds and the label give no window",
        ("AZA-08",),
    ),
    Parameter(
        "xo_inhibitor_max_aza_fraction",
        0.34,
        "fraction",
        "With allopurinol, AZA above this share of the prior dose.",
        "label (E-m): reduce to ¼-⅓",
        ("AZA-08",),
    ),
    # Metabolites
    Parameter(
        "tgn_low",
        235.0,
        "pmol/8x10^8 RBC",
        "6-TGN below this is low (AIH cut-off 220 selectable).",
        "S004 / Dubinsky 2000; §0A A-14",
        ("TPM-01", "TPM-02", "TPM-05"),
    ),
    Parameter(
        "tgn_high",
        450.0,
        "pmol/8x10^8 RBC",
        "6-TGN above this: myelotoxicity risk (and no longer adequate for TPM-05).",
        "S004",
        ("TPM-03", "TPM-04", "TPM-05"),
    ),
    Parameter(
        "mmp_high",
        5700.0,
        "pmol/8x10^8 RBC",
        "6-MMP above this: hepatotoxicity risk.",
        "S004; Dubinsky 2000",
        ("TPM-02", "TPM-04", "HEP-02"),
    ),
    Parameter(
        "mmp_tgn_ratio_high",
        11.0,
        "ratio",
        "6-MMP/6-TGN above this: preferential methylation.",
        "E-m (IBD)",
        ("TPM-02",),
    ),
    # Hepatotoxicity
    Parameter(
        "hep_alp_uln_multiple",
        2.0,
        "× ULN",
        "ALP at or above this on a thiopurine.",
        "DILI convention (E-m)",
        ("HEP-01",),
    ),
    Parameter(
        "hep_alp_baseline_multiple", 1.5, "× baseline", "ALP rise over pre-AZA baseline.", "proposal", ("HEP-01",)
    ),
    Parameter(
        "hep_r_ratio_mixed_max",
        5.0,
        "R",
        "R below this with raised GGT: cholestatic or mixed.",
        "Aithal 2011 (E-m)",
        ("HEP-01",),
    ),
    Parameter(
        "hep_r_ratio_cholestatic_max",
        2.0,
        "R",
        "R at or below this: cholestatic pattern.",
        "Aithal 2011 (E-m); §2.4 HEP-01, §3.7",
        ("HEP-01",),
    ),
    Parameter(
        "hep_bilirubin_uln_multiple",
        2.0,
        "× ULN",
        "Bilirubin above this: HEP-01 becomes critical; HEP-03 (Hy's-law) pattern.",
        "§2.4 HEP-01, HEP-03; FDA DILI guidance (E-m)",
        ("HEP-01", "HEP-03"),
    ),
    Parameter(
        "hep_alt_uln_multiple",
        3.0,
        "× ULN",
        "ALT at or above this for the Hy's-law pattern.",
        "FDA DILI (E-m)",
        ("HEP-03",),
    ),
    Parameter(
        "hep_early_onset_months",
        3,
        "months",
        "Cholestasis this soon after the thiopurine start makes AZA hepatotoxicity more likely.",
        "S004 ('usually within the first 3 months')",
        ("HEP-01",),
    ),
    Parameter(
        "thiopurine_lab_pairing_days",
        7,
        "days",
        "Results drawn this close together count as one draw (ALT with ALP for R; 6-TGN with 6-MMP).",
        "design (the spec is silent)",
        ("HEP-01", "HEP-02", "HEP-03", "TPM-01", "TPM-02", "TPM-03", "TPM-04", "TPM-05"),
    ),
    Parameter(
        "nrh_min_thiopurine_months",
        6,
        "months",
        "Thiopurine exposure before NRH is considered.",
        "§2.4 HEP-04",
        ("HEP-04",),
    ),
    Parameter(
        "nrh_platelet_fall_fraction",
        0.30,
        "fraction",
        "Platelet fall from the pre-thiopurine baseline suggesting NRH.",
        "§2.4 HEP-04 (proposal)",
        ("HEP-04",),
    ),
    Parameter("nrh_platelet_below", 150.0, "10*9/L", "...to below this count.", "§2.4 HEP-04 (proposal)", ("HEP-04",)),
    Parameter(
        "aza_baseline_labs_max_age_days",
        30,
        "days",
        "Bilirubin and blood count this recent count as the baseline for a planned thiopurine start.",
        "design (the spec is silent)",
        ("AZA-04", "AZA-05"),
    ),
    Parameter(
        "intermediate_metaboliser_max_fraction",
        0.8,
        "fraction",
        "Intermediate metaboliser already on azathioprine: quiet at or below this share of the top AIH mg/kg dose.",
        "CPIC (30-80% of the normal dose); applying it to the AIH 2 mg/kg is design (the spec is silent)",
        ("AZA-03",),
    ),
    Parameter(
        "xo_inhibitor_new_aza_max_mg_per_kg",
        1.0,
        "mg/kg/day",
        "Azathioprine started while allopurinol already runs (no prior dose to compare): above this is unreduced.",
        "design (the spec is silent): about ⅓ of the label's usual maximum of 3 mg/kg/day (E-m)",
        ("AZA-08",),
    ),
    Parameter(
        "aza_timing_info_months",
        3,
        "months",
        "AZA-09 is shown while prescribing and for this long after the thiopurine start.",
        "design (the spec is silent)",
        ("AZA-09",),
    ),
    # Steroids and bone
    Parameter(
        "dexa_baseline_after_days",
        90,
        "days",
        "No DEXA this long after steroid start: baseline due.",
        "§0A A-19 (E-m)",
        ("STER-01",),
    ),
    Parameter("dexa_due_months", 12, "months", "DEXA due this long after the last scan.", "S000, S001", ("STER-01",)),
    Parameter(
        "dexa_overdue_months", 24, "months", "DEXA overdue this long after the last scan.", "S000, S001", ("STER-01",)
    ),
    Parameter("dexa_counts_budesonide", True, "", "Budesonide courses count for DEXA.", "§0A A-19", ("STER-01",)),
    Parameter(
        "prolonged_steroid_mg", 10.0, "mg/day", "Prednisolone-equivalent dose counted as high.", "S001", ("STER-03",)
    ),
    Parameter("prolonged_steroid_months", 18, "months", "Cumulative months above that dose.", "S001", ("STER-03",)),
    Parameter(
        "prednisolone_max_start_mg", 60.0, "mg/day", "Starting-dose ceiling outside AS-AIH.", "S000", ("STER-04",)
    ),
    Parameter(
        "prednisolone_max_mg_per_kg",
        1.0,
        "mg/kg/day",
        "Starting-dose ceiling per kg outside AS-AIH.",
        "S000",
        ("STER-04",),
    ),
    Parameter(
        "recent_start_days",
        28,
        "days",
        "A course recorded from outside the prescribing page (visit log, HL7/FHIR import, admin) that started "
        "this recently gets the prescribing page's pre-start checks, as 'started on D despite ...'.",
        "design (issue 14; the spec is silent)",
        (
            "AZA-01",
            "AZA-02",
            "AZA-03",
            "AZA-04",
            "AZA-05",
            "AZA-07",
            "AZA-08",
            "CI-01",
            "CI-02",
            "CI-03",
            "CI-03b",
            "CI-04",
            "CI-05",
            "CI-06",
            "AZA-09",
            "CI-07",
            "STER-04",
        ),  # fmt: skip
    ),
    Parameter(
        "steroid_start_check_days",
        30,
        "days",
        "The starting-dose check covers planned courses and courses started this recently.",
        "design (the spec is silent)",
        ("STER-04", "OTH-06", "ASA-05"),
    ),
    Parameter(
        "bone_protection_counts_budesonide",
        True,
        "",
        "Budesonide courses need calcium and vitamin D too.",
        "S001 ('all patients ... from treatment initiation'); design (the spec is silent on budesonide)",
        ("STER-02",),
    ),
    Parameter(
        "budesonide_induction_mg",
        9.0,
        "mg/day",
        "Expected budesonide dose during induction (3 mg three times daily).",
        "S000, S001",
        ("STER-05",),
    ),
    Parameter(
        "budesonide_after_response_mg",
        6.0,
        "mg/day",
        "Budesonide dose also accepted once a biochemical response has been reached.",
        "Manns et al. 2010 (E-m)",
        ("STER-05",),
    ),
    Parameter(
        "mmf_pregnancy_test_before_start_days",
        30,
        "days",
        "A negative pregnancy test this long before the mycophenolate start (or later) counts.",
        "design (the spec is silent); FDA mycophenolate REMS asks for a test before starting (E-m)",
        ("CI-05",),
    ),
    Parameter(
        "mmf_pregnancy_test_recent_months",
        12,
        "months",
        "A negative pregnancy test this recent counts while on mycophenolate.",
        "design (the spec is silent)",
        ("CI-05",),
    ),
    Parameter(
        "variant_pbc_r_max",
        2.0,
        "R",
        "R ratio at or below this (cholestatic) with ALP > ULN and AMA: possible AIH-PBC variant.",
        "S000; §3.7 (R ≤ 2 cholestatic)",
        ("OTH-03",),
    ),
    Parameter(
        "variant_pbc_alt_alp_pair_days",
        7,
        "days",
        "ALT drawn this close to the ALP is paired with it for the R ratio.",
        "design (the spec is silent)",
        ("OTH-03",),
    ),
    Parameter("udca_mg_per_kg_range", [13.0, 15.0], "mg/kg/day", "UDCA dose for AIH-PBC variant.", "S000", ("OTH-03",)),
    Parameter("cyclosporine_mg_per_kg_range", [2.0, 5.0], "mg/kg/day", "Ciclosporin dose range.", "S001", ("OTH-05",)),
    Parameter(
        "mercaptopurine_max_mg_per_kg",
        1.5,
        "mg/kg/day",
        "6-mercaptopurine dose ceiling.",
        "S001 (paediatric dose, applied to all ages)",
        ("OTH-05",),
    ),
    Parameter("mmf_dose_range_mg", [1000.0, 2000.0], "mg/day", "MMF dose range.", "S001", ("OTH-02",)),
    # Transplant
    Parameter("meld_version", "meld3", "", "MELD version for LT-01: meld, meld_na or meld3.", "§0A A-8", ("LT-01",)),
    Parameter("meld_referral_above", 15, "points", "Refer when MELD is above this.", "S001; §0A A-8", ("LT-01",)),
    Parameter(
        "child_pugh_referral_above",
        10,
        "points",
        "Refer when Child-Pugh is above this (≥ 11).",
        "S001; §0A A-8",
        ("LT-02",),
    ),
    Parameter(
        "liver_score_labs_recent_days",
        30,
        "days",
        "MELD and Child-Pugh use the latest results only if drawn within this many days.",
        "design (the spec is silent)",
        ("LT-01", "LT-02"),
    ),
    Parameter(
        "child_pugh_visit_recent_days",
        92,
        "days",
        "Child-Pugh takes ascites and HE grade from a clinic visit at most this old.",
        "design (the spec is silent)",
        ("LT-02",),
    ),
    Parameter(
        "decompensation_recent_months",
        12,
        "months",
        "A decompensating event recorded at a visit this recent prompts transplant referral.",
        "design (the spec is silent)",
        ("LT-03",),
    ),
    Parameter(
        "progressive_decompensation_min_therapy_months",
        6,
        "months",
        "Decompensation still present after this long on therapy: 'despite optimised therapy'.",
        "design (the spec is silent)",
        ("LT-06",),
    ),
    Parameter(
        "steroid_dependence_months",
        24,
        "months",
        "Continuous systemic steroid for this long, after second-line therapy: steroid dependence.",
        "design (the spec is silent)",
        ("LT-06",),
    ),
    Parameter(
        "steroid_dependence_min_mg",
        10.0,
        "mg/day",
        "Prednisolone-equivalent dose still needed after that time: steroid dependence.",
        "design (the spec is silent; S001 links > 10 mg/day to complications)",
        ("LT-06",),
    ),
    # Acute severe AIH
    Parameter(
        "asaih_min_inr", 1.5, "INR", "INR at or above this with jaundice and no HE: AS-AIH.", "Rahim 2020", ("ASA-01",)
    ),
    Parameter(
        "asaih_jaundice_bilirubin_umol_l",
        None,
        "µmol/L",
        "Bilirubin above this counts as jaundice; empty = above the ULN (some studies use 45).",
        "Rahim 2020; Biewenga 2020",
        ("ASA-01",),
    ),
    Parameter("asaih_day7_window", [6, 8], "days from day 0", "Day-7 assessment window.", "S000, S001", ("ASA-02",)),
    Parameter(
        "asaih_rise_fraction",
        0.10,
        "fraction",
        "A rise of this much in bilirubin or INR by day 7.",
        "design proposal",
        ("ASA-02",),
    ),
    Parameter(
        "asaih_day14_window", [12, 16], "days from day 0", "Day-14 assessment window.", "Biewenga 2020", ("ASA-03",)
    ),
    Parameter(
        "alf_min_inr",
        2.0,
        "INR",
        "INR at or above this in a severe presentation: assess for encephalopathy today (with encephalopathy it "
        "is acute liver failure; INR alone is not, Rahim).",
        "ALF convention (E-m); encephalopathy required: Rahim (issue 14 spec change)",
        ("ASA-01", "ASA-04"),
    ),
    Parameter(
        "asaih_baseline_max_days",
        7,
        "days",
        "Presentation and day-0 bilirubin/INR must be drawn at most this many days before presentation / day 0.",
        "design (the spec is silent)",
        ("ASA-01", "ASA-02", "ASA-03", "ASA-04"),
    ),
    Parameter(
        "asaih_new_presentation_days",
        28,
        "days",
        "Without a recorded episode, labs are screened for AS-AIH in untreated patients and up to this long after T0.",
        "design (the spec is silent)",
        ("ASA-01",),
    ),
    Parameter(
        "asaih_presentation_lab_days",
        14,
        "days",
        "Screening without a recorded episode uses INR and bilirubin drawn within this many days.",
        "design (the spec is silent)",
        ("ASA-01",),
    ),
    Parameter(
        "asaih_episode_horizon_days",
        90,
        "days",
        "The ASA rules follow an open episode for this long after day 0 (or presentation).",
        "design (the spec is silent)",
        ("ASA-01", "ASA-02", "ASA-03", "ASA-04"),
    ),
    # Withdrawal
    Parameter(
        "withdrawal_min_total_months",
        24,
        "months",
        "Total therapy before a withdrawal discussion.",
        "S000, S001; §0A A-6",
        ("WD-01",),
    ),
    Parameter(
        "withdrawal_min_cbr_months",
        12,
        "months",
        "Sustained CBR before a withdrawal discussion.",
        "S000, S001; §0A A-6",
        ("WD-01",),
    ),
    Parameter(
        "withdrawal_biopsy_prompt", True, "", "Prompt for a biopsy before withdrawal.", "S001; §0A A-6", ("WD-03",)
    ),
    Parameter("withdrawal_biopsy_recent_months", 12, "months", "A biopsy this recent counts.", "S001", ("WD-03",)),
    Parameter(
        "withdrawal_favourable_alt_uln", 0.5, "× ULN", "ALT below this favours withdrawal.", "Hartl 2015", ("WD-02",)
    ),
    Parameter(
        "withdrawal_favourable_igg_max",
        12.0,
        "g/L",
        "IgG at or below this favours withdrawal.",
        "Hartl 2015",
        ("WD-02",),
    ),
    Parameter(
        "histological_remission_hai_below",
        4,
        "HAI /18",
        "Biopsy HAI below this is histological remission; at or above it, not ready to withdraw.",
        "IAIHG 2022 (remission HAI < 4/18)",
        ("WD-03",),
    ),
    # Seed statements beyond the spec's rule ids (monitoring/rules/treatment_choice.py)
    Parameter(
        "thiopurine_rechallenge_severe_grade",
        3,
        "CTCAE grade",
        "An adverse event on azathioprine or 6-MP of this grade or above rules out a thiopurine again "
        "(hepatotoxicity and pancreatitis do at any grade).",
        "S004 §4, §7.1 (severe AZA-induced adverse events); CTCAE v5.0 grade 3 = severe (E-m)",
        ("AZA-11",),
    ),
    Parameter(
        "active_malignancy_months",
        60,
        "months",
        "A malignancy diagnosed this recently counts as active: a thiopurine is not advised (predniso(lo)ne alone).",
        "S000, S001 (active malignancy: prednisone alone); the seeds do not say when a cancer stops being active, "
        "5 years is the usual cancer-free horizon for immunosuppression decisions (design, E-m)",
        ("AZA-12",),
    ),
    Parameter(
        "tacrolimus_start_mg_per_kg",
        0.075,
        "mg/kg/day",
        "Usual tacrolimus starting dose.",
        "S001 ('starting dose 0.075 mg/kg daily'); §2.12 OTH-01, A-18",
        ("OTH-06",),
    ),
    Parameter(
        "tacrolimus_start_tolerance_mg_per_kg",
        0.025,
        "mg/kg/day",
        "A starting dose within this of the usual one is accepted (0.05-0.1 mg/kg/day by default).",
        "design (the seed gives one number; ± a third allows rounding to 0.5 and 1 mg capsules)",
        ("OTH-06",),
    ),
    Parameter(
        "asaih_min_steroid_mg_per_kg",
        1.0,
        "mg/kg/day",
        "Acute severe AIH: the systemic steroid (prednisolone-equivalent) at least this per kg.",
        "S000, S001 ('high-dose intravenous corticosteroids (≥1 mg/kg)'); ACG 2023 accepts 0.5-1 mg/kg (A-3)",
        ("ASA-05",),
    ),
    Parameter(
        "escalation_aza_mg",
        150.0,
        "mg/day",
        "Non-response escalation: azathioprine up to this dose with prednisone is the regimen, not an overdose.",
        "S001 ('prednisone (30 mg daily) with azathioprine (150 mg daily), continued for at least 1 month')",
        ("AZA-07",),
    ),
    Parameter(
        "escalation_steroid_with_aza_mg",
        30.0,
        "mg/day",
        "...with a systemic steroid of at least this prednisolone-equivalent dose.",
        "S001 (prednisone 30 mg daily with azathioprine 150 mg)",
        ("AZA-07",),
    ),
    Parameter(
        "escalation_aza_max_mg_per_kg",
        3.0,
        "mg/kg/day",
        "...and at most this per kg (150 mg is 3 mg/kg at 50 kg): above it the dose is flagged as usual.",
        "design (the seed gives a fixed dose): the azathioprine label's usual maximum of 3 mg/kg/day (E-m)",
        ("AZA-07",),
    ),
    Parameter(
        "metabolite_repeat_after_underexposure_days",
        [14, 28],
        "days after the draw",
        "After low 6-TGN with low 6-MMP, metabolites are due again after the first number and overdue after "
        "the second.",
        "S004 Table 1 ('repeat levels in 2-4 weeks')",
        ("MON-09",),
    ),
    Parameter(
        "post_transplant_alt_interval_days",
        92,
        "days",
        "After a liver transplant, ALT at least this often to detect AIH recurrence.",
        "S004 §7.5.4 (recurrence in up to 30%); design (the seed gives no interval): as maintenance ALT (MON-04)",
        ("LT-07",),
    ),
    Parameter(
        "adherence_confirmed_recent_days",
        92,
        "days",
        "The latest adherence record this recent decides whether full adherence is confirmed (RESP-02's "
        "treatment-failure wording).",
        "S004 ('despite full adherence'); design (the seed gives no interval): one maintenance review interval",
        ("RESP-02",),
    ),
    # Alert handling
    Parameter("snooze_max_days", 30, "days", "Longest a nurse may snooze an alert.", "design (issue: alert queue)"),
    # Clinic dashboard: cohort tiles and quality measures (monitoring/alerts/quality.py). They also use
    # cbr_deadline_months (response deadline and the < / ≥ 6 months split) and dexa_overdue_months.
    Parameter(
        "quality_induction_window_months",
        24,
        "months",
        "Patients induced this recently make up the response and time-to-normalisation measures.",
        "design (issue 5: 'patients induced in the last 2 years')",
    ),
    Parameter(
        "quality_bloods_lookback_months",
        12,
        "months",
        "Scheduled blood draws this recent count for 'bloods done on time' and the missed-bloods tile.",
        "design (the spec is silent)",
    ),
    Parameter(
        "adherence_gap_recent_days",
        90,
        "days",
        "Missed doses reported in adherence records this recent put a patient on the missed-doses tile.",
        "design (the spec is silent; about one clinic review interval, cf. maintenance_alt_interval_days)",
    ),
    # Reference ranges: what a lab's (or the clinic's) upper limit can plausibly be, at every entry path
    Parameter(
        "reference_uln_plausible_factor",
        10.0,
        "× typical ULN",
        "An upper reference limit more than this many times above the analyte's typical upper limit (or "
        "below it divided by this) is refused as impossible (e.g. an ALT ULN of 100000 U/L, or 0): labs' "
        "limits differ from the typical ones by 2-3 times at most. Checked on entry with the declared default.",
        "design (the spec is silent; a careful clinician's bound, §4.1 typical intervals)",
    ),
    # Lab entry on the visit form: when to ask "is the unit right?" (a warning; the user may save anyway)
    Parameter(
        "lab_entry_unit_slip_uln_multiple",
        30.0,
        "× typical ULN",
        "A value entered above this multiple of the analyte's typical upper limit, that would be ordinary "
        "in another accepted unit, is flagged as a likely unit slip (e.g. bilirubin 85 entered as mg/dL).",
        "design (the spec is silent)",
    ),
    Parameter(
        "lab_entry_unit_slip_lln_fraction",
        0.2,
        "× typical lower limit",
        "A value entered below this fraction of the analyte's typical lower limit, that would be ordinary "
        "in another accepted unit, is flagged as a likely unit slip (e.g. haemoglobin 12.5 entered as g/L).",
        "design (the spec is silent)",
    ),
)

BY_KEY: dict[str, Parameter] = {p.key: p for p in PARAMETERS}

# A clinic's value for a numeric parameter stays within this factor of the default either way, and is
# never 0 or negative where the default is positive: a 0 threshold or interval would silence a rule or
# make it fire for everyone (issue 14). Design choice; the spec is silent.
PLAUSIBLE_OVERRIDE_FACTOR = 10


def override_problem(spec: Parameter, value: Any) -> str | None:
    """Why `value` cannot be a clinic's value for `spec` (numbers and lists of numbers), or None."""
    pairs = zip(spec.default, value, strict=False) if isinstance(spec.default, list) else [(spec.default, value)]
    for default, given in pairs:
        if isinstance(default, bool) or not isinstance(default, int | float):
            continue
        if (
            isinstance(given, bool)
            or not isinstance(given, int | float)
            or given != given
            or given
            in (
                float("inf"),
                float("-inf"),
            )
        ):
            return "Give a number."
        if default > 0 and given <= 0:
            return f"Give a number above 0 (the default is {default:g} {spec.unit}).".replace(" )", ")")
        if default > 0 and not default / PLAUSIBLE_OVERRIDE_FACTOR <= given <= default * PLAUSIBLE_OVERRIDE_FACTOR:
            low, high = default / PLAUSIBLE_OVERRIDE_FACTOR, default * PLAUSIBLE_OVERRIDE_FACTOR
            return (
                f"{given:g} is implausible here: give {low:g} to {high:g} {spec.unit} (the default is {default:g})."
            ).replace("  ", " ")
    return None


def defaults() -> dict[str, Any]:
    return {p.key: p.default for p in PARAMETERS}
