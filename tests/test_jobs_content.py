"""What each scheduled job posts, from seeded records (bot.jobs), read as the group would read it.

Dates sit around the 2026 Labour Day break: Fri 1 May - Tue 5 May are days off, Saturday
9 May is a make-up working day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.db import create_schema, make_engine
from bot.jobs import JOBS, JobContext, Post, brand_counts, load_categories, split_markdown
from bot.models import (
    Competitor,
    Contact,
    Customer,
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
from bot.render import Renderer
from bot.settings import Settings, settings_from_dict
from bot.workdays import WorkCalendar
from handlers.visits import plan_due
from tests.conftest import ROSTER, both_backends

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar()


def local(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@dataclass
class Env:
    engine: Engine
    settings: Settings

    def run(self, name: str, at: datetime) -> list[Post]:
        """Build a job's posts in one transaction and commit it, as the scheduler does."""
        with Session(self.engine) as s:
            ctx = JobContext(session=s, settings=self.settings, calendar=CALENDAR, renderer=Renderer(TZ), at=at)
            out = JOBS[name].build(ctx)
            s.commit()
        for post in out:
            assert len(post.content.encode()) <= 4096
            assert post.msgtype == "markdown"
        return out

    def text(self, name: str, at: datetime) -> str:
        return "\n\n".join(p.content for p in self.run(name, at))

    def add(self, *rows: Any) -> list[Any]:
        with Session(self.engine, expire_on_commit=False) as s:
            s.add_all(rows)
            s.commit()
        return list(rows)


def make_env(where: Path | str, **raw: Any) -> Env:
    """An environment on a fresh database: a SQLite file in the directory `where`, or the URL `where`."""
    engine = make_engine(where if isinstance(where, str) else f"sqlite:///{where / 'jobs.db'}")
    create_schema(engine)
    config = {"timezone": "Asia/Shanghai", "team": {"members": ROSTER}, **raw}
    env = Env(engine, settings_from_dict(config))
    env.add(
        *(Member(**m) for m in ROSTER), Member(userid="zhouqi", name="周琦", role="rep", region="华东", active=False)
    )
    return env


@pytest.fixture()
def env(database_url: str) -> Iterator[Env]:
    e = make_env(
        database_url,
        schedule={
            "morning_agenda": {"meeting_time": "08:40", "minutes": 30, "link": "https://meeting.example.com/j/1"}
        },
        rules={"manager": "liuyang"},
    )
    yield e
    e.engine.dispose()


def customer(env: Env, name: str, level: str | None, region: str, created: datetime) -> int:
    (c,) = env.add(Customer(name=name, level=level, region=region, created_at=created, created_by="zhangwei"))
    return c.id


def visit(env: Env, member: str, customer_id: int | None, at: datetime, **items: Any) -> int:
    core = ("decision_role", "pain_points", "competitor", "next_action")
    (v,) = env.add(
        Visit(member=member, customer_id=customer_id, visited_at=at, complete=all(items.get(k) for k in core), **items)
    )
    return v.id


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# ----------------------------------------------------------------------------- the registry
def test_job_names_and_working_day_flags() -> None:
    assert set(JOBS) == {
        "morning_agenda", "eod_review", "eod_chase", "crm_deadline", "weekly_report",
        "followups", "urgent_escalation", "itinerary_reminder", "toolkit_check",
    }  # fmt: skip
    assert not JOBS["urgent_escalation"].working_days_only
    assert all(job.working_days_only for name, job in JOBS.items() if name != "urgent_escalation")
    assert all(job.name == name for name, job in JOBS.items())


