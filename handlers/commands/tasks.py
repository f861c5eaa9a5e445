"""/接单 /完成 /今日 /待办: urgent demands taken and closed, follow-ups done, my day and my list.

Urgent demands are numbered as their alert shows them ("急需 #3": `/接单 3`, `/完成 3`);
follow-ups carry the prefix from the catalog ("跟进12": `/完成 跟进12`), so a number is
never ambiguous. State changes are conditional updates (WHERE status = what was read),
so two people taking the same demand at once cannot both get it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.dispatch import Context, Reply
from bot.jobs import cover_on, leave_covers, named_member, on_leave
from bot.models import Competitor, Customer, Followup, Itinerary, Leave, Member, Review, Urgent, Visit
from handlers.commands.common import (
    audit,
    capped,
    day_start,
    member_names,
    missing_items,
    review_days,
    team_scope,
    visit_counts,
)
from handlers.commands.registry import REGISTRY, Invocation, Usage, implements, normalise

_NUMBER = re.compile(r"^[#＃]?(\d{1,9})$")


def number(args: tuple[str, ...]) -> int:
    if len(args) != 1:
        raise Usage
    m = _NUMBER.match(normalise(args[0]))
    if m is None:
        raise Usage
    return int(m.group(1))


def followup_number(args: tuple[str, ...]) -> int | None:
    """跟进12, 跟进 12, f12 -> 12; None when the arguments name no follow-up."""
    prefixes = [normalise(str(p)).lower() for p in REGISTRY.by_key["done"].extra.get("followup_prefix") or ()]
    joined = normalise("".join(args)).lower()
    for prefix in sorted(prefixes, key=len, reverse=True):
        if joined.startswith(prefix):
            rest = joined[len(prefix) :].lstrip("#")
            if not rest.isdigit():
                raise Usage
            return int(rest)
    return None


def may_mark_done(owner: str | None, sender: str, member: Member | None) -> bool:
    """Whether `sender` may mark someone's task done: its owner, a leader or an admin."""
    return owner == sender or (member is not None and member.role != "rep")


def _urgent(ctx: Context, urgent_id: int) -> dict[str, Any] | None:
    cols = ["id", "member", "customer_id", "department", "items", "status", "taken_by", "taken_at", "due"]
    row = ctx.records.first(Urgent, cols, id=urgent_id)
    if row is None:
        return None
    out = dict(zip(cols, row, strict=True))
    out["items"] = json.loads(out["items"] or "[]")
    name = ctx.records.first(Customer, ["name"], id=out["customer_id"]) if out["customer_id"] else None
    out["customer"] = name[0] if name else None
    return out


@implements("take")
def take(inv: Invocation, ctx: Context) -> Reply:
    """`/接单 3`: I take urgent need #3; `/接单 3 周晓` (a leader or an admin): 周晓 takes it."""
    me = ctx.message.sender
    taker_id = me
    if len(inv.args) == 2 and ctx.member is not None and ctx.member.role in ("leader", "admin"):
        people = [(m.userid, m.name) for m in ctx.members() if m.active and m.name and m.role == "rep"]
        taker_id = named_member(inv.args[1].lstrip("@"), people) or ""
        if not taker_id:
            return ctx.reply("commands/urgent_state.md.j2", state="nobody", urgent_id=inv.args[0], name=inv.args[1])
        inv = Invocation(inv.command, inv.name, inv.args[0], inv.args[:1])
    urgent_id = number(inv.args)
    row = _urgent(ctx, urgent_id)
    if row is None:
        return ctx.reply("commands/urgent_state.md.j2", state="missing", urgent_id=urgent_id)
    names = member_names(ctx)
    if row["status"] != "open":
        return ctx.reply(
            "commands/urgent_state.md.j2",
            state=row["status"],
            urgent=row,
            taker=names.get(row["taken_by"] or "", row["taken_by"]),
            mine=row["taken_by"] == me,
            urgent_id=urgent_id,
        )
    taken = ctx.records.update_where(
        Urgent, {"id": urgent_id, "status": "open"}, status="taken", taken_by=taker_id, taken_at=ctx.now
    )
    if not taken:  # someone else's /接单 got there first
        return ctx.reply(
            "commands/urgent_state.md.j2", state="taken", urgent=row, taker=None, mine=False, urgent_id=urgent_id
        )
    taker = names.get(taker_id, taker_id)
    by = names.get(me, me) if taker_id != me else None  # a leader's assignment says who made it
    notify = [uid for uid in dict.fromkeys((taker_id if by else "", row["member"])) if uid and uid != me]
    ctx.post("commands/urgent_taken_post.md.j2", urgent=row, taker=taker, notify=notify, by=by)
    audit(ctx, "urgent.take", urgent_id=urgent_id, **({"assigned_to": taker_id} if by else {}))
    return ctx.reply("commands/urgent_taken.md.j2", urgent=row, taker=taker if by else None)


