"""/本周 [上周]: a member's own week, through the real signed callback, on a clock the tests move.

The week played: last Friday a visit (not this week's); Monday an incomplete visit and the
review; Tuesday a complete visit, an urgent need reported and one taken, a follow-up done, and
Wednesday's leave reported; no review on Tuesday; Thursday a complete visit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import Followup, Urgent, Visit
from handlers.commands.week import WeekVisit, pick_visits
from tests.conftest import Bot, both_backends
from tests.test_commands import ADMIN, LEADER, OTHER_REGION_REP, REP, REP2, RULES, say

CUSTOMERS = [
    {"name": "市第一人民医院", "level": "三甲", "region": "华东", "aliases": ["市一院", "一院"]},
    {"name": "市第二人民医院", "level": "三级", "region": "华东", "aliases": ["市二院"]},
    {"name": "城南中医院", "level": "二级", "region": "华南"},
    {"name": "县妇幼保健院", "level": "二级", "region": "华东", "aliases": ["县妇幼"]},
]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS, rules=RULES)


def at(bot: Bot, when: str) -> None:
    """Move the bot's clock to a local time, "2026-11-23 10:00" (the week of Monday 23 November)."""
    bot.clock.now = datetime.fromisoformat(when).replace(tzinfo=SHANGHAI).astimezone(UTC)


def followup(bot: Bot, customer_alias: str, kind: str) -> Followup:
    visits = {v.id: v for v in bot.rows(Visit)}
    customers = {"县妇幼": 4, "市一院": 1, "市二院": 2, "城南": 3}
    return next(
        f
        for f in bot.rows(Followup)
        if f.kind == kind and visits[f.visit_id].customer_id == customers[customer_alias] and f.member == REP
    )


def play_week(bot: Bot) -> dict[str, int]:
    """张伟's week up to Thursday 15:00; the urgent needs' numbers."""
    at(bot, "2026-11-20 11:00")  # last Friday: not this week's
    say(bot, "今天拜访了县妇幼杨主任，痛点是试纸不够用，竞品迈瑞在用，下周送样")
    at(bot, "2026-11-23 10:00")  # Monday
    say(bot, "今天拜访了市一院设备科王主任，确认下周提交采购申请")  # lacks the pain point and the competitor
    at(bot, "2026-11-23 17:40")
    say(bot, "复盘：目标达成")
    at(bot, "2026-11-24 10:00")  # Tuesday: no review that day
    say(bot, "今天拜访了市二院检验科李主任，痛点是报告出得慢，竞品罗氏在用，下周送样")
    at(bot, "2026-11-24 11:00")
    say(bot, "急！市一院ICU今晚要3台呼吸机")
    at(bot, "2026-11-24 11:05")
    say(bot, "急！市二院急诊科明天要2台除颤仪", user=REP2)
    reported, taken = (u.id for u in bot.rows(Urgent))
    say(bot, f"/接单 {taken}")
    at(bot, "2026-11-24 15:00")
    say(bot, f"/完成 跟进{followup(bot, '市二院', 'summary').id}")
    at(bot, "2026-11-24 16:00")
    say(bot, "明天请假一天，客户交给李娜")  # Wednesday
    at(bot, "2026-11-26 10:00")  # Thursday
    say(bot, "今天拜访了城南中医院骨科张医生，痛点是耗材太贵，竞品无，下周报价")
    at(bot, "2026-11-26 15:00")
    return {"reported": reported, "taken": taken}


