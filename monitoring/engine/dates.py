"""Date arithmetic the rules and the schedule share (months by the calendar, days by count)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta


def months_after(day: date, months: int) -> date:
    return day + relativedelta(months=months)


def days_between(start: date, end: date) -> int:
    return (end - start).days


def days_after(day: date, days: int) -> date:
    return day + timedelta(days=days)


def clinical_date(moment: datetime, zone: str | tzinfo) -> date:
    """The clinical date of a result: its collection time as a calendar day in the clinic's time zone.

    A draw at 00:30 in Paris (23:30 UTC the day before) is dated the Paris day. A time without a zone is
    taken as UTC (how the database returns stored times without zone support).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone).date()
