"""The end-of-day review: the bot's own template read the right way round, one review a member a day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bot.models import Leave, Review, Visit
from bot.parse import parse
from tests.conftest import Bot, both_backends
from tests.test_parse_kinds import at
from tests.test_understanding import say

# What templates/jobs/eod_review.md.j2 asks every rep to fill in.
TEMPLATE = "今日结果：{result}\n目标是否达成：{met}\n未达成原因：{reason}\n补救计划：{remedy}"


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


# ----------------------------------------------------------------------------- what the parser reads
@pytest.mark.parametrize(
    ("met_line", "met"),
    [("是", True), ("达成", True), ("✅", True), ("否", False), ("未达成", False), ("没有", False), ("是 / 否", None)],
)
def test_the_template_verdict_line_decides_target_met(met_line: str, met: bool | None) -> None:
    r = parse(TEMPLATE.format(result="拜访3家", met=met_line, reason="", remedy=""), at("2026-11-25", 18))
    assert (r["kind"], r["target_met"], r["reason"], r["remedy"]) == ("review", met, None, None)


def test_a_filled_template_gives_reason_and_remedy() -> None:
    text = TEMPLATE.format(result="拜访2家", met="否", reason="客户临时开会", remedy="明天上午再去")
    r = parse(text, at("2026-11-25", 18))
    assert (r["target_met"], r["reason"], r["remedy"]) == (False, "客户临时开会", "明天上午再去")


def test_reason_and_remedy_spans_leave_out_their_cue_words() -> None:
    r = parse("复盘 没完成 原因客户不在 补救明天再去", at("2026-11-25", 18))
    assert (r["target_met"], r["reason"], r["remedy"]) == (False, "客户不在", "明天再去")


@pytest.mark.parametrize(
    "text", ["原因：客户临时开会\n补救：明天上午再去", "补救计划：明天上午再去", "未达成原因：客户临时开会"]
)
def test_an_answer_with_the_templates_labels_is_a_review(text: str) -> None:
    r = parse(text, at("2026-11-25", 18))
    assert (r["kind"], r["target_met"]) == ("review", False)


# ----------------------------------------------------------------------------- what the rep sees and what is stored
@both_backends
def test_the_filled_in_template_with_target_met_is_a_met_review(team: Bot) -> None:
    reply = say(team, TEMPLATE.format(result="拜访3家", met="是", reason="", remedy=""))
    [review] = team.rows(Review)
    assert review.target_met is True and review.reason is None and review.remedy is None
    assert "目标达成" in reply and "未达成" not in reply and "补救" not in reply


def test_a_missed_target_without_reason_asks_for_both(team: Bot) -> None:
    reply = say(team, TEMPLATE.format(result="拜访2家", met="否", reason="", remedy=""))
    [review] = team.rows(Review)
    assert review.target_met is False
    assert "目标未达成" in reply and "未达成原因" in reply and "补救计划" in reply


def test_a_missed_target_with_a_remedy_asks_for_the_reason_only(team: Bot) -> None:
    reply = say(team, "今天没完成，明天补上")
    assert "未达成原因" in reply and "补救计划" not in reply and "补救：明天补上" in reply


@both_backends
def test_the_answer_completes_the_same_review(team: Bot) -> None:
    say(team, TEMPLATE.format(result="拜访2家", met="否", reason="", remedy=""))
    team.clock.advance(minutes=20)
    reply = say(team, "原因：客户临时开会\n补救：明天上午再去")
    [review] = team.rows(Review)
    assert (review.target_met, review.reason, review.remedy) == (False, "客户临时开会", "明天上午再去")
    assert "目标是否达成" in review.raw_text and "客户临时开会" in review.raw_text
    assert "已补充" in reply and "客户临时开会" in reply and "还请补上" not in reply


def test_a_reason_alone_keeps_asking_for_the_remedy(team: Bot) -> None:
    say(team, "复盘：今天目标没完成")
    reply = say(team, "原因：客户临时开会")
    [review] = team.rows(Review)
    assert (review.reason, review.remedy) == ("客户临时开会", None)
    assert "补救计划" in reply and "未达成原因" not in reply


def test_another_members_answer_and_the_next_day_are_reviews_of_their_own(team: Bot) -> None:
    say(team, "复盘：今天目标没完成")
    say(team, "原因：客户临时开会", user="lina")
    team.clock.advance(days=1)
    say(team, "复盘：今天目标达成了")
    rows = [(r.member, r.review_date, r.target_met, r.reason) for r in team.rows(Review)]
    assert rows == [
        ("zhangwei", date(2026, 11, 25), False, None),
        ("lina", date(2026, 11, 25), False, "客户临时开会"),
        ("zhangwei", date(2026, 11, 26), True, None),
    ]


def test_the_cue_word_is_not_repeated_in_the_reply(team: Bot) -> None:
    reply = say(team, "复盘 没完成 原因客户不在 补救明天再去")
    assert "原因：客户不在" in reply and "补救：明天再去" in reply
    assert "原因：原因" not in reply and "补救：补救" not in reply


def test_a_message_opening_with_the_reason_is_a_review() -> None:
    r = parse("原因是王主任出差，明天再去", at("2026-11-25", 18))
    assert r["kind"] == "review" and r["target_met"] is False
    assert "王主任出差" in (r["reason"] or "") and "明天再去" in (r["remedy"] or "")


def test_the_morning_after_the_reason_completes_yesterdays_review(team: Bot) -> None:
    team.clock.advance(hours=8)  # 18:00
    say(team, "今日复盘：目标没完成")
    team.clock.advance(hours=15)  # 09:00 the next day
    say(team, "原因：王主任出差；补救：今天上午补访")
    [review] = team.rows(Review)
    assert review.review_date == date(2026, 11, 25) and review.target_met is False
    assert review.reason == "王主任出差" and "补访" in (review.remedy or "")
    team.clock.advance(hours=9)  # 18:00: today's own review is a review of its own
    say(team, "今日复盘：目标达成")
    first, second = team.rows(Review)
    assert first.reason == "王主任出差" and second.target_met is True and second.review_date == date(2026, 11, 26)


@both_backends
def test_plain_replies_right_after_a_missed_target_are_its_reason_and_remedy(team: Bot) -> None:
    say(team, "复盘：今天目标没完成")
    team.clock.advance(minutes=2)
    reply = say(team, "黄主任临时去开会了，没见着")
    assert "原因：黄主任临时去开会了，没见着" in reply and "补救计划" in reply
    team.clock.advance(minutes=1)
    reply = say(team, "明天上午再去")
    [review] = team.rows(Review)
    assert (review.target_met, review.reason, review.remedy) == (False, "黄主任临时去开会了，没见着", "明天上午再去")
    assert "补救：明天上午再去" in reply and "还请补上" not in reply


def test_an_acknowledgement_or_a_late_reply_is_no_reason(team: Bot) -> None:
    say(team, "复盘：今天目标没完成")
    assert say(team, "好的").strip() == "👌"
    team.clock.advance(minutes=40)
    say(team, "黄主任临时去开会了")
    [review] = team.rows(Review)
    assert (review.reason, review.remedy) == (None, None)


def test_a_reason_naming_a_hospital_is_the_reviews_and_more_why_stays_why(team: Bot) -> None:
    say(team, "今日复盘：目标未达成")
    say(team, "二院那边拖得太久了，县妇幼来不及去")
    say(team, "复盘：县医院还是没去成，目标没达成", user="lina")
    say(team, "刘护士长临时有手术，没见着", user="lina")
    say(team, "周五上午再约", user="lina")
    reviews = {r.member: (r.reason, r.remedy) for r in team.rows(Review)}
    assert reviews == {
        "zhangwei": ("二院那边拖得太久了，县妇幼来不及去", None),
        "lina": ("县医院还是没去成；刘护士长临时有手术，没见着", "周五上午再约"),
    }
    assert team.rows(Visit) == []


def test_a_review_that_ends_with_tomorrows_leave_files_both(team: Bot) -> None:
    reply = say(team, "复盘：市一院孙主任认可方案，周五发报价。达成。明天请假一天，交给李娜")
    [review] = team.rows(Review)
    [leave] = team.rows(Leave)
    assert review.target_met is True and (leave.handover, leave.raw_text) == ("李娜", "明天请假一天，交给李娜")
    assert "目标达成" in reply and "已登记" in reply and "李娜代为跟进" in reply
    say(team, "明天上午按复盘说的再去市一院找孙主任", user="lina")  # a plan, not lina's review
    assert [r.member for r in team.rows(Review)] == ["zhangwei"]


@both_backends
def test_yesterdays_review_sent_the_morning_after_is_filed_on_yesterday(team: Bot) -> None:
    team.clock.advance(days=1, hours=-1)  # Thu 2026-11-26 09:00
    reply = say(team, "补昨天的复盘：目标没达成，原因是客户临时开会，补救：下周一再去")
    [review] = team.rows(Review)
    assert review.review_date == date(2026, 11, 25) and review.target_met is False
    assert review.reason == "客户临时开会" and review.remedy == "下周一再去"
    assert "昨天（11月25日）的复盘" in reply


@both_backends
def test_a_visit_told_in_the_review_is_filed_as_a_visit_too(team: Bot) -> None:
    team.clock.advance(hours=7, minutes=35)  # 17:35
    reply = say(team, "今日复盘：上午拜访了县医院儿科王主任，想要新生儿监护仪，没看到竞品，下周二送资料过去。目标达成")
    [review] = team.rows(Review)
    [visit] = team.rows(Visit)
    assert review.target_met is True and visit.next_action == "下周二送资料过去"
    assert "已收到今天的复盘" in reply and "已记录拜访：县医院 儿科 王主任" in reply
    say(team, "今日复盘：拜访3家，都顺利。目标达成")  # no visit told: nothing more filed
    assert len(team.rows(Visit)) == 1


@both_backends
def test_a_missed_target_reaches_the_next_stand_up_with_its_reason_and_remedy(team: Bot) -> None:
    import scheduler

    team.clock.advance(hours=7, minutes=40)  # Wed 17:40
    say(team, "复盘：目标未达成，原因是王主任临时出差没见到，补救：明天上午再约", user="lina")
    say(team, "今日复盘：目标达成")
    friday = team.clock.now.replace(day=27, hour=0, minute=30)  # Fri 08:30, the next meeting
    [agenda] = scheduler.run_job(team.runtime, "morning_agenda", friday).posts
    section = agenda.content.split("📉 上次晨会以来未达成的目标：")[1].split("🔍")[0].strip().splitlines()
    assert section == ["- 李娜 11月25日：王主任临时出差没见到；补救：明天上午再约"]
