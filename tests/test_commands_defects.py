"""Slash commands: the exploratory tester's defects, each through the real signed callback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.models import Audit, Customer, CustomerAlias, Followup, Member, Opportunity, StageChange, Urgent, Visit
from tests.conftest import Bot
from tests.test_commands import (
    ADMIN,
    CUSTOMERS,
    LEADER,
    OTHER_REGION_REP,
    REP2,
    RULES,
    TOOLKIT,
    VISIT,
    audits,
    nothing_stored,
    posts,
    say,
)


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS, rules=RULES, toolkit=TOOLKIT)


# ----------------------------------------------------------------------------- 1. a colon separates
def test_a_colon_after_the_command_or_between_arguments_is_a_separator(team: Bot) -> None:
    assert say(team, "/客户：市一院").startswith("**🏥 市第一人民医院**")
    assert say(team, "/客户:市一院").startswith("**🏥 市第一人民医院**")
    assert "血糖仪产品注册证" in say(team, "/资料：注册证")
    regional = say(team, "/周报：华东", user=LEADER)
    assert "没有" not in regional.splitlines()[0] and "## 华东" in regional
    say(team, "/阶段 市一院：意向")
    assert [o.stage for o in team.rows(Opportunity)] == ["意向"]
    say(team, "急！市一院ICU今晚要3台呼吸机")
    urgent_id = team.rows(Urgent)[0].id
    assert f"已接下急需 #{urgent_id}" in say(team, f"/接单：{urgent_id}", user=REP2)
    reply = say(team, "/客户 添加：康复医院：民营：华东", user=LEADER)
    assert "已把**康复医院**加入客户库" in reply
    assert "康复医院" in {c.name for c in team.rows(Customer)}
    assert not [c for c in team.rows(Customer) if "：" in c.name or ":" in c.name]


def test_a_colon_inside_a_record_command_s_text_is_kept(team: Bot) -> None:
    say(team, "/拜访：客户：市一院\n科室：设备科\n联系人：王主任\n需求痛点：维修慢\n竞品情况：GE\n下一步动作：下周报价")
    [visit] = team.rows(Visit)
    assert visit.pain_points == "维修慢" and visit.competitor == "GE" and visit.complete


# ----------------------------------------------------------------------------- 2. several, a guess, or none
def test_no_exact_match_but_a_close_guess_asks_did_you_mean(team: Bot) -> None:
    reply = say(team, "/客户 三院")
    assert "没找到“三院”，你是不是要找" in reply and "市第一人民医院" in reply
    assert "不止一个" not in reply
    reply = say(team, "/阶段 三院 意向")
    assert "没找到“三院”，你是不是要找" in reply and "不止一个" not in reply
    nothing_stored(team)
    several = say(team, "/客户 人民医院")
    assert "不止一个" in several and "市第二人民医院" in several
    assert "客户库里没有“火星医院”" in say(team, "/阶段 火星医院 意向")


# ----------------------------------------------------------------------------- 3. an alias is not a new name
def test_adding_a_customer_under_another_customer_s_alias_is_refused(team: Bot) -> None:
    reply = say(team, "/客户 添加 新医院 三甲 华东 市一院", user=LEADER)
    assert "“市一院”已是市第一人民医院的别名" in reply and "没有添加" in reply
    names = {c.name for c in team.rows(Customer)}
    assert "市第一人民医院" in names and "新医院" not in names
    assert audits(team) == []
    reply = say(team, "/客户 添加 市一院 三级 华南", user=LEADER)  # the alias as the name
    assert "“市一院”已是市第一人民医院的别名" in reply
    [first] = [c for c in team.rows(Customer) if c.name == "市第一人民医院"]
    assert (first.level, first.region) == ("三甲", "华东")
    assert audits(team) == []


def test_a_customer_is_updated_by_its_own_name_and_a_rep_named_one_is_completed(team: Bot) -> None:
    reply = say(team, "/客户 添加 市第一人民医院 三级 华南 一院 第一医院", user=LEADER)
    assert "已更新**市第一人民医院**" in reply and "第一医院" in reply
    [first] = [c for c in team.rows(Customer) if c.name == "市第一人民医院"]
    assert (first.level, first.region) == ("三级", "华南")
    aliases = {a.alias for a in team.rows(CustomerAlias) if a.customer_id == first.id}
    assert aliases == {"市第一人民医院", "市一院", "一院", "第一医院"}
    # a customer a rep named (level unknown) takes the leader's full name; its old name stays an alias
    say(team, "拜访了城东社区卫生服务中心李医生，反馈血糖仪试纸不够用，下周送样")
    reply = say(team, "/客户 添加 城东第一社区卫生服务中心 社区 华东 城东社区卫生服务中心", user=LEADER)
    assert "已更新**城东第一社区卫生服务中心**" in reply
    [east] = [c for c in team.rows(Customer) if c.name == "城东第一社区卫生服务中心"]
    assert east.level == "社区"
    assert "城东第一社区卫生服务中心" in say(team, "/客户 城东社区卫生服务中心")


# ----------------------------------------------------------------------------- 4. 丢单 needs a reason; 成交 is 签约
def test_lost_without_a_reason_says_so_and_signed_has_synonyms(team: Bot) -> None:
    say(team, "/阶段 市二院 报价")
    reply = say(team, "/阶段 市二院 丢单")
    assert "丢单要写原因" in reply and "/阶段 市二院 丢单 " in reply and "格式不对" not in reply
    assert [o.stage for o in team.rows(Opportunity)] == ["报价"] and len(team.rows(StageChange)) == 1
    say(team, "/阶段 市二院 成交")
    [opp] = team.rows(Opportunity)
    assert opp.stage == "签约" and opp.closed_at is not None
    say(team, "/阶段 市一院中标")
    say(team, "/阶段 城南中医院 签单", user=OTHER_REGION_REP)
    assert [o.stage for o in team.rows(Opportunity)] == ["签约", "签约", "签约"]


# ----------------------------------------------------------------------------- 5. who may move a deal
def test_only_the_owner_a_leader_or_an_admin_moves_an_opportunity(team: Bot) -> None:
    say(team, "/阶段 市一院 意向")
    for user in (OTHER_REGION_REP, REP2):
        reply = say(team, "/阶段 市一院 丢单 价格", user=user)
        assert "由张伟负责" in reply and "组长" in reply
    [opp] = team.rows(Opportunity)
    assert opp.stage == "意向" and len(team.rows(StageChange)) == 1
    assert len(audits(team, "opportunity.stage")) == 1
    assert posts(team) == []
    say(team, "/阶段 市一院 报价", user=LEADER)  # a leader may; an ordinary move is not posted
    assert team.rows(Opportunity)[0].stage == "报价" and posts(team) == []
    say(team, "/阶段 市一院 丢单 预算取消", user=ADMIN)
    [post] = posts(team)
    assert "市第一人民医院" in post and "丢单" in post and "预算取消" in post and "<@zhangwei>" in post
    say(team, "/阶段 市二院 意向", user=REP2)
    say(team, "/阶段 市二院 签约", user=REP2)
    signed = posts(team)[-1]
    assert "市第二人民医院" in signed and "签约" in signed and "李娜" in signed


def test_the_cover_of_the_owner_s_leave_may_move_the_opportunity(team: Bot) -> None:
    say(team, "/阶段 市一院 意向")
    say(team, "今天请假一天，客户交给李娜跟进")
    say(team, "/阶段 市一院 方案", user=REP2)
    assert team.rows(Opportunity)[0].stage == "方案"


def test_a_deal_the_leader_recorded_while_covering_is_still_the_reps(team: Bot) -> None:
    say(team, VISIT)  # zhangwei develops 市一院
    say(team, "/阶段 市一院 报价", user=LEADER)  # recorded by the leader
    say(team, "/阶段 市一院 招标")  # the rep moves her own deal
    assert team.rows(Opportunity)[0].stage == "招标"
    assert "由张伟负责" in say(team, "/阶段 市一院 签约", user=REP2)


def test_a_late_addition_dated_earlier_takes_no_deal_over(team: Bot) -> None:
    say(team, VISIT, user=REP2)  # lina develops 市一院 today
    say(team, "/阶段 市一院 报价", user=REP2)
    say(team, "补一下上周五市一院的拜访：设备科孙科长，痛点是预算紧，竞品无，下周报价")  # zhangwei, dated earlier
    assert "由李娜负责" in say(team, "/阶段 市一院 招标")
    say(team, "/阶段 市一院 招标", user=REP2)
    assert team.rows(Opportunity)[0].stage == "招标"


# ----------------------------------------------------------------------------- 6. last week's report
def test_weekly_report_of_last_week_and_a_single_region_header(team: Bot) -> None:
    say(team, VISIT)
    regional = say(team, "/周报 华东", user=LEADER)
    assert "先看全部" not in regional and "## 华东" in regional
    team.clock.advance(days=4, hours=23)  # Monday 30 Nov 09:00
    monday = say(team, "/周报 华东", user=LEADER)
    assert "11月30日–11月30日" in monday and "/周报 上周" in monday
    last = say(team, "/周报 上周 华东", user=LEADER)
    assert "11月23日–11月29日" in last and "本周拜访 1 条" in last and "上周" in last
    assert "先看全部" not in last
    assert "11月23日–11月29日" in say(team, "/周报 华东 上周", user=LEADER)
    everyone = say(team, "/weekly 上周 全团队", user=LEADER)  # a leader's own region unless 全团队
    assert "先看全部，再分区域" in everyone and "11月23日–11月29日" in everyone
    assert "格式不对" in say(team, "/周报 上周 华东 华南", user=LEADER)
    assert "上周" in say(team, "/帮助 周报")
    assert posts(team) == []


# ----------------------------------------------------------------------------- 7. a member's region
def test_a_member_s_region_must_exist_unless_a_new_region_is_said(team: Bot) -> None:
    reply = say(team, "/成员 添加 zhoujie 周杰 销售代表 华冬", user=ADMIN)
    assert "没有“华冬”这个区域" in reply and "华东" in reply and "新区域" in reply
    assert not [m for m in team.rows(Member) if m.userid == "zhoujie"]
    assert team.rows(Audit) == []
    reply = say(team, "/成员 添加 zhoujie 周杰 销售代表 西北 新区域", user=ADMIN)
    assert "已添加成员：周杰（zhoujie），销售代表 · 西北" in reply and "新区域" in reply
    [new] = [m for m in team.rows(Member) if m.userid == "zhoujie"]
    assert new.region == "西北"
    assert "已添加成员" in say(team, "/成员 添加 sunli 孙丽 销售代表 华南", user=ADMIN)
    assert "已添加成员" in say(team, "/成员 添加 boss 老板 经理", user=ADMIN)  # no region: as the admin


# ----------------------------------------------------------------------------- 8. the toolkit's rules
def test_docs_use_the_configured_windows_and_suggest_only_existing_documents(make_bot: Callable[..., Bot]) -> None:
    toolkit = [
        *TOOLKIT,
        {"name": "营业执照", "kind": "证照", "version_date": "2026-01-01", "expiry": "2027-01-10"},  # 46 days
    ]
    bot = make_bot(customers=CUSTOMERS, rules={**RULES, "toolkit_expiry_warn_days": 60}, toolkit=toolkit)
    assert "即将过期" in say(bot, "/资料 营业执照")
    brochure = say(bot, "/资料 宣传册")  # version 2026-06-01, no expiry: older than toolkit_fresh_days (90)
    assert "版本已超过 90 天" in brochure
    reply = say(bot, "/资料 心电图")
    assert "没有和“心电图”相关" in reply and "注册证" in reply and "宣传册" in reply
    assert "临床报告" not in reply  # the toolkit has none


# ----------------------------------------------------------------------------- 9. the cover's list
def test_todo_of_the_cover_shows_the_follow_ups_due_during_the_leave(team: Bot) -> None:
    say(team, VISIT)
    summary, plan = team.rows(Followup)  # summary due tomorrow 10:00, plan days later
    say(team, "明天请假一天，客户交给李娜跟进")
    assert "代张伟跟进" not in say(team, "/待办", user=REP2)  # the leave has not begun
    team.clock.advance(hours=23)  # Thursday 09:00, the day of the leave
    reply = say(team, "/待办", user=REP2)
    assert "代张伟跟进" in reply and f"跟进{summary.id}" in reply and f"跟进{plan.id}" not in reply
    assert f"跟进{summary.id}" in say(team, "/待办")  # still on the owner's list
    team.clock.advance(days=1)
    assert "代张伟跟进" not in say(team, "/待办", user=REP2)


def test_todo_of_the_cover_includes_the_colleagues_overdue_follow_ups(team: Bot) -> None:
    say(team, VISIT)  # Wed 10:00: the summary is due Thu 10:00
    team.clock.advance(days=2)  # Fri 10:00: overdue
    say(team, "今天请假一天，客户交给李娜跟进")
    summary, _plan = team.rows(Followup)
    reply = say(team, "/待办", user=REP2)
    assert "代张伟跟进" in reply and f"跟进{summary.id}" in reply


# ----------------------------------------------------------------------------- 10. the file's real name
def test_export_reply_shows_the_file_s_real_name(team: Bot) -> None:
    say(team, VISIT)
    reply = say(team, "/导出 拜访", user=LEADER)
    assert "visits_20261123_20261125_" in reply and "＿" not in reply
    team.drain()
    [upload] = team.fake.uploads
    assert upload.filename in reply
