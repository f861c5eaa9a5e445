"""The last resort: a text nobody understood gets a one-line hint; anything else is stored and ignored."""

from __future__ import annotations

import re
from typing import Any

from bot.dispatch import Context, Handler, Reply
from bot.parse.kinds import acknowledges, asks, reminds_group
from bot.parse.text import prepare
from bot.wecom.inbound import Message


def _text(msg: Message, ctx: Context) -> Any:
    return msg.msgtype in ("text", "mixed") and msg.text is not None or None


# "好消息！市一院签了", "县医院那单丢了": a deal closed, told in words; /阶段 is what files it
_WON_RE = re.compile(r"签了|签约了?|签单了?|签下来了|中标了|拿下了?|成交了")
_LOST_RE = re.compile(r"丢单|丢了|没中标|落标|没签下来|黄了")


# What a question to the bot is about, and so which command answers it
_QUESTION_TOPICS = {
    "away": re.compile(r"请假|休假|调休|出差|外出|报备"),
    "mine": re.compile(r"拜访|复盘|记录|记了|跟进|小结|方案|急需|待办"),
}


_HOW_RE = re.compile(r"怎么(?!样)|如何|咋(?!样)")  # "怎么报备？" asks how: /帮助 answers that
_WHEN_ASKED_RE = re.compile(r"什么时候|几号|来着$")


def _customer_card(ctx: Context, text: str) -> Reply | None:
    """/客户's card of the one known customer a question names, or None."""
    from handlers.commands.common import find_customers
    from handlers.commands.customers import card
    from handlers.commands.registry import REGISTRY, Invocation
    from handlers.visits import known_customer

    name = (ctx.parsed or {}).get("customer") or known_customer(ctx, text)
    if not name or find_customers(ctx, name).customer is None:
        return None
    command = REGISTRY.by_key["customer"]
    return card(Invocation(command, command.names[0], name, (name,)), ctx)


def _hint(msg: Message, match: Any, ctx: Context) -> Reply:
    text = (msg.text or "").strip()
    lost = _LOST_RE.search(text)
    if lost or _WON_RE.search(text):
        from handlers.visits import known_customer  # visits → review → … → fallback: imported when used

        customer = (ctx.parsed or {}).get("customer") or known_customer(ctx, text)
        if customer:
            return ctx.reply("deal_hint.md.j2", customer=customer, stage="丢单" if lost else "签约")
    norm = prepare(text).norm
    # "我这周拜访了几家？", "明天谁请假？", "市二院的方案什么时候到期来着": the command that answers it
    if (asks(norm) or _WHEN_ASKED_RE.search(norm)) and not _HOW_RE.search(norm):
        # "市二院的方案什么时候到期来着", "县医院那单现在怎么样了": that customer's card answers it
        card = _customer_card(ctx, text)
        if card is not None:
            return card
        topic = next((t for t, rx in _QUESTION_TOPICS.items() if rx.search(norm)), None)
        if topic is not None:
            return ctx.reply("question_hint.md.j2", topic=topic)
    # an acknowledgement, or a leader's word to the group ("大家记得…"): nothing to file, nothing to hint
    ack = bool(text) and (acknowledges(text) or reminds_group(prepare(text).norm))
    return ctx.reply("hint.md.j2", empty=not text, ack=ack)


HANDLERS = [Handler("fallback.hint", _text, _hint, group=100)]
