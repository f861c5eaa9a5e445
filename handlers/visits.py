"""Visit results: a visit record with the four core items, asking for what is missing.

A visit with missing core items (or no customer) opens a question (chat + member): the
member's next message there that answers it completes the record instead of starting a
new one. Within 30 minutes an answer is read as the rest of the visit report ("没有竞品，
下周三带样机过去演示", "迈瑞"); until the end of that day, as the 19:00 reminder asks, only
labelled lines ("竞品：无"), a stated absence of competitors, a role named by its name or a
report of its own are. A reply naming a customer completes the member's latest incomplete
visit to it today, whichever question is open. Chat ("好的，收到", "稍等") answers nothing.
A message that tells of a visit made (拜访了, 又去了, 见了) naming where or whom, or that
names another customer, department or contact, is a visit of its own. A first visit to a
customer creates its two follow-ups: the visit summary within 24 hours and the customised
plan within 3-5 working days.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from importlib import resources
from time import monotonic
from typing import Any

import yaml
from sqlalchemy import bindparam, select

from bot.customers import customer_key, customer_level, level_in_report
from bot.db import FastStatement, Pending
from bot.dispatch import Context, Handler, Reply
from bot.models import (
    Competitor,
    Contact,
    Conversation,
    Customer,
    CustomerAlias,
    Followup,
    Itinerary,
    Opportunity,
    Urgent,
    Visit,
)
from bot.parse import CORE_ITEMS, ROLES, competitor_move, parse
from bot.parse.fields import no_competitor, no_need, reports_a_visit
from bot.parse.kinds import asks, says_no_visit
from bot.parse.several import CONTINUATION, Several, several_visits
from bot.parse.text import fix_typos, prepare, sentences
from bot.wecom.inbound import Message

CONVERSATION_MINUTES = 30
# A message naming a customer without telling of a visit completes the member's latest incomplete
# visit to it from this many days back (a weekend between)
REACH_BACK_DAYS = 4
# A later visit to the same contact (or department) takes the pain point and the competitor
# situation the member filed for them within this many days when it does not say them again
CARRY_DAYS = 30
_CARRIED = ("pain_points", "competitor")  # the role is the contact's; a next step is always new
END_OF_DAY = time(18, 0)
# Kinds that are news of their own, never an answer to "what was missing".
_OTHER_RECORDS = {"urgent", "itinerary", "leave", "review"}
# An answer is read as the rest of a visit report: CONTINUATION, put before it, makes the parser read it so.
_TEMPLATE_LINE = re.compile(r"^\s*([^:：\n]{1,8})\s*[:：]\s*(.+?)\s*$")
_SEGMENT_SEP = re.compile(r"[\n；;]")
_ITEM_LABELS: dict[str, tuple[str, ...]] = {
    item: tuple(labels)
    for item, labels in yaml.safe_load(
        resources.files("bot").joinpath("data/core_item_labels.yaml").read_text(encoding="utf-8")
    ).items()
}
_ROLE_LABEL_RE = re.compile(rf"(?:{'|'.join(_ITEM_LABELS['decision_role'])})\s*[:：]")


# ----------------------------------------------------------------------------- pure decisions
def answers_from(
    missing: list[str], parsed: dict[str, Any], text: str, continued: dict[str, Any] | None = None
) -> dict[str, str]:
    """Which of the missing items a follow-up message answers, and with what.

    `continued` is the message parsed as the rest of the visit report (the parse itself
    when the message is a visit report; empty when it should not be read so). Fields found
    there count first; then labelled lines ("竞品：无"); then a statement that there is no
    competitor ("没有竞品") or no need ("暂无需求"), and a decision role named by its name
    ("他是决策者"). Nothing else is taken: a reply that says none of these ("好的，收到", "稍等")
    answers nothing.
    """
    continued = parsed if continued is None else continued
    found: dict[str, str] = {}
    for item in missing:
        value = parsed.get("customer") if item == "customer" else continued.get(item)
        if value:
            found[item] = str(value)
    for segment in _SEGMENT_SEP.split(text):  # "竞品：无；下一步：周五送样机": two labelled values
        line = _TEMPLATE_LINE.match(segment)
        if line is None:
            continue
        label, value = line.groups()
        for item, labels in _ITEM_LABELS.items():
            if item in missing and item not in found and label.strip() in labels:
                found[item] = value
    if "competitor" in missing and "competitor" not in found:
        none = no_competitor(text)
        if none:
            found["competitor"] = none
    if "pain_points" in missing and "pain_points" not in found:
        nothing = no_need(text)
        if nothing:
            found["pain_points"] = nothing
    if "decision_role" in missing:  # a role the rep states wins over one read from a title
        role = stated_role(text) or (None if "decision_role" in found else next((r for r in ROLES if r in text), None))
        if role:
            found["decision_role"] = role
    return found


# A clause that is a role alone ("决策者", "他是技术把关的", "周护士长是使用者"), or the contact decides ("他拍板")
_ROLE_CLAUSE_RE = re.compile(
    rf"(?:^|[,，。;；\s])(?:他|她|对方|[\u4e00-\u9fff]{{1,2}}(?:主任|护士长|科长|处长|院长|医生|老师|工))?"
    rf"(?:是|属于|算)?(?P<role>{'|'.join(ROLES)})(?:的|这块|那块|角色)?(?=$|[,，。;；\s])"
)
_DECIDES_RE = re.compile(
    r"[他她](?:能|可以|负责)?拍板|[他她][^,，。;；]{0,8}说了算|是拍板的|拍板的人|说了算的|(?:^|[,，\s])拍板的"
    r"|[他她]是[^,，。;；]{0,6}一把手"
)
# "她是用设备的": the one who uses the equipment
_USES_RE = re.compile(r"[他她]是(?:直接)?(?:用|操作|使用)[^,，。;；]{0,4}(?:设备|机器|仪器)的")


_NOT_ROLE_RE = re.compile(r"不是|不算|不拍板|不能拍板|说了不算|不管")


def stated_role(text: str) -> str | None:
    """The decision-chain role the rep states for the contact, in a clause of its own; never from a
    negation or a question ("王主任不是拍板的", "王主任是拍板的吗？")."""
    m = _ROLE_CLAUSE_RE.search(text)
    role = m["role"] if m else ("决策者" if _DECIDES_RE.search(text) else "使用者" if _USES_RE.search(text) else None)
    if role is None or _NOT_ROLE_RE.search(text) or asks(prepare(text).norm):  # checked only when needed
        return None
    return role


def _labelled_answer(text: str) -> bool:
    """Whether every line of the text is a labelled core item ("痛点：急诊血糖仪数量不够")."""
    segments = [seg for seg in _SEGMENT_SEP.split(text) if seg.strip()]
    if not segments:
        return False
    for seg in segments:
        line = _TEMPLATE_LINE.match(seg)
        if line is None or not any(
            line[1].strip() in labels for item, labels in _ITEM_LABELS.items() if item != "customer"
        ):
            return False
    return True


# "竞品飞利浦，下周一带样机去演示", "下一步 下周约黄科长", "痛点还是预算": an answer that opens with
# the item it gives, written without the colon
_OPENING_LABEL_RE = re.compile(r"\s*(?:竞品|竟品|竞争对手|痛点|需求痛点|下一步|下步|决策链|角色)(?!骤)")


def opens_with_label(text: str) -> bool:
    return _OPENING_LABEL_RE.match(text) is not None


def conflicts(parsed: dict[str, Any], department: str | None, contact: str | None) -> bool:
    """The message is about another department or contact than the open visit: a visit of its own."""
    return bool(
        (parsed.get("department") and department and parsed["department"] != department)
        or (parsed.get("contact") and contact and parsed["contact"] != contact)
    )


def answer_window(expires_at: datetime, now: datetime) -> tuple[bool, bool]:
    """(loose, open): within the conversation's minutes anything may answer; until the end of the
    day of the question, what is recognisably an answer."""
    asked = expires_at - timedelta(minutes=CONVERSATION_MINUTES)
    loose = now < expires_at
    return loose, loose or asked.astimezone(now.tzinfo).date() == now.date()


# What may follow a hospital's name in a report: the end, punctuation, 的/那边, a department or a contact.
_AFTER_NAME = re.compile(
    r"$|[\s,，。.;；:：!！?？、()（）/]|的|那边|这边|那里|这里"
    r"|[\u4e00-\u9fff]{0,5}(?:科|部|中心|室|办|门诊|急诊|病房|ICU)"
    r"|[\u4e00-\u9fff]{1,2}(?:主任|科长|院长|医生|大夫|护士长|护士|老师|处长|部长|经理|书记|工)"
)
# A name that is the tail of a longer one (第一院区, 市一院 for 一院) is not that name.
_BEFORE_NAME = set("第省市县区镇乡")


def known_customer_in(text: str, aliases: list[tuple[str, int]]) -> str | None:
    """The longest known customer name or alias written in `text` as a name of its own (not inside
    another word: 省医 in 省医保 is not 省人民医院), as written."""
    for alias, _cid in aliases:  # longest first
        found = _as_written(text, alias)
        if found is None:
            continue
        start, end = found
        # a name of three characters or more stands on its own before anything ("去宝安中心送了资料");
        # a short one (一院, 省医) only before what may follow a hospital's name
        after = len(alias) >= 3 or _AFTER_NAME.match(text, end) is not None
        if (start == 0 or text[start - 1] not in _BEFORE_NAME) and after:
            return text[start:end].strip()
    return None


def _as_written(text: str, alias: str) -> tuple[int, int] | None:
    """Where in `text` a part whose customer_key is `alias` stands (full-width, spaces and case as
    written), or None."""
    for start in range(len(text)):
        first = customer_key(text[start])
        if not first or not alias.startswith(first):
            continue
        for end in range(start + 1, len(text) + 1):
            got = customer_key(text[start:end])
            if got == alias:
                return start, end
            if not alias.startswith(got):
                break
    return None


# A visit whose next step or need says where the deal stands, for a customer not yet in the funnel
_STAGE_WORDS = (("签约", re.compile(r"签约|签合同|合同")), ("招标", re.compile(r"招标|投标|挂网|开标|标书")),
                ("报价", re.compile(r"报价")), ("方案", re.compile(r"方案")))  # fmt: skip


def funnel_stage(text: str) -> str | None:
    """The funnel stage a visit's words point to (报价 → 报价), the furthest one named; None if none."""
    for stage, words in _STAGE_WORDS:
        if words.search(text):
            return stage
    return None


