"""Reps' messages through the real signed callback path become the records a leader would expect."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from defusedxml.ElementTree import fromstring

import scheduler
from bot.models import Competitor, Contact, Customer, Followup, InboundMessage, Itinerary, Leave, Review, Urgent, Visit
from tests.conftest import CHAT, Bot, both_backends
from tests.wecom_peer import robot_text_xml

CUSTOMERS = [{"name": "市第一人民医院", "level": "三甲", "region": "华东", "aliases": ["市一院"]}]
RULES = {"urgent_on_duty": ["liuyang"]}


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS, rules=RULES)


def say(bot: Bot, text: str, user: str = "zhangwei") -> str:
    xml, _ = robot_text_xml(f"@前线助手 {text}", userid=user, chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert status == 200, body
    plain = bot.caller.open_robot_reply(body)
    return (fromstring(plain.encode()).findtext("Markdown/Content") or "") if plain else ""


@both_backends
def test_a_visit_becomes_a_record_and_the_bot_asks_for_what_is_missing(team: Bot) -> None:
    reply = say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    [visit] = team.rows(Visit)
    [customer] = team.rows(Customer)
    assert customer.name == "市第一人民医院" and visit.customer_id == customer.id
    assert (visit.member, visit.department, visit.decision_role) == ("zhangwei", "设备科", "采购")
    assert visit.next_action and "提交采购申请" in visit.next_action
    assert visit.pain_points is None and visit.competitor is None and not visit.complete
    assert visit.due == date(2026, 12, 4)  # 下周 → Friday of next week
    assert "市第一人民医院" in reply and "王主任" in reply
    assert "需求痛点" in reply and "竞品情况" in reply
    [message] = team.rows(InboundMessage)
    assert visit.message_id == message.id and message.handler == "visits.record"


@both_backends
def test_the_next_message_fills_the_missing_items_instead_of_a_new_record(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(minutes=10)
    reply = say(team, "痛点：现有设备老化，故障多\n竞品：GE的在用")
    [visit] = team.rows(Visit)
    assert visit.pain_points and "设备老化" in visit.pain_points
    assert visit.competitor and "GE" in visit.competitor
    assert visit.complete
    assert "已补上" in reply and "齐全" in reply


def test_a_partial_answer_keeps_asking_for_the_rest(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    reply = say(team, "竞品：迈瑞去年进过院")
    [visit] = team.rows(Visit)
    assert visit.competitor and "迈瑞" in visit.competitor and not visit.complete
    assert "还缺" in reply and "需求痛点" in reply


def test_later_the_same_day_a_labelled_answer_still_completes_the_visit(team: Bot) -> None:
    # the 19:00 reminder and /今日 tell reps to reply with what is missing
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(hours=5)
    reply = say(team, "痛点：老设备故障多\n竞品：迈瑞去年进过院")
    [visit] = team.rows(Visit)
    assert visit.competitor == "迈瑞去年进过院" and visit.pain_points == "老设备故障多" and visit.complete
    assert "已补上" in reply and "市第一人民医院" in reply


def test_after_thirty_minutes_a_bare_reply_is_not_taken_as_the_answer(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是维修慢，确认下周提交采购申请")  # only the competitor missing
    team.clock.advance(minutes=31)
    say(team, "晚上部门聚餐大家都来")
    [visit] = team.rows(Visit)
    assert visit.competitor is None and not visit.complete


def test_hours_later_a_question_or_chat_is_not_read_as_the_missing_items(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，反馈监护仪不够用")  # competitor and next action missing
    team.clock.advance(hours=3)
    say(team, "明天几点开会？")
    say(team, "晚上我先去趟仓库拿样机")
    [visit] = team.rows(Visit)
    assert visit.next_action is None and visit.competitor is None


@pytest.mark.parametrize("chat", ["好的，收到", "收到收到", "大家辛苦了", "李娜你下午在公司吗", "稍等"])
def test_chat_right_after_the_question_is_not_taken_as_the_missing_item(team: Bot, chat: str) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是维修慢，确认下周提交采购申请")  # only the competitor missing
    say(team, chat)
    [visit] = team.rows(Visit)
    assert visit.competitor is None and not visit.complete


def test_a_role_named_by_its_name_answers_the_role_question(team: Bot) -> None:
    say(team, "今天拜访了市一院，痛点是维修慢，竞品迈瑞，下周三送样机")  # only the decision role missing
    say(team, "收到收到")
    assert team.rows(Visit)[0].decision_role is None
    reply = say(team, "他是这个项目的决策者")
    [visit] = team.rows(Visit)
    assert visit.decision_role == "决策者" and visit.complete and "齐全" in reply


@pytest.mark.parametrize(
    ("answer", "next_action"),
    [
        ("没有竞品，明天发拜访小结", None),
        ("竞品：无，下周三再去", None),
        ("下周再去拜访一次，竞品无", "下周再去拜访一次"),
    ],
)
def test_an_answer_that_plans_the_next_visit_is_an_answer(team: Bot, answer: str, next_action: str | None) -> None:
    say(team, "今天拜访了市一院心内科李主任，反馈监护仪报警太频繁")  # competitor and next action missing
    say(team, answer)
    [visit] = team.rows(Visit)
    assert visit.competitor
    if next_action:
        assert visit.next_action and next_action in visit.next_action


def test_an_answer_naming_the_customer_completes_that_visit_after_another_report(team: Bot) -> None:
    say(team, "今天拜访了市一院心内科李主任，反馈监护仪报警太频繁，周五送样机")  # competitor missing
    team.clock.advance(minutes=1)
    say(team, "又去了城东社区卫生服务中心刘医生那里，痛点是血糖仪不够，竞品鱼跃，下周报价")  # complete
    team.clock.advance(minutes=1)
    reply = say(team, "市一院那边竞品是迈瑞")
    first, second = team.rows(Visit)
    assert first.competitor == "迈瑞" and first.complete and second.complete
    assert "市第一人民医院" in reply


def test_the_next_day_an_answer_is_no_longer_taken(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(days=1)
    say(team, "竞品：迈瑞去年进过院")
    first = team.rows(Visit)[0]
    assert first.competitor is None and not first.complete


def test_the_next_day_an_addition_that_says_so_completes_yesterdays_visit(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(hours=16)
    reply = say(team, "补一下昨天市一院设备科王主任：痛点是设备老化，竞品无")
    [visit] = team.rows(Visit)
    assert (visit.pain_points, visit.competitor) == ("设备老化", "竞品无") and visit.complete
    assert "已补上" in reply


@pytest.mark.parametrize(
    "addition",
    [
        "补一下昨天中心医院的拜访：竞品是迈瑞，下一步周五带方案过去",
        "补一下昨天的拜访：竞品是迈瑞，下一步周五带方案过去",
    ],
)
def test_an_addition_naming_a_new_hospital_or_none_completes_yesterdays_visit(team: Bot, addition: str) -> None:
    say(team, "拜访了中心医院设备科刘科长，ICU要扩床")  # lacks the competitor and the next step
    team.clock.advance(days=1)
    reply = say(team, addition)
    [visit] = team.rows(Visit)
    assert visit.competitor == "迈瑞" and visit.next_action and "带方案" in visit.next_action
    assert {c.name for c in team.rows(Customer)} == {"市第一人民医院", "中心医院"} and "已补上" in reply


def test_on_monday_an_addition_to_fridays_visit_completes_it(team: Bot) -> None:
    team.clock.advance(days=2)  # Friday 2026-11-27
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    team.clock.advance(days=3)  # Monday
    reply = say(team, "补充上周五市一院的拜访：痛点是设备老化，竞品无")
    [visit] = team.rows(Visit)
    assert (visit.pain_points, visit.competitor) == ("设备老化", "竞品无") and visit.complete
    assert "已补上" in reply


def test_an_addition_to_a_day_with_no_visit_on_record_files_the_visit_on_that_day(team: Bot) -> None:
    reply = say(team, "补充上周五市一院设备科王主任的拜访：痛点是预算紧张，竞品无，下周二送方案")  # Wed 11-25
    [visit] = team.rows(Visit)
    tz = team.settings.tz
    assert visit.visited_at.astimezone(tz).date() == date(2026, 11, 20)
    assert "已补记 11月20日 的拜访" in reply


@both_backends
def test_a_free_text_answer_fills_several_missing_items(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，反馈监护仪不够用")  # competitor and next action missing
    reply = say(team, "没有竞品，下周三带样机过去演示")
    [visit] = team.rows(Visit)
    assert visit.competitor == "没有竞品"
    assert visit.next_action == "下周三带样机过去演示" and visit.due == date(2026, 12, 2)
    assert visit.complete and "齐全" in reply


def test_two_labelled_answers_on_one_line_fill_two_items(team: Bot) -> None:
    say(team, "今天拜访了市一院心内科李主任，反馈监护仪报警太频繁")  # competitor and next action missing
    say(team, "竟品：无；下一步：周五送样机")  # with the common typo 竟品
    [visit] = team.rows(Visit)
    assert visit.competitor == "无" and visit.next_action == "周五送样机" and visit.complete


@both_backends
def test_a_brand_alone_answers_the_competitor_question_instead_of_filing_news(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是维修慢，确认下周提交采购申请")
    reply = say(team, "迈瑞")
    [visit] = team.rows(Visit)
    assert visit.competitor == "迈瑞" and visit.complete
    assert team.rows(Competitor) == [] and "已补上竞品情况" in reply


@both_backends
def test_an_answer_may_name_the_same_customer_again(team: Bot) -> None:
    say(team, "今天拜访了市第一人民医院设备科王主任，确认下周提交采购申请")
    reply = say(team, "市一院那边竞品是迈瑞，痛点是预算卡得紧")
    [visit] = team.rows(Visit)
    assert visit.competitor == "迈瑞" and visit.pain_points == "预算卡得紧" and visit.complete
    assert "已补上" in reply


@both_backends
def test_a_visit_to_another_department_or_customer_is_a_record_of_its_own(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    say(team, "心内科李主任说耗材太贵，竞品迈瑞在送耗材")
    say(team, "城东社区卫生服务中心刘护士长反馈血压计不够用")
    first, second, third = team.rows(Visit)
    assert first.competitor is None and first.pain_points is None and first.department == "设备科"
    assert second.department == "心内科" and "耗材太贵" in (second.pain_points or "") and second.competitor
    assert third.customer_id != first.customer_id and third.pain_points


def test_a_stated_absence_of_competitors_is_an_answer_not_a_gap(team: Bot) -> None:
    reply = say(team, "拜访市一院ICU张主任,痛点是呼吸机老化,竞品无,下周三再去")
    [visit] = team.rows(Visit)
    assert visit.competitor == "竞品无" and visit.pain_points == "呼吸机老化" and visit.complete
    assert "还缺" not in reply


def test_a_role_the_rep_states_is_the_role_filed(team: Bot) -> None:
    reply = say(team, "拜访市一院设备科钱工，技术把关的，说售后响应慢，竞品无，下周二送方案")
    [visit] = team.rows(Visit)
    assert visit.decision_role == "技术把关" and "钱工（技术把关）" in reply
    [contact] = team.rows(Contact)
    assert contact.decision_role == "技术把关"
    say(team, "拜访市一院心内科周护士长，周护士长是使用者，想换监护仪，竞品无，下周送样")
    assert team.rows(Visit)[1].decision_role == "使用者"  # not 科室负责人 by her title


@pytest.mark.parametrize(
    ("said", "role"),
    [("他管设备采购这块说了算", "决策者"), ("她是用设备的", "使用者"), ("他是院里一把手", "决策者")],
)
def test_a_role_said_in_plain_words_is_the_role_filed(team: Bot, said: str, role: str) -> None:
    say(team, f"拜访了市一院设备科王主任，{said}，想换监护仪，没看到竞品，下周二送方案")
    [visit] = team.rows(Visit)
    assert visit.decision_role == role and visit.competitor == "没看到竞品" and visit.complete


def test_a_role_answered_in_plain_words_completes_the_visit(team: Bot) -> None:
    say(team, "拜访了市一院设备科王主任，想换监护仪，竞品无，下周二送方案")
    say(team, "王主任是拍板的")  # nothing asked: a statement of its own
    say(team, "拜访了市一院检验科李主任")
    reply = say(team, "他是科里一把手，拍板的")
    assert "决策者" in reply and team.rows(Visit)[1].decision_role == "决策者"


def test_a_role_stated_later_in_a_message_of_its_own_corrects_the_visit_and_the_contact(team: Bot) -> None:
    say(team, "拜访了市一院设备科王主任，痛点是设备老化，竞品无，下周二送方案")  # 采购, by the department
    team.clock.advance(hours=2)
    reply = say(team, "王主任是拍板的")
    [visit] = team.rows(Visit)
    [contact] = team.rows(Contact)
    assert visit.decision_role == contact.decision_role == "决策者" and "王主任是决策者" in reply


def test_an_answer_that_states_the_role_wins_over_the_title(team: Bot) -> None:
    say(team, "拜访了市一院心内科周护士长，想换监护仪，竞品无")  # lacks the next step
    team.clock.advance(minutes=5)
    say(team, "周护士长是使用者，下周二送样机")
    assert team.rows(Visit)[0].decision_role == "使用者" and team.rows(Contact)[0].decision_role == "使用者"


def test_a_record_in_shorthand_with_labels_and_spaces_is_filed_whole(team: Bot) -> None:
    reply = say(team, "市一院ICU张主任 痛点 呼吸机老化 竞品 无 下一步 周五送样机")
    [visit] = team.rows(Visit)
    assert (visit.pain_points, visit.competitor, visit.next_action) == ("呼吸机老化", "竞品 无", "周五送样机")
    assert visit.complete and "还缺" not in reply


def test_a_customer_the_directory_knows_is_found_in_free_text(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(customers=[{"name": "省人民医院", "level": "三甲", "region": "华东", "aliases": ["省医"]}])
    reply = say(bot, "省医设备科王科长说预算不够，下周再约")
    [visit] = bot.rows(Visit)
    [customer] = bot.rows(Customer)
    assert visit.customer_id == customer.id and visit.contact_id is not None
    assert "省人民医院" in reply and "客户名称" not in reply
    assert "客户名称" in say(bot, "见了刘护士长，反馈血压计不够用，竞品是鱼跃，下周送样")
    reply = say(bot, "在省医")  # the answer to 客户名称, by the alias
    assert bot.rows(Visit)[1].customer_id == customer.id and "已补上客户名称（省人民医院）" in reply


@both_backends
def test_a_visit_without_a_customer_asks_for_it_and_the_answer_files_it(team: Bot) -> None:
    reply = say(team, "见了刘护士长，反馈血压计不够用，竞品是鱼跃，下周送样")
    [visit] = team.rows(Visit)
    assert visit.customer_id is None and "客户名称" in reply
    assert not visit.complete  # the 19:00 deadline still asks for it
    team.clock.advance(minutes=5)
    reply = say(team, "城东社区卫生服务中心")
    [visit] = team.rows(Visit)
    [customer] = [c for c in team.rows(Customer) if c.name == "城东社区卫生服务中心"]
    assert visit.customer_id == customer.id and visit.first_visit
    [contact] = team.rows(Contact)
    assert visit.contact_id == contact.id and contact.name == "刘护士长"
    assert {f.kind for f in team.rows(Followup)} == {"summary", "plan"}
    assert "已补上客户名称" in reply and "首次拜访" in reply


def test_a_visit_lacking_only_its_customer_is_not_complete_until_it_is_named(team: Bot) -> None:
    say(team, "见了设备科王科长，痛点是预算紧，竞品是鱼跃，下周送样")
    assert not team.rows(Visit)[0].complete  # the 19:00 deadline still asks for it
    team.clock.advance(minutes=5)
    say(team, "市一院")
    assert team.rows(Visit)[0].complete


def test_another_reps_message_does_not_answer_my_question(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    say(team, "竞品：迈瑞去年进过院", user="lina")
    first = team.rows(Visit)[0]
    assert first.member == "zhangwei" and first.competitor is None


@both_backends
def test_a_first_visit_creates_the_summary_and_the_plan_follow_ups(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")  # Wed 2026-11-25 10:00
    followups = {f.kind: f for f in team.rows(Followup)}
    tz = team.settings.tz
    assert followups["summary"].due_at.astimezone(tz) == datetime(2026, 11, 26, 10, 0, tzinfo=tz)
    # five working days after Wednesday: Thu, Fri, Mon, Tue, Wed
    assert followups["plan"].due_at.astimezone(tz).date() == date(2026, 12, 2)
    say(team, "下午又去了市一院设备科王主任那里，痛点是维修响应慢，下周一再去")
    assert len(team.rows(Followup)) == 2  # a second visit is no first visit
    assert len(team.rows(Visit)) == 2  # "又去了": a visit of its own, not an answer to the first


def test_a_plan_promised_sooner_than_five_working_days_is_due_that_day(team: Bot) -> None:
    reply = say(team, "今天拜访了市一院设备科王主任，痛点是维修慢，竞品GE，下一步周五前发定制方案")  # Wed
    assert "24小时内发拜访小结，11月27日前出定制方案" in reply
    plan = {f.kind: f for f in team.rows(Followup)}["plan"]
    assert plan.due_at.astimezone(team.settings.tz).date() == date(2026, 11, 27)
    # a promise of something else, or later than the rule, leaves the rule's day
    reply = say(team, "今天拜访了市二院设备科李科长，痛点是维修慢，竞品GE，下一步周五前送样机")
    assert "24小时内发拜访小结，12月2日前出定制方案" in reply


def test_a_fridays_first_visit_is_summarised_by_monday_not_on_saturday(team: Bot) -> None:
    team.clock.advance(days=2)  # Friday 2026-11-27 10:00
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    followups = {f.kind: f for f in team.rows(Followup)}
    tz = team.settings.tz
    assert followups["summary"].due_at.astimezone(tz) == datetime(2026, 11, 30, 10, 0, tzinfo=tz)


@both_backends
def test_a_customer_not_in_the_directory_is_added_with_level_unknown(team: Bot) -> None:
    reply = say(team, "拜访了县中医院李医生，反馈血糖仪试纸不够用，下周送样")
    customers = {c.name: c for c in team.rows(Customer)}
    assert customers["县中医院"].level is None
    assert "新客户已加入客户库（等级未知：回复“县中医院（二级）”这样的一句即可记下）" in reply
    team.clock.advance(days=1)
    reply = say(team, "又去了县中医院（二甲）设备科王科长，痛点是预算紧，竞品无，下周报价")
    assert {c.name: c.level for c in team.rows(Customer)}["县中医院"] == "二级"  # a level the report gives


def test_a_message_that_only_gives_a_hospital_its_level_files_it(team: Bot) -> None:
    say(team, "拜访了博爱医院张院长，想上一台CT，竞品无，后天带报价过去")
    assert "已记下：博爱医院（民营）" in say(team, "博爱医院是私立的")
    assert {c.name: c.level for c in team.rows(Customer)}["博爱医院"] == "民营"
    reply = say(team, "市一院是二级")  # the directory says 三甲: left alone
    assert "没有改动" in reply and {c.name: c.level for c in team.rows(Customer)}["市第一人民医院"] == "三甲"


def test_a_level_the_report_gives_a_new_customer_is_filed_with_it(team: Bot) -> None:
    reply = say(team, "拜访了博爱医院（民营）张院长，想上一台CT，竞品无，后天带报价过去")
    say(team, "拜访了城东社区卫生服务中心李医生，反馈试纸不够用，竞品无，下周送样")
    levels = {c.name: c.level for c in team.rows(Customer)}
    assert levels == {"市第一人民医院": "三甲", "博爱医院": "民营", "城东社区卫生服务中心": "社区"}
    assert "新客户已加入客户库（民营）" in reply
    say(team, "拜访了市一院（二级）王主任，痛点老化，竞品无，下周报价")  # never overrides the directory
    assert {c.name: c.level for c in team.rows(Customer)}["市第一人民医院"] == "三甲"


@both_backends
def test_an_urgent_need_alerts_the_group_with_the_right_mentions(team: Bot) -> None:
    reply = say(team, "急！市一院ICU今晚要3台呼吸机，病人爆满")
    [urgent] = team.rows(Urgent)
    assert urgent.status == "open" and urgent.department == "ICU"
    assert json.loads(urgent.items) == [{"product": "呼吸机", "quantity": 3, "unit": "台"}]
    assert urgent.due == date(2026, 11, 25)
    assert f"#{urgent.id}" in reply
    team.drain()
    [post] = team.fake.bodies()
    content = post["markdown"]["content"]
    assert "市第一人民医院" in content and "3台呼吸机" in content and "今天" in content
    assert "<@liuyang>" in content and "<@chenjing>" in content  # on duty + 华东's leader
    assert "<@zhaolei>" not in content and "<@zhangwei>" not in content


def test_a_leaders_own_urgent_need_with_nobody_on_duty_alerts_the_regions_reps(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(customers=CUSTOMERS)
    say(bot, "急！市一院ICU今晚要3台呼吸机", user="chenjing")  # 华东's leader; no one on duty
    bot.drain()
    [post] = bot.fake.bodies()
    content = post["markdown"]["content"]
    assert "<@zhangwei>" in content and "<@lina>" in content  # 华东's reps
    assert "<@chenjing>" not in content and "<@wangqiang>" not in content


@both_backends
def test_an_urgent_need_without_a_customer_asks_where_and_the_answer_reaches_the_group(team: Bot) -> None:
    reply = say(team, "加急 明早前要两台制氧机")
    [urgent] = team.rows(Urgent)
    assert urgent.customer_id is None and "送到哪家医院" in reply
    team.drain()
    assert "客户未写明" in team.fake.bodies()[0]["markdown"]["content"]  # the alert does not wait
    team.clock.advance(minutes=5)
    reply = say(team, "市一院")
    [urgent] = team.rows(Urgent)
    [customer] = team.rows(Customer)
    assert urgent.customer_id == customer.id and "市第一人民医院" in reply
    team.drain()
    update = team.fake.bodies()[-1]["markdown"]["content"]
    assert f"#{urgent.id}" in update and "市第一人民医院" in update and "<@liuyang>" in update


def test_only_a_plain_answer_says_where_an_urgent_need_goes(make_bot: Callable[..., Bot]) -> None:
    shengyi = {"name": "省人民医院", "level": "三甲", "region": "华东", "aliases": ["省医"]}
    bot = make_bot(customers=[*CUSTOMERS, shengyi], rules=RULES)
    say(bot, "急需5台血糖仪，今晚要")
    say(bot, "谁知道省人医设备科王主任电话？")  # a question to colleagues
    assert bot.rows(Urgent)[0].customer_id is None
    reply = say(bot, "是省医急诊科的，急用")  # an alias the parser does not read, and 急 again
    [urgent] = bot.rows(Urgent)  # no second demand
    [customer] = [c for c in bot.rows(Customer) if c.name == "省人民医院"]
    assert urgent.customer_id == customer.id and urgent.department == "急诊科"
    assert "省人民医院 急诊科" in reply


def test_an_alias_inside_another_word_is_not_the_customer(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(customers=[{"name": "省人民医院", "level": "三甲", "region": "华东", "aliases": ["省医"]}])
    say(bot, "见了心内科李主任，反馈省医保控费压力大，竞品迈瑞，周五再去")
    [visit] = bot.rows(Visit)
    assert visit.customer_id is None and bot.rows(Followup) == []


def test_a_customer_name_long_after_an_urgent_need_is_not_filed_on_it(team: Bot) -> None:
    say(team, "加急 明早前要两台制氧机")
    team.clock.advance(minutes=31)
    say(team, "市一院")
    [urgent] = team.rows(Urgent)
    assert urgent.customer_id is None


def test_member_text_cannot_mention_anyone_or_format_the_alert(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机 <@all> **全体** [点我](http://x)")
    team.drain()
    content = team.fake.bodies()[0]["markdown"]["content"]
    assert "<@all>" not in content and "**全体**" not in content and "](http" not in content
    assert "＜＠all＞" in content


@both_backends
def test_competitor_news_under_a_label_is_news_unless_it_answers_a_visit(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是设备老化，确认下周提交采购申请")
    team.clock.advance(minutes=5)
    reply = say(team, "竞品：迈瑞在送耗材")  # the answer to the visit's question, and news for the report
    assert "已补上竞品情况" in reply and [v.competitor for v in team.rows(Visit)] == ["迈瑞在送耗材"]
    [mindray] = team.rows(Competitor)
    assert (mindray.brand, mindray.customer_id) == ("迈瑞", team.rows(Visit)[0].customer_id)
    reply = say(team, "竞品：飞利浦在省人医心内科送了一台试用机", user="lina")  # lina has no open visit
    assert len(team.rows(Visit)) == 1 and "拜访" not in reply
    news = team.rows(Competitor)[1]
    assert (news.brand, news.activity, news.member) == ("飞利浦", "送了一台试用机", "lina")


def test_a_competitors_move_told_in_a_visit_reaches_the_competitor_log(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，想换监护仪，理邦在这边做买设备送耗材的活动，下周送方案")
    [move] = team.rows(Competitor)
    assert (move.brand, move.activity) == ("理邦", "理邦在这边做买设备送耗材的活动")
    assert "· 11月25日 理邦：理邦在这边做买设备送耗材的活动" in say(team, "/客户 市一院")
    say(team, "今天拜访了市二院设备科李科长，想换监护仪，竞品GE在跟，下周送方案")  # who is there: no move
    assert len(team.rows(Competitor)) == 1
    team.clock.advance(hours=1)
    say(team, "市二院设备科李科长那边，迈瑞也报了价，比我们低5%")
    assert [c.brand for c in team.rows(Competitor)] == ["理邦", "迈瑞"]


def test_competitor_news_with_its_source_at_the_end_is_news_not_more_of_a_visit(team: Bot) -> None:
    say(team, "上午去市二院放射科转了一圈，见了刘医生，聊了聊他们DR的使用情况")
    team.clock.advance(days=2)
    say(team, "竞品，迈瑞这周在市二院做买监护仪送两年耗材的活动，放射科刘医生说的")
    [visit] = team.rows(Visit)
    assert visit.next_action is None  # was: the competitor's activity filed as our next step
    [news] = team.rows(Competitor)
    assert news.brand == "迈瑞" and "送两年耗材" in (news.activity or "")


def test_competitor_news_later_that_day_is_news_not_the_missing_next_step(team: Bot) -> None:
    say(team, "又去了市一院信息科刘工，关心监护数据能否接入医院信息系统，竞品：无")  # lacks the next step
    team.clock.advance(hours=2)
    say(team, "听说迈瑞这周在市一院周边社区卫生服务中心搞免费试用三个月")
    [visit] = team.rows(Visit)
    assert visit.next_action is None and not visit.complete
    [news] = team.rows(Competitor)
    assert news.brand == "迈瑞" and "免费试用" in (news.activity or "")


def test_a_visit_that_says_where_the_deal_stands_suggests_putting_it_in_the_funnel(team: Bot) -> None:
    reply = say(team, "拜访市一院设备科王主任，痛点是设备老化，竞品无，周五前我们把报价发过去")
    assert "发 `/阶段 市第一人民医院 报价` 记一下" in reply
    say(team, "/阶段 市一院 报价")
    reply = say(team, "又去了市一院设备科王主任，痛点是预算紧，竞品无，下周再谈报价")
    assert "/阶段" not in reply  # already in the funnel


@pytest.mark.parametrize("text", ["今天没有拜访", "今天没拜访客户，一直在公司开会", "今天没去医院，在公司写方案"])
def test_saying_there_was_no_visit_today_files_nothing_and_excuses_the_deadline(team: Bot, text: str) -> None:
    reply = say(team, text)
    assert team.rows(Visit) == [] and team.rows(Itinerary) == []
    assert "19:00 的拜访记录提醒不会找你" in reply
    posts = scheduler.run_job(team.runtime, "crm_deadline", team.clock.now.replace(hour=11, minute=0)).posts
    missing = next(line for p in posts for line in p.content.splitlines() if "今天还没有拜访记录" in line)
    assert "<@zhangwei>" not in missing and "<@lina>" in missing


def test_no_visit_words_are_read_narrowly(team: Bot) -> None:
    for text in ("今天没有客户拜访", "今天不出去拜访了，在家写标书"):
        assert "19:00 的拜访记录提醒不会找你" in say(team, text)
    assert team.rows(Visit) == []
    for text in ("昨天没有拜访", "明天没有拜访安排，在公司开会"):  # another day: nothing excused today
        assert "19:00" not in say(team, text)
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")  # lacks need and competitor
    team.clock.advance(minutes=5)
    say(team, "今天没有拜访计划了")  # within the answer window: not an answer
    assert team.rows(Visit)[0].pain_points is None


@pytest.mark.parametrize("text", ["王主任不是拍板的", "王主任是拍板的吗？"])
def test_a_negated_or_asked_role_changes_nothing(team: Bot, text: str) -> None:
    say(team, "拜访了市一院设备科王主任，痛点是设备老化，竞品无，下周二送方案")
    team.clock.advance(hours=2)
    say(team, text)
    assert team.rows(Visit)[0].decision_role == "采购"


def test_an_addition_with_a_written_date_files_the_visit_on_that_day(team: Bot) -> None:
    reply = say(team, "补一下11月23日的拜访：省人医设备科刘科长，痛点是预算紧，竞品无，周五报价")  # Wed 11-25
    [visit] = team.rows(Visit)
    assert visit.visited_at.astimezone(team.settings.tz).date() == date(2026, 11, 23)
    assert "已补记 11月23日 的拜访" in reply


def test_competitor_news_is_filed_with_thanks(team: Bot) -> None:
    reply = say(team, "迈瑞本周在城东区医院做买设备送耗材活动")
    [intel] = team.rows(Competitor)
    assert intel.brand == "迈瑞" and "送耗材" in (intel.activity or "")
    assert intel.region == "华东"
    assert reply.startswith("谢谢")


@both_backends
def test_a_trip_report_is_filed_for_its_day(team: Bot) -> None:
    say(team, "报备：明天一早直接去市一院设备科，不到公司了")
    [trip] = team.rows(Itinerary)
    assert trip.trip_date == date(2026, 11, 26) and trip.department == "设备科"


@both_backends
def test_a_leave_is_filed_with_its_dates_and_handover(team: Bot) -> None:
    reply = say(team, "周五请假一天，客户这边交给小李跟进")
    [leave] = team.rows(Leave)
    assert (leave.start, leave.end, leave.handover) == (date(2026, 11, 27), date(2026, 11, 27), "小李")
    assert "小李" in reply


@both_backends
def test_the_daily_review_is_filed(team: Bot) -> None:
    say(team, "今日复盘：目标未完成，原因是王主任临时出差，补救：明天上午补访")
    [review] = team.rows(Review)
    assert review.review_date == date(2026, 11, 25) and review.target_met is False
    assert "出差" in (review.reason or "") and "补访" in (review.remedy or "")


def test_small_talk_gets_a_hint_and_no_record(team: Bot) -> None:
    reply = say(team, "今天天气真不错")
    assert "/帮助" in reply
    assert say(team, "好的收到").strip() == "👌"  # an acknowledgement needs no hint
    assert team.rows(Visit) == [] and team.rows(Urgent) == []


def test_phone_numbers_in_records_are_masked(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任（13812345678），痛点是维修慢，竞品GE，下周再约")
    [visit] = team.rows(Visit)
    assert "13812345678" not in visit.raw_text and "138****5678" in visit.raw_text


@both_backends
def test_a_failing_handler_keeps_the_message_and_writes_no_record(team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.visits as visits

    def broken(*_a: object) -> None:
        raise RuntimeError("bug after writing")

    original = visits.plan_due
    monkeypatch.setattr(visits, "plan_due", broken)
    reply = say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    monkeypatch.setattr(visits, "plan_due", original)
    assert "出了错" in reply
    assert team.rows(Visit) == [] and team.rows(Followup) == []
    [message] = team.rows(InboundMessage)
    assert message.error and "bug after writing" in message.error


@both_backends
def test_a_retried_urgent_message_alerts_once(team: Bot) -> None:
    xml, _ = robot_text_xml("@前线助手 急！市一院ICU今晚要3台呼吸机", chatid=CHAT)
    for _ in range(3):
        assert team.caller.post_robot(xml)[0] == 200
    team.drain()
    assert len(team.rows(Urgent)) == 1 and len(team.fake.bodies()) == 1


def test_working_days_skip_a_holiday_set_in_config(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(customers=CUSTOMERS, calendar={"holidays": ["2026-11-27", "2026-11-30"]})
    say(bot, "今天拜访了市一院设备科王主任，确认下周提交采购申请")
    plan = {f.kind: f for f in bot.rows(Followup)}["plan"]
    # Thu 26, (Fri 27 off), (Mon 30 off), Tue 1, Wed 2, Thu 3, Fri 4
    assert plan.due_at.astimezone(bot.settings.tz).date() == date(2026, 12, 4)
    assert plan.due_at - bot.clock() > timedelta(days=8)


def test_a_leader_added_with_a_command_is_alerted_at_once(team: Bot) -> None:
    say(team, "/成员 添加 sunli 孙丽 组长 华东", user="liuyang")  # liuyang is the admin
    say(team, "急！市一院ICU今晚要3台呼吸机")
    team.drain()
    content = team.fake.bodies()[-1]["markdown"]["content"]
    assert "<@sunli>" in content and "<@chenjing>" in content


VISIT = "今天拜访了市一院设备科王主任，确认下周提交采购申请"


@both_backends
def test_a_second_visit_to_a_known_customer_is_filed_like_the_first(team: Bot) -> None:
    """The second visit is decided outside the write lock (everything it needs is cached)."""
    say(team, VISIT)
    team.clock.advance(minutes=40)  # the first visit's question has expired
    reply = say(team, "又去了市一院设备科王主任，痛点是维修慢，下周二再约")
    first, second = team.rows(Visit)
    assert second.customer_id == first.customer_id and second.contact_id == first.contact_id
    assert second.pain_points and "维修慢" in second.pain_points and not second.first_visit
    assert len(team.rows(Followup)) == 2  # the first visit's two, none for the second
    message = team.rows(InboundMessage)[-1]
    assert second.message_id == message.id and message.handler == "visits.record"
    assert message.reply == reply and "竞品情况" in reply and "需求痛点" not in reply
    # its question replaced the first one's: an answer now completes the second visit
    say(team, "竞品：迈瑞去年进过院")
    first, second = team.rows(Visit)
    assert second.competitor and "迈瑞" in second.competitor and second.complete
    assert first.competitor is None


@both_backends
def test_a_handler_failing_on_a_second_visit_keeps_the_message_and_writes_no_record(
    team: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.visits as visits

    say(team, VISIT)

    def broken(_value: object) -> None:
        raise RuntimeError("bug in a planned handler")

    monkeypatch.setattr(visits, "_due", broken)
    reply = say(team, "又去了市一院设备科王主任，痛点是维修慢，下周二再约")
    assert "出了错" in reply
    assert len(team.rows(Visit)) == 1
    message = team.rows(InboundMessage)[-1]
    assert message.error and "bug in a planned handler" in message.error and message.handler is None


def test_a_new_customer_whose_first_visit_failed_is_new_again_next_time(
    team: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a failed handler wrote was rolled back, so nothing of it may be remembered."""
    import handlers.visits as visits

    original = visits.plan_due

    def broken(*_a: object) -> None:
        raise RuntimeError("bug after writing")

    monkeypatch.setattr(visits, "plan_due", broken)
    assert "出了错" in say(team, "今天拜访了城南社区医院的李院长，下周送样机")
    monkeypatch.setattr(visits, "plan_due", original)
    reply = say(team, "今天拜访了城南社区医院的李院长，下周送样机")
    [visit] = team.rows(Visit)
    customer = next(c for c in team.rows(Customer) if c.id == visit.customer_id)
    assert "城南社区医院" in customer.name and visit.first_visit
    assert {f.kind for f in team.rows(Followup)} == {"summary", "plan"}
    assert "出了错" not in reply


