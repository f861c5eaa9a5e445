"""/周报 and /晨会: the scheduled posts of bot.jobs, built now, as a reply.

The job builds from the current data inside a savepoint that is rolled back, so a preview
never marks state the scheduled run stands for. /晨会 builds the agenda of the next
scheduled meeting post (scheduler.next_fire_time), with the data as it stands now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.dispatch import Context, Reply
from bot.jobs import JOBS, JobContext, Post
from bot.settings import parse_time
from handlers.commands.pipeline import WHOLE_TEAM, regions
from handlers.commands.registry import Invocation, Usage, implements, normalise


def build(ctx: Context, job: str, at: datetime, region: str | None = None) -> list[Post]:
    session = ctx.session
    with session.begin_nested() as preview:
        posts = JOBS[job].build(JobContext(session, ctx.settings, ctx.calendar, ctx.render, at, region=region))
        preview.rollback()
    return posts


def answer(ctx: Context, posts: list[Post], **values: object) -> Reply:
    return ctx.reply("commands/job_posts.md.j2", contents=[p.content for p in posts], **values)


@dataclass(frozen=True)
class WeeklyArgs:
    last_week: bool
    region: str | None


def weekly_args(args: tuple[str, ...], last_week_words: list[str]) -> WeeklyArgs:
    """[上周] [区域], in either order."""
    words = {normalise(w).lower() for w in last_week_words}
    last = [a for a in args if normalise(a).lower() in words]
    rest = [a for a in args if normalise(a).lower() not in words]
    if len(last) > 1 or len(rest) > 1:
        raise Usage
    return WeeklyArgs(bool(last), rest[0] if rest else None)


def last_week_end(today: date, ctx: Context) -> datetime:
    """The last moment of last week's Sunday, local: the report's "now" for 上周 (Monday to Sunday)."""
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), ctx.settings.tz) - timedelta(microseconds=1)


@implements("weekly")
def weekly(inv: Invocation, ctx: Context) -> Reply:
    a = weekly_args(inv.args, [str(w) for w in inv.command.extra.get("last_week") or ()])
    known = regions(ctx)
    region = a.region
    me = ctx.member
    if region is None and me is not None and me.role == "leader" and me.region in known:
        region = me.region  # a regional leader's report is the region's, as /漏斗; "/周报 全团队" for all
    elif region is not None and normalise(region) in WHOLE_TEAM:
        region = None
    if region is not None and region not in known:
        return ctx.reply("commands/region_unknown.md.j2", region=region, regions=known)
    at = last_week_end(ctx.now.date(), ctx) if a.last_week else ctx.now
    posts = build(ctx, "weekly_report", at, region=region)
    return answer(
        ctx,
        posts,
        job="weekly",
        region=region,
        last_week=a.last_week,
        first=at.date() - timedelta(days=at.weekday()),
        last=at.date(),
        week_just_began=not a.last_week and ctx.now.weekday() == 0,
    )


@implements("agenda")
def agenda(inv: Invocation, ctx: Context) -> Reply:
    if inv.args:
        raise Usage
    from scheduler import next_fire_time  # the schedule's own idea of the next meeting post

    # during today's meeting (its agenda posted, the meeting not over) that meeting's agenda, not the next one's
    midnight = datetime.combine(ctx.now.date(), time(0), ctx.settings.tz)
    today = next_fire_time(ctx.settings, "morning_agenda", midnight, ctx.calendar)
    conf = ctx.settings.schedule.get("morning_agenda")
    conf = conf if isinstance(conf, dict) else {}
    starts = parse_time(str(conf.get("meeting_time") or "08:40"))
    ends = datetime.combine(ctx.now.date(), starts, ctx.settings.tz) + timedelta(minutes=int(conf.get("minutes") or 30))
    if today is not None and today.date() == ctx.now.date() and today <= ctx.now < ends:
        at = today
    else:
        at = next_fire_time(ctx.settings, "morning_agenda", ctx.now, ctx.calendar) or ctx.now
    at = at.astimezone(ctx.settings.tz).replace(second=0, microsecond=0)
    return answer(ctx, build(ctx, "morning_agenda", at), job="agenda", at=at)