# ----------------------------------------------------------------------------- morning_agenda
@both_backends
def test_agenda_after_the_holiday_names_key_feedback_trips_and_warnings(env: Env) -> None:
    # Wed 6 May: the previous stand-up was Wed 29 Apr 08:40 (Fri 1 May and Mon 4 May are holidays)
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(3, 1))
    shengyi = customer(env, "省人民医院", "三甲", "华东", local(3, 1))
    xinkehu = customer(env, "城东社区卫生服务中心", "社区", "华东", local(4, 30, 11))
    customer(env, "城西医院", None, "华东", local(5, 2, 9))  # named in a note, never visited: no new customer
    (wang,) = env.add(Contact(customer_id=yiyuan, name="王主任", department="设备科", decision_role="科室负责人"))
    env.add(
        Visit(member="zhangwei", customer_id=yiyuan, contact_id=wang.id, department="设备科",
              decision_role="科室负责人", pain_points="CT老化 <@all> **急**", next_action="下周提交采购申请",
              visited_at=local(4, 30, 15)),
        Visit(member="lina", customer_id=shengyi, department="检验科", decision_role="使用者",
              pain_points="生化仪慢", visited_at=local(4, 30, 16)),
        Visit(member="lina", customer_id=shengyi, department="院办", decision_role="决策者",
              pain_points="旧事", visited_at=local(4, 29, 8)),  # before the last stand-up
        Itinerary(member="wangqiang", customer_id=shengyi, department="ICU", trip_date=date(2026, 5, 6)),
        Itinerary(member="zhangwei", customer_id=yiyuan, trip_date=date(2026, 5, 7)),
        Leave(member="lina", start=date(2026, 5, 6), end=date(2026, 5, 7), handover="张伟"),
        Urgent(member="wangqiang", region="华南", customer_id=shengyi, department="手术室", status="open",
               items=json.dumps([{"product": "麻醉机", "quantity": 2, "unit": "台"}], ensure_ascii=False),
               created_at=local(5, 6, 7, 50)),
        Urgent(member="zhangwei", region="华东", status="done", created_at=local(5, 5, 9)),
        Competitor(member="zhangwei", region="华东", customer_id=yiyuan, brand="迈瑞", activity="买设备送耗材",
                   reported_at=local(5, 2, 10)),
    )  # fmt: skip
    first = visit(env, "zhangwei", xinkehu, local(4, 30, 11), first_visit=True)
    env.add(
        Followup(visit_id=first, customer_id=xinkehu, member="zhangwei", kind="plan", due_at=local(5, 6, 18)),
        Followup(visit_id=first, customer_id=xinkehu, member="zhangwei", kind="summary", due_at=local(5, 1, 11)),
    )
    (opp,) = env.add(Opportunity(customer_id=yiyuan, stage="方案", product_line="影像类", opened_at=local(4, 1)))
    env.add(StageChange(opportunity_id=opp.id, from_stage="意向", to_stage="方案", changed_at=local(4, 30, 17)))

    # told this morning, of a visit the day before the last stand-up: no stand-up has seen it yet
    (told,) = env.add(InboundMessage(msgid="m-late", mode="robot", sender="wangqiang", received_at=local(5, 6, 7)))
    env.add(Visit(member="wangqiang", customer_id=shengyi, department="设备科", decision_role="采购",
                  pain_points="报得晚", visited_at=local(4, 28, 15), message_id=told.id))  # fmt: skip

    text = env.text("morning_agenda", local(5, 6, 8, 30))

    assert "晨会议程 · 5月6日 周三" in text
    assert lines_with(text, "报得晚")  # filed since the last stand-up, whatever its day
    assert "会议 08:40–09:10" in text and "(https://meeting.example.com/j/1)" in text
    assert "（4月29日 08:40 晨会以来）" in text
    (key,) = lines_with(text, "王主任")
    assert "张伟｜市第一人民医院 设备科 王主任（科室负责人）" in key and "下一步：下周提交采购申请" in key
    assert "<@all>" not in text and "＜＠all＞" in key and "＊＊急＊＊" in key  # member text cannot @ or format
    assert "生化仪慢" not in text and "旧事" not in text  # a user, and a visit before the last stand-up
    assert "市第一人民医院（影像类）：意向 → 方案" in text
    assert "城东社区卫生服务中心（社区），张伟开发" in text and "城西医院" not in text
    assert lines_with(text, "王强 → 省人民医院 ICU")
    assert not lines_with(text, "张伟 → 市第一人民医院")  # tomorrow's trip
    assert lines_with(text, "城东社区卫生服务中心 定制方案，18:00 前")
    assert lines_with(text, "省人民医院 手术室：2台麻醉机（王强 5月6日 07:50 提出，**待接单**）")
    assert lines_with(text, "城东社区卫生服务中心 拜访小结，截止 5月1日 11:00")
    assert lines_with(text, "迈瑞：买设备送耗材（市第一人民医院），5月2日")
    assert lines_with(text, "李娜，工作由张伟代为跟进")


def test_agenda_on_an_ordinary_friday_names_yesterdays_key_customer(env: Env) -> None:
    text = env.text("morning_agenda", local(5, 8, 8, 30))
    for heading in ("一、客户反馈", "二、今日计划", "三、风险预警", "今天没有报备的外出行程", "无决策者"):
        assert heading in text
    assert "（5月6日 08:40 晨会以来）" in text

    renmin = customer(env, "县人民医院", "二级", "华南", local(3, 1))
    visit(env, "wangqiang", renmin, local(5, 7, 16), department="院办", decision_role="决策者",
          pain_points="新院区筹备，需要整套监护系统")  # fmt: skip
    visit(env, "wangqiang", renmin, local(5, 8, 8, 45), decision_role="决策者", pain_points="会后")  # after 08:30
    text = env.text("morning_agenda", local(5, 8, 8, 30))
    assert "- 王强｜县人民医院 院办（决策者）：新院区筹备，需要整套监护系统" in text and "会后" not in text


def test_agenda_lists_the_whole_decision_chain_but_not_users_and_experts(env: Env) -> None:
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(3, 1))
    for department, role, note in (
        ("设备科", "采购", "确认下周提交采购申请"),
        ("信息科", "技术把关", "接口参数要提前确认"),
        ("财务科", "财务", "预算年底前批"),
        ("心内科", "使用者", "耗材匹配度需优化"),
        ("心内科", "影响者", "学术会上提了一句"),
    ):
        visit(env, "zhangwei", yiyuan, local(5, 7, 15), department=department, decision_role=role, next_action=note)
    text = env.text("morning_agenda", local(5, 8, 8, 30))
    assert lines_with(text, "张伟｜市第一人民医院 设备科（采购）；下一步：确认下周提交采购申请")
    assert lines_with(text, "信息科（技术把关）") and lines_with(text, "财务科（财务）")
    assert "耗材匹配度" not in text and "学术会" not in text


