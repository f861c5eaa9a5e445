"""/阶段: move a customer's opportunity through the funnel; /漏斗: the funnel now.

Stages are bot.jobs' (线索 → 意向 → 方案 → 报价 → 招标 → 签约, or 丢单), and /漏斗's
conversion and signing cycle are bot.jobs.funnel_conversion's, so the command and the
weekly report give the same numbers. One open opportunity per customer: the latest
one not yet signed or lost; a customer without one gets one at the stage named.

Who may move an open opportunity: its owner (the rep who first visited the customer, else the
first stage change's author), the colleague covering the owner's leave, a leader or an admin, as for /完成
(tasks.may_mark_done). Closing one (签约 or 丢单) is posted to the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select

from bot.dispatch import Context, Reply
from bot.jobs import CLOSED_STAGES, STAGES, funnel_conversion, local_midnight
from bot.models import Customer, Followup, Member, Opportunity, StageChange, Visit
from handlers.commands.common import audit, find_customers, member_names
from handlers.commands.customers import not_found
from handlers.commands.registry import REGISTRY, Invocation, Usage, implements, normalise
from handlers.commands.tasks import covers, may_mark_done

LOST = STAGES[-1]
PIPELINE = STAGES[:-1]  # 线索 … 签约, in order
SIGNED = PIPELINE[-1]
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StageArgs:
    customer: str
    stage: str
    reason: str | None


def stage_words() -> dict[str, str]:
    """What a rep may write for a stage -> the stage: the stages, and the catalog's other words (成交 → 签约)."""
    words = {stage: stage for stage in STAGES}
    for stage, others in (REGISTRY.values.get("stage_words") or {}).items():
        if stage not in STAGES:
            raise ValueError(f"stage_words: unknown stage {stage!r}")
        words.update({normalise(str(w)): stage for w in others})
    return words


def stage_args(args: tuple[str, ...]) -> StageArgs:
    """客户 阶段 [原因]; "市一院报价" (no space) reads as 市一院 + 报价; 成交/中标/签单 are 签约."""
    words = stage_words()
    for i, word in enumerate(args):
        if i > 0 and normalise(word) in words:
            return StageArgs(" ".join(args[:i]), words[normalise(word)], "，".join(args[i + 1 :]) or None)
    if len(args) == 1:
        for word in sorted(words, key=len, reverse=True):
            if args[0].endswith(word) and len(args[0]) > len(word):
                return StageArgs(args[0][: -len(word)], words[word], None)
    raise Usage


def owner_of(ctx: Context, opportunity_id: int) -> str | None:
    """Whose deal it is: the rep who first visited the customer (who developed it, whoever recorded
    the stage: a leader covering her leave, say); for a customer nobody visited, the author of the
    opportunity's first stage change; None when neither is known."""
    first_visitor = ctx.session.execute(
        select(Visit.member)
        .join(Opportunity, Opportunity.customer_id == Visit.customer_id)
        .where(Opportunity.id == opportunity_id)
        .order_by(Visit.id)  # the first filed, not the earliest dated: a late 补充 takes over nothing
        .limit(1)
    ).scalar_one_or_none()
    if first_visitor:
        return str(first_visitor)
    return (
        ctx.session.execute(
            select(StageChange.changed_by)
            .where(StageChange.opportunity_id == opportunity_id)
            .order_by(StageChange.changed_at, StageChange.id)
            .limit(1)
        ).scalar_one_or_none()
        or None
    )


