"""Count findings whose stored content changes from one day to the next (read-only).

    DATABASE_URL=postgres://... .venv/bin/python bench/finding_churn.py --patients 1000 --as-of 2026-11-27

Evaluates the first --patients active patients at D and at D + --days and compares, per patient
and rule, the content reconcile would store (`monitoring.alerts._content`). A finding that fired
on both days with different content is an alert that would be rewritten (with a history row) that
night. Counts are reported per rule, with one example of each. Nothing is written to the database.
With --same-data the later day sees only the data known on D: what remains is what changes merely
because days passed (threshold dates, or a counter in the content).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aih_tracker.settings")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today(), help="D (default: today)")
    parser.add_argument("--days", type=int, default=1, help="Compare D with D + this many days (default 1).")
    parser.add_argument("--same-data", action="store_true", help="Evaluate D + days on the data known on D.")
    parser.add_argument("--examples", action="store_true", help="Print one changed pair per rule.")
    return parser.parse_args(argv)


def contents(timeline, as_of: date, params) -> dict[str, dict]:
    from monitoring.alerts.reconcile import _content
    from monitoring.engine.evaluate import evaluate

    return {f.rule_id: _content(f) for f in evaluate(timeline, as_of, params).findings}


def main(argv=None) -> None:
    args = parse_args(argv)
    import django

    django.setup()
    from monitoring.clinic_parameters import parameters_for_clinic
    from monitoring.engine.loader import load_timelines
    from monitoring.rules.base import truncate
    from patients.models import Patient

    later = args.as_of + timedelta(days=args.days)
    rows = Patient.objects.active().order_by("pk").values_list("pk", "clinic_id")[: args.patients]
    clinic_of = dict(rows)
    params = {clinic: parameters_for_clinic(clinic) for clinic in set(clinic_of.values())}
    timelines = load_timelines(list(clinic_of))

    both = changed = 0
    patients_changed = set()
    by_rule: Counter[str] = Counter()
    examples: dict[str, tuple[dict, dict]] = {}
    for patient_id, timeline in timelines.items():
        before = contents(timeline, args.as_of, params[clinic_of[patient_id]])
        known = truncate(timeline, args.as_of) if args.same_data else timeline
        after = contents(known, later, params[clinic_of[patient_id]])
        for rule_id in before.keys() & after.keys():
            both += 1
            if before[rule_id] != after[rule_id]:
                changed += 1
                patients_changed.add(patient_id)
                by_rule[rule_id] += 1
                examples.setdefault(rule_id, (before[rule_id], after[rule_id]))

    print(f"{len(timelines)} patients, {args.as_of} vs {later}: {both} findings on both days, "
          f"{changed} with different content ({len(patients_changed)} patients)")  # fmt: skip
    for rule_id, count in sorted(by_rule.items()):
        print(f"  {rule_id}: {count}")
        if args.examples:
            old, new = examples[rule_id]
            for key in old:
                if old[key] != new[key]:
                    print(f"    {key}:\n      D   {old[key]!r}\n      D+{args.days} {new[key]!r}")


if __name__ == "__main__":
    main()
