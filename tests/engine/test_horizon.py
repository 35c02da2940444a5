"""How long an evaluation holds (monitoring/engine/horizon.py): exact flip days, and never a day too late."""

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitoring.alerts.reconcile import _content
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.engine.evaluate import evaluate
from monitoring.engine.horizon import derived, plain, tracked_as_of
from monitoring.engine.loader import load_timelines
from patients.demo_cohort import SCENARIOS, seed_demo_cohort
from patients.models import Patient

TODAY = date(2026, 11, 27)


def whole_months(start: date, end):
    """Completed months, as a rule would count them: followed through `derived`."""
    return derived(lambda day: relativedelta(day, start).years * 12 + relativedelta(day, start).months, end)


CAP = 400


def first_change(compute) -> date:
    """The horizon of `compute(as_of)` run on a tracked 2026-11-27, capped at 400 days."""
    as_of, clock = tracked_as_of(TODAY, CAP)
    plain(compute(as_of))
    return clock.holds_until


def brute_force(compute) -> date:
    """The first later day on which `compute` gives another result, by trying every day."""
    today = compute(TODAY)
    for offset in range(1, CAP):
        if compute(TODAY + timedelta(days=offset)) != today:
            return TODAY + timedelta(days=offset)
    return TODAY + timedelta(days=CAP)


CASES = [
    # (what a rule computes from the as-of date, why)
    ("due on a date", lambda d: d >= date(2026, 12, 10)),
    ("reverse comparison", lambda d: date(2026, 12, 10) > d),
    ("strictly after", lambda d: d > date(2026, 12, 10)),
    ("already past: never changes", lambda d: d > date(2026, 1, 1)),
    ("window start 90 days back passes a result", lambda d: date(2026, 9, 1) >= d - timedelta(days=90)),
    ("days since a result over 100", lambda d: (d - date(2026, 8, 30)).days > 100),
    ("days until a date", lambda d: (date(2027, 1, 5) - d).days <= 14),
    ("whole months since a start", lambda d: whole_months(date(2025, 3, 31), d)),
    ("months since a start reach 24", lambda d: whole_months(date(2024, 12, 30), d) >= 24),
    ("six months back passes a biopsy", lambda d: date(2026, 6, 3) >= d - relativedelta(months=6)),
    ("plus a month", lambda d: d + relativedelta(months=1) > date(2027, 1, 2)),
    (
        "age on the date (birthday 2 Feb)",
        lambda d: derived(lambda day: day.year - 1970 - ((day.month, day.day) < (2, 2)), d),
    ),
    ("printed date", lambda d: f"as of {d}"),
    ("isoformat", lambda d: d.isoformat()),
    ("day count printed", lambda d: f"{(d - date(2026, 11, 1)).days} days"),
    ("equal to a date", lambda d: d == date(2026, 12, 3)),
    ("nearest by distance", lambda d: abs((date(2026, 12, 20) - d).days) < 10),
    ("weeks as a float", lambda d: (d - date(2026, 10, 1)).days / 7 > 10.5),
    ("a span plus days", lambda d: (d - date(2026, 11, 1)) + timedelta(days=3) > timedelta(days=40)),
    ("a span in weeks", lambda d: (d - date(2026, 10, 1)) / timedelta(weeks=1) >= 10),
    ("a negated span", lambda d: -(d - date(2026, 11, 1)) < timedelta(days=-20)),
    ("twice a day count", lambda d: 2 * (d - date(2026, 11, 1)).days - 5 > 60),
    ("as a dict key", lambda d: {date(2026, 11, 27): "today"}.get(d)),
    ("minimum of two dates", lambda d: min(d, date(2026, 12, 24)) == date(2026, 12, 24)),
    ("sum of day counts", lambda d: sum([(d - date(2026, 11, 20)).days, 3]) >= 20),
    ("month of the date", lambda d: d.month),
    ("year of the date", lambda d: d.year >= 2027),
]
# Not followed (frozen): the horizon ends when the value itself changes, earlier than needed but safe.
FROZEN = [
    ("days as a plain int", lambda d: int((d - date(2026, 11, 20)).days) // 10),
    ("day of the month", lambda d: d.day > 0),
    ("remainder of a day count", lambda d: (d - date(2026, 11, 1)).days % 7 == 0),
]


@pytest.mark.parametrize(("compute", "why"), [(c, w) for w, c in CASES], ids=[w for w, _ in CASES])
def test_the_horizon_is_the_first_day_the_result_changes_or_earlier(compute, why):
    as_of, _ = tracked_as_of(TODAY, CAP)
    assert plain(compute(as_of)) == compute(TODAY)  # a tracked date computes what a plain one does
    horizon, truth = first_change(compute), brute_force(compute)
    assert horizon <= truth, why  # never later than the real change
    assert horizon == truth, why  # and, for what is followed exactly, not earlier either


@pytest.mark.parametrize(("compute", "why"), [(c, w) for w, c in FROZEN], ids=[w for w, _ in FROZEN])
def test_what_is_not_followed_ends_the_horizon_when_it_changes(compute, why):
    as_of, _ = tracked_as_of(TODAY, CAP)
    assert plain(compute(as_of)) == compute(TODAY)
    assert first_change(compute) == TODAY + timedelta(days=1) <= brute_force(compute), why


def test_the_cap_bounds_the_horizon():
    as_of, clock = tracked_as_of(TODAY, 28)
    assert (as_of > date(2020, 1, 1)) is True
    assert clock.holds_until == TODAY + timedelta(days=28)


# -- the rules, end to end ---------------------------------------------------------------------------

SEEDED_ON = date(2026, 11, 2)


@pytest.fixture(scope="module")
def cohort(django_db_setup, django_db_blocker):
    """The demo scenarios and a random mix: (timeline, parameters) pairs with years of history."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed_demo_cohort(patients=len(SCENARIOS) + 30, seed=7, as_of=SEEDED_ON)
        ids = list(Patient.objects.values_list("pk", flat=True))
        timelines = list(load_timelines(ids).values())
        params = {t.clinic_id: parameters_for_clinic(t.clinic_id) for t in timelines}
        yield [(t, params[t.clinic_id]) for t in timelines]
        transaction.set_rollback(True)


def content(evaluation) -> list:
    return sorted((f.rule_id, repr(_content(f))) for f in evaluation.findings)


@pytest.mark.django_db
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_findings_are_the_same_on_every_day_before_the_horizon(cohort, data):
    """Spec issue 3 (the sweep at scale): skipping a patient until the horizon must miss nothing."""
    timeline, params = data.draw(st.sampled_from(cohort), label="patient")
    as_of = SEEDED_ON - timedelta(days=data.draw(st.integers(0, 8 * 365), label="days before seeding"))
    held = evaluate(timeline, as_of, params, horizon_days=60)
    assert content(held) == content(evaluate(timeline, as_of, params))  # tracking changes nothing
    span = (held.holds_until - as_of).days
    days = {1, 2, span - 1, span // 2} | set(data.draw(st.lists(st.integers(1, max(1, span - 1)), max_size=3)))
    for offset in sorted(day for day in days if 0 < day < span):
        later = evaluate(timeline, as_of + timedelta(days=offset), params)
        assert content(later) == content(held), f"changed {offset} days after {as_of}, horizon {span} days"
