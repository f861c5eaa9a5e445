"""/本周 [上周]: my own week, from Monday 00:00 to now (上周: last Monday to Sunday).

What a rep would otherwise piece together from a /今日 each day: the visits (customers, new
ones, complete or what each lacks), the reviews against the working days (days on leave are
not owed, nor today's until it is filed), follow-ups done, open and overdue, and the urgent
needs reported and taken. A leader gets, after their own week, one line per rep of the region
(an admin: of the team), as /今日 lists the day; reviews, leave and follow-ups there are counted by
the same functions as the speaker's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.dispatch import Context, Reply
from bot.models import Contact, Customer, Urgent, Visit
from bot.settings import parse_time
from handlers.commands.common import (
    Capped,
    FollowupCounts,
    capped,
    followup_counts,
    leave_days,
    missing_items,
    review_days,
    team_scope,
    visit_counts,
)
from handlers.commands.meetings import weekly_args
from handlers.commands.registry import Invocation, Usage, implements
from handlers.commands.tasks import followup_todos

VISIT_LIMIT = 10  # visit lines in a reply; incomplete ones are shown first, the rest is counted
FOLLOWUP_LIMIT = 5  # open follow-ups listed; /待办 has them all
URGENT_LIMIT = 5  # urgent needs named per list


@dataclass(frozen=True)
class Span:
    """The days a /本周 covers and the moments they run between."""

    first: date  # a Monday
    last: date  # today, or last week's Sunday
    start: datetime  # `first` 00:00 local
    end: datetime  # the next Monday 00:00: records are counted in [start, end)
    at: datetime  # when what is open is looked at: now, or `end` for last week
    last_week: bool

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def week_span(now: datetime, last_week: bool) -> Span:
    """This week up to `now` (aware, local), or the whole of last week, Monday to Sunday."""
    today = now.date()
    monday = today - timedelta(days=today.weekday())

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), now.tzinfo)

    if last_week:
        first = monday - timedelta(days=7)
        return Span(first, monday - timedelta(days=1), midnight(first), midnight(monday), midnight(monday), True)
    return Span(monday, today, midnight(monday), midnight(monday + timedelta(days=7)), now, False)


@dataclass(frozen=True)
class ReviewTally:
    """One member's reviews over a span's working days."""

    workdays: int  # working days of the span
    leave: list[date]  # working days on leave: no review owed
    due: int  # working days a review is owed for: those before today, and today once filed or chased
    filed: int  # of those, the days with a review
    missing: list[date]  # days owed a review and without one
    today_open: bool  # today is owed a review that is not filed yet (its review time is not over)


def review_tally(
    days: Iterable[date],
    is_workday: Callable[[date], bool],
    leave: set[date],
    reviewed: set[date],
    today: date,
    today_closed: bool = False,
) -> ReviewTally:
    """`today_closed`: today's review time is over (the 18:00 chase has named who has not filed),
    so a review missing today counts as missing, as the chase said."""
    work = [d for d in days if is_workday(d)]
    owed = [d for d in work if d not in leave]
    due = [d for d in owed if d < today or d in reviewed or (d == today and today_closed)]
    return ReviewTally(
        workdays=len(work),
        leave=[d for d in work if d in leave],
        due=len(due),
        filed=sum(1 for d in due if d in reviewed),
        missing=[d for d in due if d not in reviewed],
        today_open=today in owed and today not in reviewed and not today_closed,
    )


def review_closed(ctx: Context) -> bool:
    """Whether today's review time is over: the 18:00 chase (schedule.eod_chase) has run."""
    conf = ctx.settings.schedule.get("eod_chase") or {}
    return ctx.now.time() >= parse_time(str(conf.get("time") or "18:00"))


@dataclass(frozen=True)
class WeekVisit:
    id: int
    at: datetime  # local
    customer_id: int | None
    customer: str | None
    department: str | None
    contact: str | None
    first_visit: bool
    missing: list[str]  # what the record lacks: the customer, then core items

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class VisitList:
    rows: list[WeekVisit]  # in time order
    more: int  # not listed
    more_incomplete: int  # of those, lacking core items


def pick_visits(visits: list[WeekVisit], limit: int = VISIT_LIMIT) -> VisitList:
    """At most `limit` visits in time order: the incomplete ones first (they ask for something),
    then the latest complete ones."""
    incomplete = [v for v in visits if not v.complete]
    done = [v for v in visits if v.complete]
    keep = max(0, limit - len(incomplete))
    chosen = incomplete[:limit] + (done[-keep:] if keep else [])
    shown = {v.id for v in chosen}
    return VisitList(
        sorted(chosen, key=lambda v: (v.at, v.id)),
        len(visits) - len(chosen),
        sum(1 for v in incomplete if v.id not in shown),
    )


