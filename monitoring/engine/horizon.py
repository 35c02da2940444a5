"""How long an evaluation holds: the first later day on which its findings could come out differently.

Rules are pure functions of (timeline, as-of date). The only thing that changes from one night to the
next, when no data changed, is the as-of date. So `evaluate(..., horizon=True)` hands the rules an
as-of date that remembers what was done with it: every comparison, every day or month count, every
date printed into a message. Each such use is a monotone function of the evaluation day, so the first
later day on which its result would differ can be found exactly (a binary search over days); the
evaluation holds until the earliest of them. The nightly sweep then re-evaluates a patient only when
their data changed, their horizon has come, or the parameters or rules changed (monitoring/evaluation.py).

Anything done with a tracked value that cannot be followed (an operation that is not monotone in the
day, a conversion to a plain number or string) "freezes" it: the horizon is cut at the first day on
which that value itself changes, and the plain value is used from then on. Freezing is always safe,
only earlier than needed. `tests/engine/test_horizon.py` checks, over demo timelines and random dates, that
evaluating on any day before the horizon gives exactly the findings of the first day.

Values are tracked as functions of the day's ordinal: `_at(day) -> plain value`, non-decreasing
(`_dir = 1`) or non-increasing (`_dir = -1`) in the day.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta


class Clock:
    """One evaluation's as-of day and the first later day on which something it computed changes."""

    def __init__(self, as_of: date, max_days: int):
        self.start = as_of.toordinal()
        self.until = self.start + max(1, max_days)  # results hold on [start, until)

    @property
    def holds_until(self) -> date:
        """The first day on which the evaluation must run again (exclusive end of what it showed)."""
        return date.fromordinal(self.until)

    def change_on(self, day: int) -> None:
        if self.start < day < self.until:
            self.until = day

    def first_change(self, holds: Callable[[int], bool], today: bool) -> None:
        """Cut the horizon where `holds(day)` stops being `today`. `holds` is monotone in the day
        (it switches at most once), so checking the last day tells whether it switches at all."""
        low, high = self.start + 1, self.until - 1
        if low > high or holds(high) == today:
            return
        while low < high:
            middle = (low + high) // 2
            if holds(middle) != today:
                high = middle
            else:
                low = middle + 1
        self.change_on(low)


def tracked_as_of(as_of: date, max_days: int) -> tuple[TrackedDate, Clock]:
    clock = Clock(as_of, max_days)
    return TrackedDate(clock, date.fromordinal, 1, shift=0), clock


def derived(function: Callable[[Any], Any], day: Any, direction: int = 1) -> Any:
    """`function(day)`; for a tracked day, a tracked value following it. `function` must be monotone
    in the day: non-decreasing (direction 1, e.g. an age or a count of whole months) or non-increasing.
    A function returning a tuple gives a tuple of tracked values, each monotone the same way."""
    if not isinstance(day, Tracked):
        return function(day)
    results: dict[int, Any] = {}

    def at(d: int) -> Any:
        if d not in results:
            results[d] = function(day._at(d))
        return results[d]

    today = at(day._clock.start)
    if isinstance(today, tuple):
        return tuple(_track(day._clock, lambda d, i=i: at(d)[i], day._dir * direction) for i in range(len(today)))
    return _track(day._clock, at, day._dir * direction)


def plain(value: Any) -> Any:
    """The value with every tracked part frozen (the horizon cut where it would change)."""
    if isinstance(value, Tracked):
        return value._freeze()
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(item) for item in value)
    return value


