"""The end-of-day review (复盘): target met or not, and if not, why and how it will be made up."""

from __future__ import annotations

from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.models import Review
from bot.wecom.inbound import Message


def _is_review(msg: Message, ctx: Context) -> Any:
    return ctx.parsed is not None and ctx.parsed.get("kind") == "review" or None


def _record(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    ctx.records.insert(
        Review,
        member=msg.sender,
        review_date=ctx.now.date(),
        target_met=p.get("target_met"),
        reason=p.get("reason"),
        remedy=p.get("remedy"),
        posted_at=ctx.now,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    return ctx.reply("review_ack.md.j2", parsed=p)


HANDLERS = [Handler("review.record", _is_review, _record, group=20)]
