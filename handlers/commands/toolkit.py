"""/资料: the sales toolkit (config.yaml `toolkit`) searched by keyword: edition, version, expiry, link.

A document is judged as the daily toolkit post judges it (bot.jobs.toolkit_check), by the same
rules: expiring within `toolkit_expiry_warn_days` of its expiry, or, without an expiry, stale
when its version is older than `toolkit_fresh_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches

from bot.dispatch import Context, Reply
from bot.jobs import doc_state, toolkit_windows
from bot.settings import ToolkitDoc
from handlers.commands.common import capped, safe_link
from handlers.commands.registry import Invocation, Usage, implements, normalise

SUGGESTIONS = 6


@dataclass(frozen=True)
class DocView:
    doc: ToolkitDoc
    link: str | None
    state: str  # bot.jobs.doc_state: ok | expiring | expired | stale


def matches(doc: ToolkitDoc, words: tuple[str, ...]) -> bool:
    """Every keyword appears in the name, kind or edition (full-width and case folded)."""
    hay = normalise(" ".join((doc.name, doc.kind, doc.edition))).lower()
    return all(normalise(w).lower() in hay for w in words)


def suggestions(toolkit: tuple[ToolkitDoc, ...] | list[ToolkitDoc], keyword: str) -> list[str]:
    """Words to search for that exist in the toolkit: the closest names first, then its kinds."""
    names = list(dict.fromkeys(d.name for d in toolkit))
    kinds = list(dict.fromkeys(d.kind for d in toolkit if d.kind))
    close = get_close_matches(keyword, names + kinds, n=SUGGESTIONS, cutoff=0.4)
    return list(dict.fromkeys([*close, *kinds]))[:SUGGESTIONS]


@implements("docs")
def docs(inv: Invocation, ctx: Context) -> Reply:
    if not inv.args:
        raise Usage
    today = ctx.now.date()
    warn, fresh = toolkit_windows(ctx.settings)
    views = [
        DocView(doc, safe_link(doc.link), doc_state(doc, today, warn, fresh))
        for doc in ctx.settings.toolkit
        if matches(doc, inv.args)
    ]
    views.sort(key=lambda v: (v.state != "expired", v.doc.name))
    keyword = " ".join(inv.args)
    return ctx.reply(
        "commands/docs.md.j2",
        keyword=keyword,
        docs=capped(views, 10),
        fresh=fresh,
        suggestions=[] if views else suggestions(ctx.settings.toolkit, keyword),
    )
