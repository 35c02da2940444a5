"""Code systems and the codes FHIR import and export map (one place, shared by both directions).

RxNorm ingredient codes live with the drugs in regimens/catalogue.py (`Drug.rxnorm`); LOINC
codes with the analytes in monitoring/catalogue.py (`Analyte.loinc` / `other_loincs`).
"""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"

# Our own code systems, for what has no standard code (analytes without LOINC, drugs without
# RxNorm, rule ids, stop reasons, cirrhosis basis). Import reads them back (round trip).
OURS = "urn:aih-tracker"
OUR_ANALYTE = f"{OURS}:analyte"
OUR_DRUG = f"{OURS}:drug"
OUR_RULE = f"{OURS}:rule"
OUR_STOP_REASON = f"{OURS}:stop-reason"
OUR_CIRRHOSIS_BASIS = f"{OURS}:cirrhosis-basis"
OUR_MRN = f"{OURS}:mrn"
OUR_LAB_SOURCE = f"{OURS}:lab"

BODY_WEIGHT_LOINC = "29463-7"

# SNOMED CT concepts the clinic records, and what each becomes.
AIH_SNOMED = "408335007"  # autoimmune hepatitis -> Patient.diagnosis_date
CIRRHOSIS_SNOMED = "19943007"  # cirrhosis of liver -> Patient.cirrhosis_diagnosed_on
PREGNANCY_SNOMED = "77386006"  # pregnancy -> PregnancyEpisode
CONDITION_NAMES = {
    AIH_SNOMED: "Autoimmune hepatitis",
    CIRRHOSIS_SNOMED: "Cirrhosis of liver",
    PREGNANCY_SNOMED: "Pregnancy",
}

DEXA_SNOMED = "312681000"  # bone densitometry -> DexaScan
LIVER_BIOPSY_SNOMED = "86259008"  # biopsy of liver -> LiverBiopsy
PROCEDURE_NAMES = {DEXA_SNOMED: "Bone densitometry", LIVER_BIOPSY_SNOMED: "Biopsy of liver"}

# Body weight units -> kg.
WEIGHT_UNITS = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}

# Dose units -> mg.
DOSE_UNITS = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001, "µg": 0.001}

# timing.repeat.periodUnit -> days.
PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0, "min": 1 / 1440, "s": 1 / 86400}

# timing.code (v3 GTSAbbreviation) -> administrations per day.
TIMING_CODES_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "AM": 1.0, "PM": 1.0, "QOD": 0.5}

# What the engine's safety rules need besides labs and drugs, exchanged so that a round trip gives
# the same alerts: TPMT / NUDT15, hepatitis A/B immunity, vaccinations, acute severe AIH episodes.
OUR_PHARMACOGENETICS = f"{OURS}:pharmacogenetics"  # codes: tpmt, nudt15 (value: phenotype)
OUR_PHENOTYPE = f"{OURS}:metaboliser-phenotype"
OUR_PGX_PART = f"{OURS}:pharmacogenetics-part"  # component codes: activity, genotype
OUR_IMMUNITY = f"{OURS}:hepatitis-immunity"  # codes: hav, hbv (value: immunity status)
OUR_IMMUNITY_STATUS = f"{OURS}:immunity-status"
OUR_CONDITION = f"{OURS}:condition"  # code: acute-severe-aih
ACUTE_SEVERE = "acute-severe-aih"
STEROID_DAY0_URL = f"{OURS}:steroid-day0"
ENCEPHALOPATHY_URL = f"{OURS}:hepatic-encephalopathy"

CVX = "http://hl7.org/fhir/sid/cvx"
# CVX vaccine codes -> our vaccine kinds (hepatitis A, hepatitis B, combined A + B).
CVX_VACCINES = {
    "52": "hav",
    "83": "hav",
    "84": "hav",
    "85": "hav",
    "31": "hav",
    "08": "hbv",
    "42": "hbv",
    "43": "hbv",
    "44": "hbv",
    "45": "hbv",
    "189": "hbv",
    "104": "hav_hbv",
}
CVX_FOR_VACCINE = {"hav": "85", "hbv": "45", "hav_hbv": "104"}
