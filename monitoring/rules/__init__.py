"""The rule catalogue. Each module registers the rules of one family of clinical-rules.md §2."""

from importlib import import_module

from .base import REGISTRY, Family, Finding, NotEvaluable, RuleSpec, Severity, rule

RULE_MODULES = ("response",)


def load_rules() -> dict[str, RuleSpec]:
    for module in RULE_MODULES:
        import_module(f"{__name__}.{module}")
    return REGISTRY


__all__ = ["REGISTRY", "Family", "Finding", "NotEvaluable", "RuleSpec", "Severity", "load_rules", "rule"]
