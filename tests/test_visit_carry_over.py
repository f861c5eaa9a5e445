"""A later visit to the same contact is not asked again for the pain point and the competitor
situation filed for them in the last weeks: they carry over, and the reply says from when."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.models import Conversation, Visit
from tests.conftest import Bot, both_backends
from tests.test_understanding import CUSTOMERS, say

FIRST = "今天拜访了市一院设备科王主任，想换一批监护仪，现在用的是GE的，下周三送报价"  # Wed 25 Nov, 10:00


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS)


@both_backends
def test_a_follow_up_visit_to_the_same_contact_carries_the_pain_and_the_competitor(team: Bot) -> None:
    say(team, FIRST)
    team.clock.advance(days=5)  # Monday
    reply = say(team, "又去了市一院设备科找王主任，送了报价，他说参数要改，明天发新参数")
    first, later = team.rows(Visit)
    assert (later.pain_points, later.competitor) == ("想换一批监护仪", "现在用的是GE的")
    assert later.next_action == "明天发新参数" and later.complete and not later.first_visit
    assert "沿用 11月25日 拜访时记的需求痛点「想换一批监护仪」，竞品情况「现在用的是GE的」" in reply
    assert "齐全" in reply and "还缺" not in reply
    assert team.rows(Conversation) == []  # nothing asked, nothing for the 19:00 chase


@both_backends
def test_what_the_later_visit_says_wins_and_only_the_rest_carries(team: Bot) -> None:
    say(team, FIRST)
    team.clock.advance(days=5)
    reply = say(team, "又去了市一院设备科王主任那，迈瑞也来报价了，下周一再约")
    later = team.rows(Visit)[-1]
    assert "迈瑞" in (later.competitor or "") and later.pain_points == "想换一批监护仪"
    assert "需求痛点「想换一批监护仪」" in reply and "竞品情况「" not in reply


@both_backends
def test_someone_new_in_the_same_department_takes_the_departments_situation(team: Bot) -> None:
    say(team, FIRST)
    team.clock.advance(days=1)
    say(team, "去了市一院设备科，李工说参数要改，明天发新参数")
    later = team.rows(Visit)[-1]
    assert later.competitor == "现在用的是GE的" and later.complete


@both_backends
def test_nothing_carries_after_a_month_or_to_another_department(team: Bot) -> None:
    say(team, FIRST)
    team.clock.advance(hours=6)
    reply = say(team, "下午去了市一院信息科，赵工说要对接HIS，下周发接口文档")
    assert team.rows(Visit)[-1].competitor is None and "竞品情况" in reply and "沿用" not in reply
    team.clock.advance(days=31)
    reply = say(team, "又去了市一院设备科找王主任，他说参数要改，明天发新参数")
    assert team.rows(Visit)[-1].pain_points is None and "沿用" not in reply and "还缺" in reply


@both_backends
def test_a_labelled_line_naming_nobody_says_whose_visit_it_completed(team: Bot) -> None:
    say(team, FIRST)  # complete: nothing asked
    team.clock.advance(hours=2)
    reply = say(team, "竞品：现在迈瑞也进来了")
    assert "已补充到今天 10:00 记录的拜访：市第一人民医院 设备科 王主任" in reply
    assert "迈瑞" in (team.rows(Visit)[0].competitor or "")