def test_a_plan_that_no_longer_applies_is_handled_under_the_lock(team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the data a plan relied on changed before it was applied, the handler runs again, once."""
    from bot.db import PlannedRecords

    say(team, VISIT)
    original_apply = PlannedRecords.apply
    failures = []

    def apply_fails_once(self: PlannedRecords, conn: object) -> None:
        if not failures:
            failures.append(1)
            raise RuntimeError("a row the plan names is gone")
        original_apply(self, conn)  # type: ignore[arg-type]

    monkeypatch.setattr(PlannedRecords, "apply", apply_fails_once)
    reply = say(team, "又去了市一院设备科王主任，痛点是维修慢，下周二再约")
    assert failures and "已记录拜访" in reply
    visits, messages = team.rows(Visit), team.rows(InboundMessage)
    assert len(visits) == 2 and len(messages) == 2
    assert [v.message_id for v in visits] == [m.id for m in messages]
    assert messages[-1].handler == "visits.record" and messages[-1].reply == reply and not messages[-1].error


def test_a_plan_made_from_a_dropped_cache_is_not_applied(team: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed batch drops what handlers remembered; a plan decided from it is decided again."""
    service = team.runtime.service
    say(team, VISIT)
    known = service.cache["customers"]
    for key, (at, cid, _name, level) in list(known.items()):
        known[key] = (at, cid, "旧名字", level)  # what a rolled-back rename would have left
    original_plan = service._plan

    def plan_then_forget(*args: object) -> object:
        planned = original_plan(*args)  # type: ignore[arg-type]
        service._forget()  # a batch failed meanwhile
        return planned

    monkeypatch.setattr(service, "_plan", plan_then_forget)
    reply = say(team, "又去了市一院设备科王主任，竞品是GE，月底前报价")
    assert "市第一人民医院" in reply and "旧名字" not in reply
    assert team.rows(InboundMessage)[-1].reply == reply and len(team.rows(Visit)) == 2


def test_a_visit_whose_commit_failed_is_filed_once_when_wecom_retries(team: Bot) -> None:
    from sqlalchemy import event

    say(team, VISIT)  # the customer, its contact and "visited" are now remembered
    xml, _ = robot_text_xml("@前线助手 又去了市一院设备科王主任，痛点是维修慢，下周二再约", chatid=CHAT)

    def disk_full(_conn: object) -> None:
        raise OSError("disk full")

    event.listen(team.engine, "commit", disk_full)
    try:
        status, body = team.caller.post_robot(xml)
    finally:
        event.remove(team.engine, "commit", disk_full)
    assert status == 503 and b"retry" in body
    assert len(team.rows(Visit)) == 1 and len(team.rows(InboundMessage)) == 1
    status, body = team.caller.post_robot(xml)  # WeCom delivers it again
    assert status == 200 and "已记录拜访" in team.caller.open_robot_reply(body)
    assert len(team.rows(Visit)) == 2 and len(team.rows(InboundMessage)) == 2
    status, body = team.caller.post_robot(xml)  # and once more: the first reply, nothing new
    assert status == 200 and len(team.rows(Visit)) == 2


@both_backends
def test_a_contact_keeps_the_role_the_rep_last_stated_whichever_process_filed_it(
    make_bot: Callable[..., Bot],
) -> None:
    # Two bots on one database stand for two server processes, each with its own memory.
    first, second = make_bot(customers=CUSTOMERS), make_bot(customers=CUSTOMERS)
    say(first, "今天拜访了市一院设备科王主任，确认下周提交采购申请")  # 设备科主任: 采购
    say(second, "今天拜访了市一院设备科王主任，角色：决策者，确认下周提交采购申请")
    [contact] = first.rows(Contact)
    assert contact.decision_role == "决策者"
    # the first process still remembers 王主任 from its own visit; a role stated there wins all the same
    say(first, "今天又拜访了市一院设备科王主任，他是技术把关的，确认下周提交采购申请")
    [contact] = first.rows(Contact)
    assert contact.decision_role == "技术把关"
    # a role read from the title again fills nothing the rep said
    say(second, "今天又拜访了市一院设备科王主任，确认下周提交采购申请")
    [contact] = first.rows(Contact)
    assert contact.decision_role == "技术把关"
    # the second message told the first visit again (with the role): one visit, not two
    assert [v.contact_id for v in first.rows(Visit)] == [contact.id] * 3


def test_a_labelled_answer_whose_next_step_is_another_visit_completes_the_visit(team: Bot) -> None:
    say(team, "上午去省人医设备科见了王主任，CT室那台机子老出故障")
    team.clock.advance(minutes=5)
    reply = say(team, "竞品：西门子；下一步：周四再去找王主任")
    [visit] = team.rows(Visit)
    assert visit.competitor == "西门子" and visit.next_action and "再去找王主任" in visit.next_action
    assert visit.complete and "齐全" in reply


@pytest.mark.parametrize(
    ("answer", "step"),
    [("没有竞品，下周一送样机过去", "送样机过去"), ("迈瑞在她们那送试剂，下周二带样机去", "带样机去")],
)
def test_an_answer_with_a_competitor_and_our_next_step_fills_both(team: Bot, answer: str, step: str) -> None:
    say(team, "市一院手术室周护士长说电刀用了八年了，经常报警，想明年换一批")
    team.clock.advance(minutes=10)
    reply = say(team, answer)
    [visit] = team.rows(Visit)
    assert visit.competitor and visit.next_action and step in visit.next_action
    assert "迈瑞" not in visit.next_action and visit.complete and "齐全" in reply


def test_competitor_news_still_answers_only_the_competitor(team: Bot) -> None:
    say(team, "市一院手术室周护士长说电刀用了八年了，经常报警，想明年换一批")
    team.clock.advance(minutes=10)
    say(team, "听说迈瑞这周在市一院搞免费试用")
    [visit] = team.rows(Visit)
    assert visit.competitor and "迈瑞" in visit.competitor and visit.next_action is None


def test_a_role_given_as_an_answer_is_no_pain_point(team: Bot) -> None:
    say(team, "下午去市一院院办见了孙主任，没有竞品，下周送产品目录过去")
    team.clock.advance(minutes=5)
    say(team, "孙主任算影响者")
    [visit] = team.rows(Visit)
    assert visit.decision_role == "影响者" and visit.pain_points is None


def test_a_contacts_role_on_file_is_not_asked_again_nor_overwritten_by_a_title(team: Bot) -> None:
    say(team, "县医院检验科钱科长让我们报个价，试剂价格偏高，竞品雷度")
    team.clock.advance(minutes=5)
    say(team, "钱科长是采购")
    team.clock.advance(days=1)
    reply = say(team, "今天又去县医院检验科见了钱科长，试剂价格还是偏高，竞品雷度，周五前回复他价格")
    assert "决策链角色" not in reply and "（采购）" in reply
    say(team, "市一院ICU拜访了黄主任，他是拍板的，呼吸机不够，竞品迈瑞，下周送方案")
    team.clock.advance(days=1)
    say(team, "又去了一趟市一院ICU，黄主任让我们先出个三台呼吸机的配置方案，竞品迈瑞，呼吸机不够")
    roles = {c.name: c.decision_role for c in team.rows(Contact)}
    assert roles == {"钱科长": "采购", "黄主任": "决策者"}


def test_an_addition_to_todays_visit_completes_it(team: Bot) -> None:
    say(team, "上午去市一院设备科见了王主任，CT室那台机子老出故障")
    team.clock.advance(minutes=40)  # past the question's half hour
    reply = say(team, "补充一下今天市一院的拜访：竞品西门子，周四带方案过去")
    [visit] = team.rows(Visit)
    assert visit.competitor and "西门子" in visit.competitor and visit.complete and "齐全" in reply


def test_a_directory_name_is_found_before_a_verb(make_bot: Callable[..., Bot]) -> None:
    customers = [{"name": "宝安区中心医院", "level": "三级", "region": "华南", "aliases": ["宝安中心"]}]
    bot = make_bot(customers=customers)
    say(bot, "替李娜去宝安中心把心电图机样机送过去了，林医生说先试用一周")
    [visit] = bot.rows(Visit)
    [customer] = bot.rows(Customer)
    assert visit.customer_id == customer.id and customer.name == "宝安区中心医院"


def test_a_trip_with_a_return_to_the_office_and_a_leave_of_several_days_are_acknowledged_so(team: Bot) -> None:
    assert "回公司后照常" in say(team, "报备：明天一早直接去市一院设备科，十点左右回公司")
    assert "当天不用到公司打卡" in say(team, "报备：明天直接去市一院，不回公司了", user="lina")
    assert "这几天的复盘" in say(team, "12月14日到16日请年假，交给李娜", user="wangqiang")


def test_a_leaders_word_to_the_group_files_nothing_and_gets_a_nod(team: Bot) -> None:
    assert say(team, "大家周五前把市一院的报价都准备好", user="chenjing").strip() == "👌"
    assert say(team, "大家今天的拜访记录记得19点前补全，缺项的抓紧", user="chenjing").strip() == "👌"
    assert say(team, "收到，马上补").strip() == "👌"
    assert team.rows(Visit) == [] and team.rows(Review) == []


def test_a_repeat_visit_keeps_the_contacts_stated_role_with_or_without_the_department(team: Bot) -> None:
    say(team, "今天去市一院信息科找了孙主任，想要能接HIS的监护仪，竞品是飞利浦，下周三带方案再去")
    say(team, "孙主任算影响者")
    say(team, "今天去市一院设备科拜访了李处长，他是拍板的，想换监护仪，竞品是迈瑞，下周一去送报价", user="lina")
    team.clock.advance(days=1)
    assert "孙主任（影响者）" in say(team, "今天又见了市一院孙主任，方案认可，竞品还是飞利浦，周五把报价发过去")
    assert "李处长（决策者）" in say(team, "上午又去了市一院设备科，李处长把报价的配置又改了一下", user="lina")
    assert sorted((c.name, c.department, c.decision_role) for c in team.rows(Contact)) == [
        ("孙主任", "信息科", "影响者"),
        ("李处长", "设备科", "决策者"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "拜访市一院设备科，王主任不在，见了采购的小马，说年底采购计划已经报上去了",
        "下午去市一院检验科找刘科长，她休假了没见到，留了资料",
    ],
)
def test_a_contact_who_was_away_is_not_filed_as_met(team: Bot, text: str) -> None:
    say(team, text)
    [visit] = team.rows(Visit)
    assert visit.contact_id is None and team.rows(Contact) == []


def test_an_hour_later_an_answer_that_says_no_competitor_keeps_its_next_step(team: Bot) -> None:
    say(team, "市一院手术室周护士长说电刀用了八年了，经常报警，想明年换一批")
    team.clock.advance(hours=1)
    reply = say(team, "没有竞品，下周一送样机过去")
    [visit] = team.rows(Visit)
    assert visit.next_action and "送样机过去" in visit.next_action and visit.complete and "齐全" in reply


def test_with_two_visits_to_one_hospital_open_an_answer_naming_the_department_completes_that_one(
    team: Bot,
) -> None:
    say(team, "上午去市一院设备科见了王主任，CT室那台机子老出故障")
    team.clock.advance(hours=4)
    say(team, "下午又去了市一院ICU，见了李主任，呼吸机不够用")
    team.clock.advance(hours=2)
    say(team, "市一院设备科那条：竞品西门子，周四带方案过去")
    visits = {v.department: ("西门子" in (v.competitor or ""), v.complete) for v in team.rows(Visit)}
    assert visits == {"设备科": (True, True), "ICU": (False, False)}
    assert "补充一下今天市第一人民医院ICU的拜访" in say(team, "/今日")


def test_a_labelled_answer_whose_value_names_a_department_is_still_the_answer(team: Bot) -> None:
    say(team, "拜访了市一院设备科黄科长，设备科管采购，血糖仪要走院内采购流程，竞品罗氏，下一步下周一提交资质")
    team.clock.advance(minutes=5)
    say(team, "痛点：急诊血糖仪数量不够")
    [visit] = team.rows(Visit)
    assert visit.pain_points and "急诊血糖仪数量不够" in visit.pain_points and visit.complete


def test_competitor_news_names_a_directory_customer_written_short(make_bot: Callable[..., Bot]) -> None:
    customers = [{"name": "西乡社区卫生服务中心", "level": "社区", "region": "华南", "aliases": ["西乡社区"]}]
    bot = make_bot(customers=customers)
    say(bot, "竞品：联影在西乡社区推DR零首付")  # a short name the parser alone does not know
    [news] = bot.rows(Competitor)
    [customer] = bot.rows(Customer)
    assert news.customer_id == customer.id and news.brand == "联影"


def test_saying_the_summary_or_plan_was_sent_closes_that_follow_up(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请，竞品GE，痛点维修慢")
    team.clock.advance(hours=20)
    reply = say(team, "市一院拜访小结已发王主任：沟通了维修响应问题，建议下周做方案演示")
    assert "拜访小结" in reply and "已完成" in reply and len(team.rows(Visit)) == 1
    team.clock.advance(days=2)
    say(team, "定制方案已经发给王主任了")  # the only plan owed: no customer needed
    assert {f.kind: f.status for f in team.rows(Followup)} == {"summary": "done", "plan": "done"}


def test_a_follow_up_told_in_other_words_or_again_or_in_a_review(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，想换监护仪，竞品GE，下周三送报价")  # Wed 25 Nov, 10:00
    team.clock.advance(hours=1)
    say(team, "今天拜访了省人医设备科孙科长，预算卡得紧，在看联影的，周五带方案")
    team.clock.advance(hours=7)  # 18:00
    reply = say(team, "今日复盘：省人医要报预算，周五带方案；市一院小结已发。达成")
    [review] = team.rows(Review)
    assert review.target_met is True  # the review is filed, not taken for the follow-up
    assert "✅ 跟进1 已完成：市第一人民医院 拜访小结" in reply  # the one its sentence names
    assert {(f.customer_id, f.kind): f.status for f in team.rows(Followup)}[(2, "summary")] == "open"
    assert "在 11月25日 已经记为完成，不用再报" in say(team, "市一院拜访小结已发王主任")
    assert "跟进3 已完成：省人医 拜访小结" in say(team, "省人医那边小结也发过去了")
    assert "跟进4 已完成：省人医 定制方案" in say(team, "省人医的定制方案发给孙科长了")
    assert "已完成" not in say(team, "市一院方案下午发给他")  # still to come


def test_a_visit_report_that_mentions_a_plan_sent_is_still_a_visit(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，确认下周提交采购申请，竞品GE，痛点维修慢")
    team.clock.advance(days=1)
    say(team, "方案已经发给王主任了，今天又去拜访了市一院设备科，王主任说下周开会定")
    assert len(team.rows(Visit)) == 2


def test_a_hospital_name_with_a_frequent_typo_is_the_directorys_customer(team: Bot) -> None:
    reply = say(team, "下午去了市第一人名医院检验科，见了赵主任，想换生化仪，竞品罗氏，下周二送资料")
    assert "市第一人民医院 检验科 赵主任" in reply and "新客户" not in reply
    assert [c.name for c in team.rows(Customer)] == ["市第一人民医院"]
    say(team, "今天拜访了城南人名医院设备科孙科长，想换监护仪，竞品GE，周五送报价")
    assert "城南人民医院" in [c.name for c in team.rows(Customer)]  # a new one is filed with the name fixed


def test_a_homophone_typo_of_a_directory_short_name_is_that_customer(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(customers=[{"name": "市第二人民医院", "level": "三级", "region": "华东", "aliases": ["市二院"]}])
    reply = say(bot, "市儿院放射科孙主任，机房够装新DR，联影报价比我们低一点，下周三出正式方案")
    assert "市第二人民医院 放射科 孙主任" in reply and [c.name for c in bot.rows(Customer)] == ["市第二人民医院"]


def test_saying_one_took_no_leave_files_none(team: Bot) -> None:
    say(team, "我没请假！我是问明天谁请假")
    assert team.rows(Leave) == []


def test_a_mistyped_customer_corrected_right_after_moves_the_visit_and_drops_the_mistake(team: Bot) -> None:
    say(team, "下午去了市第三人民医院检验科，见了赵主任，想换生化仪，竞品罗氏，下周二送资料")
    reply = say(team, "打错了，是市一院")
    assert "客户改为 市第一人民医院" in reply
    [visit] = team.rows(Visit)
    assert [c.name for c in team.rows(Customer)] == ["市第一人民医院"]  # the mistyped one filed nothing else
    assert visit.customer_id == team.rows(Customer)[0].id == team.rows(Contact)[0].customer_id
    assert {f.customer_id for f in team.rows(Followup)} == {visit.customer_id}


def test_no_need_now_is_the_answer_to_the_pain_point_in_a_report_and_in_a_reply(team: Bot) -> None:
    reply = say(team, "今天拜访了市一院设备科王主任，暂无需求，没看到别家，下个月再去看看")
    [visit] = team.rows(Visit)
    assert visit.pain_points == "暂无需求" and visit.complete and "齐全" in reply
    team.clock.advance(hours=1)
    say(team, "今天拜访了市一院心内科李主任，确认下周提交采购申请")  # pain point and competitor missing
    team.clock.advance(minutes=2)
    reply = say(team, "暂时没有新的需求，竞品没提")
    later = max(team.rows(Visit), key=lambda v: v.id)
    assert later.pain_points == "暂时没有新的需求" and later.complete and "齐全" in reply