@implements("done")
def done(inv: Invocation, ctx: Context) -> Reply:
    followup_id = followup_number(inv.args)
    if followup_id is not None:
        return _followup_done(ctx, followup_id)
    urgent_id = number(inv.args)
    row = _urgent(ctx, urgent_id)
    if row is None:
        return ctx.reply("commands/urgent_state.md.j2", state="missing", urgent_id=urgent_id)
    if row["status"] == "done":
        return ctx.reply(
            "commands/urgent_state.md.j2", state="done", urgent=row, urgent_id=urgent_id, taker=None, mine=False
        )
    me = ctx.message.sender
    # nobody took it: its reporter may close it (solved another way), a leader or an admin; anyone else
    # takes it first, so that a mistyped number (/完成 1 for 跟进1) closes nothing of someone else's
    owner = row["taken_by"] if row["taken_by"] is not None else row["member"]
    if not may_mark_done(owner, me, ctx.member):
        state = "not_mine" if row["taken_by"] is not None else "take_first"
        taker = member_names(ctx).get(row["taken_by"], row["taken_by"])
        return ctx.reply(
            "commands/urgent_state.md.j2", state=state, urgent=row, urgent_id=urgent_id, taker=taker, mine=False
        )
    values: dict[str, Any] = {"status": "done", "done_at": ctx.now}
    if row["taken_by"] is None:
        values.update(taken_by=me, taken_at=ctx.now)
    where = {"id": urgent_id, "status": row["status"], "taken_by": row["taken_by"]}  # nobody took it meanwhile
    if not ctx.records.update_where(Urgent, where, **values):
        return ctx.reply(
            "commands/urgent_state.md.j2", state="done", urgent=row, urgent_id=urgent_id, taker=None, mine=False
        )
    names = member_names(ctx)
    notify = row["member"] if row["member"] != me else None  # not the one who closed it
    ctx.post("commands/urgent_done_post.md.j2", urgent=row, closer=names.get(me, me), notify=notify)
    audit(ctx, "urgent.done", urgent_id=urgent_id, was=row["status"])
    return ctx.reply("commands/urgent_done.md.j2", urgent=row)


def covers(ctx: Context, member: str) -> bool:
    """Whether the sender covers `member` today: named (or nicknamed, 小李) as the handover of their
    leave that includes today."""
    cover = on_leave(ctx.session, ctx.now.date()).get(member)
    if not cover or ctx.member is None:
        return False
    people = [(m.userid, m.name) for m in ctx.members() if m.active and m.name]
    return named_member(cover, people) == ctx.message.sender


