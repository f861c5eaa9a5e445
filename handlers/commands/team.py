"""/成员: the roster; /成员 添加 and /成员 删除 (admins) change the member table.

The callback service caches members for 30 seconds (bot.dispatch.MemberDirectory) and a
handler cannot reach that cache, so a change takes effect within that time; the reply says
so. Members listed in config.yaml are restored from it at the next start (bot.runtime.sync_roster).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.dispatch import Context, Reply
from bot.models import Member
from handlers.commands.common import audit, capped
from handlers.commands.registry import REGISTRY, Invocation, Usage, implements, normalise

ROSTER_LIMIT = 60
_USERID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")


def role_of(word: str) -> str | None:
    folded = normalise(word).lower()
    for role, words in (REGISTRY.values.get("member_roles") or {}).items():
        if folded in {normalise(str(w)).lower() for w in words}:
            return str(role)
    return None


@implements("team")
def roster(inv: Invocation, ctx: Context) -> Reply:
    if inv.args:
        raise Usage
    rows = list(
        ctx.session.execute(
            select(Member).where(Member.active == True).order_by(Member.region, Member.role, Member.id)  # noqa: E712
        ).scalars()
    )
    by_region: dict[str, list[Member]] = {}
    for m in rows:
        by_region.setdefault(m.region, []).append(m)
    shown = capped(rows, ROSTER_LIMIT)
    visible = {m.userid for m in shown.rows}
    groups = [(region, [m for m in ms if m.userid in visible]) for region, ms in by_region.items()]
    return ctx.reply(
        "commands/team.md.j2",
        groups=[g for g in groups if g[1]],
        total=len(rows),
        more=shown.more,
        roles=REGISTRY.roles,
    )


@implements("team.add")
def add(inv: Invocation, ctx: Context) -> Reply:
    """userid 姓名 角色 [区域 [新区域]]. The region must be one an active member has (a typo such as
    华冬 would start a region of one), the member's own, or none; a new region is opened by saying
    so with the catalog's word (新区域), and any region is accepted while no member has one."""
    new_words = {normalise(str(w)).lower() for w in inv.command.extra.get("new_region") or ()}
    args = list(inv.args)
    opens_region = len(args) == 5 and normalise(args[4]).lower() in new_words
    if opens_region:
        args.pop()
    if len(args) not in (3, 4):
        raise Usage
    userid, name, role_word = args[:3]
    region = args[3] if len(args) == 4 else ""
    role = role_of(role_word)
    if role is None or not _USERID.match(userid):
        raise Usage
    s = ctx.session
    row = s.execute(select(Member).where(Member.userid == userid)).scalar_one_or_none()
    known = sorted({r for r in s.execute(select(Member.region).where(Member.active == True)).scalars() if r})  # noqa: E712
    if region and known and region not in known and not opens_region and (row is None or row.region != region):
        return ctx.reply(
            "commands/member_region_unknown.md.j2",
            region=region,
            regions=known,
            userid=userid,  # checked against _USERID: printed as is, so the example can be copied
            name=name,
            role_word=role_word,
        )
    new_region = bool(region) and region not in known
    before = None
    if row is None:
        row = Member(userid=userid, name=name, role=role, region=region, created_at=ctx.now)
    else:
        before = {"name": row.name, "role": row.role, "region": row.region, "active": row.active}
        row.name, row.role, row.region, row.active = name, role, region, True
    s.add(row)
    s.flush()
    if ctx.directory is not None:
        ctx.after_commit(ctx.directory.invalidate)
    audit(
        ctx,
        "member.add" if before is None else "member.update",
        userid=userid,
        name=name,
        role=role,
        region=region,
        before=before,
    )
    return ctx.reply(
        "commands/member_changed.md.j2",
        change="added" if before is None else "updated",
        person=row,
        roles=REGISTRY.roles,
        in_config=ctx.settings.member(userid) is not None,
        new_region=new_region,
    )


@implements("team.remove")
def remove(inv: Invocation, ctx: Context) -> Reply:
    if len(inv.args) != 1:
        raise Usage
    userid = inv.args[0]
    if userid == ctx.message.sender:
        return ctx.reply(
            "commands/member_changed.md.j2", change="self", person=None, roles=REGISTRY.roles, in_config=False
        )
    s = ctx.session
    row = s.execute(select(Member).where(Member.userid == userid, Member.active == True)).scalar_one_or_none()  # noqa: E712
    if row is None:
        return ctx.reply(
            "commands/member_changed.md.j2",
            change="missing",
            person=None,
            userid=userid,
            roles=REGISTRY.roles,
            in_config=False,
        )
    row.active = False
    s.add(row)
    s.flush()
    if ctx.directory is not None:
        ctx.after_commit(ctx.directory.invalidate)
    audit(ctx, "member.remove", userid=userid, name=row.name, role=row.role, region=row.region)
    return ctx.reply(
        "commands/member_changed.md.j2",
        change="removed",
        person=row,
        roles=REGISTRY.roles,
        in_config=ctx.settings.member(userid) is not None,
    )