# ----------------------------------------------------------------------------- a rep's own week
@both_backends
def test_a_rep_sees_the_visits_reviews_leave_follow_ups_and_urgent_needs_of_the_week(team: Bot) -> None:
    urgent = play_week(team)
    reply = say(team, "/本周")
    lines = reply.splitlines()
    assert lines[0] == "**张伟的本周**（11月23日 周一–11月26日 周四）"
    # last Friday's visit is last week's
    assert lines[1] == "拜访 3 条，3 家客户（新客户 3 家）；齐全 2 条，缺核心项 1 条"
    assert lines[2:5] == [
        "· 11月23日 周一　市第一人民医院 设备科 王主任（首访）：缺**需求痛点、竞品情况**",
        "· 11月24日 周二　市第二人民医院 检验科 李主任（首访） ✅",
        "· 11月26日 周四　城南中医院 骨科 张医生（首访） ✅",
    ]
    assert "县妇幼" not in "\n".join(lines[:5])
    assert "「补充周一市第一人民医院设备科的拜访：痛点…，竞品…」" in reply
    # Wednesday on leave is not owed a review, nor is today's before the day is over
    assert (
        "复盘：已发 1/2 天，缺 11月24日 周二（本周工作日 4 天，请假 1 天：11月25日 周三）；今天的下班前发 `/复盘`"
        in lines
    )
    # four first visits, two follow-ups each; 市二院's summary done; 县妇幼's (Monday 11:00) and 市一院's overdue
    assert '跟进：本周完成 1 条，待跟进 7 条，<font color="warning">逾期 2 条</font>' in lines
    overdue = followup(team, "市一院", "summary").id
    assert f'· 跟进{overdue}　市第一人民医院 拜访小结　11月24日 10:00 <font color="warning">已逾期</font>' in lines
    assert "……还有 2 条，发 `/待办` 看全部" in lines  # five listed, by due time
    assert (
        f"急需：报了 1 条（#{urgent['reported']} 市第一人民医院 3台呼吸机 待接单）；"
        f"接了 1 条（#{urgent['taken']} 市第二人民医院 2台除颤仪 处理中）"
    ) in lines
    assert f"完成后发 `/完成 {urgent['taken']}`。" in lines
    assert "华东本周" not in reply  # a rep sees their own week only
    # the addition the reply suggests completes Monday's visit
    say(team, "补充周一市第一人民医院设备科的拜访：痛点是维修慢，竞品GE在用")
    assert "拜访 3 条，3 家客户（新客户 3 家）；四项都齐全 👍" in say(team, "/本周")


def test_the_review_owed_today_counts_once_it_is_filed(team: Bot) -> None:
    play_week(team)
    at(team, "2026-11-26 17:45")
    say(team, "复盘：目标未完成，原因是王主任出差，补救：明天上午补访")
    reply = say(team, "/本周")
    assert "复盘：已发 2/3 天，缺 11月24日 周二（本周工作日 4 天，请假 1 天：11月25日 周三）" in reply.splitlines()
    assert "今天的下班前发" not in reply


@both_backends
def test_last_week_runs_monday_to_sunday_with_the_follow_ups_as_the_week_ended(team: Bot) -> None:
    play_week(team)
    at(team, "2026-11-30 09:00")  # the next Monday
    say(team, "今天拜访了市二院设备科周科长，痛点是预算紧，竞品无，下周演示")  # this week's, not last week's
    say(team, f"/完成 跟进{followup(team, '市一院', 'summary').id}")  # closed after the week ended
    reply = say(team, "/本周 上周")
    lines = reply.splitlines()
    assert lines[0] == "**张伟的上周**（11月23日 周一–11月29日 周日）"
    assert lines[1] == "拜访 3 条，3 家客户（新客户 3 家）；齐全 2 条，缺核心项 1 条"
    assert "周科长" not in reply and "杨主任" not in reply
    assert "「补充上周一市第一人民医院设备科的拜访：痛点…，竞品…」" in reply
    assert (
        "复盘：已发 1/4 天，缺 11月24日 周二、11月26日 周四、11月27日 周五（上周工作日 5 天，请假 1 天：11月25日 周三）"
        in lines
    )
    assert "今天的下班前发" not in reply
    # at Sunday's end: 县妇幼's summary and plan, 市一院's summary (closed only today) and 城南's summary overdue
    assert "跟进：上周完成 1 条；上周末还有 7 条待跟进，其中逾期 4 条。现在的待办发 `/待办` 看。" in lines
    assert say(team, "/week last") == reply
    assert "格式不对" in say(team, "/本周 华东") and "格式不对" in say(team, "/本周 上周 上周")