class Tracked:
    """Mixin of the tracked date, timedelta, int and float: a value and how it moves with the day."""

    _clock: Clock
    _at: Callable[[int], Any]
    _dir: int
    _shift: int | None = None  # dates and day counts that are exactly the as-of day + a constant
    _zero: Any = 0  # what is false (a date never is: see TrackedDate.__bool__)

    def _value(self) -> Any:
        return self._at(self._clock.start)

    def _freeze(self) -> Any:
        """Give up following the value: the horizon ends the first day it changes."""
        today = self._value()
        self._clock.first_change(lambda d: self._at(d) == today, True)
        return today

    def _compare(self, other: Any, op: Callable[[Any, Any], bool]) -> bool:
        if self._shift is not None and (type(other) is date or type(other) is int):
            return self._compare_shifted(other, op)
        return self._compare_generic(other, op)

    def _compare_generic(self, other: Any, op: Callable[[Any, Any], bool]) -> bool:
        today_self = self._value()
        if isinstance(other, Tracked):
            today_other = other._value()
            result = op(today_self, today_other)
            if self._shift is not None and other._shift is not None and self._dir == other._dir:
                return result  # the same day plus two constants: the comparison never changes
            if self._dir != other._dir:  # one rises, the other falls: the comparison switches once
                self._clock.first_change(lambda d: op(self._at(d), other._at(d)), result)
            else:
                self._freeze()
                other._freeze()
            return result
        result = op(today_self, other)
        if op is operator.eq or op is operator.ne:
            # Equality can start and stop; cut where the value reaches or leaves `other` (safe, maybe early).
            if today_self == other:
                self._clock.first_change(lambda d: self._at(d) == other, True)
            elif today_self < other:
                self._clock.first_change(lambda d: self._at(d) < other, True)
            else:
                self._clock.first_change(lambda d: self._at(d) > other, True)
            return result
        self._clock.first_change(lambda d: op(self._at(d), other), result)
        return result

    def _compare_shifted(self, other: date | int, op: Callable[[Any, Any], bool]) -> bool:
        """The common case, worked out directly: (the day + a constant) against a fixed date or number."""
        if self._dir != 1:
            return self._compare_generic(other, op)
        shift = self._shift
        target = other.toordinal() if type(other) is date else other
        value = self._clock.start + shift
        if op is operator.lt or op is operator.ge:
            self._clock.change_on(target - shift)  # the first day on which day + shift >= target
        elif op is operator.le or op is operator.gt:
            self._clock.change_on(target - shift + 1)  # the first day on which day + shift > target
        else:  # equality starts when the value reaches the target, ends the day after
            self._clock.change_on(target - shift if value < target else target - shift + 1)
        return op(value, target)

    def _combine(self, other: Any, op: Callable[[Any, Any], Any], direction: int) -> Any:
        """A tracked result of `op(self, other)` for a plain `other`, moving in `direction` × self's."""
        at = self._at
        return _track(self._clock, lambda d: op(at(d), other), self._dir * direction)

    def _combine_tracked(self, other: Tracked, op: Callable[[Any, Any], Any], same_direction: bool) -> Any:
        """`op` of two tracked values; followed when the result stays monotone (a sum of values moving
        the same way, a difference of values moving opposite ways), frozen otherwise."""
        if (self._dir == other._dir) == same_direction:
            a, b = self._at, other._at
            return _track(self._clock, lambda d: op(a(d), b(d)), self._dir)
        return op(self._freeze(), other._freeze())

    # Comparisons (for a plain left operand, Python asks the tracked subclass first).
    def __lt__(self, other):
        return self._compare(other, operator.lt) if _comparable(self, other) else NotImplemented

    def __le__(self, other):
        return self._compare(other, operator.le) if _comparable(self, other) else NotImplemented

    def __gt__(self, other):
        return self._compare(other, operator.gt) if _comparable(self, other) else NotImplemented

    def __ge__(self, other):
        return self._compare(other, operator.ge) if _comparable(self, other) else NotImplemented

    def __eq__(self, other):
        return self._compare(other, operator.eq) if _comparable(self, other) else NotImplemented

    def __ne__(self, other):
        return self._compare(other, operator.ne) if _comparable(self, other) else NotImplemented

    def __hash__(self):
        return hash(self._freeze())

    def __bool__(self):
        return self != self._zero

    def __str__(self):
        return str(self._freeze())

    def __repr__(self):
        return repr(self._freeze())

    def __format__(self, spec):
        return format(self._freeze(), spec)

    def __reduce__(self):
        return (_identity, (self._freeze(),))


def _identity(value):
    return value


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, date):
        return isinstance(b, date)
    if isinstance(a, timedelta):
        return isinstance(b, timedelta)
    return isinstance(b, int | float)