def test_agenda_dates_next_steps_and_lists_those_set_for_today(env: Env) -> None:
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(3, 1))
    # written on Wednesday: "下周一报价" is Monday 5-11; read on Friday and on that Monday
    visit(env, "zhangwei", yiyuan, local(5, 6, 15), department="设备科", decision_role="采购",
          next_action="下周一报价", due=date(2026, 5, 11))  # fmt: skip
    visit(env, "lina", yiyuan, local(5, 6, 16), department="心内科", decision_role="使用者",
          next_action="下周二送样机", due=date(2026, 5, 12))  # fmt: skip
    friday = env.text("morning_agenda", local(5, 8, 8, 30))
    assert lines_with(friday, "设备科（采购）；下一步：下周一报价（5月11日）")
    monday = env.text("morning_agenda", local(5, 11, 8, 30))
    (step,) = lines_with(monday, "下周一报价")
    assert step == "- 张伟：市第一人民医院 设备科 下周一报价" and "今天要做的下一步" in monday
    assert "下周二送样机" not in monday


# ----------------------------------------------------------------------------- end of day
@both_backends
def test_review_prompt_has_the_template_and_todays_numbers(env: Env) -> None:
    visit(env, "zhangwei", None, local(5, 7, 10))
    visit(env, "zhangwei", None, local(5, 7, 11))
    visit(env, "wangqiang", None, local(5, 6, 11))  # yesterday
    env.add(
        Leave(member="lina", start=date(2026, 5, 6), end=date(2026, 5, 7)),
        Review(member="zhangwei", review_date=date(2026, 5, 7)),
    )
    text = env.text("eod_review", local(5, 7, 17, 30))
    for label in ("今日结果：", "目标是否达成：", "未达成原因：", "补救计划："):
        assert label in text
    assert "今天已记录拜访 2 条（1 人）；已复盘 1/2 人" in text  # lina is on leave


@both_backends
def test_chase_mentions_exactly_the_reps_without_a_review(env: Env) -> None:
    env.add(
        Leave(member="lina", start=date(2026, 5, 6), end=date(2026, 5, 7), handover="张伟"),
        Review(member="zhangwei", review_date=date(2026, 5, 7)),
        Review(member="wangqiang", review_date=date(2026, 5, 6)),  # yesterday's does not count
    )
    text = env.text("eod_chase", local(5, 7, 18))
    assert "<@wangqiang>" in text
    for excused in ("<@zhangwei>", "<@lina>", "<@zhouqi>", "<@chenjing>", "<@zhaolei>", "<@liuyang>"):
        assert excused not in text

    env.add(Review(member="wangqiang", review_date=date(2026, 5, 7)))
    assert env.run("eod_chase", local(5, 7, 18)) == []


@both_backends
def test_crm_deadline_lists_missing_reps_incomplete_records_and_a_summary(env: Env) -> None:
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(3, 1))
    shengyi = customer(env, "省人民医院", "三甲", "华东", local(3, 1))
    visit(env, "zhangwei", yiyuan, local(5, 7, 0, 30), department="设备科", decision_role="科室负责人",
          pain_points="CT老化")  # fmt: skip
    visit(env, "zhangwei", shengyi, local(5, 7, 14), decision_role="采购", pain_points="预算紧",
          competitor="联影", next_action="周五报价")  # fmt: skip
    visit(env, "wangqiang", shengyi, local(5, 6, 23, 30))  # yesterday late evening: not today
    env.add(Leave(member="lina", start=date(2026, 5, 7), end=date(2026, 5, 7)))

    text = env.text("crm_deadline", local(5, 7, 19))

    (missing,) = lines_with(text, "今天还没有拜访记录")
    assert "<@wangqiang>" in missing and "<@zhangwei>" not in missing and "<@lina>" not in missing
    (incomplete,) = lines_with(text, "缺：")
    assert incomplete == "- <@zhangwei> 市第一人民医院 设备科（00:30）缺：竞品情况、下一步动作"
    assert "今日拜访 2 条，完整率 50%（完整 1 条）；1/2 位销售已记录，请假：李娜" in text


def test_crm_deadline_asks_for_the_customer_of_a_visit_to_nobody_named(env: Env) -> None:
    env.add(  # as the bot files it: not complete without a customer
        Visit(member="zhangwei", visited_at=local(5, 7, 10), department="检验科", decision_role="科室负责人",
              pain_points="x", competitor="无", next_action="y", complete=False)
    )  # fmt: skip
    text = env.text("crm_deadline", local(5, 7, 19))
    (incomplete,) = lines_with(text, "缺：")
    assert incomplete == "- <@zhangwei> 客户未写明 检验科（10:00）缺：客户名称"


