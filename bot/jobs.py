"""The content of every scheduled job: what each one posts at a given time, built from the data.

`scheduler.py` decides when a job runs, skips working-day jobs on days off, keys each run for
exactly-once delivery and commits. This module only reads the records, marks the state a post
stands for (`followup.reminded_at` / `overdue_at`, `urgent.escalation`) in the caller's open
transaction, and renders `templates/jobs/*.md.j2`. No clock reads and no I/O besides the
session: every "now" is `ctx.at`.

Reads are aggregate SQL over indexed columns (date ranges, GROUP BY, COUNT, window functions);
lists shown to the group are capped at `LIST_LIMIT` rows, with the full count from a window
COUNT. DB timestamps are UTC; calendar days are `ctx.at`'s local days turned into UTC ranges.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlmodel
import yaml
from sqlalchemy import and_, case, distinct, false, func, literal, or_, select, union_all, update
from sqlalchemy.sql.elements import ColumnElement

from bot.db import UTCDateTime
from bot.models import (
    Competitor,
    Contact,
    Customer,
    Followup,
    InboundMessage,
    Itinerary,
    Leave,
    Member,
    Opportunity,
    Review,
    StageChange,
    Urgent,
    Visit,
)
from bot.parse import CORE_ITEMS
from bot.parse.entities import find_brands, find_customers
from bot.parse.fields import no_competitor
from bot.parse.kinds import says_no_visit
from bot.parse.text import prepare
from bot.render import Renderer, Trusted
from bot.settings import Settings, ToolkitDoc, parse_time
from bot.workdays import WorkCalendar

POST_MAX_BYTES = 4096  # WeCom: a markdown message's content is at most 4096 bytes of UTF-8
LIST_LIMIT = 15  # rows of one list in a post; the rest is counted ("另有 N 条")
MARK_LIMIT = 100  # follow-ups marked per run at most; the rest goes out at the next run

# visit.decision_role values that make a visit "key feedback" for the stand-up: the decision chain
# that moves a purchase (who decides, who buys, who signs off the specs, the money, the department
# head), not the users and outside experts, whose word is everyday product feedback
STEP_LOOKBACK_DAYS = 60  # how far back a visit's next step may fall due today (bounds the visited_at range)
KEY_ROLES = ("决策者", "采购", "技术把关", "财务", "科室负责人")
STAGES = ("线索", "意向", "方案", "报价", "招标", "签约", "丢单")
OPEN_STAGES = STAGES[:5]
INTENT_STAGES = ("意向", "方案", "报价", "招标", "签约")  # 意向 or later
INTENT_OPEN_STAGES = INTENT_STAGES[:4]
CLOSED_STAGES = ("签约", "丢单")
SIGNED = "签约"
URGENT_OPEN = "open"
URGENT_ACTIVE = ("open", "taken")

_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
CATEGORIES_FILE = Path(__file__).resolve().parent / "data" / "product_lines.yaml"


# ============================================================================ the interface
@dataclass(frozen=True)
class Post:
    content: str  # WeCom markdown (mentions as <@userid> inside content)
    msgtype: str = "markdown"


@dataclass
class JobContext:
    session: sqlmodel.Session  # open write transaction; the caller commits
    settings: Settings
    calendar: WorkCalendar
    renderer: Renderer
    at: datetime  # the run's scheduled time, aware, in settings.tz
    region: str | None = None  # a report for one region only (/周报 华东); None: the whole team

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def local(self) -> datetime:
        """`at` in the team's time zone (a naive `at` is read as local time)."""
        if self.at.tzinfo is None:
            return self.at.replace(tzinfo=self.tz)
        return self.at.astimezone(self.tz)

    @property
    def today(self) -> date:
        return self.local.date()

    def render(self, template: str, **values: Any) -> list[Post]:
        return posts(self.renderer.render(f"jobs/{template}", **values))


@dataclass(frozen=True)
class Job:
    name: str
    working_days_only: bool  # the caller skips such jobs on days off
    build: Callable[[JobContext], list[Post]]  # [] = nothing worth posting this time


# ============================================================================ shared pieces
def split_markdown(text: str, limit: int = POST_MAX_BYTES) -> list[str]:
    """Cut `text` into as few pieces of at most `limit` UTF-8 bytes as possible.

    Pieces break between blank-line separated sections first, then between lines, and
    only a single line longer than the limit is cut inside (at a character boundary).
    """
    out: list[str] = []
    cur = ""

    def fits(piece: str, joiner: str) -> bool:
        nonlocal cur
        candidate = f"{cur}{joiner}{piece}" if cur else piece
        if len(candidate.encode()) <= limit:
            cur = candidate
            return True
        return False

    def flush() -> None:
        nonlocal cur
        if cur.strip():
            out.append(cur.strip("\n"))
        cur = ""

    for section in text.split("\n\n"):
        if fits(section, "\n\n"):
            continue
        flush()
        if fits(section, ""):
            continue
        for line in section.split("\n"):
            if fits(line, "\n"):
                continue
            flush()
            while len(line.encode()) > limit:
                n = len(line.encode()[:limit].decode("utf-8", errors="ignore"))
                out.append(line[:n])
                line = line[n:]
            cur = line
    flush()
    return out


def posts(text: str) -> list[Post]:
    return [Post(piece) for piece in split_markdown(text)]


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local calendar day, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def day_range(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day in UTC."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def _ts(value: datetime) -> ColumnElement[Any]:
    """A timestamp bound with the column type, for comparisons with derived (aggregate) columns."""
    return literal(value, UTCDateTime())


def _first_visited(since: datetime, until: datetime) -> tuple[ColumnElement[bool], ...]:
    """Conditions on Visit joined to Customer: a customer first visited in since..until.

    A new customer is one the team started working on (the bot told the rep 首次拜访), a
    hospital of the admin's directory included; not any name that entered the directory
    (a competitor note or a trip report names hospitals nobody visited).
    """
    return (Visit.first_visit.is_(True), Visit.visited_at >= since, Visit.visited_at < until)


def _conf(settings: Settings, job: str) -> Mapping[str, Any]:
    value = settings.schedule.get(job)
    return value if isinstance(value, Mapping) else {}


def _rule(settings: Settings, key: str, default: int) -> int:
    try:
        return int(settings.rules.get(key, default))
    except (TypeError, ValueError):
        return default


def _weekdays(value: Any, default: Iterable[int]) -> set[int]:
    if not value:
        return set(default)
    items = [value] if isinstance(value, str | int) else list(value)
    out: set[int] = set()
    for item in items:
        if isinstance(item, int):
            out.add(item % 7)
        elif str(item).strip().lower()[:3] in _WEEKDAYS:
            out.add(_WEEKDAYS[str(item).strip().lower()[:3]])
    return out or set(default)


def _total() -> Any:
    """The full count of a limited listing, on every row."""
    return func.count().over().label("total")


@dataclass
class Listing:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.rows))


