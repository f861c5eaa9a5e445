"""What several commands share: the audit trail, names, the customer directory, dates, lists, and a
leader's view of the region's reps (/今日 and /本周)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from difflib import get_close_matches
from typing import Any, TypeVar

from sqlalchemy import and_, case, func, or_, select

from bot.customers import customer_key
from bot.dispatch import Context
from bot.jobs import Person, Team
from bot.models import Audit, Customer, CustomerAlias, Followup, Leave, Member, Review, Visit
from bot.parse import CORE_ITEMS
from handlers.commands.registry import normalise
from handlers.visits import still_missing

T = TypeVar("T")

LIST_LIMIT = 15  # rows of one list in a reply; the rest is counted
CANDIDATE_LIMIT = 8


def audit(ctx: Context, action: str, **detail: Any) -> None:
    """Who changed what, in the same transaction as the change."""
    ctx.records.insert(
        Audit,
        actor=ctx.message.sender,
        action=action,
        detail=json.dumps(detail, ensure_ascii=False, default=str),
        at=ctx.now,
    )


@dataclass(frozen=True)
class Capped:
    """The first `limit` rows of a list and how many more there are."""

    rows: list[Any]
    more: int


def capped(rows: list[T], limit: int = LIST_LIMIT) -> Capped:
    return Capped(rows[:limit], max(0, len(rows) - limit))


def member_names(ctx: Context) -> dict[str, str]:
    """userid -> name, active or not, for the member table's few dozen rows."""
    rows = ctx.session.execute(select(Member.userid, Member.name)).all()
    return {userid: name for userid, name in rows}


def missing_items(visit: Visit) -> list[str]:
    """The core items a visit record still lacks."""
    return still_missing({item: getattr(visit, item) for item in CORE_ITEMS})


def day_start(ctx: Context, day: date) -> datetime:
    return datetime.combine(day, time(0), ctx.settings.tz)


# ----------------------------------------------------------------------------- a leader's reps
@dataclass(frozen=True)
class TeamScope:
    """The reps a leader sees: the region's; an admin's: every rep (region None)."""

    region: str | None
    reps: list[Person]

    @property
    def ids(self) -> list[str]:
        return [p.userid for p in self.reps]


def team_scope(ctx: Context) -> TeamScope | None:
    """The speaker's reps when the speaker is a leader or an admin; None for a rep."""
    me = ctx.member
    if me is None or me.role not in ("leader", "admin"):
        return None
    team = Team.load(ctx.session)
    reps = [p for p in team.reps if me.role == "admin" or p.region == me.region]
    return TeamScope(None if me.role == "admin" else me.region, reps)


