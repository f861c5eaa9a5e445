"""A leave without a cover: the bot asks who covers, and the member's reply fills it in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bot.models import Leave, Visit
from tests.conftest import Bot, both_backends
from tests.test_understanding import say

LEAVE = "12月3号到4号请事假两天"


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()


@both_backends
@pytest.mark.parametrize(("answer", "cover"), [("交给小李", "小李"), ("客户交给李娜跟进", "李娜"), ("李娜", "李娜")])
def test_the_reply_to_who_covers_fills_the_handover(team: Bot, answer: str, cover: str) -> None:
    assert "请补充一下由谁代为跟进" in say(team, LEAVE)
    team.clock.advance(minutes=5)
    reply = say(team, answer)
    [leave] = team.rows(Leave)
    assert (leave.start, leave.end, leave.handover) == (date(2026, 12, 3), date(2026, 12, 4), cover)
    assert "已补上" in reply and f"工作由{cover}代为跟进" in reply and "没看懂" not in reply


@pytest.mark.parametrize("reply", ["谢谢", "辛苦", "好的呢"])
def test_thanks_is_nobody(team: Bot, reply: str) -> None:
    say(team, LEAVE)
    say(team, reply)
    assert [leave.handover for leave in team.rows(Leave)] == [None]


def test_after_thirty_minutes_a_bare_name_is_not_an_answer_but_a_handover_still_is(team: Bot) -> None:
    say(team, LEAVE)
    team.clock.advance(minutes=31)
    say(team, "李娜")
    assert [leave.handover for leave in team.rows(Leave)] == [None]
    team.clock.advance(hours=2)  # the cover settled later the same day, before the leave
    assert "已补上" not in say(team, "交给张伟")  # the sender himself covers nothing
    reply = say(team, "交给王强")
    assert [leave.handover for leave in team.rows(Leave)] == ["王强"] and "已补上" in reply


def test_a_handover_after_the_leave_is_over_is_left_alone(team: Bot) -> None:
    say(team, "今天请假一天")
    team.clock.advance(days=1)
    say(team, "交给李娜")
    assert [leave.handover for leave in team.rows(Leave)] == [None]


def test_a_leave_corrected_minutes_later_is_changed_not_doubled(team: Bot) -> None:
    say(team, "下周四周五请假，客户交给李娜")  # Wed 2026-11-25: 12-03 and 12-04
    team.clock.advance(minutes=2)
    reply = say(team, "说错了，是本周四周五请假（26、27号）")
    [leave] = team.rows(Leave)
    assert (leave.start, leave.end, leave.handover) == (date(2026, 11, 26), date(2026, 11, 27), "李娜")
    assert "已改为" in reply


def test_another_members_reply_and_a_covered_leave_are_left_alone(team: Bot) -> None:
    say(team, LEAVE)
    say(team, "交给小李", user="lina")
    say(team, "周五请假一天，客户交给李娜跟进", user="wangqiang")
    say(team, "交给小李", user="wangqiang")
    assert [(leave.member, leave.handover) for leave in team.rows(Leave)] == [("zhangwei", None), ("wangqiang", "李娜")]


def test_a_visit_question_asked_before_the_leave_does_not_take_the_cover(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    say(team, LEAVE)
    say(team, "交给小李")
    [leave] = team.rows(Leave)
    [visit] = team.rows(Visit)
    assert leave.handover == "小李" and "小李" not in (visit.pain_points or "") + (visit.competitor or "")


def test_a_leave_that_falls_on_days_off_says_so(team: Bot) -> None:
    reply = say(team, "这周六请假，客户交给李娜")  # Wed 2026-11-25: Saturday 11-28
    assert "本来就是休息日" in reply
    reply = say(team, "下周五到下周一请假，客户交给李娜")  # 12-04..12-07: Fri, Sat, Sun, Mon
    assert "其中 2 天本来就是休息日" in reply
    assert len(team.rows(Leave)) == 2


def test_corrections_later_the_same_day_change_the_leave_and_its_cover(team: Bot) -> None:
    say(team, "周四请假一天")  # Wed 2026-11-25 10:00: Thursday 11-26
    team.clock.advance(minutes=50)
    say(team, "交给小张")
    team.clock.advance(minutes=5)
    reply = say(team, "说错了，是周五")  # 55 minutes after the leave, without 请假
    [leave] = team.rows(Leave)
    assert (leave.start, leave.end, leave.handover) == (date(2026, 11, 27), date(2026, 11, 27), "小张")
    assert "已改为" in reply
    team.clock.advance(hours=2)
    reply = say(team, "不对，是李娜")  # the cover, corrected
    assert [leave.handover for leave in team.rows(Leave)] == ["李娜"] and "李娜" in reply


def test_a_cover_named_by_title_is_the_region_leader_and_a_place_is_no_cover(team: Bot) -> None:
    say(team, "下周一请病假，腰扭了，急事找组长")
    say(team, "明天下午请半天事假，去车管所处理点事", user="lina")
    covers = {row.member: row.handover for row in team.rows(Leave)}
    assert covers == {"zhangwei": "陈静", "lina": None}  # zhangwei is in 华东, led by 陈静


def test_a_cover_named_manager_is_the_manager_and_nobody_covers_for_themselves(make_bot: Callable[..., Bot]) -> None:
    team = make_bot(rules={"manager": "liuyang"})
    say(team, "周五请假，急事找经理", user="wangqiang")
    reply = say(team, "周五请假一天，急事找组长", user="chenjing")  # a leader's own leader is nobody known
    covers = {row.member: row.handover for row in team.rows(Leave)}
    assert covers == {"wangqiang": "刘洋", "chenjing": None} and "由谁代为跟进" in reply


def test_the_acknowledgement_says_what_kind_of_day_off(team: Bot) -> None:
    assert "12月17日下午半天假" in say(team, "12月17日下午请半天假，交给李娜")
    assert "调休" in say(team, "12月21日调休，交给张伟", user="lina")


@both_backends
def test_the_same_leave_told_again_is_one_leave_and_a_correction_finds_it(team: Bot) -> None:
    say(team, "周五请假一天，手上的事交给李娜")  # Wed 2026-11-25
    team.clock.advance(hours=8)
    reply = say(team, "复盘：目标达成。后天请假，已交给李娜")
    assert "已登记过：11月27日休假" in reply
    team.clock.advance(days=2, hours=-9)  # Fri 09:00
    assert "已登记过" in say(team, "今天请假，急事找李娜")
    [leave] = team.rows(Leave)
    assert (leave.start, leave.end, leave.handover) == (date(2026, 11, 27), date(2026, 11, 27), "李娜")
    reply = say(team, "说错了，是下周一调休")
    [leave] = team.rows(Leave)
    assert (leave.start, leave.handover) == (date(2026, 11, 30), "李娜")
    assert "已改为：11月30日调休" in reply


@both_backends
def test_a_morning_off_still_owes_the_review_and_an_afternoon_off_does_not(team: Bot) -> None:
    import scheduler

    reply = say(team, "今天上午请假去医院复查，有事找李娜")  # Wed 2026-11-25 10:00
    assert "11月25日上午半天假" in reply and "下午回来照常记拜访、发复盘" in reply
    reply = say(team, "今天下午请半天假，家里有事，有事找张伟", user="lina")
    assert "11月25日下午半天假" in reply and "当天的复盘和拜访提醒不会找你" in reply
    assert [leave.part for leave in team.rows(Leave)] == ["am", "pm"]
    evening = team.clock.now.replace(hour=10, minute=0)  # 18:00 in Shanghai
    [chase] = scheduler.run_job(team.runtime, "eod_chase", evening).posts
    assert "<@zhangwei>" in chase.content and "<@lina>" not in chase.content
    team.clock.advance(hours=8, minutes=5)  # 18:05: today's review is owed by whoever is not away
    week = say(team, "/本周", user="chenjing")
    assert "· 张伟：拜访 0 条，复盘 0/3 天" in week  # the morning off is no day off
    assert "· 李娜：拜访 0 条，复盘 0/2 天，请假 1 天" in week
    morning = team.clock.now.replace(hour=0, minute=30)  # 08:30
    [agenda] = scheduler.run_job(team.runtime, "morning_agenda", morning).posts
    assert "- 张伟（上午），工作由李娜代为跟进" in agenda.content
    assert "- 李娜（下午），工作由张伟代为跟进" in agenda.content


@pytest.mark.parametrize("text", ["月底想请两天年假，具体哪天再定，先跟组长打个招呼", "想请两天假"])
def test_a_leave_without_fixed_days_files_nothing_and_asks_for_them_later(team: Bot, text: str) -> None:
    reply = say(team, text)
    assert "先不登记：日期定了再 @我 说一声" in reply
    assert team.rows(Leave) == []  # a guessed day would excuse today's review
    assert "已登记：11月27日休假" in say(team, "周五请假一天，交给李娜")
