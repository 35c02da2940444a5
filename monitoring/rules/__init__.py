"""The rule catalogue. Each module of this package registers the rules of one family of
clinical-rules.md §2 with the @rule decorator; `load_rules()` imports them all."""

import pkgutil
from importlib import import_module

from monitoring.rules.base import REGISTRY, Family, Finding, NotEvaluable, RuleSpec, Severity, rule

# Ids in clinical-rules.md §2 that are not rules of their own, and why.
SPEC_IDS_WITHOUT_OWN_RULE = {
    "RESP-03": "REL-01 (the spec: 'see REL-01 (loss of remission)')",
    "CI-08": "AZA-02 (same patient-problem; the finding says 'also_listed_as': 'CI-08')",
    "CI-09": "AZA-08 (same patient-problem; the finding says 'also_listed_as': 'CI-09')",
    "OTH-04": "a design rule: serology never suppresses a rule (tests/rules/test_other.py)",
}

# Rules that rest on a seed statement the spec gives no rule id of its own (issue 14), and the passage.
SEED_RULES_BEYOND_SPEC = {
    "AZA-11": "S004 §4, §7.1: no thiopurine rechallenge after AZA hepatotoxicity or a severe adverse event",
    "AZA-12": "S000, S001: active malignancy is a reason for predniso(lo)ne alone",
    "AZA-13": "S004 §4 with A-17: high TPMT activity -> watch 6-MMP and liver tests",
    "MON-09": "S004 Table 1: repeat metabolite levels 2-4 weeks after under-exposure",
    "LT-07": "S004 §7.5.4: AIH recurs after liver transplant in up to 30%",
    "OTH-06": "S001: tacrolimus starting dose 0.075 mg/kg/day",
    "ASA-05": "S000, S001: IV corticosteroids >= 1 mg/kg in acute severe AIH",
}

_loaded = False


def load_rules() -> dict[str, RuleSpec]:
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base":
                import_module(f"{__name__}.{module.name}")
        _loaded = True
    return REGISTRY


__all__ = [
    "REGISTRY",
    "SEED_RULES_BEYOND_SPEC",
    "SPEC_IDS_WITHOUT_OWN_RULE",
    "Family",
    "Finding",
    "NotEvaluable",
    "RuleSpec",
    "Severity",
    "load_rules",
    "rule",
]