def still_missing(record: dict[str, Any]) -> list[str]:
    return [item for item in CORE_ITEMS if not record.get(item)]


def summary_due_at(visited: datetime, calendar: Any, hours: int) -> datetime:
    """`hours` after the visit; when that falls on a day off (a Friday visit, a holiday's eve), the
    same time on the next working day: nobody writes a summary for the customer on a Saturday."""
    due = visited + timedelta(hours=hours)
    if calendar.is_workday(due.date()):
        return due
    return datetime.combine(calendar.next_workday(due.date()), due.timetz())


def _summary_hours(ctx: Context) -> int:
    return int(ctx.settings.rules.get("followup_summary_hours", 24))


def plan_due(visited: datetime, calendar: Any, workdays: int) -> datetime:
    """End of the working day `workdays` working days after the visit."""
    day = calendar.add_workdays(visited.date(), workdays)
    return datetime.combine(day, END_OF_DAY, visited.tzinfo)


def _due(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# ----------------------------------------------------------------------------- shared lookups
def customer_for(ctx: Context, name: str, text: str = "") -> tuple[int, str, str | None, bool]:
    """(id, canonical name, level, created) of the directory's customer for a name as written.

    A level the report `text` gives the hospital ("博爱医院（民营）") fills a level the directory
    lacks; it never overrides one. Known names are remembered for a minute (a leader may set a
    level meanwhile).
    """
    db = ctx.records
    key = customer_key(name)
    known: dict[str, tuple[float, int, str, str | None]] = ctx.cache.setdefault("customers", {})
    said = level_in_report(text, name) if text else None
    hit = known.get(key)
    if hit is not None and monotonic() - hit[0] < 60 and (hit[3] is not None or said is None):
        return hit[1], hit[2], hit[3], False
    alias = db.first(CustomerAlias, ["customer_id"], alias=key)
    if alias is None and "儿" in key:  # "市儿院" typed for the directory's 市二院 (the same sound)
        alias = db.first(CustomerAlias, ["customer_id"], alias=key.replace("儿", "二"))
    row = db.first(Customer, ["name", "level"], id=alias[0]) if alias is not None else None
    if alias is not None and row is not None:
        cid, canonical, level = alias[0], row[0], row[1]
        if level is None and said is not None:
            db.update(Customer, cid, level=said)
            level = said
            ctx.after_commit(lambda: known.__setitem__(key, (monotonic(), cid, canonical, said)))
        else:
            known[key] = (monotonic(), cid, canonical, level)
        return cid, canonical, level, False
    region = ctx.member.region if ctx.member else ""
    canonical = fix_typos(name.strip())
    cid = db.insert(Customer, name=canonical, level=said, region=region, created_by=ctx.message.sender)
    db.insert(CustomerAlias, alias=key, customer_id=cid)
    ctx.after_commit(lambda: known.__setitem__(key, (monotonic(), cid, canonical, said)))
    return cid, canonical, said, True


def first_visit(ctx: Context, customer_id: int) -> bool:
    """No visit to this customer yet. Once visited, always visited: remembered per process.

    What a read found is remembered at once (the cache is dropped if the batch fails); what a
    handler wrote itself only once it is committed, since the handler may still fail.
    """
    visited: set[int] = ctx.cache.setdefault("visited", set())
    if customer_id in visited:
        return False
    if ctx.records.first(Visit, ["id"], customer_id=customer_id) is None:
        return True
    visited.add(customer_id)
    return False


def contact_for(ctx: Context, customer_id: int, parsed: dict[str, Any], stated: bool = False) -> int:
    """The contact's id (added when new), keeping the decision role the rep last stated.

    Ids are remembered per process (a contact is never renamed or deleted); the role is not:
    another process may have changed it since. A role the rep states (`stated`: "他是拍板的")
    is written whenever it differs from the stored one; one read from a title only fills a
    role not known yet, so it never overwrites what the rep said (the database decides both:
    nothing is written otherwise).
    """
    db = ctx.records
    where = {"customer_id": customer_id, "name": parsed["contact"], "department": parsed.get("department")}
    key = (customer_id, where["name"], where["department"])
    known: dict[tuple[Any, ...], int] = ctx.cache.setdefault("contacts", {})
    role = parsed.get("decision_role")
    contact_id = known.get(key)
    if contact_id is None and where["department"] is None:
        # "今天又见了南山医院孙主任": the one 孙主任 on file, whatever department she was filed under
        rows = ctx.read.conn.execute(  # type: ignore[union-attr]
            select(Contact.id).where(Contact.customer_id == customer_id, Contact.name == where["name"]).limit(2)
        ).all()
        if len(rows) == 1:
            contact_id = known[key] = rows[0][0]
    if contact_id is None:
        row = db.first(Contact, ["id"], **where)
        if row is None:
            new_id = db.insert(Contact, decision_role=role, **where)
            ctx.after_commit(lambda: known.__setitem__(key, new_id))
            return new_id
        contact_id = known[key] = row[0]
    if role and stated:
        db.update(Contact, contact_id, changed_only=True, decision_role=role)
        remember_role(ctx, contact_id, role)
    elif role and not _role_on_file(ctx, contact_id):
        db.update_where(Contact, {"id": contact_id, "decision_role": None}, decision_role=role)
    return contact_id


def _role_on_file(ctx: Context, contact_id: int) -> bool:
    """Whether this process saw a role on file for the contact lately. A role is never cleared, so
    then filling a missing one would change nothing: the statement is saved (the same report told
    again, every time)."""
    cached = ctx.cache.get("contact_roles", {}).get(contact_id)
    return cached is not None and cached[0] is not None and monotonic() - cached[1] < ROLE_CACHE_SECONDS


ROLE_CACHE_SECONDS = 30


def remember_role(ctx: Context, contact_id: int, role: str) -> None:
    """Once committed, the role this request wrote is the one this process knows."""
    roles: dict[int, tuple[str | None, float]] = ctx.cache.setdefault("contact_roles", {})
    ctx.after_commit(lambda: roles.__setitem__(contact_id, (role, monotonic())))


def known_role(ctx: Context, contact_id: int) -> str | None:
    """The decision role on file for a contact, as this process last read it (at most
    ROLE_CACHE_SECONDS ago; another process may have changed it since). A read when it must:
    a planned handler then runs again under the lock."""
    roles: dict[int, tuple[str | None, float]] = ctx.cache.setdefault("contact_roles", {})
    cached = roles.get(contact_id)
    now = monotonic()
    if cached is not None and now - cached[1] < ROLE_CACHE_SECONDS:
        return cached[0]
    row = ctx.records.first(Contact, ["decision_role"], id=contact_id)
    role = row[0] if row else None
    roles[contact_id] = (role, now)
    return role


# ----------------------------------------------------------------------------- answering a question
@dataclass
class _Open:
    visit_id: int
    missing: list[str]
    answers: dict[str, str]
    due: str | None = None  # of the next action the answer gives
    # a next step the answer gives though none was asked for ("王主任是拍板的，竞品没有，周三送报价"):
    # the rep's latest word replaces the report's
    next_step: str | None = None


def _names_someone(parsed: dict[str, Any]) -> bool:
    return bool(parsed.get("customer") or parsed.get("contact") or parsed.get("department"))


def _open_conversation(msg: Message, ctx: Context) -> _Open | None:
    parsed = ctx.parsed
    if parsed is None or parsed.get("kind") in _OTHER_RECORDS:
        return None
    text = msg.text or ""
    kind = parsed.get("kind")
    if kind == "other" and says_no_visit(text):
        return None  # "今天没有拜访计划": nothing of a visit to answer with
    adds_to = addendum_day(text, ctx.now.date())  # "补充上周五…的拜访": an earlier visit completed
    if kind == "visit" and _names_someone(parsed) and reports_a_visit(text) and adds_to is None:
        return None  # "下午又去了市一院…": a visit of its own, whatever is open
    read = ctx.read  # outside the write lock this raises, and the handler runs again under it
    where = {"chat_id": msg.chat_id, "member": msg.sender}
    row = read.first(Conversation, ["visit_id", "missing", "expires_at", "topic"], **where)
    target: tuple[int, list[str]] | None = None
    loose = False
    if row is not None and row[0] is not None and row[3] == "visit":
        loose, still_open = answer_window(row[2], ctx.now)
        if still_open:
            target = (row[0], json.loads(row[1]))
    question = asks(prepare(text).norm)
    if target is not None and "customer" in target[1] and not parsed.get("customer"):
        named = known_customer(ctx, text)  # "在一院": a name the directory knows, the parser not
        if named:
            parsed = {**parsed, "customer": named}
    if parsed.get("customer"):
        alias = read.first(CustomerAlias, ["customer_id"], alias=customer_key(parsed["customer"]))
        customer_id = alias[0] if alias else None
        asked_about = read.first(Visit, ["customer_id"], id=target[0]) if target else None
        since = adds_to or ctx.now.date()
        if adds_to is None and not reports_a_visit(text):
            # "县妇幼杨主任那边的痛点是…" the day after: the rest of that visit, not one of its own
            since -= timedelta(days=REACH_BACK_DAYS)
        if asked_about is None or asked_about[0] not in (None, customer_id):
            # not the visit asked about: the member's latest visit today to the customer named, if one
            # lacks items; "补一下昨天省人医…" reaches back to yesterday's
            target = incomplete_visit_since(ctx, msg.sender, customer_id, since) if customer_id is not None else None
        if customer_id is not None and parsed.get("department"):
            # two visits to 省人医 open: "省人医设备科那条：竞品西门子…" is the 设备科 one
            target = incomplete_visit_since(ctx, msg.sender, customer_id, since, parsed["department"]) or target
        loose = target is not None  # a reply naming its customer is read as the rest of that report
    if target is None and adds_to is not None and not parsed.get("customer"):
        # "补一下昨天的拜访：竞品是迈瑞…": that day's latest incomplete visit, whichever customer
        target = incomplete_visit_since(ctx, msg.sender, None, adds_to)
        loose = target is not None
    if target is None:
        return None
    visit_id, missing = target
    visit = read.first(Visit, ["customer_id", "department", "contact_id", "raw_text", "visited_at"], id=visit_id)
    if visit is None:
        return None
    if visit[2] is not None:
        contact = read.first(Contact, ["name"], id=visit[2])
        contact_name = contact[0] if contact else None
    else:  # not filed without a customer: as the report wrote it
        contact_name = parse(visit[3] or "", visit[4].astimezone(ctx.now.tzinfo), msg.sender, ctx.calendar)["contact"]
    if conflicts(parsed, visit[1], contact_name) and not (_labelled_answer(text) or opens_with_label(text)):
        return None  # another department or contact: a visit of its own ("痛点：急诊…" is still an answer)
    if kind == "visit":
        continued = parsed
    elif not question and (loose or no_competitor(text) or stated_role(text) or opens_with_label(text)):
        # within the half hour anything may answer; later, a reply that recognisably answers
        # ("没有竞品，下周一送样机过去") is read whole, so its next step is not lost
        continued = parse(CONTINUATION + text, ctx.now, msg.sender, ctx.calendar)
    else:  # hours later, a chat message or a question is not read as a report: labelled lines only
        continued = {}
    answers = answers_from(missing, parsed, text, continued)
    said = stated_role(text) if answers else None
    if said:  # "周护士长是使用者，下周二送样机": the rep corrects the role read from her title too
        answers["decision_role"] = said
    if kind == "competitor" and not no_competitor(text):
        # "听说迈瑞这周在…搞免费试用": news, which may tell the competitor of the visit asked about,
        # never its need or next step from the news itself ("迈瑞在她们那送试剂，下周二带样机去"
        # still gives our next step); news that answers nothing is filed as news
        news = [w for w in (parsed.get("brand"), parsed.get("activity")) if w]
        answers = {k: v for k, v in answers.items() if k == "competitor" or not any(w in v for w in news)}
    if not answers:
        return None
    step = continued.get("next_action")
    revised = step if "next_action" not in missing and step and not no_competitor(step) else None
    return _Open(visit_id, missing, answers, continued.get("due"), revised)


_ADDENDUM_RE = re.compile(
    r"\s*再?补(?:充|一下|下|个|一句)*[:：,，\s]*(?:一下)?[:：,，\s]*"
    r"(?:(?P<today>今天|今日|上午|下午)|(?P<yesterday>昨天|昨日|昨晚)|(?P<before>前天)"
    r"|(?P<last>上)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])"
    r"|(?P<month>\d{1,2})月(?P<day>\d{1,2})[日号])"
)
_WEEKDAY_NUM = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6}


