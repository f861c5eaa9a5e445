"""Competitor moves: intel on record (brand, customer or region, activity) and a one-line thanks."""

from __future__ import annotations

from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.models import Competitor
from bot.wecom.inbound import Message
from handlers.visits import customer_for, known_customer


def _is_intel(msg: Message, ctx: Context) -> Any:
    return ctx.parsed is not None and ctx.parsed.get("kind") == "competitor" or None


def _record(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    if not p.get("customer"):
        named = known_customer(ctx, msg.text or "")  # "联影在西乡社区推DR零首付": a name the directory knows
        if named:
            p = {**p, "customer": named}
    customer_id, customer_name = None, p.get("customer")
    if p.get("customer"):
        customer_id, customer_name, _level, _created = customer_for(ctx, p["customer"])
    ctx.records.insert(
        Competitor,
        member=msg.sender,
        region=ctx.member.region if ctx.member else "",
        customer_id=customer_id,
        brand=p.get("brand"),
        activity=p.get("activity"),
        reported_at=ctx.now,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    return ctx.reply("competitor_thanks.md.j2", brand=p.get("brand"), customer=customer_name)


HANDLERS = [Handler("competitor.record", _is_intel, _record, group=20)]
