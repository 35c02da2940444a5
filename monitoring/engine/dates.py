"""Date arithmetic the rules and the schedule share (months by the calendar, days by count)."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def months_after(day: date, months: int) -> date:
    return day + relativedelta(months=months)


def days_between(start: date, end: date) -> int:
    return (end - start).days


def days_after(day: date, days: int) -> date:
    return day + timedelta(days=days)
