"""Answers to the bot's question about a visit, as reps write them hours later or with more in them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bot.models import Visit
from tests.conftest import Bot, both_backends
from tests.test_understanding import CUSTOMERS, say


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS)


@both_backends
def test_an_answer_that_opens_with_its_item_without_a_colon_is_read_hours_later(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是设备老化")  # asks for the competitor and the next step
    team.clock.advance(hours=2)
    reply = say(team, "竞品飞利浦，下周一带样机去演示")
    [visit] = team.rows(Visit)
    assert "飞利浦" in (visit.competitor or "") and visit.next_action == "下周一带样机去演示"
    assert visit.complete and "已补上" in reply


@both_backends
def test_a_labelled_next_step_naming_other_people_completes_the_visit_not_a_new_one(team: Bot) -> None:
    say(team, "市一院设备科见了黄科长，他们ICU要扩床，迈瑞已经去过两次了")  # asks for the next step
    team.clock.advance(hours=1)
    say(team, "下一步 下周约黄科长和ICU主任一起")
    [visit] = team.rows(Visit)
    assert visit.next_action == "下周约黄科长和ICU主任一起" and visit.complete


@both_backends
def test_a_next_step_given_with_an_answer_replaces_the_reports(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(minutes=20)
    reply = say(team, "王主任是拍板的，竞品没有，周五送报价")
    [visit] = team.rows(Visit)
    assert (visit.decision_role, visit.next_action, visit.due) == ("决策者", "周五送报价", date(2026, 11, 27))
    assert "下一步已改为：周五送报价" in reply and "需求痛点" in reply


@both_backends
def test_the_missing_item_given_the_next_day_completes_that_visit(team: Bot) -> None:
    say(team, "又去了市一院，见到了设备科杨主任，她拍板，同意下周一看样机，没提竞品")  # lacks the pain point
    team.clock.advance(days=1, hours=5)
    reply = say(team, "市一院杨主任那边的痛点是监护仪太重，搬来搬去不方便")
    [visit] = team.rows(Visit)
    assert visit.complete and "监护仪太重" in (visit.pain_points or "")
    assert "已补上需求痛点" in reply


@both_backends
def test_an_addition_to_an_earlier_days_complete_visit_amends_it(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是设备老化，竞品迈瑞在用，下一步周五送方案")
    team.clock.advance(days=1)
    reply = say(team, "补充昨天市一院设备科王主任的拜访：痛点是设备老化，维修等配件要一个月")
    [visit] = team.rows(Visit)
    assert "维修等配件要一个月" in (visit.pain_points or "")
    assert "已补充到11月25日 10:00 记录的拜访" in reply


@both_backends
def test_a_summary_sent_yesterday_closes_its_follow_up(team: Bot) -> None:
    from bot.models import Followup

    say(team, "今天拜访了市一院设备科王主任，痛点是设备老化，竞品迈瑞在用，下一步周五送方案")
    team.clock.advance(days=1)
    reply = say(team, "市一院拜访小结昨天已经发给王主任了，忘了说")
    summary = next(f for f in team.rows(Followup) if f.kind == "summary")
    assert summary.status == "done" and "已完成" in reply
    assert len(team.rows(Visit)) == 1
