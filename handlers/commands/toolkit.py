"""/资料: the sales toolkit (config.yaml `toolkit`) searched by keyword: edition, version, expiry, link.

A document is judged as the daily toolkit post judges it (bot.jobs.toolkit_check), by the same
rules: expiring within `toolkit_expiry_warn_days` of its expiry, or, without an expiry, stale
when its version is older than `toolkit_fresh_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from difflib import get_close_matches

from bot.dispatch import Context, Reply
from bot.settings import Settings, ToolkitDoc
from handlers.commands.common import capped, safe_link
from handlers.commands.registry import Invocation, Usage, implements, normalise

EXPIRY_WARN_DAYS = 30  # the defaults of bot.jobs.toolkit_check
FRESH_DAYS = 90
SUGGESTIONS = 6


@dataclass(frozen=True)
class DocView:
    doc: ToolkitDoc
    link: str | None
    state: str  # ok | expiring | expired | stale


def rule(settings: Settings, key: str, default: int) -> int:
    try:
        return int(settings.rules.get(key, default))
    except (TypeError, ValueError):
        return default


def doc_state(doc: ToolkitDoc, today: date, warn_days: int, fresh_days: int) -> str:
    if doc.expiry is not None:
        if doc.expiry < today:
            return "expired"
        return "expiring" if doc.expiry <= today + timedelta(days=warn_days) else "ok"
    if doc.version_date is not None and doc.version_date < today - timedelta(days=fresh_days):
        return "stale"
    return "ok"


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
    warn = rule(ctx.settings, "toolkit_expiry_warn_days", EXPIRY_WARN_DAYS)
    fresh = rule(ctx.settings, "toolkit_fresh_days", FRESH_DAYS)
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
