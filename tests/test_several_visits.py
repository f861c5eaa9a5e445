"""Several visits told in one message are filed one by one, each with its own contact and items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import Contact, Conversation, Customer, Followup, Visit
from bot.parse import parse
from bot.parse.several import several_visits, visit_parts
from tests.conftest import Bot, both_backends
from tests.test_understanding import CUSTOMERS, say

NOW = datetime(2026, 11, 25, 18, 20, tzinfo=ZoneInfo("Asia/Shanghai"))  # Wed evening
TWO_DEPARTMENTS = (
    "今天跑了两个科：1）南湖医院心内科刘主任，想加几台动态心电，下周三带样机过去；"
    "2）南湖医院设备科葛科长，今年预算还没批，让等通知。两边都没提竞品。"
)


def test_a_numbered_list_of_visits_is_cut_into_visits_sharing_the_closing_sentence() -> None:
    first, second = visit_parts(TWO_DEPARTMENTS)
    assert first == "今天南湖医院心内科刘主任，想加几台动态心电，下周三带样机过去。两边都没提竞品。"
    assert second == "今天南湖医院设备科葛科长，今年预算还没批，让等通知。两边都没提竞品。"


def test_the_place_and_day_said_before_the_list_go_with_every_visit() -> None:
    parts = visit_parts("今天都在市中医院：上午检验科冯主任，生化样本量上来了；下午病理科贺主任，想上一台脱水机。")
    assert [parse(t, NOW)["customer"] for t in parts] == ["市中医院", "市中医院"]
    assert [parse(t, NOW)["contact"] for t in parts] == ["冯主任", "贺主任"]
    yesterday = visit_parts("昨天上午市一院心内科王主任，监护仪老化想换；下午妇幼保健院产科李护士长，胎监不够用")
    assert all(t.startswith("昨天") for t in yesterday)


def test_sentences_that_each_open_with_a_hospital_are_visits() -> None:
    parts = visit_parts("今天跑了三家：市一院王主任，要报价；中医院李主任，没需求；妇幼刘护士长，胎监坏了，下周去看")
    assert [parse(t, NOW)["contact"] for t in parts] == ["王主任", "李主任", "刘护士长"]
    assert parts[1] == "今天中医院李主任，没需求"


def test_a_second_part_without_a_hospital_is_at_the_hospital_of_the_part_before() -> None:
    parts = visit_parts("今天到市一院设备科，见了王主任，预算批了；又去了心内科找李主任，想换监护仪，下周三演示")
    assert [(parse(t, NOW)["customer"], parse(t, NOW)["department"]) for t in parts] == [
        ("市一院", "设备科"),
        ("市一院", "心内科"),
    ]


@pytest.mark.parametrize(
    ("text", "contacts"),
    [
        ("今日拜访\n- 城东社区卫生服务中心 张主任：要血糖仪\n- 李家镇卫生院 周院长：还在考虑", ["张主任", "周院长"]),
        (  # voice input: no punctuation at all
            "今天去了县人医心内科见了刘主任说想加监护仪然后去了骨科医院见了设备科的陈工说要先论证",
            ["刘主任", "陈工"],
        ),
        ("市三院ICU郑护士长要换注射泵；快下班又碰到了呼吸科的邱主任，呼吸机明年有计划", ["郑护士长", "邱主任"]),
        ("今天见了市三院的孙院长和区人民医院检验科的高主任，两家都要报价", ["孙院长", "高主任"]),
        ("县人医设备科葛科长不在，改天再约。转去县中医院，见了检验科许主任，血球仪要换3台", ["葛科长", "许主任"]),
        ("第一站：城北社区卫生服务中心严主任，要电子血压计\n第二站：东湖镇卫生院苏院长，DR在谈", ["严主任", "苏院长"]),
        ("今天和小周跑了两家：省人医心内科张主任、附二院放射科赵主任，都要报价", ["张主任", "赵主任"]),
        ("市一院设备科王科长、检验科李主任都见了，王科长说预算下来了，李主任要方案", ["王科长", "李主任"]),
        ("今天见了市一院王主任，县人医李科长，附二院陈工", ["王主任", "李科长", "陈工"]),
        ("📍县人民医院检验中心孙主任 试剂下月挂网 📍河口镇卫生院张院长 想要便携彩超", ["孙主任", "张院长"]),
        (
            "县人民医院张院长：同意立项；检验中心孙主任：要参数对比；器械科葛科长：走院内招标",
            ["张院长", "孙主任", "葛科长"],
        ),
        ("先去了市一院见了王主任然后到城西社区卫生服务中心找吴老师送了试纸", ["王主任", "吴老师"]),
        ("今天3家：市中心医院、县人民医院、青石镇卫生院，都是送资料", [None, None, None]),
        (
            "拜访了县人医设备科钱科长，监护仪基本定了。回来路上给市一院检验科李主任打了个电话，试剂下月再说",
            ["钱科长", "李主任"],
        ),
    ],
)
def test_visits_cut_at_lines_goings_meetings_and_joined_hospitals(text: str, contacts: list[str | None]) -> None:
    parts = visit_parts(text)
    assert parts is not None and [parse(t, NOW)["contact"] for t in parts] == contacts


@pytest.mark.parametrize(
    "text",
    [
        "省人民医院医学装备部侯主任\n1. 急诊科要除颤仪3台\n2. ICU要监护仪10台",  # one contact's list
        "今天上午在王经理的带领下去了市一院，拜访了设备科的王主任，说预算用得差不多了",  # our colleague
        "今天拜访了市一院心内科李主任，想换监护仪，下周再去设备科找王科长",  # a visit to come
        "市一院心内科李主任说想换监护仪，设备科那边还要走流程",  # a department spoken of
        "县中医院检验科许主任说，县人医去年上的就是我们的生化仪，他们也想上一台",  # a hospital spoken of
        "明天计划：上午市一院设备科王科长，下午县人医检验科李主任",  # visits to come
        "附属第一医院检验中心孙主任说，省立医院和市中心医院都上了流水线，他们也想上",  # in what was said
        "今天见了省立医院心内科孙教授，他说支持，设备处杨处长那边他去打招呼",  # a topic, not whom we met
        "见了设备科葛科长，他当场给李院长打了个电话，院长同意先试用三个月",  # their call, not ours
        "今天拜访了市一院设备科王主任，确认下周提交采购申请。李院长也同意了。",  # someone else spoken of
        "去了市一院，见了王主任，确认下周提交采购申请",  # the place, then whom: one visit
        "1. 客户：市一院 2. 联系人：王主任 3. 痛点：设备老化 4. 下一步：周五报价",  # one visit's items, numbered
        "今天拜访市一院王主任：1. 想换监护仪 2. 预算80万 3. 下周报价",
        "上午去了市一院见王主任，聊了呼吸机的事，下午王主任又打电话说预算批了",  # the same contact later
        "今天拜访了市一院设备科王主任，确认下周提交采购申请",
    ],
)
def test_one_visit_told_in_parts_is_not_cut(text: str) -> None:
    assert visit_parts(text) is None


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS)


@both_backends
def test_each_visit_of_a_list_is_filed_with_its_own_contact_and_the_reply_lists_them(team: Bot) -> None:
    reply = say(team, TWO_DEPARTMENTS)
    cardio, equipment = sorted(team.rows(Visit), key=lambda v: v.id)
    contacts = {c.id: c.name for c in team.rows(Contact)}
    assert (contacts[cardio.contact_id], cardio.department) == ("刘主任", "心内科")
    assert cardio.pain_points == "想加几台动态心电" and cardio.next_action == "下周三带样机过去"
    assert cardio.due == date(2026, 12, 2) and cardio.complete  # "两边都没提竞品" answers for both
    assert (contacts[equipment.contact_id], equipment.department) == ("葛科长", "设备科")
    assert equipment.competitor and not equipment.complete and equipment.first_visit is False
    assert len(team.rows(Customer)) == 2  # 南湖医院 added once, beside the directory's 市一院
    assert "这条消息里有 2 次拜访" in reply and "① ✅ 已记录拜访：南湖医院 心内科 刘主任" in reply
    assert "② ✅ 已记录拜访：南湖医院 设备科 葛科长" in reply
    assert "30分钟内直接回复我" not in reply  # an answer could not say which visit it is for
    assert "例如：南湖医院设备科 需求痛点" in reply
    assert team.rows(Conversation) == []


@both_backends
def test_a_line_naming_the_hospital_and_department_completes_that_visit_of_the_list(team: Bot) -> None:
    say(team, TWO_DEPARTMENTS)
    team.clock.advance(minutes=5)
    say(team, "南湖医院设备科 下一步：等预算批了再约")
    cardio, equipment = sorted(team.rows(Visit), key=lambda v: v.id)
    assert equipment.next_action == "等预算批了再约" and cardio.next_action == "下周三带样机过去"
    assert len(team.rows(Visit)) == 2


@both_backends
def test_the_same_list_sent_again_files_nothing_new(team: Bot) -> None:
    say(team, TWO_DEPARTMENTS)
    team.clock.advance(minutes=2)
    reply = say(team, TWO_DEPARTMENTS)
    assert len(team.rows(Visit)) == 2
    assert reply.count("已记录过这次拜访") == 2


def test_a_terse_list_of_people_met_is_several_visits_and_a_question_naming_people_is_none() -> None:
    text = "市一院 王主任 送样机\n附二院 李院长 谈合作\n省肿瘤医院 陈主任 试剂"
    found = several_visits(text, parse(text, NOW), NOW)
    assert found is not None and [p["contact"] for _, p in found.visits] == ["王主任", "李院长", "陈主任"]
    question = "谁有市一院王主任、县人医李科长的电话？"
    assert several_visits(question, parse(question, NOW), NOW) is None


@both_backends
def test_undo_takes_back_every_visit_the_list_filed_and_the_hospital_it_added(team: Bot) -> None:
    say(team, "今天拜访了市一院设备科王主任，暂无需求，没看到别家，下周三报价")  # an earlier message stays
    team.clock.advance(minutes=5)
    say(team, TWO_DEPARTMENTS)
    assert len(team.rows(Visit)) == 3 and team.rows(Followup)
    team.clock.advance(minutes=2)
    reply = say(team, "/撤销")
    [kept] = team.rows(Visit)
    assert kept.next_action == "下周三报价"
    assert "已撤销你刚才记的 2 条拜访（南湖医院）" in reply
    assert [c.name for c in team.rows(Customer)] == ["市第一人民医院"]  # 南湖医院 was new, and is gone
    assert {f.visit_id for f in team.rows(Followup)} <= {kept.id}


def test_a_table_of_visits_is_several_visits_and_news_naming_hospitals_is_none() -> None:
    table = "客户|科室|联系人|结果\n县人民医院|重症医学科|李医生|呼吸机试用满意\n同上|检验中心|孙主任|要看竞品报价"
    found = several_visits(table, parse(table, NOW), NOW)
    assert found is not None
    filed = [(p["customer"], p["contact"]) for _, p in found.visits]
    assert filed == [("县人民医院", "李医生"), ("县人民医院", "孙主任")]
    news = "听说迈瑞在市一院送了两台监护仪，在县人民医院降价了两成，附二院也在谈"
    assert several_visits(news, parse(news, NOW), NOW) is None
