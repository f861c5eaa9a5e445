"""What the bot says to team news it does not file itself: a deal closed, told in words."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.models import Opportunity, Visit
from tests.conftest import Bot
from tests.test_understanding import CUSTOMERS, say


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS)


@pytest.mark.parametrize("text", ["好消息！市一院签了，三台监护仪", "市一院签约了"])
def test_a_deal_won_in_words_points_to_the_command_that_files_it(team: Bot, text: str) -> None:
    reply = say(team, text)
    assert "恭喜" in reply and "/阶段 市一院 签约" in reply
    assert team.rows(Opportunity) == [] and team.rows(Visit) == []  # nothing filed on a guess


def test_a_deal_lost_in_words_points_to_the_lost_stage(team: Bot) -> None:
    assert "/阶段 市一院 丢单 原因" in say(team, "市一院那单丢了，价格没拼过")


def test_signing_without_a_customer_is_no_deal(team: Bot) -> None:
    assert "还没看懂" in say(team, "今天签了好多字")


def test_a_trip_to_a_directory_name_files_the_customer_and_a_same_day_report_is_called_late(
    make_bot: Callable[..., Bot],
) -> None:
    from bot.models import Itinerary

    bot = make_bot(customers=[{"name": "宝安区中心医院", "level": "三级", "region": "华东", "aliases": ["宝安中心"]}])
    reply = say(bot, "今天一早直接去宝安中心了，上午不回公司")  # Wed 10:00
    [trip] = bot.rows(Itinerary)
    assert trip.customer_id is not None and "直接去宝安区中心医院" in reply
    assert "下次请在前一天下班前报备" in reply
    bot.clock.advance(hours=7)
    assert "前一天" not in say(bot, "报备：明天一早直接去宝安中心")


def test_a_question_to_the_bot_files_nothing_and_names_the_command_that_answers_it(team: Bot) -> None:
    from bot.models import Leave

    assert "`/晨会`" in say(team, "明天谁请假？")
    reply = say(team, "我这周拜访了几家？")
    assert "`/本周`" in reply and "`/今日`" in reply
    assert team.rows(Leave) == [] and team.rows(Visit) == []
    assert "还没看懂" in say(team, "今天天气怎么样？")
    assert "`/帮助`" in say(team, "怎么报备？")  # how, not who: the help
    assert "`/待办`" in say(team, "城北医院的方案什么时候到期来着")  # a customer nobody filed


def test_a_question_about_a_customer_is_answered_with_its_card(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是维修慢，竞品GE，下一步周五前发定制方案")
    reply = say(team, "市一院的方案什么时候到期来着", user="lina")
    assert "**🏥 市第一人民医院**" in reply and "· 王主任（设备科）" in reply
    assert "**待跟进**" in reply and "张伟 定制方案　11月27日 18:00" in reply
    assert "张伟 设备科 王主任：下一步 周五前发定制方案" in say(team, "市一院那边现在怎么样了？")
    assert team.rows(Visit)[0].member == "zhangwei" and len(team.rows(Visit)) == 1
