"""The Chinese working-day calendar.

Statutory holidays and make-up working days come from `chinesecalendar`; the
team's administrators can add extra holidays and extra working days in
config.yaml, and those override the statutory calendar. chinesecalendar only
knows the years its release was built with: for any other year the calendar
falls back to Monday-Friday (admin dates still honoured) and logs one warning
per year on the "frontline.workdays" logger.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("frontline.workdays")

_ONE_DAY = timedelta(days=1)
_warned_years: set[int] = set()
_warned_lock = threading.Lock()


def _warn_unknown_year(year: int) -> None:
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    log.warning(
        "chinesecalendar has no statutory holiday data for %d; treating Monday-Friday as working days "
        "(plus the admin-set holidays and working days from config)",
        year,
    )


class WorkCalendar:
    """Working days: Chinese statutory calendar plus admin-set holidays and make-up working days.

    A date listed both as a holiday and as a working day counts as a working day.
    """

    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
        self.holidays: frozenset[date] = frozenset(holidays)
        self.workdays: frozenset[date] = frozenset(workdays)
        self._cache: dict[date, bool] = {}

    def __repr__(self) -> str:
        return f"WorkCalendar(holidays={len(self.holidays)}, workdays={len(self.workdays)})"

    def knows(self, year: int) -> bool:
        """Whether the statutory calendar of `year` is known: chinesecalendar has it, or an admin
        listed days off or make-up working days in that year."""
        if any(d.year == year for d in self.holidays | self.workdays):
            return True
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, d: date) -> bool:
        """True when `d` is a working day."""
        cached = self._cache.get(d)
        if cached is not None:
            return cached
        if d in self.workdays:
            result = True
        elif d in self.holidays:
            result = False
        else:
            try:
                result = bool(chinese_calendar.is_workday(d))
            except NotImplementedError:
                _warn_unknown_year(d.year)
                result = d.weekday() < 5
        self._cache[d] = result
        return result

    def add_workdays(self, d: date, n: int) -> date:
        """The date `n` working days after `d` (before it when `n` is negative); `d` itself when n == 0."""
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        current = d
        while remaining:
            current += step
            if self.is_workday(current):
                remaining -= 1
        return current

    def next_workday(self, d: date) -> date:
        """The first working day strictly after `d`."""
        return self.add_workdays(d, 1)

    def workdays_between(self, a: date, b: date) -> int:
        """Working days after `a` up to and including `b` (negative when `b` is before `a`)."""
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        current = a
        while current < b:
            current += _ONE_DAY
            if self.is_workday(current):
                count += 1
        return count


DEFAULT_CALENDAR = WorkCalendar()
