"""A visit a rep already filed today, told again, is that visit: completed, not counted twice;
told again with only a verdict on the day, it is the day's review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import Competitor, Contact, Conversation, Review, Visit
from tests.conftest import Bot, both_backends
from tests.test_understanding import CUSTOMERS, say

SHANGHAI = ZoneInfo("Asia/Shanghai")
INCOMPLETE = "今天拜访了市一院设备科王主任，确认下周提交采购申请"
COMPLETE = "今天拜访了市一院设备科王主任，痛点是设备老化，竞品迈瑞在用，下一步周三送方案"


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS)


@both_backends
def test_an_incomplete_visit_sent_again_in_full_is_completed_not_filed_twice(team: Bot) -> None:
    say(team, INCOMPLETE)  # Wed 10:00: asks for the pain point and the competitor
    team.clock.advance(hours=5)  # the half-hour for answers is long over
    reply = say(team, COMPLETE)
    [visit] = team.rows(Visit)
    assert visit.complete and visit.pain_points == "设备老化" and "迈瑞" in (visit.competitor or "")
    assert visit.next_action == "周三送方案"
    assert "已补充到今天 10:00 记录的拜访" in reply and "齐全" in reply
    assert team.rows(Conversation) == []  # nothing left to ask


@both_backends
def test_the_same_incomplete_visit_sent_twice_is_one_visit_and_says_so(team: Bot) -> None:
    say(team, INCOMPLETE)
    team.clock.advance(minutes=3)
    reply = say(team, INCOMPLETE)
    [visit] = team.rows(Visit)
    assert not visit.complete
    assert "今天 10:00 已记录过这次拜访，这条没有新内容" in reply
    assert "需求痛点" in reply and "竞品情况" in reply  # still missing, still asked


@both_backends
def test_a_review_told_as_the_days_visit_with_a_verdict_is_the_review(team: Bot) -> None:
    say(team, COMPLETE)
    team.clock.advance(hours=8)  # 18:00, after the review reminder
    reply = say(team, "今天拜访了市一院设备科王主任，达成")
    assert len(team.rows(Visit)) == 1
    [review] = team.rows(Review)
    assert review.target_met is True and review.member == "zhangwei"
    assert "复盘" in reply and "目标达成" in reply


@both_backends
def test_a_step_of_the_visit_is_no_verdict_and_a_complete_visit_told_again_is_updated(team: Bot) -> None:
    say(team, COMPLETE)
    team.clock.advance(hours=4)
    reply = say(team, "今天拜访了市一院设备科王主任，达成合作意向，下周一签合同")
    assert team.rows(Review) == []
    [visit] = team.rows(Visit)  # one visit, its next step the latest word
    assert visit.next_action == "下周一签合同" and "已补充到今天 10:00 记录的拜访" in reply


@both_backends
def test_the_same_complete_visit_sent_three_times_is_one_visit(team: Bot) -> None:
    for _ in range(3):
        reply = say(team, "省人医设备科 孙科长 预算卡得紧 在看联影的 周五带方案")
        team.clock.advance(minutes=3)
    assert len(team.rows(Visit)) == 1
    assert "已记录过这次拜访，这条没有新内容" in reply


@both_backends
def test_a_contact_filed_under_another_department_is_the_same_visit(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(hours=2)
    say(team, "今天拜访了市一院王主任，痛点是设备老化，竞品迈瑞")
    [visit] = team.rows(Visit)
    assert visit.complete


@both_backends
def test_an_addition_naming_only_the_customer_reaches_its_latest_visit(team: Bot) -> None:
    say(team, COMPLETE)
    team.clock.advance(days=1, hours=9)  # Thursday 19:00
    reply = say(team, "市一院那条竞品没有，下一步下周一送样机")
    [visit] = team.rows(Visit)
    assert visit.next_action == "下周一送样机"
    assert "已补充到11月25日 10:00 记录的拜访" in reply
    assert team.rows(Competitor) == []  # "竞品没有" is no competitor news


@both_backends
def test_a_labelled_line_for_no_visit_files_nothing_and_says_why(team: Bot) -> None:
    reply = say(team, "竞品：飞利浦")
    assert team.rows(Visit) == [] and "这条要补到哪次拜访" in reply
    say(team, INCOMPLETE)
    team.clock.advance(hours=3)  # the half hour over, still today
    say(team, "竞品：飞利浦")
    [visit] = team.rows(Visit)
    assert visit.competitor == "飞利浦"


@both_backends
def test_a_second_visit_said_so_is_its_own_even_when_the_first_was_incomplete(team: Bot) -> None:
    say(team, INCOMPLETE)
    team.clock.advance(hours=4)
    say(team, "下午又去了市一院设备科王主任那里，痛点是维修响应慢，竞品迈瑞，下周一再去")
    assert len(team.rows(Visit)) == 2


def test_the_visit_filed_by_the_other_process_is_found_too(make_bot: Callable[..., Bot]) -> None:
    # Two bots on one database stand for two server processes: the check reads what is
    # committed, not what one process remembers.
    first, second = make_bot(customers=CUSTOMERS), make_bot(customers=CUSTOMERS)
    say(first, INCOMPLETE)
    say(second, INCOMPLETE)  # second warms its caches on a visit of its own member
    first.clock.advance(hours=1)
    second.clock.advance(hours=1)
    say(first, "今天拜访了市一院设备科王主任，确认下周提交采购申请", user="lina")
    reply = say(second, "今天拜访了市一院设备科王主任，痛点是设备老化，竞品迈瑞，下一步周三送方案", user="lina")
    lina = [v for v in first.rows(Visit) if v.member == "lina"]
    assert len(lina) == 1 and lina[0].complete
    assert "已补充到今天 11:00 记录的拜访" in reply


@both_backends
def test_a_visit_told_the_morning_after_is_filed_on_its_day(team: Bot) -> None:
    team.clock.advance(days=1, hours=-1)  # Thu 09:00
    reply = say(team, "昨天下午顺路去了市一院检验科，何主任说血气分析仪老卡片，用的雷度，下周二带样机过去")
    [visit] = team.rows(Visit)
    assert visit.visited_at.astimezone(team.settings.tz) == datetime(2026, 11, 25, 15, 0, tzinfo=team.settings.tz)
    assert "已补记 11月25日 的拜访" in reply


@both_backends
def test_news_of_a_contact_days_after_a_complete_visit_is_a_follow_up_visit(team: Bot) -> None:
    say(team, COMPLETE)
    team.clock.advance(days=2)
    say(team, "市一院设备科王主任，方案送到了，他要拿去科里讨论，下周五前给答复")
    first, second = team.rows(Visit)
    assert first.next_action == "周三送方案" and "下周五前给答复" in (second.next_action or "")


@both_backends
def test_a_second_visit_report_sent_twice_is_still_one_visit(team: Bot) -> None:
    say(team, INCOMPLETE)
    team.clock.advance(hours=4)
    second = "下午又去了市一院设备科王主任那里，痛点是维修响应慢，竞品迈瑞，下周一再去"
    say(team, second)
    team.clock.advance(minutes=2)
    assert "已记录过这次拜访" in say(team, second)
    assert len(team.rows(Visit)) == 2


@both_backends
def test_a_visit_told_with_its_weekday_or_corrected_later_is_filed_on_that_day(team: Bot) -> None:
    team.clock.advance(days=2)  # Friday 27 Nov, 10:00
    reply = say(team, "周三下午还去了趟市一院设备科王主任那，想换监护仪，竞品GE，下周一送报价")
    assert "已补记 11月25日 的拜访" in reply
    assert team.rows(Visit)[0].visited_at.astimezone(SHANGHAI).date().isoformat() == "2026-11-25"
    say(team, "今天拜访了省人医设备科孙科长，预算卡得紧，在看联影的，周一带方案")
    reply = say(team, "这个是昨天下午去的，不是今天")
    assert "省人医的拜访改记在 11月26日（周四）" in reply
    assert [v.visited_at.astimezone(SHANGHAI).strftime("%d %H") for v in team.rows(Visit)] == ["25 15", "26 15"]
    assert "没看懂" in say(team, "市一院是周二去的")  # nothing filed today to move: no guess


@both_backends
def test_a_visit_whose_contact_is_corrected_is_changed_not_filed_again(team: Bot) -> None:
    say(team, COMPLETE)
    team.clock.advance(minutes=40)
    reply = say(team, "市一院那条记错了，联系人是李工，不是王主任，下一步是周四送方案")
    [visit] = team.rows(Visit)
    contacts = {c.id: c.name for c in team.rows(Contact)}
    assert contacts[visit.contact_id] == "李工" and visit.next_action == "周四送方案"
    assert "已补充到今天 10:00 记录的拜访" in reply and "李工" in reply


@both_backends
def test_a_next_step_told_again_on_its_own_hours_later_is_that_visits(team: Bot) -> None:
    say(team, COMPLETE)  # 下一步周三送方案
    team.clock.advance(hours=3)
    assert "已记录过这次拜访" in say(team, "下一步周三送方案")
    reply = say(team, "下一步改成下周一送样机")
    [visit] = team.rows(Visit)
    assert visit.next_action == "下周一送样机" and "已补充到今天 10:00 记录的拜访" in reply