def _followup_done(ctx: Context, followup_id: int) -> Reply:
    cols = ["id", "member", "customer_id", "kind", "due_at", "status"]
    found = ctx.records.first(Followup, cols, id=followup_id)
    if found is None:
        return ctx.reply("commands/followup_state.md.j2", state="missing", followup_id=followup_id)
    row = dict(zip(cols, found, strict=True))
    customer = ctx.records.first(Customer, ["name"], id=row["customer_id"]) if row["customer_id"] else None
    row["customer"] = customer[0] if customer else None
    if not may_mark_done(row["member"], ctx.message.sender, ctx.member) and not covers(ctx, row["member"]):
        owner = member_names(ctx).get(row["member"], row["member"])
        return ctx.reply(
            "commands/followup_state.md.j2", state="not_mine", followup=row, owner=owner, followup_id=followup_id
        )
    if row["status"] != "open" or not ctx.records.update_where(
        Followup, {"id": followup_id, "status": "open"}, status="done", done_at=ctx.now
    ):
        return ctx.reply("commands/followup_state.md.j2", state="done", followup=row, followup_id=followup_id)
    audit(ctx, "followup.done", followup_id=followup_id)
    return ctx.reply("commands/followup_done.md.j2", followup={**row, "done": False})


# ----------------------------------------------------------------------------- my day, my list
@implements("today")
def today(inv: Invocation, ctx: Context) -> Reply:
    if inv.args:
        raise Usage
    me, s = ctx.message.sender, ctx.session
    day = ctx.now.date()
    start, end = day_start(ctx, day), day_start(ctx, day + timedelta(days=1))
    visits = []
    for v, customer in s.execute(
        select(Visit, Customer.name)
        .outerjoin(Customer, Customer.id == Visit.customer_id)
        .where(Visit.member == me, Visit.visited_at >= start, Visit.visited_at < end)
        .order_by(Visit.visited_at, Visit.id)
    ):
        visits.append({"visit": v, "customer": customer, "missing": missing_items(v)})

    def count(model: Any, *where: Any) -> int:
        return int(s.execute(select(func.count()).select_from(model).where(model.member == me, *where)).scalar_one())

    counts = {
        "urgent": count(Urgent, Urgent.created_at >= start, Urgent.created_at < end),
        "competitor": count(Competitor, Competitor.reported_at >= start, Competitor.reported_at < end),
        "itinerary": count(Itinerary, Itinerary.reported_at >= start, Itinerary.reported_at < end),
        "leave": count(Leave, Leave.reported_at >= start, Leave.reported_at < end),
    }
    reviewed = count(Review, Review.review_date == day) > 0
    incomplete = [v for v in visits if v["missing"]]
    return ctx.reply(
        "commands/today.md.j2",
        visits=capped(visits),
        incomplete=len(incomplete),
        others=[(k, n) for k, n in counts.items() if n],
        reviewed=reviewed,
        day=day,
        team=_team_today(ctx, day, start, end),
        watch=_leader_watch(ctx),
    )


def _team_today(ctx: Context, day: date, start: datetime, end: datetime) -> dict[str, Any] | None:
    """For a leader, the region's reps today (for an admin, every rep's): visits and how many lack
    core items, the review, a leave. None for a rep."""
    scope = team_scope(ctx)
    if scope is None:
        return None
    visits = visit_counts(ctx, scope.ids, start, end)
    reviewed = review_days(ctx, scope.ids, day, day)
    away = on_leave(ctx.session, day)
    rows = [
        {"name": p.name, "visits": visits.get(p.userid, (0, 0)), "reviewed": p.userid in reviewed,
         "leave": p.userid in away}
        for p in scope.reps
    ]  # fmt: skip
    return {"region": scope.region, "rows": rows}


@dataclass(frozen=True)
class Todo:
    kind: str  # followup | urgent
    id: int
    due: datetime | None
    customer: str | None
    detail: Any
    overdue: bool


@dataclass(frozen=True)
class Covered:
    """A colleague on leave whom the speaker covers today, and the leave's days."""

    member: str
    name: str
    start: date
    end: date


def covered_today(ctx: Context) -> list[Covered]:
    """Whom the sender covers today: members whose leave including today names them as its cover."""
    if ctx.member is None:
        return []
    today = ctx.now.date()
    people = [(m.userid, m.name) for m in ctx.members() if m.active and m.name]
    names = dict(people)
    spans = leave_covers(ctx.session, [uid for uid, _ in people], today, today)
    out = []
    for member in dict.fromkeys(m for m, *_ in spans):
        if member == ctx.message.sender:
            continue
        cover = cover_on(spans, member, today)  # the latest leave that includes today
        if named_member(cover, people) != ctx.message.sender:
            continue
        start, end = next((s, e) for m, s, e, h in reversed(spans) if m == member and s <= today <= e)
        out.append(Covered(member, names.get(member, member), start, end))
    return out