def test_crm_deadline_leaves_alone_a_rep_whose_review_says_no_visits_today(env: Env) -> None:
    env.add(Review(member="wangqiang", review_date=date(2026, 5, 7), raw_text="今日复盘：在公司做标书，没有出去拜访"))
    env.add(Review(member="lina", review_date=date(2026, 5, 7), raw_text="今日复盘：今天一个客户都没约上，目标没达成"))
    text = env.text("crm_deadline", local(5, 7, 19))
    (missing,) = lines_with(text, "今天还没有拜访记录")
    assert "<@zhangwei>" in missing and "<@wangqiang>" not in missing and "<@lina>" not in missing


def test_crm_deadline_when_everything_is_in(env: Env) -> None:
    for rep in ("zhangwei", "lina", "wangqiang"):
        visit(env, rep, None, local(5, 7, 10), decision_role="采购", pain_points="x", competitor="无", next_action="y")
    text = env.text("crm_deadline", local(5, 7, 19))
    assert "<@" not in text and "都已齐全" in text and "今日拜访 3 条，完整率 100%" in text


# ----------------------------------------------------------------------------- weekly_report
def _opportunity(env: Env, customer_id: int, *history: tuple[str, datetime]) -> None:
    """An opportunity through its stages: (stage, when) in order; the first is its creation."""
    stage, last = history[-1]
    closed = last if stage in ("签约", "丢单") else None
    (o,) = env.add(
        Opportunity(customer_id=customer_id, stage=stage, opened_at=history[0][1], updated_at=last, closed_at=closed)
    )
    prev = None
    for to, when in history:
        env.add(StageChange(opportunity_id=o.id, from_stage=prev, to_stage=to, changed_at=when))
        prev = to


@both_backends
def test_weekly_report_numbers_equal_a_hand_count(env: Env) -> None:
    # the week of Mon 4 May (4-5 May are holidays); report on Fri 8 May 15:30
    a = customer(env, "A院", "三甲", "华东", local(5, 6, 9))
    b = customer(env, "B院", "二级", "华东", local(5, 7, 9))
    c = customer(env, "C院", "二级", "华南", local(5, 6, 9))
    d = customer(env, "D院", None, "华东", local(4, 10, 9))  # not new this week
    customer(env, "E院", "一级", "华南", local(5, 8, 16))  # after the report time
    env.add(Customer(name="F院", level="三甲", region="华东", created_at=local(5, 7), created_by="config"))  # directory

    # Funnel, by hand (conversion = signed in the month / at 意向 or later at some moment of it):
    _opportunity(env, a, ("线索", local(4, 1)), ("意向", local(4, 5)), ("签约", local(4, 25)))  # o1
    _opportunity(env, a, ("意向", local(4, 20)), ("方案", local(5, 2)), ("签约", local(5, 7)))  # o2
    _opportunity(env, b, ("线索", local(4, 1)), ("意向", local(5, 3)))  # o3
    _opportunity(env, c, ("意向", local(3, 10)), ("丢单", local(4, 15)))  # o4
    _opportunity(env, c, ("线索", local(5, 6)))  # o5
    _opportunity(env, d, ("意向", local(3, 1)), ("报价", local(3, 20)), ("签约", local(5, 6)))  # o6
    _opportunity(env, c, ("报价", local(4, 28)))  # o7
    _opportunity(env, d, ("意向", local(1, 5)), ("丢单", local(2, 1)))  # o8: closed long ago, never counted
    _opportunity(env, d, ("线索", local(1, 5)), ("意向", local(2, 1)))  # o9: at 意向 since February
    # April: D = o1 o2 o4 o6 o7 o9 = 6, N = o1 = 1 -> 16.7%; cycle o1 = 20 days
    # May:   D = o2 o3 o6 o7 o9 = 5,    N = o2 o6 = 2 -> 40.0%; cycle (17 + 66) / 2 = 41.5 days
    # 华东: April D = o1 o2 o6 o9 = 4, N 1 -> 25.0%; May D = o2 o3 o6 o9 = 4, N 2 -> 50.0%
    # open now: o3 o9 意向, o5 线索, o7 报价; signed this week: o2 o6

    # new customers are those first visited this week: A and B; C is only named in an urgent need
    # and a competitor note, G was added by a leader and nobody has visited it yet
    env.add(Customer(name="G院", level="三甲", region="华东", created_at=local(5, 7), created_by="chenjing"))
    visit(env, "zhangwei", a, local(5, 6, 10), decision_role="科室负责人", pain_points="CT老化，培训不足",
          competitor="联影", next_action="报价", first_visit=True)  # fmt: skip
    visit(env, "zhangwei", a, local(5, 7, 10), pain_points="培训不够")
    visit(env, "lina", b, local(5, 7, 11), decision_role="采购", pain_points="呼吸机不够用，希望加强培训",
          competitor="无", next_action="方案", first_visit=True)  # fmt: skip
    visit(env, "lina", d, local(4, 30, 11), pain_points="彩超故障")  # last week
    env.add(
        Urgent(member="wangqiang", region="华南", customer_id=c, status="taken", created_at=local(5, 7, 9),
               items=json.dumps([{"product": "监护仪", "quantity": 5, "unit": "台"}], ensure_ascii=False)),
        Competitor(member="zhangwei", region="华东", brand="迈瑞", activity="降价促销", reported_at=local(5, 6, 9)),
        Competitor(member="wangqiang", region="华南", customer_id=c, brand="迈瑞", activity="买设备送耗材",
                   reported_at=local(5, 7, 9)),
        Competitor(member="zhangwei", region="华东", brand="联影", activity="CT巡展", reported_at=local(5, 6, 15)),
        Competitor(member="zhangwei", region="华东", brand="飞利浦", activity="旧闻", reported_at=local(4, 29, 9)),
    )  # fmt: skip

    out = env.run("weekly_report", local(5, 8, 15, 30))
    assert len(out) == 3  # total, 华东, 华南
    total, east, south = (p.content for p in out)

    assert total.startswith("# 📊 销售周报 · 5月4日–5月8日")
    assert "## 全部" in total and "## 华东" in east and "## 华南" in south
    # portrait
    assert "本周新开发客户 2 家：三甲 1 家（50%）、二级 1 家（50%）" in total
    assert "本周新开发客户 2 家：三甲 1 家（50%）、二级 1 家（50%）" in east
    assert "本周新开发客户 0 家" in south
    assert "生命支持 2 家客户/2 次（67%）、影像类 1 家客户/1 次（33%）" in total
    # funnel
    assert "在手商机 4 个：线索 1 → 意向 2 → 方案 0 → 报价 1 → 招标 0" in total
    assert "本周签约 2 个，丢单 0 个" in total
    assert "意向→签约转化率：本月 40.0%（2/5），上月 16.7%（1/6），较上月提升 23.3 个百分点" in total
    assert "平均签约周期（意向→签约）：本月 41.5天，上月 20.0天，延长 21.5 天" in total
    assert "本月 50.0%（2/4），上月 25.0%（1/4）" in east
    assert "本月 0.0%（0/1），上月 0.0%（0/2）" in south
    # common problems: distinct customers per category
    assert "- 培训支持不足：2 家客户（3 次）" in lines_with(total, "培训支持不足")  # a line of its own
    assert "- 设备老化故障：1 家客户（1 次）" in total and "- 容量不足：1 家客户（1 次）" in total
    assert "影像类 1 家客户/1 次" in total  # last week's 彩超故障 is not counted
    # competitors: brand -> count, latest move
    assert "- 迈瑞：2 次；最新 5月7日：买设备送耗材（C院）" in total
    assert "- 联影：1 次；最新 5月6日：CT巡展" in total and "飞利浦" not in total
    assert "- 迈瑞：1 次；最新 5月6日：降价促销" in east
    # penetration: the brands named in this week's visit records (A's 联影; B's 无 names none)
    assert "拜访中的竞品渗透：联影 1 家客户" in total and "拜访中的竞品渗透：本周拜访记录未提到竞品品牌" in south
    # team activity
    assert "本周拜访 3 条，记录完整率 67%" in total
    assert "- 华东：3 条，完整率 67%" in total and "- 华南：0 条，完整率 —" in total  # regions in the total
    assert "- 张伟：2 条，完整率 50%" in east and "- 李娜：1 条，完整率 100%" in east
    assert "- 王强：0 条，完整率 —" in south and "张伟" not in south


