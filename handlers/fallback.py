"""The last resort: a text nobody understood gets a one-line hint; anything else is stored and ignored."""

from __future__ import annotations

from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.parse.kinds import acknowledges, reminds_group
from bot.parse.text import prepare
from bot.wecom.inbound import Message


def _text(msg: Message, ctx: Context) -> Any:
    return msg.msgtype in ("text", "mixed") and msg.text is not None or None


def _hint(msg: Message, match: Any, ctx: Context) -> Reply:
    text = (msg.text or "").strip()
    # an acknowledgement, or a leader's word to the group ("大家记得…"): nothing to file, nothing to hint
    ack = bool(text) and (acknowledges(text) or reminds_group(prepare(text).norm))
    return ctx.reply("hint.md.j2", empty=not text, ack=ack)


HANDLERS = [Handler("fallback.hint", _text, _hint, group=100)]