def followup_todos(ctx: Context, member: str, *where: Any) -> list[Todo]:
    """`member`'s open follow-ups (unordered), overdue when their due time is past."""
    tz, now = ctx.settings.tz, ctx.now
    out = []
    for f, customer in ctx.session.execute(
        select(Followup, Customer.name)
        .outerjoin(Customer, Customer.id == Followup.customer_id)
        .where(Followup.member == member, Followup.status == "open", *where)
    ):
        due_at = f.due_at.astimezone(tz)
        out.append(Todo("followup", f.id, due_at, customer, f.kind, due_at < now))
    return out


@implements("todo")
def todo(inv: Invocation, ctx: Context) -> Reply:
    """My open follow-ups and taken urgent demands; and, while I cover a colleague's leave, their
    follow-ups due during it, in a section of their own."""
    if inv.args:
        raise Usage
    me, s, tz, now = ctx.message.sender, ctx.session, ctx.settings.tz, ctx.now
    items = followup_todos(ctx, me)
    for u, customer in s.execute(
        select(Urgent, Customer.name)
        .outerjoin(Customer, Customer.id == Urgent.customer_id)
        .where(Urgent.taken_by == me, Urgent.status == "taken")
    ):
        due = datetime.combine(u.due, time(23, 59), tz) if u.due else None
        detail = {"items": json.loads(u.items or "[]"), "department": u.department}
        items.append(Todo("urgent", u.id, due, customer, detail, due is not None and due < now))
    far = datetime.max.replace(tzinfo=UTC)
    items.sort(key=lambda t: (t.due or far, t.kind, t.id))
    covering = []
    for c in covered_today(ctx):
        end = day_start(ctx, c.end + timedelta(days=1))
        theirs = followup_todos(ctx, c.member, Followup.due_at < end)  # overdue ones included
        if theirs:
            theirs.sort(key=lambda t: (t.due or far, t.id))
            covering.append({"covered": c, "todo": capped(theirs)})
    return ctx.reply(
        "commands/todo.md.j2",
        todo=capped(items),
        total=len(items),
        covering=covering,
        watch=_leader_watch(ctx),
    )


@dataclass(frozen=True)
class Watch:
    """What a leader's /待办 adds: the region's overdue follow-ups and the urgent needs nobody took."""

    region: str | None
    overdue: Any  # capped [(rep's name, Todo)]
    untaken: Any  # capped [Todo]


def _leader_watch(ctx: Context) -> Watch | None:
    scope = team_scope(ctx)
    if scope is None:
        return None
    names = {p.userid: p.name for p in scope.reps}
    tz, now = ctx.settings.tz, ctx.now
    overdue = []
    for f, customer in ctx.session.execute(
        select(Followup, Customer.name)
        .outerjoin(Customer, Customer.id == Followup.customer_id)
        .where(Followup.member.in_(sorted(names)), Followup.status == "open", Followup.due_at < now)
        .order_by(Followup.due_at, Followup.id)
    ):
        overdue.append((names[f.member], Todo("followup", f.id, f.due_at.astimezone(tz), customer, f.kind, True)))
    stmt = (
        select(Urgent, Customer.name)
        .outerjoin(Customer, Customer.id == Urgent.customer_id)
        .where(Urgent.status == "open")
        .order_by(Urgent.id)
    )
    if scope.region is not None:
        stmt = stmt.where(Urgent.region == scope.region)
    untaken = []
    for u, customer in ctx.session.execute(stmt):
        detail = {"items": json.loads(u.items or "[]"), "department": u.department}
        due = datetime.combine(u.due, time(23, 59), tz) if u.due else None
        untaken.append(Todo("urgent", u.id, due, customer, detail, due is not None and due < now))
    return Watch(scope.region, capped(overdue), capped(untaken))
