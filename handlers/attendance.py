"""Trip reports (报备) and leave (请假/调休): the day a rep will be out, and who covers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.models import Itinerary, Leave
from bot.wecom.inbound import Message
from handlers.visits import customer_for


def trip_day(parsed: dict[str, Any], today: date) -> date:
    """The day of the trip: as written, else tomorrow (a trip is reported the day before)."""
    return date.fromisoformat(parsed["due"]) if parsed.get("due") else today + timedelta(days=1)


def leave_span(parsed: dict[str, Any], today: date) -> tuple[date, date]:
    start = date.fromisoformat(parsed["start"]) if parsed.get("start") else today
    end = date.fromisoformat(parsed["end"]) if parsed.get("end") else start
    return start, max(start, end)


def _kind(kind: str) -> Any:
    return lambda msg, ctx: ctx.parsed is not None and ctx.parsed.get("kind") == kind or None


def _trip(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    customer_id, customer_name = None, p.get("customer")
    if p.get("customer"):
        customer_id, customer_name, _level, _created = customer_for(ctx, p["customer"])
    day = trip_day(p, ctx.now.date())
    ctx.records.insert(
        Itinerary,
        member=msg.sender,
        customer_id=customer_id,
        department=p.get("department"),
        trip_date=day,
        reported_at=ctx.now,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    return ctx.reply("itinerary_ack.md.j2", day=day, customer=customer_name, department=p.get("department"))


def _leave(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    start, end = leave_span(p, ctx.now.date())
    ctx.records.insert(
        Leave,
        member=msg.sender,
        start=start,
        end=end,
        handover=p.get("handover"),
        reported_at=ctx.now,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    return ctx.reply("leave_ack.md.j2", start=start, end=end, handover=p.get("handover"))


HANDLERS = [
    Handler("attendance.trip", _kind("itinerary"), _trip, group=20),
    Handler("attendance.leave", _kind("leave"), _leave, group=20),
]
