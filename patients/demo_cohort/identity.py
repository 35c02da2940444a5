"""Identity: demo MRNs, the scenario keys, and what each scenario patient is called and noted as.

Patient i has MRN `DEMO-<i:05d>`; indexes 1..len(SCENARIOS) are the built-in scenarios in the order
of SCENARIOS, each with a fixed family name and its one-line description in `Patient.notes`.
"""

from __future__ import annotations

MRN_PREFIX = "DEMO-"
SCENARIO_NOTE_PREFIX = "Demo scenario: "
PROFILE_NOTE_PREFIX = "Demo profile: "
PHYSICIAN_USERNAME = "physician"

SCENARIOS: tuple[str, ...] = (
    "complete_responder",
    "insufficient_responder",
    "relapse_after_withdrawal",
    "aza_cholestatic_hepatotoxicity",
    "hypermethylator",
    "tpmt_intermediate",
    "cirrhotic_on_budesonide",
    "pregnant_on_mmf",
    "acute_severe_aih",
    "non_adherent",
    "steroid_needs_dexa",
)

# A recognisable family name per scenario (the given name is random).
SCENARIO_FAMILY_NAMES: dict[str, str] = {
    "complete_responder": "Goodwin",
    "insufficient_responder": "Halfpenny",
    "relapse_after_withdrawal": "Backhouse",
    "aza_cholestatic_hepatotoxicity": "Yellowley",
    "hypermethylator": "Methven",
    "tpmt_intermediate": "Middleton",
    "cirrhotic_on_budesonide": "Budd",
    "pregnant_on_mmf": "Mumford",
    "acute_severe_aih": "Sharpe",
    "non_adherent": "Missen",
    "steroid_needs_dexa": "Bone",
}

SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "complete_responder": "Prednisolone taper and azathioprine; ALT and IgG normal by month 3-5 and since.",
    "insufficient_responder": "ALT 1.5-2x ULN and IgG above ULN at month 5-7 (RESP-02).",
    "relapse_after_withdrawal": "Three years of therapy, withdrawn in remission; ALT now >= 3x ULN (REL-02/REL-03).",
    "aza_cholestatic_hepatotoxicity": "Cholestatic ALP/GGT rise in month 2 of azathioprine, R <= 2 (HEP-01).",
    "hypermethylator": "6-TGN ~180 with 6-MMP ~9500 pmol/8x10^8 RBC on azathioprine (TPM-02).",
    "tpmt_intermediate": "TPMT intermediate metaboliser on a reduced azathioprine dose (AZA-03).",
    "cirrhotic_on_budesonide": "Cirrhosis with an active budesonide 9 mg/day course (CI-01).",
    "pregnant_on_mmf": "Ongoing pregnancy on mycophenolate mofetil (CI-04).",
    "acute_severe_aih": "Acute severe AIH; bilirubin and INR not improved at day 7 (ASA-02).",
    "non_adherent": "Missed doses, bloods overdue (MON-01), low 6-TGN with low 6-MMP (TPM-01).",
    "steroid_needs_dexa": "On prednisolone for more than 90 days without a DEXA scan (STER-01).",
}


def demo_mrn(index: int) -> str:
    return f"{MRN_PREFIX}{index:05d}"


def scenario_mrn(key: str) -> str:
    return demo_mrn(SCENARIOS.index(key) + 1)


def demo_index(mrn: str) -> int | None:
    """The generator index behind a demo MRN, or None for any other MRN."""
    if not mrn.startswith(MRN_PREFIX) or not mrn[len(MRN_PREFIX) :].isdigit():
        return None
    return int(mrn[len(MRN_PREFIX) :])