@implements("stage")
def stage(inv: Invocation, ctx: Context) -> Reply:
    a = stage_args(inv.args)
    if a.stage == LOST and not a.reason:
        ctx.discard()
        return ctx.reply("commands/stage_state.md.j2", state="needs_reason", name=a.customer, stage=a.stage)
    found = find_customers(ctx, a.customer)
    if found.customer is None:
        return not_found(ctx, a.customer, found)
    customer, s, now, me = found.customer, ctx.session, ctx.now, ctx.message.sender
    opp = s.execute(
        select(Opportunity)
        .where(Opportunity.customer_id == customer.id, Opportunity.stage.not_in(CLOSED_STAGES))
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    closes = a.stage in CLOSED_STAGES
    since: datetime | None = None
    names = member_names(ctx)
    owner = owner_of(ctx, opp.id) if opp is not None and opp.id is not None else me
    if opp is not None and owner and not may_mark_done(owner, me, ctx.member) and not covers(ctx, owner):
        return ctx.reply(
            "commands/stage_state.md.j2",
            state="not_yours",
            customer=customer,
            stage=opp.stage,
            owner=names.get(owner, owner),
        )
    if opp is None:
        if a.stage == LOST:
            return ctx.reply("commands/stage_state.md.j2", state="nothing_open", customer=customer)
        assert customer.id is not None
        opp = Opportunity(
            customer_id=customer.id, stage=a.stage, opened_at=now, updated_at=now, closed_at=now if closes else None
        )
        before = None
    else:
        if opp.stage == a.stage:
            return ctx.reply("commands/stage_state.md.j2", state="same", customer=customer, stage=a.stage)
        before = opp.stage
        last = s.execute(
            select(func.max(StageChange.changed_at)).where(StageChange.opportunity_id == opp.id)
        ).scalar_one_or_none()
        since = last or opp.opened_at
        opp.stage, opp.updated_at = a.stage, now
        if closes:
            opp.closed_at = now
    if a.stage == LOST:
        opp.lost_reason = a.reason
    s.add(opp)
    s.flush()
    assert opp.id is not None
    s.add(
        StageChange(
            opportunity_id=opp.id, from_stage=before, to_stage=a.stage, changed_at=now, changed_by=me, reason=a.reason
        )
    )
    s.flush()
    audit(
        ctx,
        "opportunity.stage",
        opportunity_id=opp.id,
        customer_id=customer.id,
        from_stage=before,
        to_stage=a.stage,
        reason=a.reason,
    )
    days = (now - since).days if since is not None else None
    cycle = (now - opp.opened_at).days if a.stage == SIGNED and before is not None else None
    if closes:  # signed or lost: the first visit's summary and plan are owed no longer
        ctx.records.update_where(Followup, {"customer_id": customer.id, "status": "open"}, status="done", done_at=now)
        ctx.post(
            "commands/stage_closed_post.md.j2",
            customer=customer,
            stage=a.stage,
            signed=a.stage == SIGNED,
            reason=a.reason,
            cycle=cycle,
            mover=names.get(me, me),
            owner=owner if owner and owner != me else None,
        )
    return ctx.reply(
        "commands/stage_moved.md.j2",
        customer=customer,
        before=before,
        stage=a.stage,
        reason=a.reason,
        days=days,
        cycle=cycle,
        created=before is None,
    )


# ----------------------------------------------------------------------------- the funnel
def regions(ctx: Context) -> list[str]:
    s = ctx.session
    names = [r for r in s.execute(select(Customer.region).distinct()).scalars() if r]
    names += [r for r in s.execute(select(Member.region).where(Member.active == True).distinct()).scalars() if r]  # noqa: E712
    return sorted(set(names))


WHOLE_TEAM = {"全团队", "全部", "团队", "全体", "all"}


@implements("funnel")
def funnel(inv: Invocation, ctx: Context) -> Reply:
    if len(inv.args) > 1:
        raise Usage
    region = inv.args[0] if inv.args else None
    known = regions(ctx)
    me = ctx.member
    if region is None and me is not None and me.role == "leader" and me.region in known:
        region = me.region  # a regional leader's funnel is the region's; "/漏斗 全团队" for everyone's
    elif region is not None and normalise(region) in WHOLE_TEAM:
        region = None
    if region is not None and region not in known:
        return ctx.reply("commands/region_unknown.md.j2", region=region, regions=known)
    s, tz, now = ctx.session, ctx.settings.tz, ctx.now
    in_region = [Customer.region == region] if region is not None else []

    counts = dict.fromkeys(STAGES, 0)
    for stage_name, n in s.execute(
        select(Opportunity.stage, func.count())
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(*in_region)
        .group_by(Opportunity.stage)
    ):
        counts[stage_name] = int(n)

    # how far each opportunity got (its furthest stage; 丢单 is not a step), counted per step
    step = case(*((StageChange.to_stage == name, i) for i, name in enumerate(PIPELINE)), else_=None)
    current = case(*((Opportunity.stage == name, i) for i, name in enumerate(PIPELINE)), else_=None)
    still_open = case((Opportunity.stage.in_(PIPELINE[:-1]), 1), else_=0)
    furthest = (
        select(func.coalesce(func.max(step), func.max(current)).label("step"), func.max(still_open).label("open"))
        .select_from(Opportunity)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .outerjoin(StageChange, StageChange.opportunity_id == Opportunity.id)
        .where(*in_region)
        .group_by(Opportunity.id)
        .subquery()
    )
    at_step = dict.fromkeys(range(len(PIPELINE)), 0)
    waiting = dict.fromkeys(range(len(PIPELINE)), 0)  # open, and no further than this step yet
    for i, is_open, n in s.execute(
        select(furthest.c.step, furthest.c.open, func.count())
        .where(furthest.c.step.is_not(None))
        .group_by(furthest.c.step, furthest.c.open)
    ):
        at_step[int(i)] += int(n)
        if is_open:
            waiting[int(i)] += int(n)
    reached = [sum(at_step[j] for j in range(i, len(PIPELINE))) for i in range(len(PIPELINE))]
    # of those that reached a stage, only the ones that have left it (moved on, or were lost) have an
    # outcome: a deal still at 报价 has not failed to reach 招标
    steps = []
    for i in range(len(PIPELINE) - 1):
        decided = reached[i] - waiting[i]
        steps.append(
            {
                "from": PIPELINE[i],
                "to": PIPELINE[i + 1],
                "rate": reached[i + 1] / decided if decided else None,
                "n": reached[i + 1],
                "of": decided,
                "waiting": waiting[i],
            }
        )

    first = now.date().replace(day=1)
    this_month = local_midnight(first, tz)
    last_month = local_midnight((first - timedelta(days=1)).replace(day=1), tz)
    next_month = local_midnight((first + timedelta(days=31)).replace(day=1), tz)  # nothing is later than now
    by_region = funnel_conversion(s, [(this_month, next_month), (last_month, this_month), (EPOCH, next_month)])
    totals = [[0, 0, 0.0, 0] for _ in range(3)]
    for name, periods in by_region.items():
        if region is None or name == region:
            for i, values in enumerate(periods):
                totals[i] = [a + b for a, b in zip(totals[i], values, strict=True)]
    periods = [
        {"signed": n, "intent": d, "rate": n / d if d else None, "days": days / k if k else None}
        for n, d, days, k in totals
    ]
    decided = counts[SIGNED] + counts[LOST]
    return ctx.reply(
        "commands/funnel.md.j2",
        region=region,
        stages=PIPELINE[:-1],
        counts=counts,
        steps=steps,
        this_month=periods[0],
        last_month=periods[1],
        overall=periods[2],
        win_rate=counts[SIGNED] / decided if decided else None,
        lost=LOST,
        signed=SIGNED,
        open_total=sum(counts[x] for x in PIPELINE[:-1]),
    )