def addendum_day(text: str, today: date) -> date | None:
    """The day of the visit an addition says it adds to: "补一下昨天…", "补充上周五…的拜访", "补充周二…",
    "补充一下今天…";
    None when the message is not such an addition."""
    m = _ADDENDUM_RE.match(text)
    if m is None:
        return None
    if m["today"]:  # "补充一下今天省人医的拜访：…": today's visit completed, not a new one
        return today
    if m["yesterday"]:
        return today - timedelta(days=1)
    if m["before"]:
        return today - timedelta(days=2)
    if m["month"]:  # 补一下10月21日的拜访: that day of this year, or of last year when that is still to come
        try:
            day = date(today.year, int(m["month"]), int(m["day"]))
        except ValueError:
            return None
        return day if day < today else (day.replace(year=today.year - 1) if day > today else None)
    wd = _WEEKDAY_NUM[m["wd"]]
    monday = today - timedelta(days=today.weekday())
    if m["last"]:
        return monday - timedelta(days=7 - wd)
    day = monday + timedelta(days=wd)
    return day if day < today else day - timedelta(days=7)  # the last such day before today


# "昨天下午顺路去了南山医院…": a visit told the morning after, made the day it names
# "周三下午还去了趟福寿养老院…" (told on Friday): an earlier day of this week, or 上周X
_TOLD_DAY_RE = re.compile(
    r"\s*(?:(?P<yesterday>昨天|昨日)|(?P<evening>昨晚)|(?P<before>前天)|(?P<last>上)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天]))"
    r"(?P<part>上午|下午|晚上|中午|傍晚)?"
    r"[^,，。;；!！?？\n]{0,8}?(?:去了|拜访了?|见了|跑了|到了|约了|聊了)"
)


