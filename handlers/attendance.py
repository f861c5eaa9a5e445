"""Trip reports (报备) and leave (请假/调休): the day a rep will be out, and who covers.

A leave without a cover asks who covers; for 30 minutes the member's next message that
names someone ("交给小李", "客户交给李娜跟进", or just "李娜") fills in the handover of that
leave instead of being read as a message of its own.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from bot.dispatch import Context, Handler, Reply
from bot.models import Customer, Itinerary, Leave
from bot.parse import parse
from bot.parse.fields import handover
from bot.parse.text import prepare
from bot.wecom.inbound import Message
from handlers.visits import customer_for, known_customer

HANDOVER_MINUTES = 30  # how long the question "由谁代为跟进" stays open
_BARE_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_NICKNAME = re.compile(r"[小老阿][\u4e00-\u9fff]{1,2}")  # 小李, 老王
_ANSWER_PUNCT = " \t\r\n。.!！~～,，"


def trip_day(parsed: dict[str, Any], today: date) -> date:
    """The day of the trip: as written, else tomorrow (a trip is reported the day before)."""
    return date.fromisoformat(parsed["due"]) if parsed.get("due") else today + timedelta(days=1)


def leave_span(parsed: dict[str, Any], today: date) -> tuple[date, date]:
    start = date.fromisoformat(parsed["start"]) if parsed.get("start") else today
    end = date.fromisoformat(parsed["end"]) if parsed.get("end") else start
    return start, max(start, end)


def handover_in(text: str, names: Collection[str] = ()) -> str | None:
    """Who covers, from an answer to "由谁代为跟进": "交给小李", "客户交给李娜跟进", or a bare name:
    a member's (`names`) or a nickname (小李); "谢谢" or "辛苦" is nobody."""
    answer = text.strip(_ANSWER_PUNCT)
    if not answer:
        return None
    found = handover(prepare(answer))
    if found is None and _BARE_NAME.fullmatch(answer) and (answer in names or _NICKNAME.fullmatch(answer)):
        found = handover(prepare(f"交给{answer}"))  # "小李" is read as "交给小李"
        found = found if found == answer else None
    return found


def _kind(kind: str) -> Any:
    return lambda msg, ctx: ctx.parsed is not None and ctx.parsed.get("kind") == kind or None


def _trip(msg: Message, _match: Any, ctx: Context) -> Reply:
    return file_trip(msg, ctx, ctx.parsed or {})


def file_trip(msg: Message, ctx: Context, p: dict[str, Any]) -> Reply:
    """File the trip `p` reads; one that says it corrects ("说错了，是周四…") changes the member's trip
    reported today instead, keeping what the correction does not say (its day, its customer)."""
    text = msg.text or ""
    customer_id, customer_name = None, p.get("customer") or known_customer(ctx, text)  # "去宝安中心"
    if customer_name:
        customer_id, customer_name, _level, _created = customer_for(ctx, customer_name)
    earlier = _trip_reported_today(ctx, msg.sender) if _CORRECTS_RE.search(text) else None
    if earlier is not None:
        trip_id, old_day, old_customer, old_department = earlier
        day = date.fromisoformat(p["due"]) if p.get("due") else old_day
        department = p.get("department") or (None if customer_id is not None else old_department)
        if customer_id is None and old_customer is not None:
            row = ctx.records.first(Customer, ["name"], id=old_customer)
            customer_id, customer_name = old_customer, row[0] if row else None
        ctx.records.update(Itinerary, trip_id, trip_date=day, customer_id=customer_id, department=department,
                           raw_text=text)  # fmt: skip
    else:
        day = trip_day(p, ctx.now.date())
        department = p.get("department")
        ctx.records.insert(
            Itinerary,
            member=msg.sender,
            customer_id=customer_id,
            department=department,
            trip_date=day,
            reported_at=ctx.now,
            raw_text=text,
            message_id=ctx.message_row_id,
        )
    back = _BACK_TO_OFFICE_RE.search(text) is not None  # "十点左右回公司": the day is not off-site
    late = day == ctx.now.date() and ctx.now.time() >= _REPORT_BY  # the rule: report the evening before
    return ctx.reply(
        "itinerary_ack.md.j2", day=day, customer=customer_name, department=department, back_to_office=back,
        late=late, corrected=earlier is not None,
    )  # fmt: skip


def _colleague(ctx: Context) -> str | None:
    """A colleague's name for the example in "如「交给李娜」": someone of the sender's region, never
    the sender."""
    me = ctx.member
    others = [m for m in ctx.members() if me is None or m.userid != me.userid]
    near = [m for m in others if me is not None and m.region == me.region and m.role == "rep"]
    return (near or others)[0].name if others else None


def _trip_reported_today(ctx: Context, member: str) -> tuple[int, date, int | None, str | None] | None:
    since = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
    stmt = (
        select(Itinerary.id, Itinerary.trip_date, Itinerary.customer_id, Itinerary.department)
        .where(Itinerary.member == member, Itinerary.reported_at >= since)
        .order_by(Itinerary.reported_at.desc(), Itinerary.id.desc())
        .limit(1)
    )
    row = ctx.records.conn.execute(stmt).first()  # type: ignore[union-attr]
    return (row[0], row[1], row[2], row[3]) if row is not None else None