def _track(clock: Clock, at: Callable[[int], Any], direction: int, shift: int | None = None) -> Any:
    """A tracked value of whatever type `at` returns; plain if that type cannot be tracked."""
    today = at(clock.start)
    if direction == 0:
        return today
    if isinstance(today, date):
        return TrackedDate(clock, at, direction, shift)
    if isinstance(today, timedelta):
        return TrackedDelta(clock, at, direction, shift)
    if isinstance(today, bool):
        clock.first_change(lambda d: at(d) == today, True)
        return today
    if isinstance(today, int):
        return TrackedInt(clock, at, direction, shift)
    if isinstance(today, float):
        return TrackedFloat(clock, at, direction)
    clock.first_change(lambda d: at(d) == today, True)
    return today


def _init(self, clock, at, direction, shift=None):
    self._clock, self._at, self._dir, self._shift = clock, at, direction, shift


class TrackedDate(Tracked, date):
    def __new__(cls, clock: Clock, at, direction: int, shift: int | None = None):
        today = at(clock.start)
        self = date.__new__(cls, today.year, today.month, today.day)
        _init(self, clock, at, direction, shift)
        return self

    def __bool__(self):
        return True

    def __add__(self, other):
        if isinstance(other, Tracked):
            if isinstance(other, TrackedDelta):
                return self._combine_tracked(other, operator.add, same_direction=True)
            return NotImplemented
        if isinstance(other, timedelta):
            shift = None if self._shift is None else self._shift + other.days
            at = self._at
            return _track(self._clock, lambda d: at(d) + other, self._dir, shift)
        if isinstance(other, relativedelta):  # adding months or years keeps the order of dates
            return self._combine(other, operator.add, 1)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, TrackedDate):
            if self._shift is not None and other._shift is not None and self._dir == other._dir:
                return timedelta(days=self._shift - other._shift)
            return self._combine_tracked(other, operator.sub, same_direction=False)
        if isinstance(other, Tracked):
            if isinstance(other, TrackedDelta):
                return self._combine_tracked(other, operator.sub, same_direction=False)
            return NotImplemented
        if isinstance(other, date):
            shift = None if self._shift is None else self._shift - other.toordinal()
            at = self._at
            return _track(self._clock, lambda d: at(d) - other, self._dir, shift)
        if isinstance(other, timedelta):
            return self + (-other)
        if isinstance(other, relativedelta):
            return self._combine(other, operator.sub, 1)
        return NotImplemented

    def __rsub__(self, other):
        if isinstance(other, date) and not isinstance(other, Tracked):
            at = self._at
            return _track(self._clock, lambda d: other - at(d), -self._dir)
        return NotImplemented

    # What a date is made of: followed where monotone, frozen where not.
    @property
    def year(self):
        at = self._at
        return _track(self._clock, lambda d: at(d).year, self._dir)

    @property
    def month(self):
        at, today = self._at, self._value()
        self._clock.first_change(lambda d: (at(d).year, at(d).month) == (today.year, today.month), True)
        return today.month

    @property
    def day(self):
        return self._freeze().day

    def toordinal(self):
        at = self._at
        return _track(self._clock, lambda d: at(d).toordinal(), self._dir, self._shift)

    def weekday(self):
        return self._freeze().weekday()

    def isoweekday(self):
        return self._freeze().isoweekday()

    def isocalendar(self):
        return self._freeze().isocalendar()

    def isoformat(self):
        return self._freeze().isoformat()

    def strftime(self, fmt):
        return self._freeze().strftime(fmt)

    def timetuple(self):
        return self._freeze().timetuple()

    def ctime(self):
        return self._freeze().ctime()

    def replace(self, *args, **kwargs):
        return self._freeze().replace(*args, **kwargs)


