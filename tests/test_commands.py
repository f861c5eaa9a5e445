"""Slash commands through the real signed callback: what each answers, stores, posts and refuses."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from defusedxml.ElementTree import fromstring

from bot.models import (
    Audit,
    Competitor,
    Contact,
    Customer,
    CustomerAlias,
    Followup,
    InboundMessage,
    Itinerary,
    Leave,
    Member,
    Opportunity,
    Review,
    StageChange,
    Urgent,
    Visit,
)
from bot.wecom.outbound import MARKDOWN_LIMIT
from handlers.commands.export import cell
from handlers.commands.registry import REGISTRY
from tests.conftest import CHAT, Bot, both_backends
from tests.wecom_peer import robot_text_xml

CUSTOMERS = [
    {"name": "市第一人民医院", "level": "三甲", "region": "华东", "aliases": ["市一院", "一院"]},
    {"name": "市第二人民医院", "level": "三级", "region": "华东", "aliases": ["市二院"]},
    {"name": "城南中医院", "level": "二级", "region": "华南"},
]
TOOLKIT = [
    {"name": "血糖仪产品注册证", "kind": "注册证", "version_date": "2026-01-10", "expiry": "2030-01-09",
     "link": "https://files.example.com/reg-bgm.pdf"},
    {"name": "呼吸机产品注册证", "kind": "注册证", "version_date": "2021-03-01", "expiry": "2026-03-01"},
    {"name": "呼吸机宣传册", "kind": "宣传册", "edition": "医生版", "version_date": "2026-06-01"},
]  # fmt: skip
RULES = {"urgent_on_duty": ["liuyang"]}
VISIT = "今天拜访了市一院设备科王主任，确认下周提交采购申请"

REP, REP2, OTHER_REGION_REP, LEADER, ADMIN = "zhangwei", "lina", "wangqiang", "chenjing", "liuyang"


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS, rules=RULES, toolkit=TOOLKIT)


def say(bot: Bot, text: str, user: str = REP, name: str = "") -> str:
    xml, _ = robot_text_xml(f"@前线助手 {text}", userid=user, name=name or user, chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert status == 200, body
    plain = bot.caller.open_robot_reply(body)
    if not plain:
        return ""
    root = fromstring(plain.encode())
    return root.findtext("Markdown/Content") or root.findtext("Text/Content") or ""


def posts(bot: Bot) -> list[str]:
    bot.drain()
    return [b.get("markdown", b.get("text", {}))["content"] for b in bot.fake.bodies()]


def audits(bot: Bot, action: str | None = None) -> list[Audit]:
    return [a for a in bot.rows(Audit) if action is None or a.action == action]


def nothing_stored(bot: Bot) -> None:
    for model in (Visit, Urgent, Competitor, Itinerary, Leave, Review, Opportunity, StageChange, Audit):
        assert bot.rows(model) == [], model.__name__


# ----------------------------------------------------------------------------- the registry and help
def test_help_lists_every_declared_command_and_nothing_else(team: Bot) -> None:
    reply = say(team, "/帮助")
    assert len(reply.encode()) <= MARKDOWN_LIMIT  # one WeCom message, nothing spilled to the outbox
    listed = [m.group(1) for line in reply.splitlines() if (m := re.match(r"^`/([^`]+)`", line))]
    assert sorted(listed) == sorted(c.label for c in REGISTRY.commands)
    assert "客户 添加" in listed and "（组长）" in reply and "（管理员）" in reply
    for title in REGISTRY.groups.values():
        assert title in reply


def test_help_for_one_command_gives_usage_example_and_sub_commands(team: Bot) -> None:
    reply = say(team, "/help 客户")
    customer = REGISTRY.by_key["customer"]
    assert customer.usage in reply and customer.example in reply and "/customer" in reply
    add = REGISTRY.by_key["customer.add"]
    assert add.usage in reply and add.example in reply


def test_every_command_is_implemented_and_its_names_are_unique() -> None:
    REGISTRY.check()
    names = [n for c in REGISTRY.top_level for n in c.names]
    assert len(names) == len(set(names))
    for cmd in REGISTRY.top_level:
        assert not cmd.names[0].isascii() and any(n.isascii() for n in cmd.names[1:]), cmd.key


def test_an_unknown_command_suggests_the_closest_names(team: Bot) -> None:
    reply = say(team, "/客护 市一院")
    assert "没有 `/客护`" in reply and "`/客户`" in reply
    assert "`/customer`" in say(team, "/custmer")
    nothing_stored(team)


def test_full_width_slash_spaces_and_a_missing_space_are_understood(team: Bot) -> None:
    assert "市第一人民医院" in say(team, "／客户　市一院")
    assert "市第一人民医院" in say(team, "/客户市一院")
    assert "市第一人民医院" in say(team, "/customer，市一院")


def test_a_non_member_may_only_ask_for_help(team: Bot) -> None:
    reply = say(team, "/帮助", user="stranger")
    assert "不在团队名单" in reply and "/客户" in reply
    refused = say(team, "/急需 市一院ICU今晚要3台呼吸机", user="stranger")
    assert "不在团队名单" in refused and "刘洋" in refused  # the admin to ask
    nothing_stored(team)


def test_a_role_refusal_names_the_role_needed(team: Bot) -> None:
    assert "需要**组长**权限" in say(team, "/漏斗")
    assert "需要**管理员**权限" in say(team, "/成员 添加 sunli 孙丽 销售代表 华东", user=LEADER)
    nothing_stored(team)


# ----------------------------------------------------------------------------- records by command
def test_visit_without_text_replies_the_fill_in_template(team: Bot) -> None:
    reply = say(team, "/拜访")
    for label in ("客户：", "科室：", "联系人：", "决策链角色：", "需求痛点：", "竞品情况：", "下一步动作："):
        assert label in reply
    assert team.rows(Visit) == []


def test_visit_command_files_the_same_record_as_free_text(team: Bot) -> None:
    reply = say(team, f"/拜访 {VISIT}")
    [visit] = team.rows(Visit)
    assert (visit.member, visit.department, visit.decision_role) == (REP, "设备科", "采购")
    assert visit.next_action and "提交采购申请" in visit.next_action and not visit.complete
    assert "已记录拜访" in reply and "需求痛点" in reply
    assert len(team.rows(Followup)) == 2  # first visit: summary and plan
    [message] = team.rows(InboundMessage)
    assert message.handler == "commands" and visit.message_id == message.id
    [audit] = audits(team)
    assert audit.actor == REP and audit.action == "visit.record"
    # the open question is answered by the next free message, as after a free-text visit
    say(team, "痛点：现有设备老化\n竞品：GE的在用")
    assert team.rows(Visit)[0].complete


def test_the_filled_in_template_is_a_visit(team: Bot) -> None:
    say(team, "/拜访 客户：市一院\n科室：设备科\n联系人：王主任\n需求痛点：维修慢\n竞品情况：GE\n下一步动作：下周报价")
    [visit] = team.rows(Visit)
    assert visit.pain_points == "维修慢" and visit.competitor == "GE" and visit.complete


def test_urgent_command_alerts_the_group(team: Bot) -> None:
    reply = say(team, "/急需 市一院ICU要3台呼吸机")  # no urgency word: the command says it
    [urgent] = team.rows(Urgent)
    assert urgent.status == "open" and json.loads(urgent.items)[0]["product"] == "呼吸机"
    assert f"#{urgent.id}" in reply
    [alert] = posts(team)
    assert f"/接单 {urgent.id}" in alert and "<@liuyang>" in alert
    assert "> 市一院ICU要3台呼吸机" in alert and "/急需" not in alert  # the quote is the need, not the command
    assert audits(team, "urgent.record")


@pytest.mark.parametrize("command", ["/急需", "/竞品", "/报备", "/请假", "/调休", "/复盘", "/急需 ，"])
def test_record_commands_without_text_answer_their_usage(team: Bot, command: str) -> None:
    reply = say(team, command)
    assert "格式不对" in reply and "例子" in reply
    nothing_stored(team)
    assert posts(team) == []


def test_intel_trip_leave_and_review_commands(team: Bot) -> None:
    assert say(team, "/竞品 迈瑞在城东区医院").startswith("谢谢")
    [intel] = team.rows(Competitor)
    assert intel.brand == "迈瑞"
    say(team, "/报备 明天一早市一院设备科")
    [trip] = team.rows(Itinerary)
    assert trip.trip_date == date(2026, 11, 26) and trip.department == "设备科"
    say(team, "/调休 周五，客户交给小李跟进")
    [leave] = team.rows(Leave)
    assert (leave.start, leave.end, leave.handover) == (date(2026, 11, 27), date(2026, 11, 27), "小李")
    assert leave.raw_text.startswith("/调休")
    say(team, "/复盘 目标未完成，原因是王主任临时出差，补救：明天上午补访")
    [review] = team.rows(Review)
    assert review.target_met is False and "出差" in (review.reason or "")
    actions = [a.action for a in audits(team)]
    assert actions == ["intel.record", "trip.record", "leave.record", "review.record"]


def test_the_command_decides_the_kind_when_the_text_alone_does_not(team: Bot) -> None:
    say(team, "/竞品 城东医院最近动作很多")  # no brand, no activity word: still intel
    [intel] = team.rows(Competitor)
    assert intel.brand is None and intel.activity == "城东医院最近动作很多"
    assert intel.customer_id is not None
    say(team, "/急需 帮忙找两台监护仪")  # no urgency word
    [urgent] = team.rows(Urgent)
    assert json.loads(urgent.items) == [{"product": "监护仪", "quantity": 2, "unit": "台"}]


# ----------------------------------------------------------------------------- urgent demands and follow-ups
@both_backends
def test_take_updates_the_alert_and_stops_escalation(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机")
    [urgent] = team.rows(Urgent)
    team.clock.advance(minutes=3)
    reply = say(team, f"/接单 {urgent.id}", user=REP2)
    [urgent] = team.rows(Urgent)
    assert urgent.status == "taken" and urgent.taken_by == REP2 and urgent.taken_at == team.clock.now
    assert f"#{urgent.id}" in reply and f"/完成 {urgent.id}" in reply
    alert, taken = posts(team)
    assert f"急需 #{urgent.id} 已由李娜接单" in taken and "<@zhangwei>" in taken
    # escalation reads open demands only
    assert team.count(Urgent) == 1 and [u for u in team.rows(Urgent) if u.status == "open"] == []
    assert "李娜接单" in say(team, f"/接单 #{urgent.id}", user=ADMIN)
    assert team.rows(Urgent)[0].taken_by == REP2
    [audit] = audits(team, "urgent.take")
    assert audit.actor == REP2 and json.loads(audit.detail) == {"urgent_id": urgent.id}


def test_taking_and_closing_ones_own_demand_mentions_nobody(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    [urgent] = team.rows(Urgent)
    say(team, f"/接单 {urgent.id}", user=REP2)
    say(team, f"/完成 {urgent.id}", user=REP2)
    _alert, taken, done = posts(team)
    assert "李娜接单" in taken and "已完成" in done
    assert "<@lina>" not in taken and "<@lina>" not in done


def test_take_with_a_wrong_number(team: Bot) -> None:
    assert "格式不对" in say(team, "/接单 三号")
    assert "格式不对" in say(team, "/接单")
    assert "没有找到急需 #42" in say(team, "/接单 42")
    nothing_stored(team)


def test_the_cover_of_a_leave_closes_the_follow_ups_of_the_member_on_leave(team: Bot) -> None:
    say(team, VISIT)
    summary, _plan = team.rows(Followup)
    assert "只能由本人或组长" in say(team, f"/完成 跟进{summary.id}", user=REP2)
    say(team, "今天请假一天，客户交给李娜跟进")
    reply = say(team, f"/完成 跟进{summary.id}", user=REP2)
    assert f"跟进{summary.id} 已完成" in reply and team.rows(Followup)[0].status == "done"


def test_a_cover_named_by_nickname_may_close_the_follow_ups(team: Bot) -> None:
    say(team, VISIT)
    summary, _plan = team.rows(Followup)
    say(team, "今天请假一天，客户交给小李跟进")  # 李娜 is the team's only 李
    reply = say(team, f"/完成 跟进{summary.id}", user=REP2)
    assert f"跟进{summary.id} 已完成" in reply and team.rows(Followup)[0].status == "done"


def test_done_closes_an_urgent_demand(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机")
    urgent_id = team.rows(Urgent)[0].id
    say(team, f"/take {urgent_id}", user=REP2)
    reply = say(team, f"/完成 {urgent_id}", user=REP2)
    [urgent] = team.rows(Urgent)
    assert urgent.status == "done" and urgent.done_at == team.clock.now and "已完成" in reply
    assert f"急需 #{urgent_id} 已完成" in posts(team)[-1]
    assert "已经完成" in say(team, f"/完成 {urgent_id}")
    assert len(audits(team, "urgent.done")) == 1


@both_backends
def test_done_closes_a_follow_up_by_its_prefix(team: Bot) -> None:
    say(team, VISIT)
    summary, plan = team.rows(Followup)
    assert "只能由本人或组长" in say(team, f"/完成 跟进{summary.id}", user=REP2)
    assert "格式不对" in say(team, "/完成 跟进abc")
    reply = say(team, f"/完成 跟进{summary.id}")
    assert f"跟进{summary.id} 已完成" in reply and "拜访小结" in reply
    say(team, f"/done f {plan.id}", user=LEADER)  # a leader may close a rep's follow-up
    assert [f.status for f in team.rows(Followup)] == ["done", "done"]
    assert team.rows(Urgent) == []  # a follow-up number is never an urgent demand
    assert len(audits(team, "followup.done")) == 2


@both_backends
def test_today_lists_my_records_and_what_they_miss(team: Bot) -> None:
    say(team, VISIT)
    say(team, "今天拜访了市二院检验科李主任，痛点是报告出得慢，竞品罗氏在用，下周送样")
    say(team, "急！市一院ICU今晚要3台呼吸机")
    say(team, "今天拜访了市二院检验科李主任，反馈不错", user=REP2)
    reply = say(team, "/今日")
    assert "拜访 2 条" in reply and "1 条缺核心项" in reply
    assert "市第一人民医院" in reply and "缺**需求痛点、竞品情况**" in reply
    assert "另记：急需 1 条" in reply and "还没发" in reply
    assert "补充一下今天市第一人民医院设备科的拜访" in reply  # the way to complete it, not a new /拜访
    team.clock.advance(hours=2)
    say(team, "补充一下今天市第一人民医院的拜访：痛点是维修慢，竞品GE")
    assert len(team.rows(Visit)) == 3 and "缺核心项" not in say(team, "/今日")


@both_backends
def test_today_shows_a_leader_the_regions_reps_and_an_admin_everyones(team: Bot) -> None:
    say(team, VISIT)  # 张伟: one visit lacking two items
    say(team, "今天拜访了市二院检验科李主任，痛点是报告出得慢，竞品罗氏在用，下周送样", user=REP2)
    say(team, "复盘：目标达成", user=REP2)
    say(team, "今天请假，急事找李娜", user=OTHER_REGION_REP)
    leader = say(team, "/今日", user=LEADER)
    assert "华东今天" in leader and "还没发" not in leader  # a leader is not chased for a review
    assert "· 张伟：拜访 1 条（1 条缺核心项），复盘未发" in leader
    assert "· 李娜：拜访 1 条，复盘 ✅" in leader and "王强" not in leader
    assert leader.startswith("**陈静，今天（11月25日）**你本人没有记录。")  # not "拜访：还没有"
    assert "没人接的急需" not in leader
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    assert "**没人接的急需（1）**" in say(team, "/今日", user=LEADER)
    admin = say(team, "/今日", user=ADMIN)
    assert "全团队今天" in admin and "· 王强：请假" in admin
    assert "华东今天" not in say(team, "/今日")  # a rep sees their own day only


@both_backends
def test_todo_lists_follow_ups_and_taken_demands_by_due_date(team: Bot) -> None:
    say(team, VISIT)
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    urgent_id = team.rows(Urgent)[0].id
    say(team, f"/接单 {urgent_id}")
    reply = say(team, "/待办")
    summary, plan = team.rows(Followup)
    lines = [line for line in reply.splitlines() if line.startswith("·")]
    assert [line.split("　")[0] for line in lines] == [
        f"· 急需 #{urgent_id}",
        f"· 跟进{summary.id}",
        f"· 跟进{plan.id}",
    ]
    assert "今晚" not in reply and "11月26日 10:00" in reply
    assert "没有待办" in say(team, "/待办", user=REP2)


def test_a_leaders_todo_shows_the_regions_overdue_follow_ups_and_untaken_needs(team: Bot) -> None:
    say(team, VISIT)  # 张伟's first visit: the summary is due in 24 hours
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    say(team, "急！城南中医院明天要1台监护仪", user=OTHER_REGION_REP)  # 华南: not 陈静's
    reply = say(team, "/待办", user=LEADER)
    assert "**华东没人接的急需（1）**" in reply and "市第一人民医院 ICU 3台呼吸机" in reply
    assert "城南中医院" not in reply and "逾期的跟进" not in reply
    team.clock.advance(hours=25)
    summary = team.rows(Followup)[0]
    reply = say(team, "/待办", user=LEADER)
    assert "**华东逾期的跟进（1）**" in reply and f"· 张伟　跟进{summary.id}　市第一人民医院 拜访小结" in reply
    assert "没有逾期" not in say(team, "/待办", user=ADMIN) and "城南中医院" in say(team, "/待办", user=ADMIN)
    assert "华东" not in say(team, "/待办", user=REP2)  # a rep sees only their own


def test_a_leader_assigns_an_urgent_need_to_a_rep(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    urgent_id = team.rows(Urgent)[0].id
    assert "销售里没有叫「小赵」的同事" in say(team, f"/接单 {urgent_id} 小赵", user=LEADER)
    assert team.rows(Urgent)[0].status == "open"
    assert "格式不对" in say(team, f"/接单 {urgent_id} 张伟", user=REP2)  # a rep takes only for herself
    reply = say(team, f"/接单 {urgent_id} 张伟", user=LEADER)
    assert f"已把急需 #{urgent_id} 安排给张伟" in reply and f"张伟完成后发 `/完成 {urgent_id}`" in reply
    assert [(u.status, u.taken_by) for u in team.rows(Urgent)] == [("taken", REP)]
    post = posts(team)[-1]
    assert f"急需 #{urgent_id} 已由张伟接单（陈静安排）" in post and "<@zhangwei>" in post and "<@lina>" in post
    assert "你已经接单了" in say(team, f"/接单 {urgent_id}")
    assert "已由张伟接单" in say(team, f"/接单 {urgent_id} 李娜", user=LEADER)


def test_a_leader_hands_an_urgent_need_over_in_words(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    urgent_id = team.rows(Urgent)[0].id
    say(team, f"急需{urgent_id} 安排张伟接，库房还有2台备机", user=REP2)  # a rep's words assign nothing
    assert team.rows(Urgent)[0].status == "open"
    reply = say(team, f"急需{urgent_id} 安排张伟接，库房还有2台备机", user=LEADER)
    assert f"已把急需 #{urgent_id} 安排给张伟" in reply
    assert [(u.status, u.taken_by) for u in team.rows(Urgent)] == [("taken", REP)]


# ----------------------------------------------------------------------------- customers and the funnel
@both_backends
def test_customer_card(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，痛点是维修响应慢，竞品GE在用，下周报价")
    say(team, "急！市一院ICU今晚要3台呼吸机")
    say(team, "迈瑞本周在市一院做买设备送耗材活动")
    say(team, "/阶段 市一院 方案")
    reply = say(team, "/客户 一院")
    assert reply.startswith("**🏥 市第一人民医院**") and "三甲" in reply and "华东" in reply
    assert "市一院" in reply  # aliases
    assert "王主任（设备科）：采购" in reply
    assert "张伟 设备科 王主任" in reply and "下一步 下周报价" in reply
    assert "3台呼吸机" in reply and "待接单" in reply
    assert "迈瑞" in reply and "送耗材" in reply
    assert "**方案**" in reply


@both_backends
def test_an_ambiguous_customer_lists_candidates(team: Bot) -> None:
    reply = say(team, "/客户 人民医院")
    assert "不止一个" in reply and "市第一人民医院" in reply and "市第二人民医院" in reply
    assert "客户库里没有" in say(team, "/客户 火星医院")
    assert "格式不对" in say(team, "/客户")


def test_adding_a_customer_is_for_leaders(team: Bot) -> None:
    assert "需要**组长**权限" in say(team, "/客户 添加 市第三人民医院 三甲 华东 市三院")
    assert "格式不对" in say(team, "/客户 添加 市第三人民医院 特级 华东", user=LEADER)
    nothing_stored(team)
    reply = say(team, "/客户 添加 市第三人民医院、三甲、华东、市三院", user=LEADER)
    assert "已把**市第三人民医院**加入客户库" in reply and "市三院" in reply
    customer = next(c for c in team.rows(Customer) if c.name == "市第三人民医院")
    assert (customer.level, customer.region) == ("三甲", "华东")
    assert {a.alias for a in team.rows(CustomerAlias) if a.customer_id == customer.id} == {"市第三人民医院", "市三院"}
    assert audits(team, "customer.add")[0].actor == LEADER
    assert "市第三人民医院" in say(team, "/客户 市三院")


def test_a_grade_with_its_class_is_a_level_and_an_unknown_region_is_refused(team: Bot) -> None:
    reply = say(team, "/客户 添加 火星医院 三甲 火星", user=LEADER)
    assert "没有“火星”这个区域" in reply and "华东" in reply
    assert not [c for c in team.rows(Customer) if c.name == "火星医院"]
    assert "格式不对" in say(team, "/客户 添加 人民医院 特级 华东", user=LEADER)
    say(team, "/客户 添加 区人民医院 二甲 华东", user=LEADER)
    say(team, "/客户 添加 县医院 三乙 华东", user=LEADER)
    levels = {c.name: c.level for c in team.rows(Customer)}
    assert levels["区人民医院"] == "二级" and levels["县医院"] == "三级"


def test_adding_a_customer_a_rep_already_named_completes_it(team: Bot) -> None:
    say(team, "拜访了城东社区卫生服务中心李医生，反馈血糖仪试纸不够用，下周送样")
    reply = say(team, "/客户 添加 城东社区卫生服务中心 社区 华东 城东社区", user=LEADER)
    assert "已更新" in reply
    [customer] = [c for c in team.rows(Customer) if c.name == "城东社区卫生服务中心"]
    assert customer.level == "社区"
    assert "分属不同的客户" in say(team, "/客户 添加 市第一人民医院 三甲 华东 市二院", user=LEADER)


@both_backends
def test_stage_moves_the_opportunity_and_keeps_every_change(team: Bot) -> None:
    reply = say(team, "/阶段 市一院 意向")
    assert "建立商机" in reply
    team.clock.advance(days=10)
    reply = say(team, "/stage 市一院 报价")
    assert "意向 → **报价**" in reply and "10 天" in reply
    assert "已经在**报价**" in say(team, "/阶段 市一院 报价")
    team.clock.advance(days=5)
    reply = say(team, "/阶段 市一院 签约")
    assert "15 天" in reply
    [opp] = team.rows(Opportunity)
    assert opp.stage == "签约" and opp.closed_at == team.clock.now
    changes = [(c.from_stage, c.to_stage, c.changed_by) for c in team.rows(StageChange)]
    assert changes == [(None, "意向", REP), ("意向", "报价", REP), ("报价", "签约", REP)]
    # a signed opportunity is closed: the next stage opens a new one
    say(team, "/阶段 市一院 线索")
    assert len(team.rows(Opportunity)) == 2
    assert len(audits(team, "opportunity.stage")) == 4


def test_a_lost_opportunity_needs_a_reason(team: Bot) -> None:
    say(team, "/阶段 市二院 报价")
    assert "丢单要写原因" in say(team, "/阶段 市二院 丢单")
    assert "格式不对" in say(team, "/阶段 市二院 完成了")
    say(team, "/阶段 市二院 丢单 价格高于竞品20%")
    [opp] = team.rows(Opportunity)
    assert opp.stage == "丢单" and opp.lost_reason == "价格高于竞品20%" and opp.closed_at is not None
    assert "没有进行中的商机" in say(team, "/阶段 城南中医院 丢单 预算取消")


@both_backends
def test_funnel_counts_conversion_and_signing_cycle(team: Bot) -> None:
    say(team, "/阶段 市一院 意向")
    say(team, "/阶段 市二院 意向")
    say(team, "/阶段 城南中医院 方案", user=OTHER_REGION_REP)
    team.clock.advance(days=4)
    say(team, "/阶段 市一院 签约")
    say(team, "/阶段 市二院 丢单 预算取消")
    reply = say(team, "/漏斗 全团队", user=LEADER)
    assert "进行中 1 个" in reply and "方案 1" in reply
    assert "已签约 1，丢单 1，赢单率 50%（1/2）" in reply  # a rate on small counts shows its base
    assert "意向→方案：67%（2/3）" in reply
    assert "方案→报价：100%（1/1），1 个还在方案" in reply  # 城南 is still at 方案: no outcome yet
    assert "签约周期 4.0 天" in reply
    east = say(team, "/funnel 华东", user=LEADER)
    assert "华东" in east and "进行中 0 个" in east
    assert say(team, "/漏斗", user=LEADER) == east  # a regional leader's own region by default
    assert "没有“火星”这个区域" in say(team, "/漏斗 火星", user=LEADER)


# ----------------------------------------------------------------------------- meetings
@both_backends
def test_weekly_report_now_is_for_leaders(team: Bot) -> None:
    say(team, VISIT)
    assert "需要**组长**权限" in say(team, "/周报")
    reply = say(team, "/周报", user=LEADER)
    assert "销售周报" in reply and "格式不对" not in reply
    assert posts(team) == []  # a reply to the leader, not a post
    whole = say(team, "/周报 全团队", user=LEADER)
    assert "## 华东" in whole and "## 华南" in whole
    assert "## 华东" in reply and "## 华南" not in reply  # a regional leader's own region by default
    assert say(team, "/周报 华东", user=LEADER) == reply
    assert "## 华南" in say(team, "/周报 华南", user=LEADER)
    assert "## 华南" in say(team, "/周报", user=ADMIN)  # an admin's: the whole team
    assert "格式不对" in say(team, "/周报 华东 华南", user=LEADER)


def test_morning_agenda_preview(team: Bot) -> None:
    say(team, VISIT)
    reply = say(team, "/晨会")
    assert "11月27日 08:30" in reply  # Wednesday 10:00: the next meeting post is Friday's
    assert "格式不对" in say(team, "/晨会 明天")
    team.clock.advance(days=2, hours=-1, minutes=-15)  # Friday 08:45, during the meeting: that meeting's
    assert "11月27日 08:30" in say(team, "/晨会")
    team.clock.advance(minutes=30)  # 09:15, the meeting over: the next one, Monday's
    assert "11月30日 08:30" in say(team, "/晨会")


# ----------------------------------------------------------------------------- toolkit and team
def test_docs_match_the_keyword(team: Bot) -> None:
    reply = say(team, "/资料 注册证")
    assert "血糖仪产品注册证" in reply and "呼吸机产品注册证" in reply and "宣传册" not in reply
    assert "2030-01-09" in reply and "[打开](https://files.example.com/reg-bgm.pdf)" in reply
    assert "已过期" in reply
    assert "医生版" in say(team, "/docs 宣传册")
    assert "没有和“心电图”相关" in say(team, "/资料 心电图")
    assert "格式不对" in say(team, "/资料")


@both_backends
def test_team_roster_and_admin_changes(team: Bot) -> None:
    roster = say(team, "/成员")
    assert "6 人" in roster and "陈静（组长）" in roster and "华南" in roster
    assert "需要**管理员**权限" in say(team, "/成员 删除 lina", user=LEADER)
    assert "格式不对" in say(team, "/成员 添加 sunli 孙丽 实习生 华东", user=ADMIN)
    reply = say(team, "/成员 添加 sunli 孙丽 销售代表 华东", user=ADMIN)
    assert "已添加成员：孙丽（sunli），销售代表 · 华东" in reply
    [new] = [m for m in team.rows(Member) if m.userid == "sunli"]
    assert (new.name, new.role, new.region, new.active) == ("孙丽", "rep", "华东", True)
    reply = say(team, "/成员 删除 lina", user=ADMIN)
    assert "已停用" in reply and "config.yaml" in reply
    assert not next(m for m in team.rows(Member) if m.userid == "lina").active
    assert "不能停用你自己" in say(team, "/成员 删除 liuyang", user=ADMIN)
    assert [a.action for a in audits(team)] == ["member.add", "member.remove"]


def test_a_member_added_by_command_may_use_commands_once_the_cache_expires(team: Bot) -> None:
    say(team, "/成员 添加 sunli 孙丽 代表 华东", user=ADMIN)
    team.runtime.service.members.invalidate()  # what the service does within 30 s
    assert "不在团队名单" not in say(team, "/待办", user="sunli")


# ----------------------------------------------------------------------------- export
@both_backends
def test_export_writes_the_csv_of_the_range(team: Bot) -> None:
    say(team, VISIT)
    team.clock.advance(days=1)
    say(team, "今天拜访了市二院检验科李主任，痛点是报告慢，竞品罗氏，下周送样", user=REP2)
    assert "需要**组长**权限" in say(team, "/导出 拜访")
    reply = say(team, "/导出 拜访 11月25日 2026-11-25", user=LEADER)
    assert "1 条" in reply
    team.drain()
    [upload] = team.fake.uploads  # the CSV reached WeCom's upload_media, then the group as a file
    assert upload.filename.startswith("visits_20261125_20261125_") and upload.filename.endswith(".csv")
    assert team.fake.bodies()[-1] == {"msgtype": "file", "file": {"media_id": upload.media_id}}
    rows = list(csv.reader(upload.data.decode("utf-8-sig").splitlines()))
    assert rows[0][:4] == ["编号", "拜访时间", "销售", "客户"]
    assert rows[1][1:4] == ["2026-11-25 10:00", "张伟", "市第一人民医院"] and len(rows) == 2
    assert "2 条" in say(team, "/export visits 11-20", user=LEADER)
    first, second = audits(team, "export")
    assert json.loads(first.detail)["rows"] == 1 and first.actor == LEADER
    assert "已导出拜访记录 2 条" in say(team, "/导出", user=LEADER)  # no kind named: the visits, this week


def test_export_usage_errors(team: Bot) -> None:
    for text in ("/导出 客户", "/导出 拜访 11-30 11-01", "/导出 拜访 昨天"):
        assert "格式不对" in say(team, text, user=LEADER), text
    team.drain()
    assert team.fake.uploads == []
    nothing_stored(team)


def test_export_cells_cannot_start_a_formula() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    assert cell('=HYPERLINK("x")', "activity", {}, tz) == '\'=HYPERLINK("x")'
    assert cell("-5", "reason", {}, tz) == "'-5"
    assert cell(True, "complete", {}, tz) == "是" and cell("taken", "status", {}, tz) == "已接单"
    assert cell("zhangwei", "member", {"zhangwei": "张伟"}, tz) == "张伟"


def test_only_the_taker_a_leader_or_an_admin_closes_a_taken_urgent_demand(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机")
    urgent_id = team.rows(Urgent)[0].id
    say(team, f"/接单 {urgent_id}", user=REP2)
    for user in (OTHER_REGION_REP, REP):  # another rep, and the rep who raised it
        reply = say(team, f"/完成 {urgent_id}", user=user)
        assert f"急需 #{urgent_id} 已由李娜接单，只能由本人或组长标记完成" in reply
    [urgent] = team.rows(Urgent)
    assert (urgent.status, urgent.taken_by, urgent.done_at) == ("taken", REP2, None)
    assert audits(team, "urgent.done") == []
    say(team, f"/完成 {urgent_id}", user=LEADER)
    assert team.rows(Urgent)[0].status == "done"
    assert f"急需 #{urgent_id} 已完成" in posts(team)[-1]


def test_the_taker_or_an_admin_closes_a_taken_demand_and_nobodys_demand_is_taken_first(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机")
    say(team, "急！市二院急诊科明天要2台除颤仪")
    first, second = (u.id for u in team.rows(Urgent))
    say(team, f"/接单 {first}", user=REP2)
    assert "已完成" in say(team, f"/完成 {first}", user=REP2)
    # nobody took it: another rep (a mistyped 跟进 number, say) is asked to take it first
    assert f"请先发 `/接单 {second}`" in say(team, f"/完成 {second}", user=OTHER_REGION_REP)
    assert team.rows(Urgent)[1].status == "open"
    say(team, f"/完成 {second}")  # its reporter may close it
    closed = [(u.status, u.taken_by) for u in team.rows(Urgent)]
    assert closed == [("done", REP2), ("done", REP)]
    say(team, "急！城南中医院ICU今晚要1台呼吸机")
    third = team.rows(Urgent)[-1].id
    say(team, f"/接单 {third}", user=REP)
    say(team, f"/完成 {third}", user=ADMIN)
    assert team.rows(Urgent)[-1].status == "done"


@both_backends
def test_undo_takes_back_my_last_visit_and_asks_again_about_the_one_before(team: Bot) -> None:
    say(team, VISIT)
    team.clock.advance(minutes=5)
    say(team, "不是新的拜访，就是刚才市一院那条")  # read as a second visit
    assert len(team.rows(Visit)) == 2
    reply = say(team, "/撤销")
    [visit] = team.rows(Visit)
    assert visit.raw_text == VISIT and "已撤销你刚才记的拜访" in reply
    assert "市第一人民医院的那条拜访还缺：**需求痛点、竞品情况**" in reply
    say(team, "痛点是维修慢，竞品GE")  # the question about the first visit is open again
    [visit] = team.rows(Visit)
    assert visit.complete


def test_undo_withdraws_an_untaken_urgent_need_and_tells_the_group(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    reply = say(team, "/撤销", user=REP2)
    assert team.rows(Urgent) == [] and "已撤销你刚才记的急需" in reply
    assert any("已由报告人撤销" in p for p in posts(team))
    assert "#2" in say(team, "急！市一院ICU今晚要2台呼吸机", user=REP2)  # the withdrawn #1 is never given again
    say(team, f"/接单 {team.rows(Urgent)[0].id}")
    assert "已有同事接单" in say(team, "/撤销", user=REP2) and len(team.rows(Urgent)) == 1


def test_undo_of_a_visit_drops_the_hospital_and_contact_it_filed_but_never_a_directory_one(team: Bot) -> None:
    before = {c.name for c in team.rows(Customer)}
    say(team, "今天拜访了城南口腔医院设备科孙科长，想换牙椅，竞品无，周五送报价", user=REP2)
    say(team, "/撤销", user=REP2)
    assert {c.name for c in team.rows(Customer)} == before and team.rows(Contact) == []
    say(team, VISIT, user=REP2)
    say(team, "/撤销", user=REP2)
    assert {c.name for c in team.rows(Customer)} == before  # 市第一人民医院 is the directory's


def test_undo_is_only_for_my_own_record_of_the_last_half_hour(team: Bot) -> None:
    assert "没有找到你记过的内容" in say(team, "/撤销")
    say(team, VISIT, user=REP2)
    assert "没有找到你记过的内容" in say(team, "/撤销")  # not someone else's
    team.clock.advance(minutes=31)
    assert "超过 30 分钟" in say(team, "/撤销", user=REP2) and len(team.rows(Visit)) == 1


def test_closing_a_deal_closes_its_customers_open_follow_ups(team: Bot) -> None:
    say(team, "今天拜访了市二院检验科李主任，痛点是报告出得慢，竞品罗氏在用，下周送样")  # a first visit
    assert {f.status for f in team.rows(Followup)} == {"open"}
    say(team, "/阶段 市二院 报价")
    say(team, "/阶段 市二院 丢单 价格高于竞品20%")
    assert {f.status for f in team.rows(Followup)} == {"done"}


def test_a_command_at_the_end_of_a_message_is_run(team: Bot) -> None:
    say(team, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    say(team, "/接单 1")
    reply = say(team, "呼吸机已经送到市一院ICU了 /完成 1")
    assert "已完成" in reply and team.rows(Urgent)[0].status == "done"
    assert "已完成" not in say(team, "价格 3万/台")  # a slash inside text is no command
