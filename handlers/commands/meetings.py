"""/周报 and /晨会: the scheduled posts of bot.jobs, built now, as a reply.

The job builds from the current data inside a savepoint that is rolled back, so a preview
never marks state the scheduled run stands for. /晨会 builds the agenda of the next
scheduled meeting post (scheduler.next_fire_time), with the data as it stands now.
"""

from __future__ import annotations

from datetime import datetime

from bot.dispatch import Context, Reply
from bot.jobs import JOBS, JobContext, Post
from handlers.commands.pipeline import regions
from handlers.commands.registry import Invocation, Usage, implements


def build(ctx: Context, job: str, at: datetime, region: str | None = None) -> list[Post]:
    session = ctx.session
    with session.begin_nested() as preview:
        posts = JOBS[job].build(JobContext(session, ctx.settings, ctx.calendar, ctx.render, at, region=region))
        preview.rollback()
    return posts


def answer(ctx: Context, posts: list[Post], **values: object) -> Reply:
    return ctx.reply("commands/job_posts.md.j2", contents=[p.content for p in posts], **values)


@implements("weekly")
def weekly(inv: Invocation, ctx: Context) -> Reply:
    if len(inv.args) > 1:
        raise Usage
    region = inv.args[0] if inv.args else None
    if region is not None and region not in regions(ctx):
        return ctx.reply("commands/region_unknown.md.j2", region=region, regions=regions(ctx))
    posts = build(ctx, "weekly_report", ctx.now, region=region)
    return answer(ctx, posts, job="weekly", region=region)


@implements("agenda")
def agenda(inv: Invocation, ctx: Context) -> Reply:
    if inv.args:
        raise Usage
    from scheduler import next_fire_time  # the schedule's own idea of the next meeting post

    at = next_fire_time(ctx.settings, "morning_agenda", ctx.now, ctx.calendar) or ctx.now
    at = at.astimezone(ctx.settings.tz).replace(second=0, microsecond=0)
    return answer(ctx, build(ctx, "morning_agenda", at), job="agenda", at=at)
