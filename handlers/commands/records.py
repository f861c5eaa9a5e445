"""/拜访 /急需 /竞品 /报备 /请假 /调休 /复盘: the same records as free text, by command.

The text after the command is understood by `bot.parse` exactly as a free message would
be, and filed by the free-text handler of that kind (handlers.visits, .urgent, …), so a
command and a sentence make the same record, reply and group post. The command names
the kind: when the text alone reads as something else, the kind's cue word is put in
front of it; when even that does not help, the command's kind is kept with what the
parser found.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.parse import CORE_ITEMS, parse
from handlers.commands.common import audit
from handlers.commands.registry import Invocation, Usage, implements

# command key -> (parse kind, the free-text handler that files it)
FILED_BY = {
    "visit": ("visit", "visits.record"),
    "urgent": ("urgent", "urgent.raise"),
    "intel": ("competitor", "competitor.record"),
    "trip": ("itinerary", "attendance.trip"),
    "leave": ("leave", "attendance.leave"),
    "review": ("review", "review.record"),
}


@cache
def free_text_handler(name: str) -> Handler:
    from handlers import attendance, competitor, review, urgent, visits

    for handler in (*visits.HANDLERS, *urgent.HANDLERS, *competitor.HANDLERS, *attendance.HANDLERS, *review.HANDLERS):
        if handler.name == name:
            return handler
    raise LookupError(name)


def understand(text: str, kind: str, cue: str, ctx: Context) -> dict[str, Any]:
    """The parse of `text` as a record of `kind` (see the module's docstring)."""
    sender = ctx.message.sender or None
    parsed = parse(text, ctx.now, sender, ctx.calendar)
    if parsed["kind"] == kind:
        return parsed
    if cue:
        cued = parse(cue + text, ctx.now, sender, ctx.calendar)
        if cued["kind"] == kind:
            return cued
    forced = {**parsed, "kind": kind}
    if kind == "visit":
        forced["missing"] = [item for item in CORE_ITEMS if not forced.get(item)]
    elif kind == "competitor" and not forced.get("activity"):
        forced["activity"] = text
    return forced


def file_record(inv: Invocation, ctx: Context) -> Reply | None:
    if not inv.text:
        raise Usage
    kind, handler_name = FILED_BY[inv.command.key]
    ctx.parsed = understand(inv.text, kind, str(inv.command.extra.get("cue") or ""), ctx)
    reply = free_text_handler(handler_name).handle(ctx.message, True, ctx)
    audit(
        ctx, f"{inv.command.key}.record", kind=kind, message_id=ctx.message_row_id, customer=ctx.parsed.get("customer")
    )
    return reply


@implements("visit")
def visit(inv: Invocation, ctx: Context) -> Reply | None:
    if not inv.text:
        return ctx.reply("commands/visit_form.md.j2", fmt="text")
    return file_record(inv, ctx)


for _key in ("urgent", "intel", "trip", "leave", "review"):
    implements(_key)(file_record)
