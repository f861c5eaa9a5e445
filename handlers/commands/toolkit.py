"""/资料: the sales toolkit (config.yaml `toolkit`) searched by keyword: edition, version, expiry, link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.dispatch import Context, Reply
from bot.settings import ToolkitDoc
from handlers.commands.common import capped, safe_link
from handlers.commands.registry import Invocation, Usage, implements, normalise

EXPIRING_DAYS = 30


@dataclass(frozen=True)
class DocView:
    doc: ToolkitDoc
    link: str | None
    state: str  # ok | expiring | expired


def matches(doc: ToolkitDoc, words: tuple[str, ...]) -> bool:
    """Every keyword appears in the name, kind or edition (full-width and case folded)."""
    hay = normalise(" ".join((doc.name, doc.kind, doc.edition))).lower()
    return all(normalise(w).lower() in hay for w in words)


@implements("docs")
def docs(inv: Invocation, ctx: Context) -> Reply:
    if not inv.args:
        raise Usage
    today = ctx.now.date()
    views = []
    for doc in ctx.settings.toolkit:
        if not matches(doc, inv.args):
            continue
        state = "ok"
        if doc.expiry is not None and doc.expiry < today:
            state = "expired"
        elif doc.expiry is not None and doc.expiry <= today + timedelta(days=EXPIRING_DAYS):
            state = "expiring"
        views.append(DocView(doc, safe_link(doc.link), state))
    views.sort(key=lambda v: (v.state != "expired", v.doc.name))
    return ctx.reply("commands/docs.md.j2", keyword=" ".join(inv.args), docs=capped(views, 10))