class _Arithmetic(Tracked):
    """Sums, differences and scaling of a tracked span or number: kept monotone where they can be,
    frozen where not. `_operands` are the plain types it adds to and subtracts from."""

    _operands: tuple[type, ...] = ()

    def __add__(self, other):
        if isinstance(other, Tracked):
            return self._combine_tracked(other, operator.add, same_direction=True)
        if isinstance(other, self._operands):
            return self._combine(other, operator.add, 1)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Tracked):
            return self._combine_tracked(other, operator.sub, same_direction=False)
        if isinstance(other, self._operands) and not isinstance(other, date):
            return self._combine(other, operator.sub, 1)
        return NotImplemented

    def __rsub__(self, other):
        if isinstance(other, self._operands) and not isinstance(other, Tracked):
            at = self._at
            return _track(self._clock, lambda d: other - at(d), -self._dir)
        return NotImplemented

    def __neg__(self):
        return self._combine(None, lambda value, _: -value, -1)

    def __pos__(self):
        return self

    def __abs__(self):
        return _absolute(self, self._zero)

    def __mul__(self, other):
        return _scaled(self, other, operator.mul)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return _scaled(self, other, operator.truediv)

    def __floordiv__(self, other):
        return _scaled(self, other, operator.floordiv)

    def __mod__(self, other):
        return self._freeze() % other

    def __divmod__(self, other):
        return divmod(self._freeze(), other)


class _TrackedNumber(_Arithmetic):
    """A tracked int or float: the arithmetic above, plus the conversions (which freeze)."""

    _operands = (int, float)

    def __rtruediv__(self, other):
        return other / self._freeze()

    def __rfloordiv__(self, other):
        return other // self._freeze()

    def __rmod__(self, other):
        return other % self._freeze()

    def __pow__(self, other, modulo=None):
        return pow(self._freeze(), other, modulo)

    def __rpow__(self, other):
        return other ** self._freeze()

    def __round__(self, ndigits=None):
        return self._combine(ndigits, round, 1)

    def __floor__(self):
        import math

        return self._combine(None, lambda value, _: math.floor(value), 1)

    def __ceil__(self):
        import math

        return self._combine(None, lambda value, _: math.ceil(value), 1)

    def __trunc__(self):
        return int(self._freeze())

    def __int__(self):
        return int(self._freeze())

    def __float__(self):
        return float(self._freeze())

    def __index__(self):
        return operator.index(self._freeze())

    # Bitwise operations on a day count: not followed.
    def __and__(self, other):
        return self._freeze() & other

    def __or__(self, other):
        return self._freeze() | other

    def __xor__(self, other):
        return self._freeze() ^ other

    def __lshift__(self, other):
        return self._freeze() << other

    def __rshift__(self, other):
        return self._freeze() >> other


class TrackedDelta(_Arithmetic, timedelta):
    """A span of days that moves with the evaluation day (as-of minus a date, or a date minus as-of)."""

    _zero = timedelta(0)
    _operands = (timedelta, date)

    def __new__(cls, clock: Clock, at, direction: int, shift: int | None = None):
        today = at(clock.start)
        self = timedelta.__new__(cls, today.days, today.seconds, today.microseconds)
        _init(self, clock, at, direction, shift)
        return self

    @property
    def days(self):
        at = self._at
        return _track(self._clock, lambda d: at(d).days, self._dir, self._shift)

    def total_seconds(self):
        at = self._at
        return _track(self._clock, lambda d: at(d).total_seconds(), self._dir)


class TrackedInt(_TrackedNumber, int):
    def __new__(cls, clock: Clock, at, direction: int, shift: int | None = None):
        self = int.__new__(cls, at(clock.start))
        _init(self, clock, at, direction, shift)
        return self


class TrackedFloat(_TrackedNumber, float):
    def __new__(cls, clock: Clock, at, direction: int, shift: int | None = None):
        self = float.__new__(cls, at(clock.start))
        _init(self, clock, at, direction, None)
        return self


def _scaled(value: Tracked, other: Any, op: Callable[[Any, Any], Any]) -> Any:
    """value × / ÷ a plain constant: monotone, in the direction the constant's sign gives."""
    if isinstance(other, Tracked):
        return op(value._freeze(), other._freeze())
    if not isinstance(other, int | float | timedelta):
        return NotImplemented
    zero = timedelta(0) if isinstance(other, timedelta) else 0
    sign = (other > zero) - (other < zero)
    if sign == 0:
        return op(value._value(), other)
    return value._combine(other, op, sign)


def _absolute(value: Tracked, zero: Any) -> Any:
    """|value| is monotone until the value crosses zero: cut the horizon there, follow it until then."""
    today = value._value()
    value._clock.first_change(lambda d: value._at(d) >= zero, today >= zero)
    direction = 1 if today >= zero else -1
    return value._combine(None, lambda v, _: abs(v), direction)
