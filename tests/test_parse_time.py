"""Resolving `due`, `start` and `end` against `now` (parse-schema.md, "Resolving due against now")."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.parse import parse
from bot.parse.timeexpr import find_times
from bot.workdays import WorkCalendar

SHANGHAI = timezone(timedelta(hours=8))
CAL = WorkCalendar()


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def resolve(expr: str, today: str, calendar: WorkCalendar = CAL) -> str | None:
    """The first time expression in `expr`, as ISO date."""
    mentions = find_times(expr, date.fromisoformat(today), calendar)
    return mentions[0].date.isoformat() if mentions else None


def urgent_due(when: str, today: str, calendar: WorkCalendar | None = None) -> str | None:
    result = parse(f"市一院ICU急需3台呼吸机，{when}要到", at(today), calendar=calendar)
    assert result["kind"] == "urgent"
    return result["due"]


# Wednesday 11 November 2026 is "today" unless a test says otherwise.
WED = "2026-11-11"


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("今天", "2026-11-11"),
        ("今日", "2026-11-11"),
        ("今晚", "2026-11-11"),
        ("今早", "2026-11-11"),
        ("上午", "2026-11-11"),
        ("下午", "2026-11-11"),
        ("晚上", "2026-11-11"),
        ("明天", "2026-11-12"),
        ("明早", "2026-11-12"),
        ("明日", "2026-11-12"),
        ("明天下午", "2026-11-12"),
        ("后天", "2026-11-13"),
        ("大后天", "2026-11-14"),
    ],
)
def test_relative_days(expr: str, want: str) -> None:
    assert resolve(expr, WED) == want


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("本周一", "2026-11-09"),  # that day of the current week, even when past
        ("这周五", "2026-11-13"),
        ("本周日", "2026-11-15"),
        ("下周一", "2026-11-16"),
        ("下周三", "2026-11-18"),
        ("下星期三", "2026-11-18"),
        ("下礼拜天", "2026-11-22"),
        ("周三", "2026-11-11"),  # bare: the first such day on or after today
        ("周一", "2026-11-16"),
        ("星期五", "2026-11-13"),
        ("礼拜六", "2026-11-14"),
        ("周日", "2026-11-15"),
        ("本周", "2026-11-13"),  # alone: Friday of this week
        ("这周", "2026-11-13"),
        ("下周", "2026-11-20"),  # alone: Friday of next week
    ],
)
def test_weekdays(expr: str, want: str) -> None:
    assert resolve(expr + "前", WED) == want


def test_weekdays_from_a_sunday() -> None:
    sunday = "2026-11-15"
    assert resolve("周一", sunday) == "2026-11-16"
    assert resolve("本周一", sunday) == "2026-11-09"
    assert resolve("下周一", sunday) == "2026-11-16"
    assert resolve("本周", sunday) == "2026-11-13"


def test_weekday_words_that_are_not_days() -> None:
    assert find_times("周会改到线上，周末愉快，周护士长", date(2026, 11, 11), CAL) == []


@pytest.mark.parametrize(
    ("expr", "today", "want"),
    [
        ("月底", "2026-11-11", "2026-11-30"),
        ("月底", "2028-02-10", "2028-02-29"),  # leap year
        ("月底前", "2026-12-02", "2026-12-31"),  # year end
        ("下个月", "2026-11-11", "2026-12-31"),
        ("下月", "2026-12-15", "2027-01-31"),  # across the year end
        ("下个月", "2027-01-31", "2027-02-28"),
    ],
)
def test_month_end_and_next_month(expr: str, today: str, want: str) -> None:
    assert resolve(expr, today) == want


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("3天内", "2026-11-14"),
        ("三天内", "2026-11-14"),
        ("5天后", "2026-11-16"),
        ("十天之内", "2026-11-21"),
    ],
)
def test_n_days(expr: str, want: str) -> None:
    assert resolve(expr, WED) == want


def test_working_days_skip_a_statutory_holiday_and_count_a_make_up_day() -> None:
    # Wed 30 Sep 2026: 1-7 Oct National Day, Sat 10 Oct a make-up working day
    assert resolve("3个工作日内", "2026-09-30") == "2026-10-10"
    assert resolve("三个工作日", "2026-09-30") == "2026-10-10"
    assert resolve("3-5个工作日内", "2026-09-30") == "2026-10-13"  # a range: its upper bound
    assert resolve("三到五个工作日", "2026-09-30") == "2026-10-13"
    assert urgent_due("3个工作日内", "2026-09-30") == "2026-10-10"
    # Friday 18 Sep 2026: Sunday 20 Sep is a make-up working day
    assert resolve("1个工作日内", "2026-09-18") == "2026-09-20"


def test_working_days_over_an_ordinary_weekend() -> None:
    assert resolve("3个工作日内", "2026-11-06") == "2026-11-11"
    assert resolve("3-5个工作日", "2026-12-08") == "2026-12-15"


def test_working_days_use_the_admin_calendar() -> None:
    cal = WorkCalendar(holidays=[date(2026, 11, 12)], workdays=[date(2026, 11, 14)])
    assert resolve("2个工作日内", WED, cal) == "2026-11-14"
    assert urgent_due("2个工作日内", WED, cal) == "2026-11-14"


@pytest.mark.parametrize(
    ("expr", "today", "want"),
    [
        ("12月3日", "2026-11-20", "2026-12-03"),
        ("12月3号", "2026-11-20", "2026-12-03"),
        ("十二月三日", "2026-11-20", "2026-12-03"),
        ("12.3前", "2026-11-20", "2026-12-03"),
        ("12/3", "2026-11-20", "2026-12-03"),
        ("1月8日", "2026-12-14", "2027-01-08"),  # across the year end: the nearer year
        ("1.8", "2026-12-14", "2027-01-08"),
        ("12月30日", "2027-01-02", "2026-12-30"),  # just past, last year
        ("12/30", "2027-01-02", "2026-12-30"),
        ("2027年1月2日", "2026-11-11", "2027-01-02"),
        ("18号", "2026-11-11", "2026-11-18"),
    ],
)
def test_absolute_dates(expr: str, today: str, want: str) -> None:
    assert resolve(expr, today) == want


def test_numbers_that_are_not_dates() -> None:
    today = date(2026, 11, 11)
    for text in ("预算1.5亿", "降价3.5%", "打8.5折", "1. 市一院"):
        assert find_times(text, today, CAL) == [], text


def test_due_of_a_visit_is_the_date_of_the_next_action() -> None:
    text = "今天上午拜访了省人民医院心内科张主任，科里想更新一批监护仪。答应下周三让我们带样机过去演示"
    assert parse(text, at("2026-11-03"))["due"] == "2026-11-11"
    no_date = "拜访省人民医院心内科张主任，科里想更新一批监护仪，答应帮我们引荐设备科"
    assert parse(no_date, at("2026-11-03"))["due"] is None


def test_due_of_urgent_and_itinerary() -> None:
    assert urgent_due("今晚", WED) == "2026-11-11"
    assert urgent_due("后天之前", WED) == "2026-11-13"
    trip = parse("报备：下周一直接去县人民医院，不到公司", at(WED))
    assert (trip["kind"], trip["due"]) == ("itinerary", "2026-11-16")


@pytest.mark.parametrize(
    ("text", "today", "start", "end"),
    [
        ("明天请假一天，有事找小张", "2026-11-04", "2026-11-05", "2026-11-05"),
        ("下周一到周三休年假", "2026-11-12", "2026-11-16", "2026-11-18"),
        ("下周一、周二请两天假", "2026-12-04", "2026-12-07", "2026-12-08"),
        ("12月1日到12月3日请事假三天", "2026-11-25", "2026-12-01", "2026-12-03"),
        ("请假：12.14-12.18休年假", "2026-12-09", "2026-12-14", "2026-12-18"),
        ("12月30日至1月2日休年假", "2026-12-20", "2026-12-30", "2027-01-02"),
        ("明后两天请假", "2026-11-16", "2026-11-17", "2026-11-18"),
    ],
)
def test_leave_ranges(text: str, today: str, start: str, end: str) -> None:
    result = parse(text, at(today))
    assert result["kind"] == "leave"
    assert (result["start"], result["end"]) == (start, end)


@pytest.mark.parametrize(
    ("text", "today", "want"),
    [
        ("市妇幼保健院产科急要胎心监护仪三台，下周一开新病区，周日前要装好", "2026-11-27", "2026-11-29"),
        ("市一院导管室下周一有台急诊介入，需要延长管50个，能不能周六前送到", "2026-11-20", "2026-11-21"),
        ("博爱医院今晚要一台除颤仪，明天有台手术要用", "2026-12-03", "2026-12-03"),
        ("康宁医院急调彩超一台，下周二有领导来检查，必须之前装好", "2026-11-20", "2026-11-24"),
    ],
)
def test_urgent_due_is_when_the_goods_are_wanted(text: str, today: str, want: str) -> None:
    result = parse(text, at(today))
    assert (result["kind"], result["due"]) == ("urgent", want)


def test_visit_due_prefers_our_dated_step_over_a_dated_event() -> None:
    text = "跟仁和医院的采购办苗经理见了面，院里要采购一批病床，月底前定。我们明天把报价发过去"
    result = parse(text, at("2026-11-03"))
    assert "把报价发过去" in result["next_action"]
    assert result["due"] == "2026-11-04"


def test_a_part_of_the_day_alone_is_a_habit_not_a_next_step() -> None:
    text = "跟妇幼保健院新生儿科的闵护士长聊了，暖箱老是报警，护士晚上要起来好几次。闵护士长答应周五带我们去见科主任"
    result = parse(text, at("2026-11-24"))
    assert "带我们去见科主任" in result["next_action"]
    assert result["due"] == "2026-11-27"


def test_next_step_runs_on_through_a_then_clause() -> None:
    text = "拜访县人民医院护理部的储主任，输液泵要统一更换。储主任说下周二开会讨论，会后给我们答复"
    assert "给我们答复" in parse(text, at("2026-11-17"))["next_action"]


@pytest.mark.parametrize(
    ("text", "today", "start", "end"),
    [
        ("下周请三天年假，周一到周三，有事找小林", "2026-11-26", "2026-11-30", "2026-12-02"),
        ("本周请两天假：周四、周五", "2026-11-23", "2026-11-26", "2026-11-27"),
    ],
)
def test_leave_in_a_named_week(text: str, today: str, start: str, end: str) -> None:
    result = parse(text, at(today))
    assert (result["kind"], result["start"], result["end"]) == ("leave", start, end)
