"""The rule catalogue. Each module of this package registers the rules of one family of
clinical-rules.md §2 with the @rule decorator; `load_rules()` imports them all."""

import pkgutil
from importlib import import_module

from .base import REGISTRY, Family, Finding, NotEvaluable, RuleSpec, Severity, rule

_loaded = False


def load_rules() -> dict[str, RuleSpec]:
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            if module.name != "base":
                import_module(f"{__name__}.{module.name}")
        _loaded = True
    return REGISTRY


__all__ = ["REGISTRY", "Family", "Finding", "NotEvaluable", "RuleSpec", "Severity", "load_rules", "rule"]