def day_told(text: str, today: date) -> tuple[date, time] | None:
    """The earlier day a visit report opens with ("昨天下午去了…", "周三去了…") and a time of it (the
    part of the day it names, noon otherwise); None when it opens otherwise or names today or a
    day to come."""
    m = _TOLD_DAY_RE.match(text)
    if m is None:
        return None
    at = _PART_OF_DAY.get(m["part"] or ("晚上" if m["evening"] else ""), time(12, 0))
    if m["wd"]:
        monday = today - timedelta(days=today.weekday())
        day = monday + timedelta(days=_WEEKDAY_NUM[m["wd"]] - (7 if m["last"] else 0))
        return (day, at) if day < today else None
    return today - timedelta(days=1 if m["yesterday"] or m["evening"] else 2), at


_PART_OF_DAY = {"上午": time(10, 0), "中午": time(12, 0), "下午": time(15, 0), "傍晚": time(18, 0), "晚上": time(19, 0)}


def incomplete_visit_since(
    ctx: Context, member: str, customer_id: int | None, day: date, department: str | None = None
) -> tuple[int, list[str]] | None:
    """The member's latest visit since `day` (to the customer and department, when given) that
    still lacks core items, and those items."""
    midnight = datetime.combine(day, time(0), ctx.now.tzinfo)
    stmt = (
        select(Visit.id, Visit.customer_id, *(getattr(Visit, item) for item in CORE_ITEMS))
        .where(Visit.member == member, Visit.complete.is_(False), Visit.visited_at >= midnight)
        .order_by(Visit.id.desc())
        .limit(1)
    )
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    if department is not None:
        stmt = stmt.where(Visit.department == department)
    row = ctx.read.conn.execute(stmt).first()  # type: ignore[union-attr]
    if row is None:
        return None
    missing = still_missing(dict(zip(CORE_ITEMS, row[2:], strict=True)))
    return row[0], (["customer"] if row[1] is None else []) + missing


def _complete(msg: Message, found: _Open, ctx: Context) -> Reply:
    db = ctx.records
    columns = ["customer_id", *CORE_ITEMS, "due", "contact_id", "visited_at", "raw_text"]
    current = db.first(Visit, columns, id=found.visit_id)
    if current is None:
        return ctx.reply("hint.md.j2", empty=False)
    record = dict(zip(columns, current, strict=True))
    answers = dict(found.answers)
    changes: dict[str, Any] = {k: v for k, v in answers.items() if k != "customer"}
    record.update(changes)
    if "next_action" in answers and record["due"] is None and found.due:
        changes["due"] = _due(found.due)
    revised = found.next_step if found.next_step and found.next_step != record["next_action"] else None
    if revised:
        changes["next_action"], changes["due"] = revised, _due(found.due)
    first, plan_by = False, None
    if "customer" in answers:
        customer_id, canonical, _level, created = customer_for(ctx, answers["customer"])
        first = created or first_visit(ctx, customer_id)
        record["customer_id"] = changes["customer_id"] = customer_id
        answers["customer"] = canonical
        visited = record["visited_at"]
        if record["contact_id"] is None:  # the report named a contact the visit could not file without a customer
            earlier = parse(record["raw_text"] or "", visited.astimezone(ctx.now.tzinfo), msg.sender, ctx.calendar)
            if earlier.get("contact"):
                changes["contact_id"] = contact_for(ctx, customer_id, earlier)
        if first:
            plan_by = _plan_followups(ctx, found.visit_id, customer_id, msg.sender, visited.astimezone(ctx.now.tzinfo),
                                      record["next_action"], record["due"])  # fmt: skip
            changes["first_visit"] = True
        cache = ctx.cache.setdefault("visited", set())
        ctx.after_commit(lambda: cache.add(customer_id))
    left = [item for item in found.missing if item not in answers]
    if record["customer_id"] is not None and "customer" in left:
        left.remove("customer")
    complete = not still_missing(record) and record["customer_id"] is not None
    db.update(Visit, found.visit_id, complete=complete, **changes)
    if "decision_role" in answers and record["contact_id"] is not None:  # the contact keeps the latest role
        db.update(Contact, record["contact_id"], changed_only=True, decision_role=answers["decision_role"])
        remember_role(ctx, record["contact_id"], answers["decision_role"])
    # the question open in the chat, when it is about this visit (an answer naming its customer may
    # complete an earlier visit of the day while the question is about a later one)
    asked = {"chat_id": msg.chat_id, "member": msg.sender, "visit_id": found.visit_id}
    if left:
        db.update_where(
            Conversation, asked, missing=json.dumps(left), expires_at=ctx.now + timedelta(minutes=CONVERSATION_MINUTES)
        )
    else:
        db.delete_where(Conversation, **asked)
    name = answers.get("customer")
    if name is None and record["customer_id"]:
        row = db.first(Customer, ["name"], id=record["customer_id"])
        name = row[0] if row else None
    p = ctx.parsed or {}
    brand, activity = p.get("brand"), p.get("activity")
    if p.get("kind") == "competitor" and brand and activity and brand not in (activity, activity.strip("。.！!")):
        # "迈瑞本周在市一院做买设备送耗材活动": the visit's answer, and intel for the Friday report
        _file_move(ctx, msg, record["customer_id"], (brand, activity))
    elif "competitor" in answers:
        _file_move(ctx, msg, record["customer_id"], competitor_move(answers["competitor"]))
    return ctx.reply(
        "visit_completed.md.j2", answers=answers, missing=left, customer=name, first_visit=first,
        revised=revised, due=changes.get("due"), plan_by=plan_by, summary_hours=_summary_hours(ctx),
    )  # fmt: skip


_PLAN_RE = re.compile(r"方案")


def _file_move(ctx: Context, msg: Message, customer_id: Any, move: tuple[str, str] | None) -> None:
    """A competitor's move told in a visit ("理邦在这边做买设备送耗材的活动"), in the competitor log too:
    the stand-up's and the Friday report's 竞品动态 read it from there."""
    if move is None:
        return
    brand, activity = move
    ctx.records.insert(Competitor, member=msg.sender, region=ctx.member.region if ctx.member else "",
                       customer_id=customer_id, brand=brand, activity=activity, reported_at=ctx.now,
                       raw_text=msg.text or "", message_id=ctx.message_row_id)  # fmt: skip


def _plan_followups(
    ctx: Context, visit_id: Any, customer_id: int, member: str, visited: datetime, next_action: str | None, due: Any
) -> date:
    """A first visit's two follow-ups: the summary within 24 hours, the customised plan in 3-5 working
    days, or by the day the rep promised it when that is sooner ("下一步周三前发定制方案"): the
    reminder comes before the promise, not after. Returns the day the plan is due."""
    rules = ctx.settings.rules
    summary_due = summary_due_at(visited, ctx.calendar, int(rules.get("followup_summary_hours", 24)))
    plan_at = plan_due(visited, ctx.calendar, int(rules.get("followup_plan_workdays", 5)))
    promised = _due(due) if isinstance(due, str) else due
    if promised is not None and next_action and _PLAN_RE.search(next_action):
        if visited.date() <= promised < plan_at.date():
            plan_at = datetime.combine(promised, END_OF_DAY, visited.tzinfo)
    for kind, due_at in (("summary", summary_due), ("plan", plan_at)):
        ctx.records.insert(Followup, visit_id=visit_id, customer_id=customer_id, member=member, kind=kind,
                           due_at=due_at)  # fmt: skip
    return plan_at.date()


