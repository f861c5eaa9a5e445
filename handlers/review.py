"""The end-of-day review (复盘): target met or not, and if not, why and how it will be made up.

A member has one review a day: a later review message the same day (the reason or the
remedy the bot asked for, "原因：…\n补救：…", or a corrected verdict) completes that
day's review instead of adding a second one. The morning after, a message giving only a
reason and a remedy completes the last review that missed its target without them.

When a review misses its target without saying why or how to make up, the bot asks; for
the next REVIEW_ANSWER_MINUTES a plain reply ("黄主任临时去开会了，没见着", "明天上午再去") is
that answer, read as the rest of the review, as an unlabelled answer to a visit's question is.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import time, timedelta
from typing import Any

from sqlalchemy import select

from bot.dispatch import Context, Handler, Reply
from bot.models import Review
from bot.parse import parse
from bot.parse.fields import mentions_leave, plans_make_up, reports_a_visit
from bot.parse.kinds import acknowledges
from bot.parse.text import sentences
from bot.wecom.inbound import Message
from handlers.attendance import file_leave
from handlers.visits import close_followup, record_visit, says_day_verdict, sent_followup

_FIELDS = ("target_met", "reason", "remedy")


def merge_review(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """The day's review after a later message: what the later one says wins, the rest stays.

    A later message that gives only a reason or a remedy keeps the earlier verdict (it can
    only be "not met"); a review that ends up met has no reason or remedy.
    """
    merged = {name: later.get(name) if later.get(name) is not None else earlier.get(name) for name in _FIELDS}
    if merged["target_met"] is not False:
        merged["reason"] = merged["remedy"] = None
    return merged


# Before this time, a message giving only a reason and a remedy completes the member's last review
# that lacked them (yesterday's, usually) rather than opening today's: reviews come at the end of a day.
MORNING_ENDS = time(12, 0)
_VERDICT_WORDS = re.compile(r"完成|达成|达标|目标|结果|复盘|总结")


def _only_why_and_fix(text: str) -> bool:
    """A message that says why and how to make up, and nothing of a verdict ("原因：…；补救：…")."""
    return _VERDICT_WORDS.search(text) is None


def _last_incomplete(ctx: Context, member: str) -> tuple[Any, ...] | None:
    """The member's latest review of the last few days that missed its target without reason or remedy."""
    stmt = (
        select(Review.id, Review.target_met, Review.reason, Review.remedy, Review.raw_text)
        .where(Review.member == member, Review.review_date < ctx.now.date())
        .where(Review.review_date >= ctx.now.date() - timedelta(days=4))
        .order_by(Review.review_date.desc(), Review.id.desc())
        .limit(1)
    )
    row = ctx.session.execute(stmt).first()
    if row is None or row[1] is not False or (row[2] and row[3]):
        return None
    return tuple(row)


def _is_review(msg: Message, ctx: Context) -> Any:
    return ctx.parsed is not None and ctx.parsed.get("kind") == "review" or None


def _record(msg: Message, _match: Any, ctx: Context) -> Reply:
    return file_review(msg, ctx, ctx.parsed or {})


def file_review(msg: Message, ctx: Context, p: dict[str, Any]) -> Reply:
    """File `p` (a parse of kind review) as the member's review of today, or as more of it."""
    db = ctx.records
    text = msg.text or ""
    day = ctx.now.date()
    if _YESTERDAYS_RE.match(text):  # "补昨天的复盘：…": filed on the day it reviews
        day -= timedelta(days=1)
    earlier = db.first(Review, ["id", *_FIELDS, "raw_text"], member=msg.sender, review_date=day)
    if earlier is None and ctx.now.time() < MORNING_ENDS and _only_why_and_fix(text):
        earlier = _last_incomplete(ctx, msg.sender)  # the morning after: the reason of yesterday's miss
    if earlier is None:
        review = {name: p.get(name) for name in _FIELDS}
        db.insert(
            Review,
            member=msg.sender,
            review_date=day,
            posted_at=ctx.now,
            raw_text=text,
            message_id=ctx.message_row_id,
            **review,
        )
    else:
        review_id, *values, raw_text = earlier
        review = merge_review(dict(zip(_FIELDS, values, strict=True)), p)
        db.update(Review, review_id, raw_text=f"{raw_text}\n{text}" if raw_text else text, **review)
    # "今日复盘：…；宝安中心小结已发。达成": the follow-up it tells of is done too
    sent = sent_followup(ctx, msg.sender, text, p)
    closed = sent if sent is not None and close_followup(ctx, sent) else None
    ack = ctx.reply(
        "review_ack.md.j2", review=review, amended=earlier is not None, day=day, today=ctx.now.date(), closed=closed
    )
    extra = [r for r in (_visit_told_with(msg, text, ctx), _leave_told_with(text, ctx)) if r is not None]
    return Reply("\n".join([ack.content.rstrip(), *(r.content.rstrip() for r in extra)]), ack.format) if extra else ack


