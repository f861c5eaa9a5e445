"""/客户: a customer's card, found through the directory's aliases; /客户 添加: a leader adds one.

A name that matches no alias exactly is looked for inside every alias; when several
customers match, the candidates are listed rather than one guessed.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.customers import customer_key, customer_level
from bot.dispatch import Context, Reply
from bot.models import Competitor, Contact, Customer, CustomerAlias, Followup, Member, Opportunity, Urgent, Visit
from handlers.commands.common import Found, aliases_of, audit, capped, find_customers, member_names, missing_items
from handlers.commands.registry import Invocation, Usage, implements

RECENT_VISITS = 5
RECENT_INTEL = 5
CONTACTS = 10


def not_found(ctx: Context, name: str, found: Found) -> Reply:
    """Several candidates, only guesses (the closest names), or none: the reply that says which."""
    return ctx.reply(
        "commands/customer_candidates.md.j2", name=name, candidates=found.candidates, guessed=found.guessed
    )


@implements("customer")
def card(inv: Invocation, ctx: Context) -> Reply:
    if not inv.text:
        raise Usage
    found = find_customers(ctx, inv.text)
    if found.customer is None:
        return not_found(ctx, inv.text, found)
    c, s = found.customer, ctx.session
    assert c.id is not None
    names = member_names(ctx)
    aliases = [a for a in aliases_of(ctx, c.id) if a != customer_key(c.name)]
    contacts = capped(
        list(s.execute(select(Contact).where(Contact.customer_id == c.id).order_by(Contact.id)).scalars()), CONTACTS
    )
    visits = []
    for v, contact in s.execute(
        select(Visit, Contact.name)
        .outerjoin(Contact, Contact.id == Visit.contact_id)
        .where(Visit.customer_id == c.id)
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(RECENT_VISITS)
    ):
        visits.append(
            {"visit": v, "contact": contact, "by": names.get(v.member, v.member), "missing": missing_items(v)}
        )
    urgent = [
        {"urgent": u, "items": json.loads(u.items or "[]"), "taker": names.get(u.taken_by or "", u.taken_by)}
        for u in s.execute(
            select(Urgent).where(Urgent.customer_id == c.id, Urgent.status.in_(("open", "taken"))).order_by(Urgent.id)
        ).scalars()
    ]
    followups = [
        {"followup": f, "by": names.get(f.member, f.member), "due": f.due_at.astimezone(ctx.settings.tz)}
        for f in s.execute(
            select(Followup)
            .where(Followup.customer_id == c.id, Followup.status == "open")
            .order_by(Followup.due_at, Followup.id)
        ).scalars()
    ]
    intel = list(
        s.execute(
            select(Competitor)
            .where(Competitor.customer_id == c.id)
            .order_by(Competitor.reported_at.desc(), Competitor.id.desc())
            .limit(RECENT_INTEL)
        ).scalars()
    )
    opportunity = s.execute(
        select(Opportunity)
        .where(Opportunity.customer_id == c.id)
        .order_by(Opportunity.closed_at.is_not(None), Opportunity.updated_at.desc(), Opportunity.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return ctx.reply(
        "commands/customer_card.md.j2",
        customer=c,
        aliases=aliases,
        contacts=contacts,
        visits=visits,
        urgent=capped(urgent, 5),
        followups=capped(followups, 5),
        intel=intel,
        opportunity=opportunity,
    )


def _rep_named(ctx: Context, customer: Customer) -> bool:
    """Whether the customer came from a rep's report, not from the directory (config, a leader's command)."""
    if customer.created_by in (None, "config"):
        return False
    role = ctx.session.execute(select(Member.role).where(Member.userid == customer.created_by)).scalar_one_or_none()
    return role == "rep"


def taken_aliases(customer: Customer, keys: list[str], owners: dict[str, int]) -> list[str]:
    """The names of `keys` that are `customer`'s aliases but not its own name."""
    own = customer_key(customer.name)
    return [k for k in keys if owners.get(k) == customer.id and k != own]


@implements("customer.add")
def add(inv: Invocation, ctx: Context) -> Reply:
    """名称 级别 区域 [别名…]. The names may point at one existing customer at most (names of two are
    refused). Then: written by its own name, it is updated (level, region, new aliases); a customer a
    rep named in a report is completed under the new name, its old name kept as an alias; a customer
    from the directory (config or a leader's command) is never renamed through one of its aliases:
    that is refused, since "新医院 … 市一院" most likely means a different hospital."""
    level = customer_level(inv.args[1]) if len(inv.args) >= 3 else None
    if level is None:
        raise Usage
    name, _written, region, *aliases = inv.args
    s = ctx.session
    team_regions = sorted({r for r in s.execute(select(Member.region).where(Member.active == True)).scalars() if r})  # noqa: E712
    if team_regions and region not in team_regions:
        return ctx.reply("commands/region_unknown.md.j2", region=region, regions=team_regions)
    keys = list(dict.fromkeys(customer_key(n) for n in (name, *aliases) if customer_key(n)))
    owners = dict(
        s.execute(select(CustomerAlias.alias, CustomerAlias.customer_id).where(CustomerAlias.alias.in_(keys))).all()
    )
    same_name = s.execute(select(Customer).where(Customer.name == name)).scalar_one_or_none()
    ids = set(owners.values()) | ({same_name.id} if same_name is not None else set())
    if len(ids) > 1:
        clash = list(s.execute(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.name)).scalars())
        return ctx.reply("commands/customer_clash.md.j2", name=name, customers=clash)
    if ids:
        customer = s.get(Customer, ids.pop())
        assert customer is not None
        own_name = customer_key(customer.name) == customer_key(name)
        if not own_name and not _rep_named(ctx, customer):
            return ctx.reply(
                "commands/customer_alias_taken.md.j2",
                name=name,
                customer=customer,
                taken=taken_aliases(customer, keys, owners),
                level=_written,
                region=region,
            )
        before = {"name": customer.name, "level": customer.level, "region": customer.region}
        if not own_name:  # a rep-named customer, completed under the leader's name
            customer.name = name
        customer.level, customer.region = level, region
        created = False
    else:
        customer = Customer(name=name, level=level, region=region, created_by=ctx.message.sender, created_at=ctx.now)
        before = None
        created = True
    s.add(customer)
    s.flush()
    assert customer.id is not None
    added = [k for k in keys if k not in owners]
    for key in added:
        s.add(CustomerAlias(alias=key, customer_id=customer.id))
    s.flush()
    ctx.cache.pop("customers", None)  # handlers.visits.customer_for remembers names -> (id, name, level)
    audit(
        ctx,
        "customer.add" if created else "customer.update",
        customer_id=customer.id,
        name=customer.name,
        level=level,
        region=region,
        aliases=added,
        before=before,
    )
    return ctx.reply(
        "commands/customer_added.md.j2",
        customer=customer,
        created=created,
        aliases=[a for a in aliases_of(ctx, customer.id) if a != customer_key(customer.name)],
    )