def known_customer(ctx: Context, text: str) -> str | None:
    """A customer the directory knows, written in a report the parser found none in ("一院 心内 李医生…")."""
    cached = ctx.cache.get("aliases")
    if cached is None or monotonic() - cached[0] >= 60:
        table = CustomerAlias.__table__  # type: ignore[attr-defined]
        conn = ctx.read.conn  # a read: while planning, this sends the handler under the lock
        rows = conn.execute(select(table.c.alias, table.c.customer_id)).all()  # type: ignore[union-attr]
        aliases = sorted(((a, c) for a, c in rows if len(a) >= 2), key=lambda r: -len(r[0]))
        cached = ctx.cache["aliases"] = (monotonic(), aliases)
    return known_customer_in(text, cached[1])


# ----------------------------------------------------------------------------- a new visit
def _is_visit(msg: Message, ctx: Context) -> Any:
    p = ctx.parsed
    if p is not None and p.get("kind") == "other" and opens_with_label(msg.text or ""):
        # "下一步月底前给他报价" on its own, after the question closed: more of the day's visit
        more = parse(CONTINUATION + (msg.text or ""), ctx.now, msg.sender, ctx.calendar)
        return more if any(more.get(k) for k in _NEW_CONTENT) else None
    return p is not None and p.get("kind") == "visit" or None


