"""Slash commands: "/客户 市一院", "／待办", "/help stage".

One handler (group 5, before the free-text handlers) reads the registry: it finds the command
(or suggests the closest names), checks the speaker's role, runs it, and answers a usage error
with the command's usage and example after rolling back anything it wrote.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from bot.dispatch import Context, Handler, Reply
from bot.models import Member
from bot.wecom.inbound import Message
from handlers.commands import (  # noqa: F401  (each module binds its commands' implementations)
    customers,
    export,
    guide,
    meetings,
    pipeline,
    records,
    tasks,
    team,
    toolkit,
    undo,
    week,
)
from handlers.commands.registry import PREFIXES, REGISTRY, Invocation, Lookup, Usage

log = logging.getLogger("frontline.commands")

REGISTRY.check()


def _is_command(msg: Message, ctx: Context) -> Lookup | None:
    if msg.msgtype not in ("text", "mixed") or not msg.text:
        return None
    text = msg.text.lstrip()
    if not text.startswith(PREFIXES):
        # "输液泵已经送到宝安中心手术室了 /完成 2": a known command at the end of a message
        tail = _TRAILING_RE.search(text) if "/" in text or "／" in text else None
        found = REGISTRY.lookup(tail.group(1)) if tail else None
        return found if found is not None and found.invocation is not None else None
    return REGISTRY.lookup(text[1:])


_TRAILING_RE = re.compile(r"\s[/／](\S+(?:[ \t]+\S+){0,2})\s*$")


def _admins(ctx: Context) -> list[str]:
    rows = ctx.session.execute(
        select(Member.name).where(Member.role == "admin", Member.active == True).order_by(Member.id)  # noqa: E712
    )
    return list(rows.scalars())


def _run(msg: Message, found: Lookup, ctx: Context) -> Reply | None:
    inv = found.invocation
    if inv is None and not found.word:  # "/" alone
        inv = Invocation(REGISTRY.by_key["help"], "", "", ())
    if inv is None:
        return ctx.reply("commands/unknown.md.j2", word=found.word, suggestions=REGISTRY.suggestions(found.word))
    cmd = inv.command
    role = ctx.member.role if ctx.member is not None else None
    if not cmd.allows(role):
        if ctx.member is None:
            return ctx.reply("commands/not_member.md.j2", admins=_admins(ctx))
        roles = REGISTRY.roles
        return ctx.reply("commands/refused.md.j2", command=cmd, need=roles[cmd.role], have=roles.get(role or "", role))
    assert cmd.run is not None  # REGISTRY.check()
    try:
        return cmd.run(inv, ctx)
    except Usage:
        ctx.discard()
        log.info("usage error for /%s from %s", cmd.key, msg.sender)
        return ctx.reply("commands/usage.md.j2", command=cmd)


HANDLERS = [Handler("commands", _is_command, _run, group=5)]
