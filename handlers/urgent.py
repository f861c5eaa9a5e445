"""Urgent needs: an urgent demand on record and an alert to the group at once, with @-mentions.

Who is alerted: the on-duty people from config (rules.urgent_on_duty, e.g. logistics)
and the leaders of the sender's region. The demand stays open until someone takes it.

The alert never waits for what is missing; a demand that names no customer the bot can
recognise asks where the goods go, and the member's answer within 30 minutes (the
hospital's name) is filed on the demand and posted to the group for whoever delivers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from bot.dispatch import Context, Handler, Reply
from bot.models import Member, Urgent
from bot.parse.kinds import asks
from bot.parse.text import prepare
from bot.settings import Settings
from bot.wecom.inbound import Message
from handlers.visits import customer_for, known_customer

ANSWER_MINUTES = 30  # how long "送到哪家医院" stays open


def alert_mentions(settings: Settings, members: Sequence[Member], sender: str) -> list[str]:
    """The on-duty people and the sender's region leaders, once each, never the sender; when that
    leaves nobody, the region's reps."""
    member = next((m for m in members if m.userid == sender), None)
    region = member.region if member else ""
    leaders = [m.userid for m in members if m.role == "leader" and (not region or m.region == region)]
    out: list[str] = []
    for userid in [*(settings.rules.get("urgent_on_duty") or []), *leaders]:
        if userid and userid != sender and userid not in out:
            out.append(str(userid))
    if not out:  # a leader's own demand with nobody on duty: the region's reps, who can take it
        out = [m.userid for m in members if m.role == "rep" and m.userid != sender and m.region == region]
    return out


def quoted(text: str) -> str:
    """The need as the alert quotes it: without the command it was sent with ("/急需 …")."""
    stripped = text.lstrip()
    if stripped.startswith(("/", "／")):
        parts = stripped.split(None, 1)
        return parts[1] if len(parts) > 1 else ""
    return text


def _is_urgent(msg: Message, ctx: Context) -> Any:
    return ctx.parsed is not None and ctx.parsed.get("kind") == "urgent" or None


def _raise(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    if not p.get("customer"):
        named = known_customer(ctx, msg.text or "")
        if named:
            p = {**p, "customer": named}
    db = ctx.records
    customer_id, customer_name = None, p.get("customer")
    if p.get("customer"):
        customer_id, customer_name, _level, _created = customer_for(ctx, p["customer"])
    member = ctx.member
    urgent_id = db.insert(
        Urgent,
        member=msg.sender,
        region=member.region if member else "",
        customer_id=customer_id,
        department=p.get("department"),
        items=json.dumps(p.get("items") or [], ensure_ascii=False),
        due=date.fromisoformat(p["due"]) if p.get("due") else None,
        status="open",
        created_at=ctx.now,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    mentions = alert_mentions(ctx.settings, ctx.members(), msg.sender)
    values = {"urgent_id": urgent_id, "customer": customer_name, "parsed": p, "sender": ctx.member_named(msg.sender),
              "alerted": mentions, "text": quoted(msg.text or "")}  # fmt: skip
    ctx.post("urgent_alert.md.j2", **values)
    return ctx.reply("urgent_ack.md.j2", **values)


def where_in(parsed: dict[str, Any], text: str) -> bool:
    """Whether a message could be the answer to "送到哪家医院": a hospital (and perhaps its
    department) and nothing else a record or a question would say ("是市一院的，急用" is;
    "谁知道省人医设备科王主任电话？", "急需5台监护仪" and a visit report are not)."""
    if parsed.get("kind") not in ("other", "urgent", "visit") or asks(prepare(text).norm):
        return False
    if parsed.get("items") or parsed.get("contact"):
        return False
    return not any(parsed.get(item) for item in ("pain_points", "competitor", "next_action"))


def _where_answer(msg: Message, ctx: Context) -> tuple[int, str, str | None] | None:
    """(demand id, customer, department) when the message names where a demand of minutes ago goes."""
    p = ctx.parsed
    text = msg.text or ""
    if p is None or not where_in(p, text):
        return None
    read = ctx.read  # outside the write lock this raises, and the handler runs again under it
    stmt = (
        select(Urgent.id)
        .where(
            Urgent.member == msg.sender,
            Urgent.customer_id.is_(None),
            Urgent.status != "done",
            Urgent.created_at >= ctx.now - timedelta(minutes=ANSWER_MINUTES),
        )
        .order_by(Urgent.id.desc())
        .limit(1)
    )
    urgent_id = read.conn.execute(stmt).scalar()  # type: ignore[union-attr]
    if urgent_id is None:
        return None
    name = p.get("customer") or known_customer(ctx, text)
    return (urgent_id, name, p.get("department")) if name else None


def _file_where(msg: Message, found: tuple[int, str, str | None], ctx: Context) -> Reply:
    urgent_id, name, department = found
    customer_id, canonical, _level, _created = customer_for(ctx, name)
    db = ctx.records
    db.update(Urgent, urgent_id, customer_id=customer_id)
    if department:
        db.update_where(Urgent, {"id": urgent_id, "department": None}, department=department)
    row = db.first(Urgent, ["taken_by", "department"], id=urgent_id)
    taken_by, department = row if row else (None, department)
    mentions = [taken_by] if taken_by else alert_mentions(ctx.settings, ctx.members(), msg.sender)
    values = {"urgent_id": urgent_id, "customer": canonical, "department": department,
              "sender": ctx.member_named(msg.sender), "alerted": mentions}  # fmt: skip
    ctx.post("urgent_where_post.md.j2", **values)
    return ctx.reply("urgent_where_ack.md.j2", **values)


# A leader's word that hands a need to a rep: "急需1 安排周晓接", "#3 交给小王处理", "急需 #2 让李娜去送"
_ASSIGN_RE = re.compile(
    r"^(?:急需|[#＃])\s*[#＃]?\s*(?P<id>\d{1,9})\s*[,，:：]?\s*(?:安排给?|交给|派给?|让)\s*"
    r"(?P<name>[\u4e00-\u9fff]{2,4}?)\s*(?:接单|接|去|来|跟进|跟|处理|负责|送)"
)


def _assigns(msg: Message, ctx: Context) -> tuple[str, str] | None:
    if ctx.member is None or ctx.member.role not in ("leader", "admin"):
        return None
    m = _ASSIGN_RE.match(prepare(msg.text or "").norm)
    return (m["id"], m["name"]) if m else None


def _assign(msg: Message, found: tuple[str, str], ctx: Context) -> Reply | None:
    from handlers.commands.registry import REGISTRY, Invocation
    from handlers.commands.tasks import take

    command = REGISTRY.by_key["take"]
    return take(Invocation(command, command.names[0], " ".join(found), found), ctx)


HANDLERS = [
    Handler("urgent.assign", _assigns, _assign, group=9),
    Handler("urgent.where", _where_answer, _file_where, group=9),
    Handler("urgent.raise", _is_urgent, _raise, group=20),
]