def test_the_week_starts_at_monday_midnight_in_shanghai_not_in_utc(team: Bot) -> None:
    at(team, "2026-11-22 23:30")  # Sunday night: last week's
    say(team, "今天拜访了市二院检验科李主任，痛点是报告出得慢，竞品罗氏在用，下周送样")
    at(team, "2026-11-23 00:30")  # Monday 00:30, still Sunday in UTC: this week's
    say(team, "今天拜访了市一院设备科王主任，痛点是维修慢，竞品GE在用，下周报价")
    at(team, "2026-11-23 09:00")
    reply = say(team, "/本周")
    assert "拜访 1 条，1 家客户（新客户 1 家）" in reply and "王主任" in reply and "李主任" not in reply
    last = say(team, "/本周 上周")
    assert "拜访 1 条，1 家客户（新客户 1 家）" in last and "11月22日 周日　市第二人民医院" in last


def test_reviews_follow_the_working_day_calendar(make_bot: Callable[..., Bot]) -> None:
    # an admin-set day off on Tuesday, and Saturday a make-up working day
    bot = make_bot(customers=CUSTOMERS, rules=RULES, calendar={"holidays": ["2026-11-24"], "workdays": ["2026-11-28"]})
    at(bot, "2026-11-23 17:40")
    say(bot, "复盘：目标达成")
    at(bot, "2026-11-29 20:00")  # Sunday evening
    reply = say(bot, "/本周")
    assert "复盘：已发 1/5 天，缺 11月25日 周三、11月26日 周四、11月27日 周五、11月28日 周六" in reply
    assert "（本周工作日 5 天）" in reply


def test_many_visits_list_the_incomplete_ones_and_count_the_rest(team: Bot) -> None:
    at(team, "2026-11-23 09:00")
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")  # incomplete, the week's first
    for day in range(23, 27):
        for hour, department, contact in ((11, "检验科", "李主任"), (13, "ICU", "赵主任"), (15, "骨科", "张医生")):
            if (day, hour) == (23, 11):
                continue
            at(team, f"2026-11-{day} {hour}:00")
            say(team, f"今天拜访了市一院{department}{contact}，痛点是维修慢，竞品GE在用，下周报价")
    at(team, "2026-11-26 17:00")
    visits = team.rows(Visit)
    assert len(visits) == 12
    reply = say(team, "/本周")
    listed = [line for line in reply.splitlines() if line.startswith("· 11月")]
    assert len(listed) == 10
    assert listed[0] == "· 11月23日 周一　市第一人民医院 设备科 王主任（首访）：缺**需求痛点、竞品情况**"
    # the latest nine complete ones: Monday's ICU and 骨科 visits are left out
    assert listed[1] == "· 11月24日 周二　市第一人民医院 检验科 李主任 ✅"
    assert "……还有 2 条未列出（四项都齐全）" in reply
    assert "拜访 12 条，1 家客户（新客户 1 家）；齐全 11 条，缺核心项 1 条" in reply


def test_visits_beyond_the_cap_keep_the_incomplete_ones_in_time_order() -> None:
    def v(i: int, missing: list[str]) -> WeekVisit:
        return WeekVisit(i, datetime(2026, 11, 23, 8 + i, tzinfo=SHANGHAI), 1, "市一院", None, None, False, missing)

    visits = [v(i, ["competitor"] if i in (1, 5) else []) for i in range(8)]
    picked = pick_visits(visits, limit=4)
    assert [x.id for x in picked.rows] == [1, 5, 6, 7] and (picked.more, picked.more_incomplete) == (4, 0)
    picked = pick_visits(visits, limit=1)
    assert [x.id for x in picked.rows] == [1] and (picked.more, picked.more_incomplete) == (7, 1)


