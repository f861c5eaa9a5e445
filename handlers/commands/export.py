"""/导出 表 [起 止]: visits, urgent demands, competitor intel or reviews of a date range as CSV.

The CSV (UTF-8 with BOM, so Excel opens Chinese correctly; cells that would start a
formula are quoted with ') goes to the group as a file through the outbox (upload_media,
then a file message), in the same transaction as the audit of the export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from bot.dispatch import Context, Reply
from bot.models import Competitor, Contact, Customer, Review, Urgent, Visit
from handlers.commands.common import audit, day_start, member_names, read_date
from handlers.commands.registry import REGISTRY, Invocation, Usage, implements, normalise

MAX_DAYS = 366
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    key: str
    words: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (field, header)


def tables() -> dict[str, Table]:
    raw = REGISTRY.values.get("export_tables") or {}
    return {
        key: Table(key, tuple(str(w) for w in t["words"]), tuple((str(f), str(h)) for f, h in t["columns"]))
        for key, t in raw.items()
    }


def table_for(word: str) -> Table | None:
    folded = normalise(word).lower()
    for table in tables().values():
        if folded in {normalise(w).lower() for w in table.words}:
            return table
    return None


def date_range(args: tuple[str, ...], today: date) -> tuple[date, date]:
    """[start, end] inclusive: none -> this week so far; one -> that day to today; two -> as given."""
    if not args:
        return today - timedelta(days=today.weekday()), today
    if len(args) > 2:
        raise Usage
    days = [read_date(a, today) for a in args]
    if any(d is None for d in days):
        raise Usage
    start = days[0]
    end = days[1] if len(days) == 2 else today
    assert start is not None and end is not None
    if end < start or (end - start).days > MAX_DAYS:
        raise Usage
    return start, end


def _query(table: str, start: datetime, end: datetime, first: date, last: date) -> Select[Any]:
    if table == "visits":
        return (
            select(Visit, Customer.name.label("customer"), Contact.name.label("contact"))
            .outerjoin(Customer, Customer.id == Visit.customer_id)
            .outerjoin(Contact, Contact.id == Visit.contact_id)
            .where(Visit.visited_at >= start, Visit.visited_at < end)
            .order_by(Visit.visited_at, Visit.id)
        )
    if table == "urgent":
        return (
            select(Urgent, Customer.name.label("customer"))
            .outerjoin(Customer, Customer.id == Urgent.customer_id)
            .where(Urgent.created_at >= start, Urgent.created_at < end)
            .order_by(Urgent.created_at, Urgent.id)
        )
    if table == "intel":
        return (
            select(Competitor, Customer.name.label("customer"))
            .outerjoin(Customer, Customer.id == Competitor.customer_id)
            .where(Competitor.reported_at >= start, Competitor.reported_at < end)
            .order_by(Competitor.reported_at, Competitor.id)
        )
    return select(Review).where(Review.review_date >= first, Review.review_date <= last).order_by(Review.id)


def cell(value: Any, field: str, names: dict[str, str], tz: ZoneInfo) -> str:
    """One CSV cell: names for userids, local times, words for statuses and booleans; never a formula."""
    words: dict[str, str] = {str(k): str(v) for k, v in (REGISTRY.values.get("values") or {}).items()}
    if value is None:
        return ""
    if field in ("member", "taken_by"):
        text = names.get(value, value)
    elif field == "items":
        items = json.loads(value or "[]")
        text = "、".join(f"{i.get('quantity') or ''}{i.get('unit') or ''}{i.get('product') or ''}" for i in items)
    elif field == "status":
        text = words.get(value, value)
    elif isinstance(value, bool):
        text = words["true" if value else "false"]
    elif isinstance(value, datetime):
        text = value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows_of(ctx: Context, table: Table, result: Iterable[Any]) -> list[list[str]]:
    names, tz = member_names(ctx), ctx.settings.tz
    out = []
    for row in result:
        record, extra = row[0], row._mapping
        out.append(
            [
                cell(extra[field] if field in ("customer", "contact") else getattr(record, field), field, names, tz)
                for field, _header in table.columns
            ]
        )
    return out


_DEFAULT_TABLE = "拜访"


@implements("export")
def export(inv: Invocation, ctx: Context) -> Reply:
    # "/导出" alone, or with dates only: the visits, the export leaders want most
    args = inv.args
    table = table_for(args[0]) if args else None
    if table is None:
        table = table_for(_DEFAULT_TABLE)
        if table is None:
            raise Usage
    else:
        args = args[1:]
    first, last = date_range(args, ctx.now.date())
    start, end = day_start(ctx, first), day_start(ctx, last + timedelta(days=1))
    rows = rows_of(ctx, table, ctx.session.execute(_query(table.key, start, end, first, last)))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([header for _field, header in table.columns])
    writer.writerows(rows)
    stamp = ctx.now.strftime("%Y%m%d%H%M%S")
    filename = f"{table.key}_{first:%Y%m%d}_{last:%Y%m%d}_{stamp}.csv"
    ctx.post_file(filename, buf.getvalue().encode("utf-8-sig"))
    audit(ctx, "export", table=table.key, start=first, end=last, rows=len(rows), file=filename)
    return ctx.reply(
        "commands/export_ready.md.j2", table=table.words[0], first=first, last=last, count=len(rows), filename=filename
    )
