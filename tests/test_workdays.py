"""bot.workdays: the Chinese working-day calendar and its admin overrides."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from bot.workdays import DEFAULT_CALENDAR, WorkCalendar


def test_statutory_holiday_and_make_up_day() -> None:
    cal = WorkCalendar()
    assert not cal.is_workday(date(2026, 10, 1))  # National Day, a Thursday
    assert cal.is_workday(date(2026, 10, 10))  # make-up working day, a Saturday
    assert cal.is_workday(date(2026, 11, 11))  # an ordinary Wednesday
    assert not cal.is_workday(date(2026, 11, 14))  # an ordinary Saturday


def test_add_workdays_skips_holidays_and_counts_make_up_days() -> None:
    cal = WorkCalendar()
    # after Wed 30 Sep 2026: 1-7 Oct off; Thu 8, Fri 9, Sat 10 (make-up) are working days
    assert cal.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert cal.add_workdays(date(2026, 9, 30), 5) == date(2026, 10, 13)
    # Sunday 20 Sep 2026 is a make-up working day
    assert cal.add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert cal.add_workdays(date(2026, 11, 11), 0) == date(2026, 11, 11)
    assert cal.add_workdays(date(2026, 11, 16), -1) == date(2026, 11, 13)


def test_next_workday_and_workdays_between() -> None:
    cal = WorkCalendar()
    assert cal.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 11, 13)) == date(2026, 11, 16)
    # working days after a, up to and including b
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert cal.workdays_between(date(2026, 11, 13), date(2026, 11, 16)) == 1
    assert cal.workdays_between(date(2026, 11, 16), date(2026, 11, 16)) == 0
    assert cal.workdays_between(date(2026, 11, 16), date(2026, 11, 13)) == -1


def test_admin_dates_override_the_statutory_calendar() -> None:
    cal = WorkCalendar(holidays=[date(2026, 11, 11)], workdays=[date(2026, 11, 14), date(2026, 10, 1)])
    assert not cal.is_workday(date(2026, 11, 11))
    assert cal.is_workday(date(2026, 11, 14))
    assert cal.is_workday(date(2026, 10, 1))
    assert cal.add_workdays(date(2026, 11, 10), 2) == date(2026, 11, 13)  # 11 Nov skipped
    assert cal.add_workdays(date(2026, 11, 13), 1) == date(2026, 11, 14)  # Saturday made a working day
    assert DEFAULT_CALENDAR.is_workday(date(2026, 11, 11))


def test_unknown_year_falls_back_to_weekdays_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkCalendar(holidays=[date(2031, 3, 5)], workdays=[date(2031, 3, 8)])
    with caplog.at_level(logging.WARNING, logger="frontline.workdays"):
        assert cal.is_workday(date(2031, 3, 3))  # Monday
        assert not cal.is_workday(date(2031, 3, 9))  # Sunday
        assert not cal.is_workday(date(2031, 3, 5))  # admin holiday
        assert cal.is_workday(date(2031, 3, 8))  # admin working Saturday
        assert WorkCalendar().is_workday(date(2031, 3, 4))
        assert cal.add_workdays(date(2031, 3, 6), 2) == date(2031, 3, 8)  # Fri 7, then Sat 8 (admin)
    warnings = [r for r in caplog.records if r.name == "frontline.workdays" and "2031" in r.getMessage()]
    assert len(warnings) == 1