def _local_row(row: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """A result row as a dict, its timestamps in local time (the `md` filter reads the date as is)."""
    return {k: v.astimezone(tz) if isinstance(v, datetime) else v for k, v in row.items()}


def _listing(
    tz: ZoneInfo, result: Iterable[Any], convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> Listing:
    rows = [_local_row(r._mapping, tz) for r in result]
    total = int(rows[0]["total"]) if rows else 0
    return Listing([convert(r) if convert else r for r in rows], total)


def _link(url: str | None) -> Trusted | str:
    """An admin-configured http(s) link from config.yaml, printed as is; anything else is dropped."""
    url = (url or "").strip()
    ok = url.startswith(("http://", "https://")) and not any(ch in url for ch in " <>()[]\n")
    return Trusted(url) if ok else ""


def _items(raw: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------- the team
@dataclass(frozen=True)
class Person:
    userid: str
    name: str
    role: str
    region: str
    active: bool


class Team:
    """The `member` table (a few dozen rows): names, roles, regions."""

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = list(people)
        self.by_id = {p.userid: p for p in people}

    @classmethod
    def load(cls, session: sqlmodel.Session) -> Team:
        cols = (Member.userid, Member.name, Member.role, Member.region, Member.active)
        rows = session.execute(select(*cols).order_by(Member.id)).all()
        return cls([Person(r[0], r[1] or r[0], r[2], r[3] or "", bool(r[4])) for r in rows])

    def name(self, userid: str | None) -> str:
        if not userid:
            return ""
        p = self.by_id.get(userid)
        return p.name if p else userid

    def region(self, userid: str) -> str:
        p = self.by_id.get(userid)
        return p.region if p else ""

    def userid_named(self, name: str | None) -> str | None:
        """The active member called `name`; None when none or several are.

        `name` is the roster name, or a nickname 小X/老X/阿X whose X is one member's surname alone.
        """
        return named_member(name, [(p.userid, p.name) for p in self.people if p.active])

    @property
    def reps(self) -> list[Person]:
        return [p for p in self.people if p.active and p.role == "rep"]

    @property
    def regions(self) -> list[str]:
        seen: list[str] = []
        for p in self.people:
            if p.active and p.region and p.region not in seen:
                seen.append(p.region)
        return seen

    def leaders(self, region: str | None) -> list[str]:
        """The region's active leaders; every active leader when the region has none."""
        leaders = [p for p in self.people if p.active and p.role == "leader"]
        mine = [p.userid for p in leaders if region and p.region == region]
        return mine or [p.userid for p in leaders]


_NICKNAME_RE = re.compile(r"[小老阿](?P<surname>[\u4e00-\u9fff])")


def named_member(name: str | None, people: Sequence[tuple[str, str]]) -> str | None:
    """The userid among `people` (userid, roster name) that `name` designates, see Team.userid_named."""
    if not name:
        return None
    exact = [uid for uid, full in people if full == name]
    if exact:
        return exact[0] if len(exact) == 1 else None
    nick = _NICKNAME_RE.fullmatch(name)
    if nick is None:
        return None
    # 小李 is 李娜 when she is the only 李 (a two-character roster name could be 小X itself: matched above)
    found = [uid for uid, full in people if len(full) >= 2 and full[0] == nick["surname"]]
    return found[0] if len(found) == 1 else None


LeaveCover = tuple[str, date, date, str]  # (member, first day, last day, who covers)


def leave_covers(session: sqlmodel.Session, members: Iterable[str], first: date, last: date) -> list[LeaveCover]:
    """The leaves of `members` with a cover that overlap `first`..`last`, oldest first."""
    stmt = (
        select(Leave.member, Leave.start, Leave.end, Leave.handover)
        .where(Leave.member.in_(sorted(set(members))), Leave.handover.is_not(None))
        .where(Leave.start <= last, Leave.end >= first)
        .order_by(Leave.id)
    )
    return [(m, start, end, handover) for m, start, end, handover in session.execute(stmt)]


def cover_on(covers: Sequence[LeaveCover], member: str, day: date) -> str | None:
    """Who covers `member` on `day`: the handover of the latest leave that includes the day."""
    found = None
    for who, start, end, handover in covers:
        if who == member and start <= day <= end:
            found = handover
    return found


def on_leave(session: sqlmodel.Session, day: date, evening: bool = False) -> dict[str, str | None]:
    """userid -> who covers, for everyone on leave on `day` (`evening`: still away at the day's end,
    when the review and the visit records are due: not those off only in the morning)."""
    stmt = select(Leave.member, Leave.handover).where(Leave.start <= day, Leave.end >= day).order_by(Leave.id)
    if evening:
        stmt = stmt.where(or_(Leave.part.is_(None), Leave.part != "am"))
    out: dict[str, str | None] = {}
    for member, handover in session.execute(stmt):
        out[member] = handover or out.get(member)
    return out


def leave_parts(session: sqlmodel.Session, day: date) -> dict[str, str | None]:
    """userid -> the half of `day` their leave takes ("am", "pm", "half"), None for the whole day."""
    stmt = select(Leave.member, Leave.part).where(Leave.start <= day, Leave.end >= day).order_by(Leave.id)
    out: dict[str, str | None] = {}
    for member, part in session.execute(stmt):
        out[member] = None if member in out and out[member] is None else part
    return out


# ============================================================================ morning_agenda
def previous_meeting(
    day: date, weekdays: set[int], calendar: WorkCalendar, meeting: time, tz: ZoneInfo
) -> datetime | None:
    """The last meeting before `day`: the latest earlier meeting weekday that is a working day."""
    d = day
    for _ in range(62):
        d -= timedelta(days=1)
        if d.weekday() in weekdays and calendar.is_workday(d):
            return datetime.combine(d, meeting, tz)
    return None


def morning_agenda(ctx: JobContext) -> list[Post]:
    s, tz, at, today = ctx.session, ctx.tz, ctx.local, ctx.today
    conf = _conf(ctx.settings, "morning_agenda")
    meeting = parse_time(str(conf.get("meeting_time") or "08:40"))
    minutes = int(conf.get("minutes") or 30)
    weekdays = _weekdays(conf.get("days"), (0, 2, 4))
    since = previous_meeting(today, weekdays, ctx.calendar, meeting, tz) or at - timedelta(days=7)
    day_start, day_end = day_range(today, tz)
    team = Team.load(s)

    key_visits = _listing(
        tz,
        s.execute(
            select(
                Visit.member,
                Visit.visited_at,
                Customer.name.label("customer"),
                Visit.department,
                Contact.name.label("contact"),
                Visit.decision_role,
                Visit.pain_points,
                Visit.next_action,
                Visit.due,
                _total(),
            )
            .select_from(Visit)
            .outerjoin(Customer, Customer.id == Visit.customer_id)
            .outerjoin(Contact, Contact.id == Visit.contact_id)
            .outerjoin(InboundMessage, InboundMessage.id == Visit.message_id)
            .where(
                # made since the last meeting, or told since then of a day before it ("周三去了…" on Friday)
                Visit.visited_at >= since - timedelta(days=7),
                or_(Visit.visited_at >= since, InboundMessage.received_at >= since),
                Visit.visited_at < at,
                Visit.decision_role.in_(KEY_ROLES),
            )
            .order_by(Visit.visited_at, Visit.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    stage_changes = _listing(
        tz,
        s.execute(
            select(
                StageChange.from_stage,
                StageChange.to_stage,
                StageChange.changed_at,
                Customer.name.label("customer"),
                Opportunity.product_line,
                _total(),
            )
            .select_from(StageChange)
            .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
            .join(Customer, Customer.id == Opportunity.customer_id)
            # to_stage IN (every stage) lets the (to_stage, changed_at) index serve the time range
            .where(StageChange.to_stage.in_(STAGES), StageChange.changed_at >= since, StageChange.changed_at < at)
            .order_by(StageChange.changed_at, StageChange.id)
            .limit(LIST_LIMIT)
        ),
    )
    new_customers = _listing(
        tz,
        s.execute(
            select(Customer.name, Customer.level, Customer.region, func.min(Visit.member).label("by_member"), _total())
            .select_from(Visit)
            .join(Customer, Customer.id == Visit.customer_id)
            .where(*_first_visited(since, at))
            .group_by(Customer.id, Customer.name, Customer.level, Customer.region)
            .order_by(func.min(Visit.visited_at), Customer.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "by": team.name(r["by_member"])},
    )
    trips = _listing(
        tz,
        s.execute(
            select(Itinerary.member, Customer.name.label("customer"), Itinerary.department, _total())
            .select_from(Itinerary)
            .outerjoin(Customer, Customer.id == Itinerary.customer_id)
            .where(Itinerary.trip_date == today)
            .order_by(Itinerary.member, Itinerary.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    due_today = _listing(
        tz,
        s.execute(
            select(Followup.member, Followup.kind, Followup.due_at, Customer.name.label("customer"), _total())
            .select_from(Followup)
            .outerjoin(Customer, Customer.id == Followup.customer_id)
            .where(Followup.status == "open", Followup.due_at >= day_start, Followup.due_at < day_end)
            .order_by(Followup.due_at, Followup.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    # next steps the visits of the last weeks set for today ("下周一报价" written on a Friday)
    steps_today = _listing(
        tz,
        s.execute(
            select(Visit.member, Customer.name.label("customer"), Visit.department, Visit.next_action, _total())
            .select_from(Visit)
            .outerjoin(Customer, Customer.id == Visit.customer_id)
            .where(Visit.visited_at >= at - timedelta(days=STEP_LOOKBACK_DAYS), Visit.visited_at < day_start)
            .where(Visit.due == today, Visit.next_action.is_not(None))
            .order_by(Visit.member, Visit.visited_at, Visit.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    urgent = _listing(
        tz,
        s.execute(
            select(
                Urgent.id,
                Urgent.status,
                Urgent.member,
                Urgent.taken_by,
                Urgent.items,
                Urgent.department,
                Urgent.created_at,
                Customer.name.label("customer"),
                _total(),
            )
            .select_from(Urgent)
            .outerjoin(Customer, Customer.id == Urgent.customer_id)
            .where(Urgent.status.in_(URGENT_ACTIVE))
            .order_by(Urgent.created_at, Urgent.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {
            **r,
            "name": team.name(r["member"]),
            "taker": team.name(r["taken_by"]),
            "products": _items(r["items"]),
        },
    )
    overdue = _listing(
        tz,
        s.execute(
            select(Followup.member, Followup.kind, Followup.due_at, Customer.name.label("customer"), _total())
            .select_from(Followup)
            .outerjoin(Customer, Customer.id == Followup.customer_id)
            .where(Followup.status == "open", Followup.due_at < at)
            .order_by(Followup.due_at, Followup.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    # targets missed since the last meeting, with the reason and the remedy the rep gave
    missed = _listing(
        tz,
        s.execute(
            select(Review.member, Review.review_date, Review.reason, Review.remedy, _total())
            .where(Review.target_met == false(), Review.posted_at >= since, Review.posted_at < at)
            .order_by(Review.review_date, Review.id)
            .limit(LIST_LIMIT)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    week_ago = at - timedelta(days=7)
    competitors = _listing(
        tz,
        s.execute(
            select(
                Competitor.brand,
                Competitor.activity,
                Competitor.region,
                Competitor.reported_at,
                Customer.name.label("customer"),
                _total(),
            )
            .select_from(Competitor)
            .outerjoin(Customer, Customer.id == Competitor.customer_id)
            .where(Competitor.reported_at >= week_ago, Competitor.reported_at < at)
            .order_by(Competitor.reported_at.desc(), Competitor.id.desc())
            .limit(LIST_LIMIT)
        ),
    )
    parts = leave_parts(s, today)
    leave = [
        {"name": team.name(uid), "handover": handover, "part": parts.get(uid)}
        for uid, handover in on_leave(s, today).items()
    ]
    start = datetime.combine(today, meeting, tz)
    link = str(conf.get("link") or "")
    return ctx.render(
        "morning_agenda.md.j2",
        today=today,
        since=since,
        meeting_start=start,
        meeting_end=start + timedelta(minutes=minutes),
        link=_link(link),
        key_visits=key_visits,
        key_roles=KEY_ROLES,
        stage_changes=stage_changes,
        new_customers=new_customers,
        trips=trips,
        due_today=due_today,
        steps_today=steps_today,
        urgent=urgent,
        overdue=overdue,
        missed=missed,
        competitors=competitors,
        leave=leave,
    )


# ============================================================================ end of day
def _visits_today(ctx: JobContext) -> dict[str, tuple[int, int]]:
    """userid -> (visits, complete visits) recorded today."""
    start, end = day_range(ctx.today, ctx.tz)
    stmt = (
        select(Visit.member, func.count(), func.sum(case((Visit.complete, 1), else_=0)))
        .where(Visit.visited_at >= start, Visit.visited_at < end)
        .group_by(Visit.member)
    )
    return {m: (int(n), int(c or 0)) for m, n, c in ctx.session.execute(stmt)}


def _reviewed_today(ctx: JobContext) -> set[str]:
    stmt = select(Review.member).where(Review.review_date == ctx.today).distinct()
    return set(ctx.session.execute(stmt).scalars())


def eod_review(ctx: JobContext) -> list[Post]:
    team = Team.load(ctx.session)
    away = on_leave(ctx.session, ctx.today, evening=True)
    expected = [p for p in team.reps if p.userid not in away]
    reviewed = _reviewed_today(ctx)
    visits = _visits_today(ctx)
    return ctx.render(
        "eod_review.md.j2",
        today=ctx.today,
        visits=sum(n for n, _c in visits.values()),
        visitors=len(visits),
        expected=len(expected),
        reviewed=sum(1 for p in expected if p.userid in reviewed),
    )


def eod_chase(ctx: JobContext) -> list[Post]:
    """@ the active reps without a review today; reps on leave today are excused (not those off
    only in the morning)."""
    team = Team.load(ctx.session)
    away = on_leave(ctx.session, ctx.today, evening=True)
    reviewed = _reviewed_today(ctx)
    missing = [p for p in team.reps if p.userid not in away and p.userid not in reviewed]
    if not missing:
        return []
    return ctx.render("eod_chase.md.j2", today=ctx.today, missing=[p.userid for p in missing])


NONE_TODAY = "visits.none_today"  # the handler that takes "今天没有拜访"


def _no_visits_said_today(ctx: JobContext) -> set[str]:
    """Members who said today they made no visits (a day in the office): in their review, or in a
    message of its own ("今天没有拜访", handled by visits.none_today)."""
    stmt = select(Review.member, Review.raw_text).where(Review.review_date == ctx.today)
    said = {m for m, text in ctx.session.execute(stmt) if says_no_visit(text or "")}
    start, end = day_range(ctx.today, ctx.tz)
    told = select(InboundMessage.sender).where(
        InboundMessage.received_at >= start, InboundMessage.received_at < end, InboundMessage.handler == NONE_TODAY
    )
    return said | set(ctx.session.execute(told).scalars())


def crm_deadline(ctx: JobContext) -> list[Post]:
    """@ reps with no visit today (leave excused), each incomplete record of today, one line of totals."""
    s = ctx.session
    team = Team.load(s)
    away = on_leave(s, ctx.today, evening=True)
    visits = _visits_today(ctx)
    inside = _no_visits_said_today(ctx)  # "今天在公司做标书，没有出去拜访": nothing to record
    missing_reps = [p.userid for p in team.reps if p.userid not in away and p.userid not in visits.keys() | inside]
    start, end = day_range(ctx.today, ctx.tz)
    rows = s.execute(
        select(
            Visit.id,
            Visit.member,
            Visit.visited_at,
            Visit.department,
            Customer.name.label("customer"),
            *(getattr(Visit, item) for item in CORE_ITEMS),
            _total(),
        )
        .select_from(Visit)
        .outerjoin(Customer, Customer.id == Visit.customer_id)
        .where(Visit.visited_at >= start, Visit.visited_at < end, Visit.complete == false())
        .order_by(Visit.member, Visit.visited_at, Visit.id)
        .limit(LIST_LIMIT * 4)
    )
    incomplete = _listing(
        ctx.tz,
        rows,
        lambda r: {
            **r,
            "name": team.name(r["member"]),
            # a visit to nobody named lacks its customer first (not complete until it is named)
            "missing": [
                *(["customer"] if r["customer"] is None else []),
                *(item for item in CORE_ITEMS if not (r[item] or "").strip()),
            ],  # fmt: skip
        },
    )
    total = sum(n for n, _c in visits.values())
    complete = sum(c for _n, c in visits.values())
    return ctx.render(
        "crm_deadline.md.j2",
        today=ctx.today,
        at=ctx.local,
        missing_reps=missing_reps,
        incomplete=incomplete,
        total=total,
        complete=complete,
        rate=complete / total if total else None,
        expected=len([p for p in team.reps if p.userid not in away]),
        recorded=len([p for p in team.reps if p.userid not in away and p.userid in visits]),
        away=[p.name for p in team.reps if p.userid in away],
    )


# ============================================================================ weekly_report
@dataclass(frozen=True)
class Categories:
    product_lines: dict[str, tuple[str, ...]]
    problems: dict[str, tuple[str, ...]]
    other_problems: str = "other"  # the name of the pain points no category matched


@lru_cache(maxsize=4)
def load_categories(path: Path = CATEGORIES_FILE) -> Categories:
    """bot/data/product_lines.yaml: keyword groups for needs (product lines) and common problems."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    raw = raw or {}

    def groups(key: str) -> dict[str, tuple[str, ...]]:
        section = raw.get(key) or {}
        return {str(k): tuple(str(w) for w in (v or []) if str(w)) for k, v in section.items() if v}

    return Categories(groups("product_lines"), groups("problems"), str(raw.get("other_problems") or "other"))


def _matches(text: Any, keywords: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """`text` contains one of the keywords, case-sensitively (SQLite's LIKE ignores ASCII case, and
    "CT" would match the "product" key of urgent items or an English "doctor")."""
    if dialect == "sqlite":
        return or_(*(func.instr(text, k) > 0 for k in keywords))
    if dialect == "postgresql":
        return or_(*(func.strpos(text, k) > 0 for k in keywords))
    return or_(*(text.contains(k, autoescape=True) for k in keywords))


def _unmatched_examples(
    session: sqlmodel.Session, rows: Any, groups: Mapping[str, Sequence[str]], limit: int = 3
) -> dict[str, list[str]]:
    """region -> a few texts no group matched (the weekly report's 其他, so a leader sees what they are)."""
    every = [k for g in groups.values() for k in g]
    if not every:
        return {}
    dialect = session.get_bind().dialect.name
    out: dict[str, list[str]] = defaultdict(list)
    stmt = select(rows.c.region, rows.c.text).where(~_matches(rows.c.text, every, dialect)).limit(limit * 20)
    for region, text in session.execute(stmt):
        shown = out[region or ""]
        if text and len(shown) < limit and text not in shown:
            shown.append(text if len(text) <= 16 else text[:15] + "…")
    return out


def _keyword_counts(
    session: sqlmodel.Session, rows: Any, groups: Mapping[str, Sequence[str]], other: str | None = None
) -> dict[str, dict[str, tuple[int, int]]]:
    """region -> group -> (distinct customers, mentions) over a subquery of (region, customer_id, text);
    `other`: the name of a last group for the texts no group matched.

    Each text's match with each group is computed once per row in an inner query; the outer
    query only counts flags.
    """
    if not groups:
        return {}
    names = list(groups)
    dialect = session.get_bind().dialect.name
    flags = [case((_matches(rows.c.text, groups[g], dialect), 1), else_=0).label(f"g{i}") for i, g in enumerate(names)]
    if other is not None:
        every = [k for g in names for k in groups[g]]
        flags.append(case((_matches(rows.c.text, every, dialect), 0), else_=1).label(f"g{len(names)}"))
        names.append(other)
    inner = select(rows.c.region, rows.c.customer_id, *flags).subquery()
    aggs = []
    for i in range(len(names)):
        flag = inner.c[f"g{i}"]
        aggs += [func.count(distinct(case((flag == 1, inner.c.customer_id)))), func.sum(flag)]
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in session.execute(select(inner.c.region, *aggs).group_by(inner.c.region)):
        region = row[0] or ""
        for i, name in enumerate(names):
            customers, mentions = int(row[1 + 2 * i] or 0), int(row[2 + 2 * i] or 0)
            if mentions:
                out[region][name] = (customers, mentions)
    return out


_NOT_IN_RE = re.compile(r"没有|没|无|不是|暂无")  # just before a brand: "没有迈瑞的产品"
_NOT_IN_AFTER_RE = re.compile(r".{0,6}?(?:没|未)(?:进|中|成|用)")  # after it: "飞利浦来推过没进院"


def brand_counts(rows: Iterable[tuple[str | None, int | None, str]]) -> dict[str, dict[str, tuple[int, int]]]:
    """region -> brand -> (customers, visits) from (region, customer id, competitor item) rows.

    A brand counts once per visit that names it; a visit with no customer counts as a visit but
    as no customer (it may well be one already counted).
    """
    seen: dict[tuple[str, str], tuple[set[Any], int]] = {}
    for region, customer_id, text in rows:
        if no_competitor(text):  # "暂无竞品，之前飞利浦来推过没进院": nobody is in
            continue
        prepared = prepare(text)
        found = find_brands(prepared.raw, prepared.norm, find_customers(prepared.flat, prepared.norm))
        named = [f.text for f in found if not _NOT_IN_RE.search(prepared.norm, max(0, f.start - 3), f.start)
                 and not _NOT_IN_AFTER_RE.match(prepared.norm, f.end)]  # fmt: skip
        for brand in dict.fromkeys(named):
            customers, n = seen.get((region or "", brand), (set(), 0))
            if customer_id is not None:
                customers.add(customer_id)
            seen[(region or "", brand)] = (customers, n + 1)
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for (region, brand), (customers, n) in seen.items():
        out[region][brand] = (len(customers), n)
    return out


def _visit_region() -> Any:
    """A visit's region: its customer's when it names one, else the rep's."""
    return case((Visit.customer_id.is_not(None), Customer.region), else_=func.coalesce(Member.region, "")).label(
        "region"
    )


def _days_between(a: Any, b: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return func.julianday(b) - func.julianday(a)
    return func.extract("epoch", b - a) / 86400.0


def funnel_conversion(
    session: sqlmodel.Session, months: Sequence[tuple[datetime, datetime]]
) -> dict[str, list[tuple[int, int, float, int]]]:
    """region -> per month [(signed N, intent D, sum of days intent→signed, signed with days)].

    Definitions, per month M = [start, end):
    - an opportunity's *intent time* is when it first reached 意向 or a later stage (方案, 报价,
      招标, 签约): the first stage_change to one of them, else its opened_at when its current
      stage is one of them (an opportunity created at that stage without a change row);
    - its *close time*, only when its current stage is 签约 or 丢单, is the latest stage_change
      to one of them (else its closed_at, else updated_at); an open opportunity has none;
    - D(M), "at or reached 意向 in M": opportunities whose intent time is before the end of M
      and that were not closed before M started, i.e. in the pipeline at 意向 or later at some
      moment of M;
    - N(M), "reached 签约 in M": opportunities with a stage_change to 签约 inside M. Each of
      them is also in D(M) (signing is itself reaching 意向-or-later), so N ≤ D;
    - conversion(M) = N(M) / D(M);
    - signing cycle(M) = the mean over N(M) of (signing time − intent time) in days (0 for
      an opportunity that jumped straight to 签约).

    The region is the customer's. Reading assumes `opportunity.updated_at` is at least the time
    of its latest stage change. An opportunity untouched since before the first month began is
    *static*: its current stage held through every month, so it is in each D(M) exactly when
    that stage is an open one from 意向 on, and it is counted per stage from the (stage,
    updated_at) index alone. Only opportunities touched since then are joined to their stage
    changes, so the cost follows the last weeks' activity, not the size of the pipeline.
    """
    dialect = session.get_bind().dialect.name
    earliest = min(start for start, _end in months)
    o, sc = Opportunity, StageChange
    out: dict[str, list[tuple[int, int, float, int]]] = {}

    static = (
        select(Customer.region, func.count())
        .select_from(o)
        .join(Customer, Customer.id == o.customer_id)
        .where(o.stage.in_(INTENT_OPEN_STAGES), o.updated_at < earliest)
        .group_by(Customer.region)
    )
    for region, n in session.execute(static):
        out[region or ""] = [(0, int(n), 0.0, 0) for _ in months]

    first_intent = func.min(case((sc.to_stage.in_(INTENT_STAGES), sc.changed_at)))
    signed = func.max(case((sc.to_stage == SIGNED, sc.changed_at)))
    last_close = func.max(case((sc.to_stage.in_(CLOSED_STAGES), sc.changed_at)))
    per_opp = (
        select(
            Customer.region.label("region"),
            func.coalesce(first_intent, case((o.stage.in_(INTENT_STAGES), o.opened_at))).label("intent_at"),
            func.coalesce(signed, case((o.stage == SIGNED, func.coalesce(o.closed_at, o.updated_at)))).label(
                "signed_at"
            ),
            case((o.stage.in_(CLOSED_STAGES), func.coalesce(last_close, o.closed_at, o.updated_at))).label("closed_at"),
        )
        .select_from(o)
        .join(Customer, Customer.id == o.customer_id)
        .outerjoin(sc, sc.opportunity_id == o.id)
        # stage IN (every stage) lets the (stage, updated_at) index serve the time range
        .where(o.stage.in_(STAGES), o.updated_at >= earliest)
        .group_by(o.id, Customer.region, o.stage, o.opened_at, o.closed_at, o.updated_at)
        .subquery()
    )
    p = per_opp.c
    aggs: list[Any] = []
    for start, end in months:
        s_, e_ = _ts(start), _ts(end)
        signed_in = and_(p.signed_at >= s_, p.signed_at < e_)
        in_pipeline = and_(p.intent_at < e_, or_(p.closed_at.is_(None), p.closed_at >= s_))
        days = _days_between(p.intent_at, p.signed_at, dialect)
        aggs += [
            func.sum(case((signed_in, 1), else_=0)),
            func.sum(case((in_pipeline, 1), else_=0)),
            func.sum(case((and_(signed_in, p.intent_at.is_not(None)), days), else_=0)),
            func.sum(case((and_(signed_in, p.intent_at.is_not(None)), 1), else_=0)),
        ]
    for row in session.execute(select(p.region, *aggs).group_by(p.region)):
        vals = list(row[1:])
        region = row[0] or ""
        base = out.get(region) or [(0, 0, 0.0, 0) for _ in months]
        out[region] = [
            (
                base[i][0] + int(vals[4 * i] or 0),
                base[i][1] + int(vals[4 * i + 1] or 0),
                base[i][2] + float(vals[4 * i + 2] or 0),
                base[i][3] + int(vals[4 * i + 3] or 0),
            )
            for i in range(len(months))
        ]
    return out


def _with_examples(
    rows: list[dict[str, Any]], other: str, unmatched: Mapping[str, list[str]], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """The problem rows with the unmatched ones (`other`) last, carrying a few of their texts."""
    others = [r for r in rows if r["name"] == other]
    for r in rows:
        r["examples"] = [t for k in keys for t in unmatched.get(k, [])][:3] if r["name"] == other else []
    return [r for r in rows if r["name"] != other] + others


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _rate(n: int, d: int) -> float | None:
    return n / d if d else None


def _conversion_view(n: int, d: int, days: float, with_days: int) -> dict[str, Any]:
    return {"signed": n, "intent": d, "rate": _rate(n, d), "days": days / with_days if with_days else None}


def previous_report(monday: date, conf: Mapping[str, Any], tz: ZoneInfo) -> datetime:
    """The last scheduled weekly report before the week of `monday` (its `days` and `time`)."""
    days = _weekdays(conf.get("days"), (4,))
    at = parse_time(str(conf.get("time") or "15:30"))
    for back in range(1, 8):
        d = monday - timedelta(days=back)
        if d.weekday() in days:
            return datetime.combine(d, at, tz)
    return local_midnight(monday, tz)


def weekly_report(ctx: JobContext) -> list[Post]:
    s, tz, at, today = ctx.session, ctx.tz, ctx.local, ctx.today
    conf = _conf(ctx.settings, "weekly_report")
    monday = today - timedelta(days=today.weekday())
    # the week runs from the previous report (last Friday 15:30), so what was filed after it, on
    # Friday evening or at the weekend, is in this report and not lost between the two
    week_start = previous_report(monday, conf, tz)
    this_month = local_midnight(_month_start(today), tz)
    last_month = local_midnight(_month_start(_month_start(today) - timedelta(days=1)), tz)
    team = Team.load(s)
    cats = load_categories()

    # customer portrait: new customers this week by level
    portrait: dict[str, dict[str | None, int]] = defaultdict(dict)
    for region, level, n in s.execute(
        select(Customer.region, Customer.level, func.count(distinct(Customer.id)))
        .select_from(Visit)
        .join(Customer, Customer.id == Visit.customer_id)
        .where(*_first_visited(week_start, at))
        .group_by(Customer.region, Customer.level)
    ):
        portrait[region or ""][level] = int(n)

    # needs by product line: this week's visit pain points and urgent items
    visit_texts = (
        select(_visit_region(), Visit.customer_id.label("customer_id"), Visit.pain_points.label("text"))
        .select_from(Visit)
        .outerjoin(Customer, Customer.id == Visit.customer_id)
        .outerjoin(Member, Member.userid == Visit.member)
        .where(Visit.visited_at >= week_start, Visit.visited_at < at, Visit.pain_points.is_not(None))
    )
    urgent_texts = (
        select(
            case((Urgent.customer_id.is_not(None), Customer.region), else_=Urgent.region).label("region"),
            Urgent.customer_id.label("customer_id"),
            Urgent.items.label("text"),
        )
        .select_from(Urgent)
        .outerjoin(Customer, Customer.id == Urgent.customer_id)
        # status IN (every status) lets the (status, created_at) index serve the time range
        .where(Urgent.status.in_(("open", "taken", "done")), Urgent.created_at >= week_start, Urgent.created_at < at)
    )
    needs = _keyword_counts(s, union_all(visit_texts, urgent_texts).subquery(), cats.product_lines)
    problems = _keyword_counts(s, visit_texts.subquery(), cats.problems, other=cats.other_problems)
    unmatched = _unmatched_examples(s, visit_texts.subquery(), cats.problems)
    # competitor penetration: the brands this week's visit records name in their competitor item
    penetration = brand_counts(
        s.execute(
            select(_visit_region(), Visit.customer_id, Visit.competitor)
            .select_from(Visit)
            .outerjoin(Customer, Customer.id == Visit.customer_id)
            .outerjoin(Member, Member.userid == Visit.member)
            .where(Visit.visited_at >= week_start, Visit.visited_at < at, Visit.competitor.is_not(None))
        )
    )

    # funnel: open opportunities per stage, this week's signed/lost, conversion and cycle by month
    stages: dict[str, dict[str, int]] = defaultdict(dict)
    for region, stage, n in s.execute(
        select(Customer.region, Opportunity.stage, func.count())
        .select_from(Opportunity)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(Opportunity.stage.in_(OPEN_STAGES))
        .group_by(Customer.region, Opportunity.stage)
    ):
        stages[region or ""][stage] = int(n)
    closed_week: dict[str, dict[str, int]] = defaultdict(dict)
    for region, stage, n in s.execute(
        select(Customer.region, StageChange.to_stage, func.count(distinct(StageChange.opportunity_id)))
        .select_from(StageChange)
        .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(
            StageChange.to_stage.in_(CLOSED_STAGES), StageChange.changed_at >= week_start, StageChange.changed_at < at
        )
        .group_by(Customer.region, StageChange.to_stage)
    ):
        closed_week[region or ""][stage] = int(n)
    conversion = funnel_conversion(s, [(this_month, at), (last_month, this_month)])

    # competitor digest: per brand, this week's count and latest move
    comp = Competitor
    key = (comp.region, comp.brand)
    latest = (
        select(
            comp.region,
            comp.brand,
            comp.activity,
            comp.reported_at,
            Customer.name.label("customer"),
            func.row_number().over(partition_by=key, order_by=(comp.reported_at.desc(), comp.id.desc())).label("rn"),
            func.count().over(partition_by=key).label("n"),
        )
        .select_from(comp)
        .outerjoin(Customer, Customer.id == comp.customer_id)
        .where(comp.reported_at >= week_start, comp.reported_at < at)
        .subquery()
    )
    competitors: dict[str, dict[str | None, dict[str, Any]]] = defaultdict(dict)
    for r in s.execute(select(latest).where(latest.c.rn == 1)).mappings():
        competitors[r["region"] or ""][r["brand"]] = _local_row(r, tz)

    # team activity: visits and complete records per rep this week
    activity: dict[str, tuple[int, int]] = {}
    for member, n, c in s.execute(
        select(Visit.member, func.count(), func.sum(case((Visit.complete, 1), else_=0)))
        .where(Visit.visited_at >= week_start, Visit.visited_at < at)
        .group_by(Visit.member)
    ):
        activity[member] = (int(n), int(c or 0))

    regions = list(team.regions)
    for source in (portrait, needs, problems, penetration, stages, closed_week, conversion, competitors):
        for region in source:
            if region not in regions:
                regions.append(region)
    for member in activity:
        if team.region(member) not in regions:
            regions.append(team.region(member))
    named = [r for r in regions if r]
    ordered = named + ([""] if "" in regions else [])

    def scope(region: str | None) -> dict[str, Any]:
        keys = ordered if region is None else [region]

        def merged(source: Mapping[str, Mapping[Any, int]]) -> dict[Any, int]:
            out: dict[Any, int] = defaultdict(int)
            for k in keys:
                for name, n in source.get(k, {}).items():
                    out[name] += n
            return out

        levels = merged(portrait)
        new_total = sum(levels.values())
        level_rows = [
            {"level": level, "count": n, "share": n / new_total}
            for level, n in sorted(levels.items(), key=lambda kv: (-kv[1], _level_order(kv[0])))
        ]

        def ranked(source: Mapping[str, Mapping[str, tuple[int, int]]], order: Sequence[str]) -> list[dict[str, Any]]:
            acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for k in keys:
                for name, (cust, mentions) in source.get(k, {}).items():
                    acc[name][0] += cust
                    acc[name][1] += mentions
            rows = [{"name": n, "customers": v[0], "mentions": v[1]} for n, v in acc.items()]
            rows.sort(key=lambda r: (-r["customers"], -r["mentions"], list(order).index(r["name"])))
            return rows

        need_rows = ranked(needs, list(cats.product_lines))
        penetration_rows = ranked(penetration, sorted({b for k in keys for b in penetration.get(k, {})}))
        mention_total = sum(r["mentions"] for r in need_rows)
        for r in need_rows:
            r["share"] = r["mentions"] / mention_total if mention_total else 0.0
        stage_counts = merged(stages)
        closed = merged(closed_week)
        conv = [[0, 0, 0.0, 0], [0, 0, 0.0, 0]]
        for k in keys:
            for i, vals in enumerate(conversion.get(k, [])):
                conv[i] = [a + b for a, b in zip(conv[i], vals, strict=True)]
        brands: dict[str | None, dict[str, Any]] = {}
        for k in keys:
            for brand, row in competitors.get(k, {}).items():
                prev = brands.get(brand)
                if prev is None:
                    brands[brand] = {**row, "n": row["n"]}
                else:
                    newer = row if row["reported_at"] > prev["reported_at"] else prev
                    brands[brand] = {**newer, "n": prev["n"] + row["n"]}
        brand_rows = sorted(brands.values(), key=lambda r: (-r["n"], -r["reported_at"].timestamp()))
        in_scope = [p for p in team.reps if region is None or p.region == region]
        listed = {p.userid for p in in_scope}
        in_scope += [
            team.by_id.get(m) or Person(m, m, "rep", "", False)
            for m in activity
            if m not in listed and (region is None or team.region(m) == region)
        ]
        reps = in_scope
        rep_rows = []
        for p in reps:
            n, c = activity.get(p.userid, (0, 0))
            rep_rows.append({"name": p.name, "visits": n, "complete": c, "rate": _rate(c, n)})
        rep_rows.sort(key=lambda r: -r["visits"])
        visits = sum(r["visits"] for r in rep_rows)
        complete = sum(r["complete"] for r in rep_rows)
        if region is None and len(ordered) > 1:  # the total lists regions; each region's post lists its reps
            by_region: dict[str, list[int]] = {k: [0, 0] for k in ordered}
            for p in reps:
                n, c = activity.get(p.userid, (0, 0))
                acc = by_region.setdefault(p.region, [0, 0])
                acc[0] += n
                acc[1] += c
            rep_rows = [
                {"name": k, "region": True, "visits": n, "complete": c, "rate": _rate(c, n)}
                for k, (n, c) in by_region.items()
            ]
        return {
            "region": region,
            "new_total": new_total,
            "levels": level_rows,
            "needs": need_rows,
            "penetration": penetration_rows,
            "stages": [{"stage": st, "count": stage_counts.get(st, 0)} for st in OPEN_STAGES],
            "open_total": sum(stage_counts.values()),
            "signed_week": closed.get(SIGNED, 0),
            "lost_week": closed.get("丢单", 0),
            "this_month": _conversion_view(*conv[0]),
            "last_month": _conversion_view(*conv[1]),
            "problems": _with_examples(
                ranked(problems, [*cats.problems, cats.other_problems]), cats.other_problems, unmatched, keys
            ),
            "competitors": brand_rows,
            "reps": rep_rows,
            "visits": visits,
            "complete": complete,
            "rate": _rate(complete, visits),
        }

    meeting = str(conf.get("meeting_time") or "16:00")
    minutes = int(conf.get("minutes") or 60)
    shown = named if ctx.region is None else [ctx.region]  # one region's report does not list the others
    header = {"monday": monday, "today": today, "meeting": meeting, "minutes": minutes, "regions": shown}
    if ctx.region is not None:
        return ctx.render("weekly_report.md.j2", header=header, s=scope(ctx.region))
    out = ctx.render("weekly_report.md.j2", header=header, s=scope(None))
    if len(ordered) > 1:  # with a single region its section would repeat the total
        for region in ordered:
            out += ctx.render("weekly_report.md.j2", header=None, s=scope(region))
    return out


def _level_order(level: str | None) -> int:
    order = ("三甲", "三级", "二级", "一级", "社区", "民营")
    return order.index(level) if level in order else len(order)


# ============================================================================ followups
def next_followups_run(at: datetime, conf: Mapping[str, Any], calendar: WorkCalendar) -> datetime:
    """When the hourly follow-up job runs next: the next hour inside the window today, else the
    window's first hour on the next working day."""
    start = parse_time(str(conf.get("start_time") or "09:00"))
    end = parse_time(str(conf.get("end_time") or "18:00"))
    nxt = at + timedelta(hours=1)
    if nxt.date() == at.date() and nxt.time() <= end and calendar.is_workday(at.date()):
        return nxt
    return datetime.combine(calendar.next_workday(at.date()), start, at.tzinfo)


REMIND_SUMMARY_AHEAD = timedelta(hours=18)
REMIND_PLAN_AHEAD = timedelta(hours=24)


def followups(ctx: JobContext) -> list[Post]:
    """Remind reps of follow-ups coming due; notify overdue ones with the region's leader. Once each.

    A reminder goes out for open follow-ups not reminded yet that fall due before the next run or
    within the next 18 h (a summary) or 24 h (a plan), whichever is later; sets reminded_at. An
    overdue notice goes out for open follow-ups past due_at not yet notified; sets overdue_at.
    """
    s, at = ctx.session, ctx.local
    next_run = next_followups_run(at, _conf(ctx.settings, "followups"), ctx.calendar)
    # a summary is owed 24 h after the visit: reminded once 18 h or less remain (not an hour after
    # the reply that said so), a plan the day before; either at the last run before it falls due
    coming_by = or_(
        and_(Followup.kind == "summary", Followup.due_at <= max(next_run, at + REMIND_SUMMARY_AHEAD)),
        and_(Followup.kind != "summary", Followup.due_at <= max(next_run, at + REMIND_PLAN_AHEAD)),
    )
    team = Team.load(s)
    cols = (Followup.id, Followup.member, Followup.kind, Followup.due_at, Customer.name.label("customer"))

    def fetch(*where: Any) -> list[dict[str, Any]]:
        stmt = (
            select(*cols)
            .select_from(Followup)
            .outerjoin(Customer, Customer.id == Followup.customer_id)
            .where(Followup.status == "open", *where)
            .order_by(Followup.member, Followup.due_at, Followup.id)
            .limit(MARK_LIMIT)
        )
        return [_local_row(r._mapping, ctx.tz) for r in s.execute(stmt)]

    coming = fetch(Followup.due_at >= at, coming_by, Followup.reminded_at.is_(None))
    late = fetch(Followup.due_at < at, Followup.overdue_at.is_(None))
    covers: list[LeaveCover] = []
    if coming or late:
        days = [at.date(), *(r["due_at"].date() for r in (*coming, *late))]
        covers = leave_covers(s, {r["member"] for r in (*coming, *late)}, min(days), max(days))
    out: list[Post] = []
    if coming:
        s.execute(
            update(Followup)
            .where(Followup.id.in_([r["id"] for r in coming]), Followup.reminded_at.is_(None))
            .values(reminded_at=at)
        )
        out += ctx.render("followup_reminder.md.j2", groups=_by_member(coming, team, covers))
    if late:
        s.execute(
            update(Followup)
            .where(Followup.id.in_([r["id"] for r in late]), Followup.overdue_at.is_(None))
            .values(overdue_at=at)
        )
        groups = _by_member(late, team, covers, on=at.date())  # overdue: who covers today
        for g in groups:
            covering = {c["userid"] for c in g["covers"]}
            g["leaders"] = [u for u in team.leaders(team.region(g["userid"])) if u != g["userid"] and u not in covering]
        out += ctx.render("followup_overdue.md.j2", groups=groups, at=at)
    return out


def _by_member(
    rows: list[dict[str, Any]], team: Team, covers: Sequence[LeaveCover] = (), on: date | None = None
) -> list[dict[str, Any]]:
    """Follow-ups by member; a follow-up due while its member is on leave (or, with `on`, one whose
    member is on leave that day) names who covers (`cover`), and the group lists those covers
    (`covers`: name, and userid when the name is exactly a member's, so the post can @ them)."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        member = r["member"]
        g = groups.setdefault(member, {"userid": member, "name": team.name(member), "rows": [], "covers": []})
        r["cover"] = cover_on(covers, member, on or r["due_at"].date())
        if r["cover"] and all(c["name"] != r["cover"] for c in g["covers"]):
            userid = team.userid_named(r["cover"])
            g["covers"].append({"name": r["cover"], "userid": userid if userid != member else None})
        g["rows"].append(r)
    return list(groups.values())


# ============================================================================ urgent_escalation
def urgent_escalation(ctx: JobContext) -> list[Post]:
    """Open (untaken) urgent demands: @ the region's leaders after urgent_leader_minutes (escalation 1),
    the manager after urgent_manager_minutes (escalation 2; all leaders when no manager is set).

    Each level is posted once. A demand found past the manager's limit that never reached the
    leaders goes straight to level 2, mentioning the region's leaders too.
    """
    s, at = ctx.session, ctx.local
    rules = ctx.settings.rules
    leader_after = timedelta(minutes=_rule(ctx.settings, "urgent_leader_minutes", 15))
    manager_after = timedelta(minutes=_rule(ctx.settings, "urgent_manager_minutes", 60))
    team = Team.load(s)
    manager = rules.get("manager") or []
    managers = [str(m) for m in ([manager] if isinstance(manager, str) else manager) if m]
    rows = (
        s.execute(
            select(
                Urgent.id,
                Urgent.member,
                Urgent.region,
                Urgent.department,
                Urgent.items,
                Urgent.created_at,
                Urgent.escalation,
                Customer.name.label("customer"),
            )
            .select_from(Urgent)
            .outerjoin(Customer, Customer.id == Urgent.customer_id)
            .where(Urgent.status == URGENT_OPEN, Urgent.created_at <= at - leader_after, Urgent.escalation < 2)
            .order_by(Urgent.created_at, Urgent.id)
        )
        .mappings()
        .all()
    )
    out: list[Post] = []
    for r in rows:
        age = at - r["created_at"]
        leaders = [u for u in team.leaders(r["region"] or team.region(r["member"])) if u != r["member"]]
        if age >= manager_after:
            level = 2
            targets = managers or team.leaders(None)
            if r["escalation"] < 1:
                targets = [*targets, *(u for u in leaders if u not in targets)]
        elif r["escalation"] < 1:
            level, targets = 1, leaders
        else:
            continue
        changed = s.execute(
            update(Urgent)
            .where(Urgent.id == r["id"], Urgent.escalation < level, Urgent.status == URGENT_OPEN)
            .values(escalation=level)
        ).rowcount
        if not changed:
            continue
        out += ctx.render(
            "urgent_escalation.md.j2",
            level=level,
            u={**_local_row(r, ctx.tz), "products": _items(r["items"]), "name": team.name(r["member"])},
            minutes=round(age.total_seconds() / 60),  # to the nearest minute: 19:59.5 reads 20
            targets=targets,
        )
    return out


# ============================================================================ itinerary_reminder
def itinerary_reminder(ctx: JobContext) -> list[Post]:
    """Ask for tomorrow's early trips (报备); list those already reported for the next working day."""
    team = Team.load(ctx.session)
    nxt = ctx.calendar.next_workday(ctx.today)
    trips = _listing(
        ctx.tz,
        ctx.session.execute(
            select(
                Itinerary.member, Itinerary.trip_date, Itinerary.department, Customer.name.label("customer"), _total()
            )
            .select_from(Itinerary)
            .outerjoin(Customer, Customer.id == Itinerary.customer_id)
            .where(Itinerary.trip_date > ctx.today, Itinerary.trip_date <= nxt)
            .order_by(Itinerary.trip_date, Itinerary.member, Itinerary.id)
            .limit(LIST_LIMIT * 2)
        ),
        lambda r: {**r, "name": team.name(r["member"])},
    )
    away = on_leave(ctx.session, nxt)
    return ctx.render(
        "itinerary_reminder.md.j2",
        next_day=nxt,
        tomorrow=nxt == ctx.today + timedelta(days=1),
        trips=trips,
        away=[team.name(uid) for uid in away],
    )


# ============================================================================ toolkit_check
def toolkit_windows(settings: Settings) -> tuple[int, int]:
    """(toolkit_expiry_warn_days, toolkit_fresh_days) from the rules."""
    return _rule(settings, "toolkit_expiry_warn_days", 30), _rule(settings, "toolkit_fresh_days", 90)


def doc_state(doc: ToolkitDoc, today: date, warn_days: int, fresh_days: int) -> str:
    """ok | expiring (within `warn_days` of its expiry) | expired | stale (no expiry, version older
    than `fresh_days`). A document with an expiry (a licence, a registration certificate) is
    current until it expires, however old its version date: judging it by freshness too would
    warn every day."""
    if doc.expiry is not None:
        if doc.expiry < today:
            return "expired"
        return "expiring" if doc.expiry <= today + timedelta(days=warn_days) else "ok"
    if doc.version_date is not None and doc.version_date < today - timedelta(days=fresh_days):
        return "stale"
    return "ok"


def toolkit_check(ctx: JobContext) -> list[Post]:
    """Toolkit documents expiring within toolkit_expiry_warn_days (or expired), and documents
    without an expiry whose version is older than toolkit_fresh_days (doc_state); always the
    daily reminder."""
    today = ctx.today
    warn, fresh = toolkit_windows(ctx.settings)
    expiring, stale = [], []
    for doc in ctx.settings.toolkit:
        view = {"doc": doc, "link": _link(doc.link)}
        state = doc_state(doc, today, warn, fresh)
        if state in ("expired", "expiring"):
            expiring.append({**view, "days": (doc.expiry - today).days})  # type: ignore[operator]
        elif state == "stale":
            stale.append({**view, "age": (today - doc.version_date).days})  # type: ignore[operator]
    expiring.sort(key=lambda d: d["days"])
    stale.sort(key=lambda d: -d["age"])
    # versions dated since the last working day's check: announced, so nobody shows an old one
    since = today - timedelta(days=1)
    while since > today - timedelta(days=10) and not ctx.calendar.is_workday(since):
        since -= timedelta(days=1)
    new = [
        {"doc": doc, "link": _link(doc.link)}
        for doc in ctx.settings.toolkit
        if doc.version_date is not None and since <= doc.version_date <= today
    ]
    # the working-day calendar is part of what the bot runs on: a year it does not know (this one, or
    # the next within a month) makes every working-day post and due date fall on holidays too
    unknown = sorted({y for y in (today.year, (today + timedelta(days=31)).year) if not ctx.calendar.knows(y)})
    admins = [p.userid for p in Team.load(ctx.session).people if p.active and p.role == "admin"] if unknown else []
    return ctx.render(
        "toolkit_check.md.j2",
        today=today,
        new=new,
        expiring=expiring,
        stale=stale,
        fresh=fresh,
        count=len(ctx.settings.toolkit),
        unknown_years=unknown,
        admins=admins,
    )


# ============================================================================ the registry
JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("morning_agenda", True, morning_agenda),
        Job("eod_review", True, eod_review),
        Job("eod_chase", True, eod_chase),
        Job("crm_deadline", True, crm_deadline),
        Job("weekly_report", True, weekly_report),
        Job("followups", True, followups),
        Job("urgent_escalation", False, urgent_escalation),
        Job("itinerary_reminder", True, itinerary_reminder),
        Job("toolkit_check", True, toolkit_check),
    )
}

__all__ = ["JOBS", "Job", "JobContext", "Post", "split_markdown"]