# ----------------------------------------------------------------------------- a quiet week
def test_a_rep_who_did_nothing_this_week_gets_a_short_helpful_answer(team: Bot) -> None:
    at(team, "2026-11-23 09:00")
    monday = say(team, "/本周", user=OTHER_REGION_REP)
    assert monday.splitlines()[0] == "王强，本周刚开始，你还没有记录。"
    at(team, "2026-11-25 10:00")  # Wednesday
    reply = say(team, "/本周", user=OTHER_REGION_REP)
    lines = reply.splitlines()
    assert lines[0] == "王强，本周（11月23日 周一–11月25日 周三）你还没有记录：没有拜访，复盘 0/2 天。"
    assert "@我 说结果" in reply and "`/复盘`" in reply and "`/本周 上周`" in reply
    assert len(lines) <= 4


# ----------------------------------------------------------------------------- a leader's region
@both_backends
def test_a_leader_sees_a_line_per_rep_of_the_region_and_an_admin_every_rep(team: Bot) -> None:
    play_week(team)
    at(team, "2026-11-23 11:00")  # 李娜: a complete visit, Monday's and Tuesday's reviews
    say(team, "今天拜访了市一院检验科赵主任，痛点是报告慢，竞品罗氏在用，下周送样", user=REP2)
    at(team, "2026-11-23 17:50")
    say(team, "复盘：目标达成", user=REP2)
    at(team, "2026-11-24 17:50")
    say(team, "复盘：目标达成", user=REP2)
    at(team, "2026-11-26 15:00")
    leader = say(team, "/本周", user=LEADER)
    lines = leader.splitlines()
    assert lines[0] == "陈静，你本人本周（11月23日 周一–11月26日 周四）没有拜访、复盘等记录。"
    assert lines[1:] == [
        "**华东本周：**",
        "· 张伟：拜访 3 条（齐全 2 条），复盘 1/2 天，请假 1 天，逾期跟进 2 条",
        "· 李娜：拜访 1 条（都齐全），复盘 2/3 天",
    ]
    admin = say(team, "/本周", user=ADMIN)
    assert "**全团队本周：**" in admin and "· 王强：拜访 0 条，复盘 0/3 天" in admin
    assert "· 张伟：拜访 3 条（齐全 2 条），复盘 1/2 天，请假 1 天，逾期跟进 2 条" in admin
    last = say(team, "/本周 上周", user=LEADER)
    assert "**华东上周：**" in last and "· 张伟：拜访 1 条（齐全 0 条），复盘 0/5 天" in last  # 县妇幼, last Friday
    at(team, "2026-11-26 18:05")  # the 18:00 chase has named who did not review today
    assert "· 李娜：拜访 1 条（都齐全），复盘 2/4 天" in say(team, "/本周", user=LEADER)
    mine = say(team, "/本周", user=REP2)
    assert "缺 11月25日 周三、11月26日 周四" in mine and "今天的下班前发" not in mine


# ----------------------------------------------------------------------------- finding the command
def test_week_is_in_help_and_a_rep_refused_the_weekly_report_is_pointed_to_it(team: Bot) -> None:
    help_text = say(team, "/帮助")
    assert "`/本周`" in help_text
    assert "没有 `/本周`" not in say(team, "/本周")
    refused = say(team, "/周报")
    assert "需要**组长**权限" in refused and "发 `/本周`" in refused
    assert "/本周 [上周]" in say(team, "/帮助 本周")


def test_member_written_names_are_escaped(make_bot: Callable[..., Bot]) -> None:
    odd = {"name": "星光_医院", "level": "民营", "region": "华东", "aliases": ["星光*医院"]}
    bot = make_bot(customers=[*CUSTOMERS, odd], rules=RULES)
    say(bot, "今天拜访了星光_医院设备科王主任，痛点是维修慢，竞品GE在用，下周报价")
    say(bot, "急！星光_医院ICU今晚要3台呼吸机")
    reply = say(bot, "/本周")  # the same instant as the records: they are this week's
    assert reply.count("星光＿医院") == 4 and "星光_医院" not in reply  # the visit, two follow-ups, the urgent need