def visit_counts(ctx: Context, members: Sequence[str], start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """userid -> (visits, visits lacking core items) in [start, end)."""
    rows = ctx.session.execute(
        select(Visit.member, func.count(), func.sum(case((Visit.complete.is_(False), 1), else_=0)))
        .where(Visit.member.in_(list(members)), Visit.visited_at >= start, Visit.visited_at < end)
        .group_by(Visit.member)
    )
    return {member: (int(n), int(short or 0)) for member, n, short in rows}


def review_days(ctx: Context, members: Sequence[str], first: date, last: date) -> dict[str, set[date]]:
    """userid -> the days from `first` to `last` that have their review."""
    out: dict[str, set[date]] = defaultdict(set)
    for member, day in ctx.session.execute(
        select(Review.member, Review.review_date)
        .where(Review.member.in_(list(members)), Review.review_date >= first, Review.review_date <= last)
        .distinct()
    ):
        out[member].add(day)
    return out


def leave_days(ctx: Context, members: Sequence[str], first: date, last: date) -> dict[str, set[date]]:
    """userid -> the days from `first` to `last` that a leave of theirs excuses from the review: not
    a morning off ("上午请假": back in the afternoon, the review is owed)."""
    out: dict[str, set[date]] = defaultdict(set)
    for member, start, end in ctx.session.execute(
        select(Leave.member, Leave.start, Leave.end).where(
            Leave.member.in_(list(members)),
            Leave.start <= last,
            Leave.end >= first,
            or_(Leave.part.is_(None), Leave.part != "am"),
        )
    ):
        day = max(start, first)
        while day <= min(end, last):
            out[member].add(day)
            day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class FollowupCounts:
    done: int = 0  # marked done in the period
    open: int = 0  # open at the moment looked at
    overdue: int = 0  # of those, past their due time then


def followup_counts(
    ctx: Context, members: Sequence[str], start: datetime, end: datetime, at: datetime
) -> dict[str, FollowupCounts]:
    """userid -> their follow-ups done in [start, end), and those open, and overdue, at `at`.

    A follow-up exists from its visit; one closed after `at` was still open then.
    """
    open_at = and_(Visit.visited_at <= at, or_(Followup.status == "open", Followup.done_at > at))
    rows = ctx.session.execute(
        select(
            Followup.member,
            func.sum(case((and_(Followup.done_at >= start, Followup.done_at < end), 1), else_=0)),
            func.sum(case((open_at, 1), else_=0)),
            func.sum(case((and_(open_at, Followup.due_at < at), 1), else_=0)),
        )
        .join(Visit, Visit.id == Followup.visit_id)
        .where(Followup.member.in_(list(members)))
        .group_by(Followup.member)
    )
    return {m: FollowupCounts(int(d or 0), int(o or 0), int(od or 0)) for m, d, o, od in rows}


# ----------------------------------------------------------------------------- the directory
@dataclass(frozen=True)
class Found:
    """A customer name as written, resolved: one customer, several candidates, or none.

    `guessed`: no name contains it, the candidates are only the closest names (did you mean…)."""

    customer: Customer | None
    candidates: list[Customer]
    guessed: bool = False


def find_customers(ctx: Context, name: str) -> Found:
    """The directory's customer for a name: its exact name or alias; else every customer whose
    name or alias contains it (one is taken, several are listed); else the closest names."""
    key = customer_key(name)
    if not key:
        return Found(None, [])
    s = ctx.session
    exact = s.execute(
        select(Customer).join(CustomerAlias, CustomerAlias.customer_id == Customer.id).where(CustomerAlias.alias == key)
    ).scalar_one_or_none()
    if exact is not None:
        return Found(exact, [])
    ids = s.execute(
        select(CustomerAlias.customer_id)
        .where(CustomerAlias.alias.contains(key, autoescape=True))
        .distinct()
        .limit(CANDIDATE_LIMIT + 1)
    ).scalars()
    found = _customers(ctx, list(ids))
    if len(found) == 1:
        return Found(found[0], [])
    if found:
        return Found(None, found)
    aliases = dict(s.execute(select(CustomerAlias.alias, CustomerAlias.customer_id)).all())
    close = get_close_matches(key, list(aliases), n=CANDIDATE_LIMIT, cutoff=0.5)
    return Found(None, _customers(ctx, list(dict.fromkeys(aliases[a] for a in close))), guessed=True)


def _customers(ctx: Context, ids: list[int]) -> list[Customer]:
    if not ids:
        return []
    rows = ctx.session.execute(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.name)).scalars()
    return list(rows)


def aliases_of(ctx: Context, customer_id: int) -> list[str]:
    return list(
        ctx.session.execute(
            select(CustomerAlias.alias).where(CustomerAlias.customer_id == customer_id).order_by(CustomerAlias.id)
        ).scalars()
    )


# ----------------------------------------------------------------------------- dates
_DATE_RE = re.compile(
    r"^(?:(?P<y>\d{4})\s*[-/.年])?\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?$|^(?P<c>\d{8})$"
)


def read_date(text: str, today: date) -> date | None:
    """2026-11-01, 2026/11/1, 20261101, 11-01, 11/1, 11.1, 11月1日; a date without a year is this year's."""
    m = _DATE_RE.match(normalise(text).strip())
    if m is None:
        return None
    try:
        if m["c"]:
            return date(int(m["c"][:4]), int(m["c"][4:6]), int(m["c"][6:]))
        return date(int(m["y"] or today.year), int(m["m"]), int(m["d"]))
    except ValueError:
        return None


def safe_link(url: str | None) -> str | None:
    """A link from config fit to print inside markdown: http(s), no spaces or brackets."""
    if not url or not re.fullmatch(r"https?://[^\s()<>\[\]`]+", url):
        return None
    return url