def record_visit(msg: Message, match: Any, ctx: Context) -> Reply:
    p = match if isinstance(match, dict) else ctx.parsed or {}
    text = msg.text or ""
    if not p.get("customer"):
        named = known_customer(ctx, text)
        if named:
            p = {**p, "customer": named}
    none = no_competitor(text) if not p.get("competitor") else None
    if none:
        p = {**p, "competitor": none, "missing": [i for i in p.get("missing") or [] if i != "competitor"]}
    nothing = no_need(text) if not p.get("pain_points") else None
    if nothing:  # "暂无需求": the answer to the pain point, not a gap in the record
        p = {**p, "pain_points": nothing, "missing": [i for i in p.get("missing") or [] if i != "pain_points"]}
    said = stated_role(text)
    if said and said != p.get("decision_role"):  # "钱工，技术把关的": the rep knows the chain better than a title
        p = {**p, "decision_role": said, "missing": [i for i in p.get("missing") or [] if i != "decision_role"]}
    db = ctx.records
    # "补充上周五市一院的拜访：…" with no record of that day: the visit is filed on its day
    told = day_told(text, ctx.now.date())
    day = addendum_day(text, ctx.now.date()) or (told[0] if told else None)
    if day is None:
        visited_at = ctx.now
    elif told:  # "昨天下午…": that afternoon, so the agenda since the last meeting finds it
        visited_at = datetime.combine(day, told[1], ctx.now.tzinfo)
    else:
        visited_at = datetime.combine(day, ctx.now.timetz())
    customer_id, customer_name, level, first, created = None, p.get("customer"), None, False, False
    if p.get("customer"):
        customer_id, customer_name, level, created = customer_for(ctx, p["customer"], text)
        first = created or first_visit(ctx, customer_id)
    stated = bool(said) or _ROLE_LABEL_RE.search(text) is not None  # "角色：决策者" is the rep's word too
    contact_id = contact_for(ctx, customer_id, p, stated) if customer_id is not None and p.get("contact") else None
    if contact_id is not None and not stated and not isinstance(contact_id, Pending):
        # "又去见了钱科长": the role on file, not asked again, nor replaced by one a title suggests
        role = known_role(ctx, contact_id)
        if role:
            p = {**p, "decision_role": role, "missing": [i for i in p.get("missing") or [] if i != "decision_role"]}
    if not first and (customer_id is not None or opens_with_label(text) or _labelled_answer(text)):
        # the same visit told again, or more of a recent one ("县妇幼那条竞品没有，…"); labelled lines
        # naming nobody ("竞品：飞利浦") add to the member's latest visit of the day
        last = day or ctx.now.date()
        adds = not reports_a_visit(text) and day is None
        where = {"contact": p.get("contact"), "department": p.get("department")} if customer_id is not None else {}
        first_day = last - timedelta(days=REACH_BACK_DAYS) if adds and customer_id is not None else last
        earlier = recent_visit(ctx, msg.sender, first_day, last, customer_id, **where, any_contact=adds)
        corrects = customer_id is not None and _CORRECTS_VISIT_RE.search(text) is not None
        if earlier is None and corrects:  # "西乡社区那条记错了，联系人是何医生，不是吴主任": that visit
            since = last - timedelta(days=REACH_BACK_DAYS)
            earlier = recent_visit(ctx, msg.sender, since, last, customer_id, any_contact=True)
        if earlier is not None:
            again = _told_again(msg, ctx, p, earlier, customer_name, last, contact_id if corrects else None)
            if again is not None:
                return again
        elif customer_id is None and not _names_someone(p):
            return ctx.reply("visit_whose.md.j2")  # a labelled line for no visit: nothing filed
    carried, carried_from = _carried_over(ctx, msg.sender, p, customer_id, first, day or ctx.now.date())
    if carried:
        p = {**p, **carried, "missing": [i for i in p.get("missing") or [] if i not in carried]}
    missing = list(p.get("missing") or [])
    ask = missing if customer_id is not None else ["customer", *missing]
    visit_id = db.insert(
        Visit,
        member=msg.sender,
        customer_id=customer_id,
        contact_id=contact_id,
        department=p.get("department"),
        decision_role=p.get("decision_role"),
        pain_points=p.get("pain_points"),
        competitor=p.get("competitor"),
        next_action=p.get("next_action"),
        due=_due(p.get("due")),
        budget=p.get("budget"),
        first_visit=first,
        complete=not missing and customer_id is not None,  # a visit to nobody named is not a record yet
        visited_at=visited_at,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    if customer_id is not None:
        visited = ctx.cache.setdefault("visited", set())
        ctx.after_commit(lambda: visited.add(customer_id))
    if p.get("competitor") and "competitor" not in carried:
        _file_move(ctx, msg, customer_id, competitor_move(p["competitor"]))
    plan_by = None
    if first and customer_id is not None:
        plan_by = _plan_followups(
            ctx, visit_id, customer_id, msg.sender, visited_at, p.get("next_action"), p.get("due")
        )
    conversation = {"chat_id": msg.chat_id, "member": msg.sender}
    if ask:
        expires = ctx.now + timedelta(minutes=CONVERSATION_MINUTES)
        db.upsert(Conversation, conversation, topic="visit", visit_id=visit_id, missing=json.dumps(ask),
                  expires_at=expires)  # fmt: skip
    else:
        db.delete_where(Conversation, **conversation)
    stage = funnel_stage(" ".join(filter(None, (p.get("next_action"), p.get("pain_points")))))
    if stage and customer_id is not None and db.first(Opportunity, ["id"], customer_id=customer_id) is not None:
        stage = None  # already in the funnel: /阶段 moves it
    reply = ctx.reply(
        "visit_recorded.md.j2",
        parsed=p,
        customer=customer_name,
        new_customer=first and customer_id is not None and (created or level is None),
        level=level,
        first_visit=first and customer_id is not None,
        missing=ask,
        stage=stage if customer_id is not None else None,
        backdated=day,
        again_at=None,
        again_today=False,
        added=False,
        carried=list(carried),
        carried_from=carried_from,
        plan_by=plan_by,
        summary_hours=_summary_hours(ctx),
    )
    reply.asks = ask
    return reply


# ----------------------------------------------------------------------------- several visits at once
def _several(msg: Message, ctx: Context) -> Several | None:
    """A report of several visits in one message ("1）南湖医院心内科刘主任…；2）设备科葛科长…")."""
    if ctx.parsed is None:
        return None
    return several_visits(msg.text or "", ctx.parsed, ctx.now, msg.sender, ctx.calendar)


def record_several(msg: Message, found: Several, ctx: Context) -> Reply:
    """File each visit as its own record, and answer with one list. No question stays open: an answer
    could not say which visit it completes, so the reply asks for a line naming the customer."""
    replies, ask = [], None
    ctx.listed = True
    try:
        for text, p in found.visits:
            reply = record_visit(replace(msg, text=text), p, ctx)
            replies.append(reply.content)
            items = [item for item in reply.asks if item in CORE_ITEMS]
            if ask is None and items and p.get("customer"):
                ask = {"customer": p["customer"], "department": p.get("department"), "item": items[0]}
    finally:
        ctx.listed = False
    ctx.records.delete_where(Conversation, chat_id=msg.chat_id, member=msg.sender)
    return ctx.reply("visits_several.md.j2", replies=replies, skipped=found.skipped, ask=ask)


def _carried_over(
    ctx: Context, member: str, p: dict[str, Any], customer_id: int | None, first: bool, day: date
) -> tuple[dict[str, str], datetime | None]:
    """The pain point and competitor situation a later visit to the same contact (else department)
    does not say again, from the member's latest visit to them in the last CARRY_DAYS days, and
    when that visit was: "又去了市一院找王主任，送了报价…" is not asked again what it told last week."""
    if first or customer_id is None or not any(item in (p.get("missing") or ()) for item in _CARRIED):
        return {}, None
    since = day - timedelta(days=CARRY_DAYS)
    before = recent_visit(ctx, member, since, day, customer_id, contact=p["contact"]) if p.get("contact") else None
    if before is None and p.get("department"):  # someone new in the same department
        before = recent_visit(ctx, member, since, day, customer_id, department=p["department"])
    if before is None:
        return {}, None
    carried = {item: before[item] for item in _CARRIED if item in p["missing"] and before[item]}
    return carried, before["visited_at"].astimezone(ctx.now.tzinfo) if carried else None


# ----------------------------------------------------------------------------- the same visit told again
_EARLIER = ("id", "visited_at", "customer_id", "contact_id", "department", *CORE_ITEMS, "due", "budget", "complete",
            "raw_text")  # fmt: skip
_NEW_CONTENT = ("pain_points", "competitor", "next_action")  # a role read from a title is no news


def _earlier_query(mode: str) -> Any:
    """The member's latest visit between two moments: to a contact of that name at the customer
    (`contact`), to a department of it (`department`), to the customer at all (`customer`), or
    any visit (`member`)."""

    def build(conn: Any) -> FastStatement:
        t, c = Visit.__table__, Contact.__table__
        same = {
            "contact": t.c.contact_id.in_(
                select(c.c.id).where(c.c.customer_id == bindparam("customer_id"), c.c.name == bindparam("contact"))
            ),
            "department": t.c.department == bindparam("department"),
            "customer": None,
            "member": None,
        }[mode]
        stmt = (
            select(*(t.c[col] for col in _EARLIER))
            .where(t.c.member == bindparam("member"), t.c.visited_at >= bindparam("since"))
            .where(t.c.visited_at < bindparam("until"))
            .order_by(t.c.id.desc())
            .limit(1)
        )
        if mode != "member":
            stmt = stmt.where(t.c.customer_id == bindparam("customer_id"))
        if same is not None:
            stmt = stmt.where(same)
        binds = {"member": "member", "since": "visited_at", "until": "visited_at", "customer_id": "customer_id"}
        # a contact's name binds as text, as the department does
        binds |= {"contact": "department", "department": "department"}
        return FastStatement(conn, t, stmt, binds, results=_EARLIER)  # binds a mode lacks are ignored

    return build


_QUERIES = {mode: _earlier_query(mode) for mode in ("contact", "department", "customer", "member")}


def recent_visit(
    ctx: Context,
    member: str,
    first_day: date,
    last_day: date,
    customer_id: int | None,
    contact: str | None = None,
    department: str | None = None,
    any_contact: bool = False,
) -> dict[str, Any] | None:
    """The member's latest visit from `first_day` to `last_day` to this contact (by name, whatever
    department it was filed under), else this department of the customer, else (`any_contact`: the
    message names nobody and adds to a visit) the customer; with no customer, any visit. As
    committed; None when there is none."""
    since = datetime.combine(first_day, time(0), ctx.now.tzinfo)
    values: dict[str, Any] = {"member": member, "since": since}
    values["until"] = datetime.combine(last_day, time(0), ctx.now.tzinfo) + timedelta(days=1)
    if customer_id is None:
        mode = "member"
    else:
        values["customer_id"] = customer_id
        mode = "contact" if contact else "department" if department else "customer" if any_contact else ""
        if not mode:
            return None
        values |= {"contact": contact} if contact else {"department": department} if department else {}
    row = ctx.peek.peek(("recent_visit", mode), _QUERIES[mode], values)
    return dict(zip(_EARLIER, row, strict=True)) if row is not None else None


def _told_again(
    msg: Message,
    ctx: Context,
    p: dict[str, Any],
    earlier: dict[str, Any],
    customer: str | None,
    day: date,
    contact_id: Any = None,
) -> Reply | None:
    """A visit the member already filed, told again or added to: today's review when it only adds
    a verdict ("今天拜访了市一院设备科王主任，达成"), else that visit, with what the message says
    (the rep's latest word wins). None when the message says it is a second visit ("下午又去了…"),
    or when it tells of a later day (`day`) and the earlier visit was complete: a follow-up visit
    ("省人医心内科陈主任，方案送到了…"), unless the message points back at it ("县妇幼那条…").
    `contact_id`: the message corrects the visit's contact ("联系人是何医生，不是吴主任") to this one."""
    text = msg.text or ""
    visited = earlier["visited_at"].astimezone(ctx.now.tzinfo)
    # the very report again, or a correction of it: never a second visit
    resent = text.strip() == (earlier["raw_text"] or "").strip() or contact_id is not None
    if not resent and visited.date() != day and earlier["complete"] and not _POINTS_BACK_RE.search(text):
        return None
    news = {k: p[k] for k in _NEW_CONTENT if p.get(k) and p[k] != earlier[k]}
    if visited.date() == ctx.now.date() and not news and says_day_verdict(text):
        review = parse(_REVIEW_OPENING + text, ctx.now, msg.sender, ctx.calendar)
        if review.get("kind") == "review" and review.get("target_met") is not None:
            from handlers.review import file_review  # review → attendance → visits: imported when used

            return file_review(msg, ctx, review)
    if _ANOTHER_VISIT_RE.search(text) and not resent:
        return None
    merged = {item: p.get(item) or earlier[item] for item in CORE_ITEMS}  # the rep's latest word wins
    changes: dict[str, Any] = {k: v for k, v in merged.items() if v != earlier[k]}
    if "next_action" in changes:
        changes["due"] = _due(p.get("due"))
    if p.get("budget") and p["budget"] != earlier["budget"]:
        changes["budget"] = p["budget"]
    if not earlier["department"] and p.get("department"):
        changes["department"] = p["department"]
    if contact_id is not None and contact_id != earlier["contact_id"]:
        changes["contact_id"] = contact_id
    missing = still_missing(merged)
    if changes:
        ctx.records.update(Visit, earlier["id"], complete=not missing, **changes)
    if "competitor" in changes:
        _file_move(ctx, msg, earlier["customer_id"], competitor_move(changes["competitor"]))
    conversation = {"chat_id": msg.chat_id, "member": msg.sender}
    if missing:
        expires = ctx.now + timedelta(minutes=CONVERSATION_MINUTES)
        ctx.records.upsert(Conversation, conversation, topic="visit", visit_id=earlier["id"],
                           missing=json.dumps(missing), expires_at=expires)  # fmt: skip
    else:
        ctx.records.delete_where(Conversation, **conversation)
    due = changes["due"] if "due" in changes else earlier["due"]
    shown = {**p, **merged, "department": earlier["department"] or p.get("department"), "due": due}
    if customer is None and earlier["customer_id"] is not None:  # "竞品：迈瑞也进来了": whose visit it was
        row = ctx.records.first(Customer, ["name"], id=earlier["customer_id"])
        customer = row[0] if row else None
    if not shown.get("contact") and earlier["contact_id"] is not None:
        row = ctx.records.first(Contact, ["name"], id=earlier["contact_id"])
        shown["contact"] = row[0] if row else None
    reply = ctx.reply(
        "visit_recorded.md.j2",
        parsed=shown,
        customer=customer,
        missing=missing,
        again_at=visited,
        again_today=visited.date() == ctx.now.date(),
        added=bool(changes),
        new_customer=False,
        level=None,
        first_visit=False,
        stage=None,
        backdated=None,
        carried=[],
        carried_from=None,
        plan_by=None,
        summary_hours=_summary_hours(ctx),
    )
    reply.asks = missing
    return reply


# A verdict on the day, on its own at the end ("…，达成", "都完成了✅") or a target missed ("没完成"),
# not a step of the visit ("达成合作意向", "没完成验收")
_DAY_VERDICT_RE = re.compile(
    r"(?:(?:目标|任务)?(?:已经?|都|全部|基本)?(?:达成|完成|达标)了?(?:目标|任务)?[\s。.!！✅👍~～]*$)"
    r"|(?:(?:没有?|未能?)(?:达成|完成|达标)(?:目标|任务)?(?:[，,。.!！;；\s]|$))"
)
_REVIEW_OPENING = "复盘："
# "县妇幼那条…", "上次那个拜访…": more of an earlier visit
_POINTS_BACK_RE = re.compile(r"那条|那次|那个拜访|上次(?:的|那次)?拜访|之前(?:的|那次)?拜访")
# "西乡社区那条记错了，…": the rep corrects a visit filed before
_CORRECTS_VISIT_RE = re.compile(r"记错|写错|说错|搞错|弄错|填错|更正|纠正")
# "下午又去了…", "再次拜访…": a second visit the same day, counted as one
_ANOTHER_VISIT_RE = re.compile(r"又(?:去|来|到|跑|见|拜访|找)|再次|第二次|二次拜访|再去了")


def says_day_verdict(text: str) -> bool:
    return _DAY_VERDICT_RE.search(text) is not None


# ----------------------------------------------------------------------------- a hospital's level
_LEVEL_STATEMENT_RE = re.compile(
    r"\s*(?P<name>[^\s,，。:：()（）]{2,20}?)\s*(?:[（(]\s*|是|属于|为)?"
    r"(?P<level>三甲|三乙|三级|二甲|二乙|二级|一级|社区|民营|私立)(?:医院|的)?\s*[)）]?[。.!！]?\s*"
)


def _level_statement(msg: Message, ctx: Context) -> tuple[int, str, str] | None:
    """(customer id, name, level) when the whole message gives a known hospital its level:
    "博爱医院（民营）", "县医院是二甲"."""
    p = ctx.parsed
    if p is None or p.get("kind") != "other":
        return None
    m = _LEVEL_STATEMENT_RE.fullmatch(msg.text or "")
    if m is None:
        return None
    level = "民营" if m["level"] == "私立" else customer_level(m["level"])
    alias = ctx.read.first(CustomerAlias, ["customer_id"], alias=customer_key(m["name"]))
    if alias is None or level is None:
        return None
    return alias[0], m["name"], level


def _file_level(msg: Message, found: tuple[int, str, str], ctx: Context) -> Reply:
    customer_id, _name, level = found
    db = ctx.records
    row = db.first(Customer, ["name", "level"], id=customer_id)
    if row is None:
        return ctx.reply("hint.md.j2", empty=False)
    name, current = row
    if current is None:  # a level the directory lacks; a leader changes a known one with /客户 添加
        db.update(Customer, customer_id, level=level)
        ctx.cache.get("customers", {}).clear()
    return ctx.reply("customer_level.md.j2", customer=name, level=level, current=current)


# ----------------------------------------------------------------------------- a visit's day, corrected
# "这个是周三去的，不是今天", "福寿养老院是昨天下午去的": the visit filed today was made that day
_DAY_FIX_RE = re.compile(
    r"(?:是|其实是)?(?P<when>昨天|昨日|前天|(?P<last>上)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天]))"
    r"(?P<part>上午|下午|晚上|中午|傍晚)?(?:去|见|拜访|跑)的"
)
_NOT_TODAY_RE = re.compile(r"不是今天|日期(?:记|写|弄)?错|记错|写错|说错|搞错|忘了报")


def _day_fix(msg: Message, ctx: Context) -> tuple[int, datetime, str | None] | None:
    """(visit id, when it was made, its customer) for "这个是周三去的，不是今天": the member's latest
    visit filed as today (of the customer the message names, if it names one), moved to that day."""
    p = ctx.parsed
    text = msg.text or ""
    if p is None or p.get("kind") not in ("other", "visit") or p.get("contact") or p.get("next_action"):
        return None
    m = _DAY_FIX_RE.search(text)
    if m is None or not _NOT_TODAY_RE.search(text) and not text.lstrip().startswith(("这个", "那个", "这条", "那条")):
        return None
    told = day_told(m["when"] + (m["part"] or "") + "去了", ctx.now.date())
    if told is None:
        return None
    day, at = told
    since = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
    name = p.get("customer") or known_customer(ctx, text)
    stmt = select(Visit.id, Customer.name).outerjoin(Customer, Customer.id == Visit.customer_id)
    stmt = stmt.where(Visit.member == msg.sender, Visit.visited_at >= since).order_by(Visit.id.desc())
    for visit_id, customer in ctx.read.conn.execute(stmt.limit(10)):  # type: ignore[union-attr]
        if name is None or (customer and (name in customer or customer_key(name) == customer_key(customer))):
            return visit_id, datetime.combine(day, at, ctx.now.tzinfo), customer
    return None


def _fix_day(msg: Message, found: tuple[int, datetime, str | None], ctx: Context) -> Reply:
    visit_id, visited_at, customer = found
    ctx.records.update(Visit, visit_id, visited_at=visited_at)
    return ctx.reply("visit_day_fixed.md.j2", customer=customer, day=visited_at.date())


# ----------------------------------------------------------------------------- a visit's customer, corrected
_CUSTOMER_FIX_RE = re.compile(r"^\s*(?:打错了?|写错了?|说错了?|搞错了?|记错了?|不对)[,，。!！\s]*(?:应该)?是")


def _customer_fix(msg: Message, ctx: Context) -> tuple[int, str] | None:
    """(visit id, customer name) for "打错了，是市第二人民医院" right after a visit: the member's
    latest visit filed today, to another customer than the one the message names."""
    p = ctx.parsed
    text = msg.text or ""
    if p is None or not _CUSTOMER_FIX_RE.match(text) or p.get("contact") or p.get("next_action"):
        return None
    name = p.get("customer") or known_customer(ctx, text)
    if not name:
        return None
    since = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
    stmt = select(Visit.id).where(Visit.member == msg.sender, Visit.visited_at >= since).order_by(Visit.id.desc())
    row = ctx.read.conn.execute(stmt.limit(1)).first()  # type: ignore[union-attr]
    return (row[0], name) if row is not None else None


def _fix_customer(msg: Message, found: tuple[int, str], ctx: Context) -> Reply:
    visit_id, name = found
    db = ctx.records
    customer_id, canonical, _level, _created = customer_for(ctx, name, msg.text or "")
    old, contact_id = db.first(Visit, ["customer_id", "contact_id"], id=visit_id) or (None, None)
    db.update(Visit, visit_id, customer_id=customer_id)
    db.update_where(Followup, {"visit_id": visit_id}, customer_id=customer_id)
    if contact_id is not None and old is not None:  # whom the rep saw moves with the visit
        db.update_where(Contact, {"id": contact_id, "customer_id": old}, customer_id=customer_id)
    if old is not None and old != customer_id:
        drop_unused_customer(ctx, old)  # the mistyped name filed nothing else: gone
    return ctx.reply("visit_customer_fixed.md.j2", customer=canonical)


def drop_unused_customer(ctx: Context, customer_id: int, contact_id: int | None = None) -> None:
    """Remove a customer the sender's message filed (a name written by mistake) once no record
    names it, with its aliases; and `contact_id`, filed with it, when no visit names that any more.
    The directory's customers and those a leader added are never removed."""
    row = ctx.records.first(Customer, ["created_by"], id=customer_id)
    if row is None or row[0] != ctx.message.sender:
        return
    if contact_id is not None and ctx.records.first(Visit, ["id"], contact_id=contact_id) is None:
        ctx.records.delete_where(Contact, id=contact_id, customer_id=customer_id)
    if _in_use(ctx, customer_id):
        return
    ctx.records.delete_where(CustomerAlias, customer_id=customer_id)
    ctx.records.delete_where(Customer, id=customer_id)
    ctx.cache.get("customers", {}).clear()


_CUSTOMER_ROWS = (Visit, Contact, Followup, Urgent, Competitor, Itinerary, Opportunity)


def _in_use(ctx: Context, customer_id: int) -> bool:
    """Whether any record names the customer."""
    return any(ctx.records.first(model, ["id"], customer_id=customer_id) is not None for model in _CUSTOMER_ROWS)


# ----------------------------------------------------------------------------- a role, stated later
def _role_statement(msg: Message, ctx: Context) -> tuple[int, str] | None:
    """(visit id, role) when a message of its own says which role a contact of the member's latest
    visit (today or yesterday) plays: "王主任是拍板的", "刘科长他拍板", "吴科长是决策者"."""
    p = ctx.parsed
    text = msg.text or ""
    if p is None or p.get("kind") != "other" or len(text) > 40:
        return None
    role = stated_role(text)
    if role is None:
        return None
    since = datetime.combine(ctx.now.date() - timedelta(days=1), time(0), ctx.now.tzinfo)
    stmt = (
        select(Visit.id, Contact.name)
        .select_from(Visit)
        .outerjoin(Contact, Contact.id == Visit.contact_id)
        .where(Visit.member == msg.sender, Visit.visited_at >= since)
        .order_by(Visit.id.desc())
        .limit(20)
    )
    rows = ctx.read.conn.execute(stmt).all()  # type: ignore[union-attr]
    named = p.get("contact")
    for visit_id, contact in rows:  # the latest visit with the contact named, else the latest
        if named is None or contact == named:
            return visit_id, role
    return None


def _file_role(msg: Message, found: tuple[int, str], ctx: Context) -> Reply:
    visit_id, role = found
    db = ctx.records
    row = db.first(Visit, ["contact_id", "customer_id", *CORE_ITEMS], id=visit_id)
    if row is None:
        return ctx.reply("hint.md.j2", empty=False)
    contact_id, customer_id = row[0], row[1]
    record = {**dict(zip(CORE_ITEMS, row[2:], strict=True)), "decision_role": role}
    db.update(Visit, visit_id, decision_role=role, complete=not still_missing(record) and customer_id is not None)
    name = None
    if contact_id is not None:
        db.update(Contact, contact_id, decision_role=role)
        remember_role(ctx, contact_id, role)
        contact = db.first(Contact, ["name"], id=contact_id)
        name = contact[0] if contact else None
    return ctx.reply("visit_role.md.j2", contact=name, role=role)


# ----------------------------------------------------------------------------- no visit today
# "今天没有拜访", "今天没拜访客户，一直在公司开会": the 19:00 deadline does not ask this member
_OTHER_DAY_RE = re.compile(r"昨天|昨日|前天|明天|明早|后天|下周|周[一二三四五六日天]")


def _says_no_visit(msg: Message, ctx: Context) -> Any:
    p = ctx.parsed
    text = msg.text or ""
    if p is None or p.get("kind") != "other" or _OTHER_DAY_RE.search(text):  # 昨天没有拜访: not today
        return None
    return says_no_visit(text) or None


def _no_visit(msg: Message, _match: Any, ctx: Context) -> Reply:
    return ctx.reply("no_visit_today.md.j2")


# ----------------------------------------------------------------------------- a follow-up done, told
# "市一院拜访小结已发王主任", "定制方案已经发给孙科长了", "小结也发过去了": the follow-up it owed is
# done. When it was sent may stand between the thing and the verb ("拜访小结昨天已经发给刘护士长了");
# it is done only with 已/刚 before the verb or 了 after it: "小结下午发" is still to come.
_WHEN = "(?:昨天|昨晚|今天|上午|下午|早上|中午|刚才|刚刚)?"


def _sent(thing: str) -> re.Pattern[str]:
    return re.compile(
        rf"{thing}{_WHEN}(?:已经?|刚)(?:发|给|送|交)(?!现)"
        rf"|{thing}{_WHEN}(?:也|都)?(?:已经?)?(?:发|送|交)(?:过去|出去)?(?:给[^,，。;；!！?？]{{1,10}}?)?了"
        rf"|(?:已经?|刚)(?:发|送|交)了?{thing}|发了{thing}"
    )


_SENT_RE = {"summary": _sent("(?:拜访)?小结"), "plan": _sent("(?:定制)?方案")}
_VISITED_TODAY_RE = re.compile(r"(?:又|今天|今日|上午|下午)[^,，。;；]{0,6}?(?:去了|拜访了?|见了|到了)")
_SENT_QUESTION_RE = re.compile(r"[吗么?？]")


def sent_followup(ctx: Context, sender: str, text: str, parsed: dict[str, Any]) -> dict[str, Any] | None:
    """The follow-up a sentence of `text` says was sent ("宝安中心小结已发"): the sender's open one of
    that kind for the customer that sentence names (or, naming none, their only open one), or the
    done one when it was closed before ("done": True). None when the text tells of none or it is
    not clear which."""
    if "小结" not in text and "方案" not in text:  # most messages: nothing to look for
        return None
    for s, e in sentences(text):
        part = text[s:e]
        kind = next((k for k, rx in _SENT_RE.items() if rx.search(part)), None)
        if kind is None or _SENT_QUESTION_RE.search(part) or _VISITED_TODAY_RE.search(part):
            continue  # "方案已经发了，今天又去拜访了…" is a visit report; "小结发了吗？" asks
        named = parsed.get("customer")
        name = known_customer(ctx, part) or (named if named and named in part else None)
        return _followup_of(ctx, sender, kind, name)
    return None


def _followup_of(ctx: Context, sender: str, kind: str, name: str | None) -> dict[str, Any] | None:
    stmt = (
        select(Followup.id, Followup.customer_id, Customer.name, Followup.status, Followup.done_at)
        .outerjoin(Customer, Customer.id == Followup.customer_id)
        .where(Followup.member == sender, Followup.kind == kind, Followup.status.in_(("open", "done")))
        .order_by(Followup.due_at)
    )
    rows = ctx.read.conn.execute(stmt).all()  # type: ignore[union-attr]
    if name is not None:
        alias = ctx.read.first(CustomerAlias, ["customer_id"], alias=customer_key(name))
        rows = [r for r in rows if alias is not None and r[1] == alias[0]]
    open_rows = [r for r in rows if r[3] == "open"]
    if open_rows and (len(open_rows) == 1 or name is not None):
        followup_id, _cid, customer, _status, _done = open_rows[0]
        return {"id": followup_id, "kind": kind, "customer": customer, "done": False}
    if name is not None and rows:  # sent again, or told again: it was closed before
        followup_id, _cid, customer, _status, done_at = rows[-1]
        return {"id": followup_id, "kind": kind, "customer": customer, "done": True, "done_at": done_at}
    return None  # nothing, or several open and no customer named: /完成 跟进N says which


def close_followup(ctx: Context, found: dict[str, Any]) -> bool:
    """Mark it done; False when it was done already (meanwhile, or before)."""
    if found["done"]:
        return False
    return bool(
        ctx.records.update_where(Followup, {"id": found["id"], "status": "open"}, status="done", done_at=ctx.now)
    )


def _followup_sent(msg: Message, ctx: Context) -> dict[str, Any] | None:
    p = ctx.parsed or {}
    if p.get("kind") == "review":  # "今日复盘：…宝安中心小结已发。达成": the review, closing it too
        return None
    return sent_followup(ctx, msg.sender, msg.text or "", p)


def _close_followup(msg: Message, found: dict[str, Any], ctx: Context) -> Reply:
    if not found["done"] and not close_followup(ctx, found):
        return ctx.reply("hint.md.j2", empty=False)
    return ctx.reply("commands/followup_done.md.j2", followup=found)


HANDLERS = [
    Handler("visits.followup_sent", _followup_sent, _close_followup, group=14),
    Handler("visits.answer", _open_conversation, _complete, group=10),
    Handler("visits.none_today", _says_no_visit, _no_visit, group=15),
    Handler("visits.level", _level_statement, _file_level, group=15),
    Handler("visits.day_fix", _day_fix, _fix_day, group=15),
    Handler("visits.customer_fix", _customer_fix, _fix_customer, group=15),
    Handler("visits.role", _role_statement, _file_role, group=15),
    Handler("visits.several", _several, record_several, group=19),
    Handler("visits.record", _is_visit, record_visit, group=20),
]