# "今日复盘：上午拜访了县妇幼儿科王主任，想要新生儿监护仪…，下周二送资料过去。目标达成": the review
# tells a visit; the head of the review, then what follows it up to the verdict
_REVIEW_HEAD_RE = re.compile(r"^\s*[^:：\n]{0,8}(?:复盘|总结|小结)[^:：\n]{0,4}[:：]\s*")


def _visit_told_with(msg: Message, text: str, ctx: Context) -> Reply | None:
    """A visit (a customer and whom we saw there) told in the first sentence of a review, filed as
    one, so the day's count and the 19:00 chase know of it."""
    head = _REVIEW_HEAD_RE.match(text)
    if head is None:
        return None
    spans = sentences(text, head.end())
    if not spans:
        return None
    s, e = spans[0]
    part = text[s:e]
    if says_day_verdict(part) or not reports_a_visit(part):
        return None
    parsed = parse(part, ctx.now, msg.sender, ctx.calendar)
    if parsed.get("kind") != "visit" or not parsed.get("customer") or not parsed.get("contact"):
        return None
    saved, ctx.parsed = ctx.parsed, parsed
    try:
        return record_visit(replace(msg, text=part), None, ctx)
    finally:
        ctx.parsed = saved


def _leave_told_with(text: str, ctx: Context) -> Reply | None:
    """ "复盘：…达成。明天请假，交给小李": the leave in a later sentence of the review, filed as one."""
    for s, e in sentences(text):
        part = text[s:e]
        if not mentions_leave(part) or _REVIEW_WORD_RE.search(part):
            continue
        parsed = parse(part, ctx.now, ctx.message.sender, ctx.calendar)
        if parsed.get("kind") == "leave":
            return file_leave(ctx.message, ctx, parsed, part)
    return None


# "补昨天的复盘：…", "昨天的总结补一下": a review of yesterday, sent the morning after
_YESTERDAYS_RE = re.compile(r"\s*(?:补(?:充|发|交)?(?:一下|一个|个)?)?(?:昨天|昨日|昨晚)的?(?:复盘|总结)")
_REVIEW_WORD_RE = re.compile(r"复盘|总结|达成|完成")


REVIEW_ANSWER_MINUTES = 30
# A review that missed its target, read on: what follows is why, then how to make up
_MISSED = "复盘：今天目标没完成，"


def _review_answer(msg: Message, ctx: Context) -> Any:
    """A plain reply, soon after a review that missed its target and lacks why or how to make up:
    (review row, its fields read from the reply); None otherwise."""
    p = ctx.parsed
    text = (msg.text or "").strip()
    if p is None or not text or acknowledges(text):
        return None
    # a reason may name a hospital ("二院那边拖得太久了，县妇幼来不及去"); a visit told is a visit
    if p.get("kind") not in ("other", "visit") or (
        p["kind"] == "visit" and (p.get("contact") or reports_a_visit(text))
    ):
        return None
    row = ctx.read.first(
        Review, ["id", *_FIELDS, "raw_text", "posted_at"], member=msg.sender, review_date=ctx.now.date()
    )
    if row is None:
        return None
    review_id, met, reason, remedy, raw_text, posted_at = row
    if met is not False or (reason and remedy):
        return None
    if ctx.now - posted_at.astimezone(ctx.now.tzinfo) > timedelta(minutes=REVIEW_ANSWER_MINUTES):
        return None
    read_on = parse(_MISSED + text, ctx.now, msg.sender, ctx.calendar)
    later = {"target_met": False, "reason": read_on.get("reason"), "remedy": read_on.get("remedy")}
    if reason:
        # only the remedy was asked for: a plan is the remedy; anything else says more of why
        # ("县妇幼没去成" was the review's reason, "刘护士长临时有手术，没见着" is why)
        if plans_make_up(text):
            later["reason"], later["remedy"] = None, read_on.get("remedy") or text
        else:
            later["reason"], later["remedy"] = f"{reason}；{text}", None
    elif remedy and not later["reason"]:
        later["reason"] = text
    if not (later["reason"] or later["remedy"]):
        return None
    return review_id, {"target_met": met, "reason": reason, "remedy": remedy}, raw_text, later


def _file_answer(msg: Message, found: Any, ctx: Context) -> Reply:
    review_id, earlier, raw_text, later = found
    review = merge_review(earlier, later)
    text = msg.text or ""
    ctx.records.update(Review, review_id, raw_text=f"{raw_text}\n{text}" if raw_text else text, **review)
    return ctx.reply(
        "review_ack.md.j2", review=review, amended=True, day=ctx.now.date(), today=ctx.now.date(), closed=None
    )


HANDLERS = [
    Handler("review.record", _is_review, _record, group=20),
    # before visits.record: a reason that names a hospital is the review's, not a visit
    Handler("review.answer", _review_answer, _file_answer, group=12),
]