# A trip reported on its own day after this is late: the rule is to report it the day before
_REPORT_BY = time(8, 30)


_BACK_TO_OFFICE_RE = re.compile(r"(?<!不)回(?:到)?公司|(?<!不)回来上班")


# "说错了，是本周四周五": the leave reported minutes ago, corrected
_CORRECTS_RE = re.compile(r"说错了|写错了|打错了|更正|纠正|改一下|改成|改为|不对(?!劲)")


def _leave(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    title = p.get("handover")
    if title in _LEADER_TITLES or title in _MANAGER_TITLES:
        # "急事找组长": the leader of the member's region, "急事找经理": the manager, by name; never
        # the one taking leave (a leader's "找组长" names nobody the bot knows: it asks)
        me = ctx.member
        if title in _MANAGER_TITLES:
            manager = ctx.settings.rules.get("manager") or []
            ids = {manager} if isinstance(manager, str) else set(manager)
            found = [m.name for m in ctx.members() if m.userid in ids]
        else:
            found = [m.name for m in ctx.members() if m.role == "leader" and me is not None and m.region == me.region]
        found = [name for name in found if me is None or name != me.name]
        p = {**p, "handover": found[0] if len(found) == 1 else None}
    return file_leave(msg, ctx, p)


_LEADER_TITLES = frozenset(("组长", "主管"))
_MANAGER_TITLES = frozenset(("经理", "领导"))


# "具体哪天再定", "日子还没定": a leave planned, its days not fixed yet
_UNDECIDED_RE = re.compile(r"(?:哪天|几号|日子|日期|时间|具体)[^,，。]{0,3}?(?:再定|待定|未定|还没定|没定|再说|定了再)")
_PLANS_RE = re.compile(r"(?:想|打算|准备|计划|可能|考虑)(?:要)?(?:请|休|调休)")


def file_leave(msg: Message, ctx: Context, p: dict[str, Any], text: str | None = None) -> Reply:
    """File the leave `p` reads (from `text`, the message's by default) and acknowledge it; a leave
    whose days are not fixed yet ("清明后想请两天年假，具体哪天再定") files nothing and asks for
    them when they are: a guessed day would excuse the rep from that day's review."""
    text = (msg.text or "") if text is None else text
    if _UNDECIDED_RE.search(text) or (not p.get("start") and _PLANS_RE.search(text)):
        return ctx.reply("leave_undecided.md.j2", example=_colleague(ctx))
    start, end = leave_span(p, ctx.now.date())
    part = leave_part(text) if start == end else None
    word = "调休" if "调休" in text else ("半天假" if part else "休假")
    if _CORRECTS_RE.search(text):
        db = ctx.records
        # the leave reported today, or one not over yet that was told again today ("今天请假" → "说错了，…")
        since = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
        stmt = (
            select(Leave.id, Leave.handover)
            .where(Leave.member == msg.sender, or_(Leave.reported_at >= since, Leave.end >= ctx.now.date()))
            .order_by(Leave.reported_at.desc(), Leave.id.desc())
            .limit(1)
        )
        row = db.conn.execute(stmt).first()
        if row is not None:
            cover = p.get("handover") or row[1]
            db.update(Leave, row[0], start=start, end=end, part=part, handover=cover)
            return _leave_ack(ctx, start, end, cover, word=word, part=part, corrected=True)
    # the same days told again (in a review, the next morning): one leave, its cover kept or updated
    same = ctx.records.first(Leave, ["id", "handover", "part"], member=msg.sender, start=start, end=end)
    if same is not None:
        cover = p.get("handover") or same[1]
        if cover != same[1] or (part and part != same[2]):
            ctx.records.update(Leave, same[0], handover=cover, part=part or same[2])
        return _leave_ack(ctx, start, end, cover, word=word, part=part or same[2], again=True)
    ctx.records.insert(
        Leave,
        member=msg.sender,
        start=start,
        end=end,
        part=part,
        handover=p.get("handover"),
        reported_at=ctx.now,
        raw_text=text,
        message_id=ctx.message_row_id,
    )
    days = (end - start).days + 1
    off = sum(not ctx.calendar.is_workday(start + timedelta(days=i)) for i in range(min(days, 62)))
    return _leave_ack(ctx, start, end, p.get("handover"), word=word, part=part, days=days, off=off)


def _leave_ack(ctx: Context, start: date, end: date, handover: str | None, **shown: Any) -> Reply:
    """The leave's acknowledgement; `shown`: word, amended, corrected, again, days, off as it applies."""
    return ctx.reply(
        "leave_ack.md.j2", start=start, end=end, handover=handover, example=_colleague(ctx),
        **{"amended": False, "part": None, **shown},
    )  # fmt: skip


_HALF_DAY_RE = re.compile(r"半天|上午假|下午假")
# "下午请假", "上午请半天假", "下午要去医院，请个假": which half of the day
_HALF_RE = re.compile(r"(上午|早上|下午)[^,，。;；]{0,8}?(?:请|休|假|调休)|(?:请|休)[^,，。;；]{0,3}?(上午|下午)")


def leave_part(text: str) -> str | None:
    """The half of the day a one-day leave takes: "am", "pm", "half" (半天, which half not said);
    None for a whole day."""
    m = _HALF_RE.search(text)
    if m:
        return "pm" if (m.group(1) or m.group(2)) == "下午" else "am"
    return "half" if _HALF_DAY_RE.search(text) else None


def _handover_answer(msg: Message, ctx: Context) -> tuple[int, str] | None:
    """(leave id, cover) when the message answers the question of a leave reported minutes ago."""
    p = ctx.parsed
    if p is None or not (p.get("kind") == "other" or (p.get("kind") == "leave" and not p.get("start"))):
        return None
    text = msg.text or ""
    corrects = _CORRECTS_RE.search(text)
    answer = _CORRECTS_RE.sub("", text).strip(_ANSWER_PUNCT + "是") if corrects else text
    cover = handover_in(answer, {m.name for m in ctx.members()})
    me = ctx.member
    if cover is None or (me is not None and cover == me.name):  # "交给张伟" from 张伟 is nobody
        return None
    read = ctx.read  # outside the write lock this raises, and the handler runs again under it
    if corrects:  # "不对，是李娜": the cover given today, corrected
        today = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
        stmt = select(Leave.id).where(Leave.member == msg.sender, Leave.reported_at >= today)
        leave_id = read.conn.execute(stmt.order_by(Leave.id.desc()).limit(1)).scalar()
        return (leave_id, cover) if leave_id is not None else None
    stmt = select(Leave.id).where(Leave.member == msg.sender, Leave.handover.is_(None))
    if handover(prepare(text.strip(_ANSWER_PUNCT))) == cover:
        # "交给张伟" says what it answers: any leave of the sender's not over yet that lacks its cover
        stmt = stmt.where(Leave.end >= ctx.now.date())
    else:  # a bare name ("李娜") only minutes after the question
        stmt = stmt.where(Leave.reported_at >= ctx.now - timedelta(minutes=HANDOVER_MINUTES))
    stmt = stmt.order_by(Leave.id.desc()).limit(1)
    leave_id = read.conn.execute(stmt).scalar()
    return (leave_id, cover) if leave_id is not None else None


def _fill_handover(msg: Message, found: tuple[int, str], ctx: Context) -> Reply:
    leave_id, cover = found
    db = ctx.records
    db.update(Leave, leave_id, handover=cover)
    row = db.first(Leave, ["start", "end"], id=leave_id)
    start, end = row if row else (ctx.now.date(), ctx.now.date())
    return _leave_ack(ctx, start, end, cover, amended=True)


def _date_fix(msg: Message, ctx: Context) -> dict[str, Any] | None:
    """ "说错了，是周五", "不对，是去市二院" (no 请假, no 报备): the leave or trip the member reported
    today, whichever came last, corrected; the parse of the message read as one, when it gives a
    day (a leave) or a day or customer (a trip) and such a record exists."""
    p = ctx.parsed
    text = msg.text or ""
    if p is None or not _CORRECTS_RE.search(text):
        return None
    # "说错了，是去市二院" reads as a visit with nothing of one: a correction all the same
    bare_visit = p.get("kind") == "visit" and not any(p.get(k) for k in ("contact", *_VISIT_NEWS))
    if p.get("kind") != "other" and not bare_visit:
        return None
    today = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
    leave = ctx.read.conn.execute(  # type: ignore[union-attr]
        select(func.max(Leave.reported_at)).where(Leave.member == msg.sender, Leave.reported_at >= today)
    ).scalar()
    trip = ctx.read.conn.execute(  # type: ignore[union-attr]
        select(func.max(Itinerary.reported_at)).where(Itinerary.member == msg.sender, Itinerary.reported_at >= today)
    ).scalar()
    if trip is not None and (leave is None or trip > leave):
        fixed = parse(f"报备：{text}", ctx.now, msg.sender, ctx.calendar)
        if fixed.get("kind") == "itinerary" and (fixed.get("due") or fixed.get("customer")):
            return {**fixed, "_trip": True}
        return None
    if leave is None:
        return None
    fixed = parse(f"{text}请假", ctx.now, msg.sender, ctx.calendar)
    return fixed if fixed.get("kind") == "leave" and fixed.get("start") else None


_VISIT_NEWS = ("pain_points", "competitor", "next_action")


def _fix_dates(msg: Message, fixed: dict[str, Any], ctx: Context) -> Reply:
    # its text says 说错了: today's leave or trip is changed, not doubled
    return file_trip(msg, ctx, fixed) if fixed.get("_trip") else file_leave(msg, ctx, fixed)


HANDLERS = [
    Handler("attendance.leave_fix", _date_fix, _fix_dates, group=9),
    Handler("attendance.handover", _handover_answer, _fill_handover, group=8),
    Handler("attendance.trip", _kind("itinerary"), _trip, group=20),
    Handler("attendance.leave", _kind("leave"), _leave, group=20),
]
