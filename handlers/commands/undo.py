"""/撤销: take back the record my last message filed, when the bot read it wrongly.

Only the member's own latest record, and only for UNDO_MINUTES after the message that filed
it: a visit (with its follow-ups and the open question about it; every visit of a message that
told several), an urgent need nobody has
taken yet (the group is told it is withdrawn), competitor news, a trip, a leave or a review.
An answer that completed an earlier record is not undone (a corrected answer overwrites it).
Customers and contacts the record named stay in the directory.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.dispatch import Context, Reply
from bot.models import (
    Competitor,
    Conversation,
    Customer,
    Followup,
    InboundMessage,
    Itinerary,
    Leave,
    Review,
    Urgent,
    Visit,
)
from handlers.commands.common import audit
from handlers.commands.registry import Invocation, implements
from handlers.visits import CONVERSATION_MINUTES, drop_unused_customer, incomplete_visit_since

UNDO_MINUTES = 30

# kind -> the table of that record (each row links the message that filed it)
_KINDS: dict[str, Any] = {
    "visit": Visit,
    "urgent": Urgent,
    "competitor": Competitor,
    "itinerary": Itinerary,
    "leave": Leave,
    "review": Review,
}


def latest_record(ctx: Context, member: str) -> tuple[str, Any, Any] | None:
    """(kind, row, received_at) of the record the member's latest record-filing message made."""
    best: tuple[str, Any, Any] | None = None
    for kind, model in _KINDS.items():
        stmt = (
            select(model, InboundMessage.received_at)
            .join(InboundMessage, InboundMessage.id == model.message_id)
            .where(model.member == member)
            .order_by(model.message_id.desc())
            .limit(1)
        )
        found = ctx.session.execute(stmt).first()
        if found is not None and (best is None or found[0].message_id > best[1].message_id):
            best = (kind, found[0], found[1])
    return best


@implements("undo")
def undo(inv: Invocation, ctx: Context) -> Reply:
    me = ctx.message.sender
    found = latest_record(ctx, me)
    if found is None:
        return ctx.reply("commands/undo.md.j2", state="nothing")
    kind, row, received_at = found
    if ctx.now - received_at.astimezone(ctx.now.tzinfo) > timedelta(minutes=UNDO_MINUTES):
        return ctx.reply("commands/undo.md.j2", state="too_late", kind=kind, minutes=UNDO_MINUTES)
    place, count = _customer_name(ctx, getattr(row, "customer_id", None)), 1
    db = ctx.records
    reopened = None
    if kind == "urgent":
        if row.status != "open":
            return ctx.reply("commands/undo.md.j2", state="urgent_taken", urgent=row)
        if not db.delete_where(Urgent, id=row.id, status="open"):  # taken meanwhile
            return ctx.reply("commands/undo.md.j2", state="urgent_taken", urgent=row)
        ctx.post("commands/undo_urgent_post.md.j2", urgent=row, customer=place)
    elif kind == "visit":
        # every visit the message filed: a report of several visits is taken back whole
        rows = ctx.session.execute(
            select(Visit).where(Visit.message_id == row.message_id, Visit.member == me).order_by(Visit.id)
        ).scalars().all() or [row]
        place = "、".join(dict.fromkeys(filter(None, (_customer_name(ctx, v.customer_id) for v in rows)))) or None
        count = len(rows)
        for visit in rows:
            db.delete_where(Followup, visit_id=visit.id)
            db.delete_where(Conversation, visit_id=visit.id)
            db.delete_where(Visit, id=visit.id)
        for visit in rows:
            if visit.customer_id is not None:  # a hospital (and whom we saw there) the misread visit filed
                drop_unused_customer(ctx, visit.customer_id, visit.contact_id)
        reopened = _ask_again(ctx, me)
    else:
        db.delete_where(_KINDS[kind], id=row.id)
    audit(ctx, "undo.record", kind=kind, record_id=row.id, message_id=row.message_id)
    return ctx.reply(
        "commands/undo.md.j2",
        state="done",
        kind=kind,
        record=row,
        customer=place,
        count=count,
        reopened=reopened,
    )


def _customer_name(ctx: Context, customer_id: int | None) -> str | None:
    customer = ctx.session.get(Customer, customer_id) if customer_id is not None else None
    return customer.name if customer else None


def _ask_again(ctx: Context, member: str) -> tuple[str | None, list[str]] | None:
    """After a visit is withdrawn, the question about the member's other incomplete visit of the
    day, which the withdrawn one had replaced, is open again: (its customer, what it misses)."""
    found = incomplete_visit_since(ctx, member, None, ctx.now.date())
    if found is None:
        return None
    visit_id, missing = found
    ctx.records.upsert(
        Conversation,
        {"chat_id": ctx.message.chat_id, "member": member},
        topic="visit",
        visit_id=visit_id,
        missing=json.dumps(missing),
        expires_at=ctx.now + timedelta(minutes=CONVERSATION_MINUTES),
    )
    row = ctx.session.get(Visit, visit_id)
    customer = ctx.session.get(Customer, row.customer_id) if row is not None and row.customer_id else None
    return (customer.name if customer else None), missing