def _visits(ctx: Context, member: str, span: Span) -> list[WeekVisit]:
    tz = ctx.settings.tz
    out = []
    for v, customer, contact in ctx.session.execute(
        select(Visit, Customer.name, Contact.name)
        .outerjoin(Customer, Customer.id == Visit.customer_id)
        .outerjoin(Contact, Contact.id == Visit.contact_id)
        .where(Visit.member == member, Visit.visited_at >= span.start, Visit.visited_at < span.end)
        .order_by(Visit.visited_at, Visit.id)
    ):
        missing = (["customer"] if v.customer_id is None else []) + missing_items(v)
        at = v.visited_at.astimezone(tz)
        out.append(WeekVisit(v.id, at, v.customer_id, customer, v.department, contact, v.first_visit, missing))
    return out


def customer_counts(visits: Iterable[WeekVisit]) -> tuple[int, int]:
    """(customers visited, of them new: first visited in these visits); a visit naming none counts none."""
    named = [v for v in visits if v.customer_id is not None]
    return len({v.customer_id for v in named}), len({v.customer_id for v in named if v.first_visit})


def _urgent(ctx: Context, *where: Any) -> list[dict[str, Any]]:
    rows = ctx.session.execute(
        select(Urgent.id, Urgent.status, Urgent.items, Customer.name)
        .outerjoin(Customer, Customer.id == Urgent.customer_id)
        .where(*where)
        .order_by(Urgent.id)
    )
    return [
        {"id": i, "status": status, "items": json.loads(items or "[]"), "customer": customer}
        for i, status, items, customer in rows
    ]


def _team_week(ctx: Context, span: Span) -> dict[str, Any] | None:
    """For a leader, the region's reps over the span (for an admin, every rep's): visits and how many
    lack core items, reviews filed of those owed, days on leave, follow-ups overdue at its end."""
    scope = team_scope(ctx)
    if scope is None:
        return None
    today, closed = ctx.now.date(), review_closed(ctx)
    visits = visit_counts(ctx, scope.ids, span.start, span.end)
    reviewed = review_days(ctx, scope.ids, span.first, span.last)
    away = leave_days(ctx, scope.ids, span.first, span.last)
    followups = followup_counts(ctx, scope.ids, span.start, span.end, span.at)
    rows = [
        {
            "name": p.name,
            "visits": visits.get(p.userid, (0, 0)),
            "reviews": review_tally(
                span.days,
                ctx.calendar.is_workday,
                away.get(p.userid, set()),
                reviewed.get(p.userid, set()),
                today,
                closed,
            ),
            "overdue": followups.get(p.userid, FollowupCounts()).overdue,
        }
        for p in scope.reps
    ]
    return {"region": scope.region, "rows": rows}


@implements("week")
def week(inv: Invocation, ctx: Context) -> Reply:
    a = weekly_args(inv.args, [str(w) for w in inv.command.extra.get("last_week") or ()])
    if a.region is not None:  # one's own week has no region to choose
        raise Usage
    me, today = ctx.message.sender, ctx.now.date()
    span = week_span(ctx.now, a.last_week)
    visits = _visits(ctx, me, span)
    customers, new_customers = customer_counts(visits)
    reviews = review_tally(
        span.days,
        ctx.calendar.is_workday,
        leave_days(ctx, [me], span.first, span.last).get(me, set()),
        review_days(ctx, [me], span.first, span.last).get(me, set()),
        today,
        review_closed(ctx),
    )
    followups = followup_counts(ctx, [me], span.start, span.end, span.at).get(me, FollowupCounts())
    open_followups: Capped | None = None
    if not span.last_week:
        far = datetime.max.replace(tzinfo=UTC)
        todos = sorted(followup_todos(ctx, me), key=lambda t: (t.due or far, t.id))
        open_followups = capped(todos, FOLLOWUP_LIMIT)
    reported = _urgent(ctx, Urgent.member == me, Urgent.created_at >= span.start, Urgent.created_at < span.end)
    taken = _urgent(ctx, Urgent.taken_by == me, Urgent.taken_at >= span.start, Urgent.taken_at < span.end)
    incomplete = [v for v in visits if not v.complete]
    # the way to complete a visit, shown on the latest incomplete one that names its customer
    example = next((v for v in reversed(incomplete) if v.customer is not None), None)
    nothing = not (visits or reviews.filed or reviews.leave or followups.done or reported or taken)
    team = _team_week(ctx, span)
    return ctx.reply(
        "commands/week.md.j2",
        span=span,
        today=today,
        nothing=nothing,
        visits=pick_visits(visits),
        total=len(visits),
        complete=len(visits) - len(incomplete),
        customers=customers,
        new_customers=new_customers,
        example=example,
        reviews=reviews,
        show_reviews=team is None or reviews.filed > 0,  # leaders are not chased for reviews
        followups=followups,
        open_followups=open_followups,
        reported=capped(reported, URGENT_LIMIT),
        taken=capped(taken, URGENT_LIMIT),
        team=team,
    )