def test_weekly_report_covers_what_was_filed_since_the_last_report(env: Env) -> None:
    a = customer(env, "A院", "三甲", "华东", local(4, 1))
    visit(env, "zhangwei", a, local(5, 15, 14))  # Friday before last week's report: in that report
    visit(env, "zhangwei", a, local(5, 15, 17))  # Friday evening, after it
    visit(env, "lina", a, local(5, 16, 10))  # Saturday
    visit(env, "lina", a, local(5, 20, 10))  # this Wednesday
    text = env.text("weekly_report", local(5, 22, 15, 30))
    assert "本周拜访 3 条" in text


def test_weekly_report_long_sections_are_split_under_the_limit(tmp_path: Path) -> None:
    roster = [
        {"userid": f"rep{i:03d}", "name": f"销售代表{i:03d}号", "role": "rep", "region": "华东"} for i in range(300)
    ]
    e = make_env(tmp_path)
    e.add(*(Member(**m) for m in roster))
    out = e.run("weekly_report", local(5, 8, 15, 30))
    assert len(out) > 1
    text = "\n".join(p.content for p in out)
    assert "销售代表000号" in text and "销售代表299号" in text


def test_split_markdown_keeps_every_line_under_the_byte_limit() -> None:
    text = "\n\n".join("\n".join(f"第{s}节第{i}行" * 3 for i in range(40)) for s in range(20)) + "\n\n" + "长" * 3000
    pieces = split_markdown(text, limit=1000)
    assert all(len(p.encode()) <= 1000 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


# ----------------------------------------------------------------------------- followups
@both_backends
def test_a_plan_turns_overdue_after_five_working_days_and_is_notified_once(env: Env) -> None:
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(4, 30, 10))
    visited = local(4, 30, 10)
    vid = visit(env, "zhangwei", yiyuan, visited, first_visit=True)
    plan_at = plan_due(visited, CALENDAR, 5)
    assert plan_at == local(5, 11, 18)  # 6, 7, 8, 9 (make-up Saturday), 11 May
    env.add(
        Followup(visit_id=vid, customer_id=yiyuan, member="zhangwei", kind="summary", due_at=local(5, 1, 10)),
        Followup(visit_id=vid, customer_id=yiyuan, member="zhangwei", kind="plan", due_at=plan_at),
    )

    assert env.run("followups", local(4, 30, 11)) == []  # due in 23 h: the visit's reply just said so
    first = env.text("followups", local(4, 30, 16))  # 18 h left
    assert "<@zhangwei>" in first and "市第一人民医院：拜访小结，5月1日 10:00 前" in first
    assert "：定制方案" not in first and "逾期" not in first
    assert env.run("followups", local(4, 30, 18, 30)) == []  # reminded once

    after_break = env.text("followups", local(5, 6, 9))
    assert "跟进已逾期" in after_break and "拜访小结，截止 5月1日 10:00" in after_break
    assert "<@zhangwei> <@chenjing>" in after_break and "<@zhaolei>" not in after_break
    assert "：定制方案" not in after_break

    assert env.run("followups", local(5, 9, 18)) == []  # make-up Saturday: plan due Monday 18:00
    reminder = env.text("followups", local(5, 11, 9))
    assert "市第一人民医院：定制方案，5月11日 18:00 前" in reminder and "逾期" not in reminder
    assert env.run("followups", local(5, 11, 18)) == []  # due now, not yet late

    overdue = env.text("followups", local(5, 12, 9))
    assert "跟进已逾期" in overdue and "定制方案，截止 5月11日 18:00" in overdue
    assert "<@zhangwei> <@chenjing>" in overdue
    assert env.run("followups", local(5, 12, 10)) == []  # notified once

    with Session(env.engine) as s:
        plan = s.execute(select(Followup).where(Followup.kind == "plan")).scalar_one()
        assert plan.reminded_at == local(5, 11, 9) and plan.overdue_at == local(5, 12, 9)


