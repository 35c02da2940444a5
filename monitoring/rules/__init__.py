"""The rule catalogue. Each module of this package registers the rules of one family of
clinical-rules.md §2 with the @rule decorator; `load_rules()` imports them all."""

import pkgutil
from importlib import import_module

from .base import REGISTRY, Family, Finding, NotEvaluable, RuleSpec, Severity, rule


def load_rules() -> dict[str, RuleSpec]:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            import_module(f"{__name__}.{module.name}")
    return REGISTRY


__all__ = ["REGISTRY", "Family", "Finding", "NotEvaluable", "RuleSpec", "Severity", "load_rules", "rule"]
