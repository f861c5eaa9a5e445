"""Chat life-cycle events: the bot joins the group, or is removed from it."""

from __future__ import annotations

from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.wecom.inbound import Message


def _joined(msg: Message, ctx: Context) -> Any:
    return msg.msgtype == "event" and msg.event in ("add_to_chat", "enter_chat") or None


def _welcome(msg: Message, match: Any, ctx: Context) -> Reply:
    return ctx.reply("welcome.md.j2", bot_name=ctx.settings.wecom.bot_names[0])


HANDLERS = [Handler("chat.welcome", _joined, _welcome, group=0)]