def test_done_followups_are_left_alone(env: Env) -> None:
    vid = visit(env, "lina", None, local(5, 5, 10))
    env.add(Followup(visit_id=vid, member="lina", kind="summary", due_at=local(5, 6, 10), status="done"))
    assert env.run("followups", local(5, 7, 9)) == []


def test_follow_ups_due_during_a_leave_mention_the_cover(env: Env) -> None:
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(5, 6, 10))
    vid = visit(env, "zhangwei", yiyuan, local(5, 6, 10), first_visit=True)
    wid = visit(env, "wangqiang", None, local(5, 6, 10))
    env.add(
        Leave(member="zhangwei", start=date(2026, 5, 7), end=date(2026, 5, 8), handover="李娜"),
        Leave(member="wangqiang", start=date(2026, 5, 7), end=date(2026, 5, 7), handover="小孙"),  # no such member
        Followup(visit_id=vid, customer_id=yiyuan, member="zhangwei", kind="summary", due_at=local(5, 7, 10)),
        Followup(visit_id=vid, customer_id=yiyuan, member="zhangwei", kind="plan", due_at=local(5, 11, 18)),
        Followup(visit_id=wid, member="wangqiang", kind="summary", due_at=local(5, 7, 11)),
    )
    text = env.text("followups", local(5, 6, 17))
    assert "<@zhangwei> <@lina>" in text
    assert lines_with(text, "市第一人民医院：拜访小结，5月7日 10:00 前（张伟休假，由李娜代为跟进）")
    assert lines_with(text, "客户未写明：拜访小结，5月7日 11:00 前（王强休假，由小孙代为跟进）")
    assert "<@wangqiang>\n" in text and text.count("<@") == 3  # 小孙 is named, not mentioned

    overdue = env.text("followups", local(5, 7, 12))
    assert "跟进已逾期" in overdue and "<@zhangwei> <@lina> <@chenjing>" in overdue
    assert "（张伟休假，由李娜代为跟进）" in overdue

    reminder = env.text("followups", local(5, 11, 9))  # the plan falls due after the leave
    assert "定制方案" in reminder and "<@lina>" not in reminder and "代为跟进" not in reminder


def test_an_overdue_follow_up_of_a_member_on_leave_today_mentions_the_cover(env: Env) -> None:
    yiyuan = customer(env, "市第一人民医院", "三甲", "华东", local(5, 6, 10))
    vid = visit(env, "zhangwei", yiyuan, local(5, 6, 10), first_visit=True)
    env.add(
        Followup(visit_id=vid, customer_id=yiyuan, member="zhangwei", kind="summary", due_at=local(5, 7, 10)),
        Leave(member="zhangwei", start=date(2026, 5, 8), end=date(2026, 5, 8), handover="李娜"),  # after it was due
    )
    overdue = env.text("followups", local(5, 8, 9))
    assert "跟进已逾期" in overdue and "<@zhangwei> <@lina> <@chenjing>" in overdue
    assert "（张伟休假，由李娜代为跟进）" in overdue


def test_a_cover_named_by_nickname_is_mentioned_when_one_member_has_that_surname(env: Env) -> None:
    wid = visit(env, "wangqiang", None, local(5, 6, 10))
    env.add(
        Leave(member="wangqiang", start=date(2026, 5, 7), end=date(2026, 5, 7), handover="小李"),
        Followup(visit_id=wid, member="wangqiang", kind="summary", due_at=local(5, 7, 11)),
    )
    text = env.text("followups", local(5, 6, 17))
    assert "<@wangqiang> <@lina>" in text and "由小李代为跟进" in text


# ----------------------------------------------------------------------------- urgent_escalation
def test_urgent_escalation_names_the_minutes_as_a_clock_would(env: Env) -> None:
    env.add(Urgent(member="wangqiang", region="华南", created_at=local(5, 2, 10) + timedelta(milliseconds=500)))
    # the job runs on the minute, half a second short of 20 minutes after the demand
    assert "已 20 分钟无人接单" in env.text("urgent_escalation", local(5, 2, 10, 20))


@both_backends
def test_urgent_goes_to_the_region_leader_at_15_minutes_and_the_manager_at_60_once_each(env: Env) -> None:
    shengyi = customer(env, "省人民医院", "三甲", "华南", local(3, 1))
    items = json.dumps([{"product": "呼吸机", "quantity": 3, "unit": "台"}], ensure_ascii=False)
    (open_one, _taken) = env.add(
        Urgent(member="wangqiang", region="华南", customer_id=shengyi, department="ICU", items=items,
               created_at=local(5, 2, 10)),
        Urgent(member="zhangwei", region="华东", status="taken", taken_by="lina", created_at=local(5, 2, 10)),
    )  # fmt: skip
    assert env.run("urgent_escalation", local(5, 2, 10, 10)) == []  # a holiday: this job runs every day

    leader = env.text("urgent_escalation", local(5, 2, 10, 15))
    assert f"急需 #{open_one.id} 已 15 分钟无人接单" in leader and "省人民医院 ICU：3台呼吸机" in leader
    assert "<@zhaolei>" in leader
    assert "<@chenjing>" not in leader and "<@liuyang>" not in leader and "<@wangqiang>" not in leader
    assert env.run("urgent_escalation", local(5, 2, 10, 20)) == []
    assert env.run("urgent_escalation", local(5, 2, 10, 55)) == []

    manager = env.text("urgent_escalation", local(5, 2, 11))
    assert "已 60 分钟无人接单，升级到经理" in manager and "<@liuyang>" in manager
    assert env.run("urgent_escalation", local(5, 2, 11, 5)) == []

    with Session(env.engine) as s:
        assert s.get(Urgent, open_one.id).escalation == 2  # type: ignore[union-attr]
        assert s.get(Urgent, _taken.id).escalation == 0  # type: ignore[union-attr]


def test_an_urgent_found_late_goes_to_the_leaders_and_all_leaders_without_a_manager(tmp_path: Path) -> None:
    e = make_env(tmp_path)  # no rules.manager
    (u,) = e.add(Urgent(member="zhangwei", region="华东", created_at=local(5, 6, 8)))
    text = e.text("urgent_escalation", local(5, 6, 10))
    assert "升级到经理" in text and "<@chenjing>" in text and "<@zhaolei>" in text
    assert e.run("urgent_escalation", local(5, 6, 10, 5)) == []
    with Session(e.engine) as s:
        assert s.get(Urgent, u.id).escalation == 2  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- itinerary, toolkit
@both_backends
def test_itinerary_reminder_before_the_break_lists_trips_of_the_next_working_day(env: Env) -> None:
    shengyi = customer(env, "省人民医院", "三甲", "华东", local(3, 1))
    env.add(
        Itinerary(member="wangqiang", customer_id=shengyi, department="ICU", trip_date=date(2026, 5, 6)),
        Itinerary(member="lina", customer_id=shengyi, trip_date=date(2026, 5, 7)),
    )
    text = env.text("itinerary_reminder", local(4, 30, 17))
    assert "下个工作日（5月6日 周三）" in text and "报备" in text
    assert "- 王强：5月6日 省人民医院 ICU" in text and "李娜" not in text

    friday = env.text("itinerary_reminder", local(5, 8, 17))
    assert "明天（5月9日 周六）" in friday and "目前还没有人报备" in friday


def test_toolkit_check_warns_of_an_expiring_and_a_stale_document(tmp_path: Path) -> None:
    e = make_env(
        tmp_path,
        toolkit=[
            {"name": "营业执照", "kind": "证照", "version_date": "2026-01-01", "expiry": "2026-05-20"},
            {"name": "临床数据报告（监护仪）", "kind": "临床报告", "version_date": "2026-01-10",
             "link": "https://docs.example.com/report"},
            {"name": "产品手册", "edition": "医生版", "version_date": "2026-04-01"},
            {"name": "注册证", "version_date": "2026-03-01", "expiry": "2029-01-01"},
        ],
    )  # fmt: skip
    text = e.text("toolkit_check", local(5, 6, 8))
    assert "- 营业执照：2026-05-20 到期，还剩 14 天" in text
    (stale,) = lines_with(text, "临床数据报告（监护仪）")
    assert "版本 2026-01-10，已 116 天" in stale and "[下载](https://docs.example.com/report)" in stale
    assert "营业执照：版本" not in text  # a document with an expiry is judged by its expiry
    assert "产品手册" not in text and "注册证：" not in text
    assert "出门前检查工具包" in text

    (tmp_path / "quiet").mkdir()
    quiet = make_env(tmp_path / "quiet")
    text = quiet.text("toolkit_check", local(5, 6, 8))
    assert "出门前检查工具包" in text and "到期" not in text and "未更新" not in text


def test_toolkit_check_announces_a_version_dated_since_the_last_working_days_check(tmp_path: Path) -> None:
    e = make_env(
        tmp_path,
        toolkit=[
            {"name": "临床数据报告（监护仪）", "kind": "临床报告", "version_date": "2026-06-05",
             "link": "https://docs.example.com/report-0605"},
            {"name": "产品手册", "edition": "采购版", "version_date": "2026-06-08"},
            {"name": "产品手册", "edition": "医生版", "version_date": "2026-06-04"},
        ],
    )  # fmt: skip
    monday = e.text("toolkit_check", local(6, 8, 8))  # Friday's update, made after Friday's check
    section = monday.split("**新版本，请下载替换旧版：**")[1].strip().split("\n\n")[0].splitlines()
    assert section == [
        "- 临床数据报告（监护仪）：2026-06-05 版，[下载](https://docs.example.com/report-0605)",
        "- 产品手册（采购版）：2026-06-08 版",
    ]
    assert "新版本" not in e.text("toolkit_check", local(6, 10, 8))  # announced, then no more


def test_toolkit_check_asks_the_admin_for_a_year_the_holiday_calendar_does_not_know(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    # chinesecalendar knows the years of its release; 2099 and 2100 it will not know for a while
    text = e.text("toolkit_check", datetime(2099, 12, 7, 8, tzinfo=TZ))
    (line,) = lines_with(text, "节假日日历")
    assert "2099、2100 年的法定节假日和调休还没有数据" in line and "calendar.holidays" in line
    assert "<@liuyang>" in line and "<@zhangwei>" not in line  # the admin, not the team
    assert "节假日日历" not in e.text("toolkit_check", local(5, 6, 8))  # a known year says nothing


def test_a_year_is_known_from_the_statutory_data_or_the_admins_dates() -> None:
    assert WorkCalendar().knows(2026) and not WorkCalendar().knows(2099)
    assert WorkCalendar(holidays=[date(2099, 1, 1)]).knows(2099)


def test_a_directory_hospital_first_visited_this_week_is_a_new_customer(tmp_path: Path) -> None:
    e = make_env(tmp_path)
    listed = customer(e, "F院", "三甲", "华东", local(1, 5))
    e.add(Customer(name="G院", level="二级", region="华东", created_at=local(5, 6), created_by="config"))  # unvisited
    visit(e, "zhangwei", listed, local(5, 6, 10), first_visit=True)
    assert "本周新开发客户 1 家：三甲 1 家（100%）" in e.text("weekly_report", local(5, 8, 15, 30))


def test_brand_counts_count_customers_and_visits_per_region() -> None:
    rows = [
        ("华东", 1, "迈瑞在科里有6台在用"),
        ("华东", 1, "迈瑞和GE都来过"),
        ("华东", None, "GE的在保"),
        ("华南", 2, "没有竞品"),
        ("华南", 4, "暂无竞品，之前飞利浦来推过没进院"),
        ("华南", 5, "没有迈瑞的产品，GE刚来过"),
        (None, 3, "飞利浦刚投了两台试用机"),
        ("华南", 6, "康泰医院那边用的是GE的"),  # 康泰 is a brand, but here the hospital's name
    ]
    counts = brand_counts(rows)
    # a visit with no customer counts as a visit, not as one more customer
    assert counts == {"华东": {"迈瑞": (1, 2), "GE": (1, 2)}, "华南": {"GE": (2, 2)}, "": {"飞利浦": (1, 1)}}


def test_pain_points_no_category_matches_are_counted_last_with_examples(env: Env) -> None:
    a = customer(env, "A院", "三甲", "华东", local(5, 6, 9))
    b = customer(env, "B院", "二级", "华东", local(5, 6, 9))
    visit(env, "zhangwei", a, local(5, 6, 10), pain_points="数据导出太麻烦")  # 信息化对接
    visit(env, "zhangwei", a, local(5, 6, 11), pain_points="维修响应慢")  # 售后, not an ageing machine
    visit(env, "lina", b, local(5, 7, 11), pain_points="院长想打造区域影响力")  # no category
    visit(env, "lina", b, local(5, 7, 15), pain_points="护士抱怨推车太重")
    total = env.run("weekly_report", local(5, 8, 15, 30))[0].content
    problems = total.split("**共性问题**")[1].split("**竞品动态**")[0].strip().splitlines()[1:]
    assert problems == [
        "- 售后响应：1 家客户（1 次）",
        "- 信息化对接：1 家客户（1 次）",
        "- 其他（未归类）：1 家客户（2 次），如「院长想打造区域影响力」「护士抱怨推车太重」",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("维修响应太慢，一周都不来", "售后响应"), ("耗材贵，用不起", "价格预算"), ("进口设备维修成本高", "价格预算")],
)
def test_problem_keywords_read_service_and_price_complaints(text: str, problem: str) -> None:
    problems = load_categories().problems
    assert any(k in text for k in problems[problem])
