"""Visit results: a visit record with the four core items, asking for what is missing.

A visit with missing core items (or no customer) opens a conversation (chat + member):
the member's next message there that answers them completes the record instead of
starting a new one. An answer is read as the rest of the visit report ("没有竞品，下周三带
样机过去演示"), or from labelled lines ("竞品：无"); it may name the same customer again, but
a message that tells of a visit made (拜访了, 又去了, 见了) or names another customer,
department or contact is a visit of its own. For 30
minutes anything that is not another kind of record may answer (a lone missing item takes
the whole message); until the end of that day only what is recognisably an answer does,
as the 19:00 reminder asks. A first visit to a customer creates its two follow-ups: the
visit summary within 24 hours and the customised plan within 3-5 working days.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from time import monotonic
from typing import Any

import yaml
from sqlalchemy import bindparam, or_, select

from bot.customers import customer_key
from bot.db import FastStatement
from bot.dispatch import Context, Handler, Reply
from bot.models import Contact, Conversation, Customer, CustomerAlias, Followup, Visit
from bot.parse import CORE_ITEMS, parse
from bot.parse.fields import no_competitor, reports_a_visit
from bot.wecom.inbound import Message

CONVERSATION_MINUTES = 30
END_OF_DAY = time(18, 0)
# What a visit's question may ask for: the customer, then the four core items.
ASKABLE = ("customer", *CORE_ITEMS)
# Kinds that are news of their own, never an answer to "what was missing".
_OTHER_RECORDS = {"urgent", "itinerary", "leave", "review"}
# An answer is read as the rest of a visit report: this opening makes the parser read it so.
_CONTINUATION = "拜访了客户，"
# Acknowledgements are not answers, even when one item is missing.
_NOT_AN_ANSWER = re.compile(r"^(?:收到|好的?|嗯+|哦|ok|OK|好嘞|明白|了解|谢谢|多谢|辛苦了?|👌|👍)[!！。.~～]*$")
_TEMPLATE_LINE = re.compile(r"^\s*([^:：\n]{1,8})\s*[:：]\s*(.+?)\s*$", re.M)
_ITEM_LABELS: dict[str, tuple[str, ...]] = {
    item: tuple(labels)
    for item, labels in yaml.safe_load(
        resources.files("bot").joinpath("data/core_item_labels.yaml").read_text(encoding="utf-8")
    ).items()
}


# ----------------------------------------------------------------------------- pure decisions
def answers_from(
    missing: list[str], parsed: dict[str, Any], text: str, continued: dict[str, Any] | None = None, loose: bool = False
) -> dict[str, str]:
    """Which of the missing items a follow-up message answers, and with what.

    `continued` is the message parsed as the rest of the visit report (the parse itself
    when the message is a visit report). Fields found there count first; then labelled
    lines ("竞品：无"); then a statement that there is no competitor ("没有竞品"). With
    `loose` (a reply within minutes), when a single item was missing, a message that is
    nothing else is taken as its answer.
    """
    continued = parsed if continued is None else continued
    found: dict[str, str] = {}
    for item in missing:
        value = parsed.get("customer") if item == "customer" else continued.get(item)
        if value:
            found[item] = str(value)
    for label, value in _TEMPLATE_LINE.findall(text):
        for item, labels in _ITEM_LABELS.items():
            if item in missing and item not in found and label.strip() in labels:
                found[item] = value
    if "competitor" in missing and "competitor" not in found:
        none = no_competitor(text)
        if none:
            found["competitor"] = none
    answer = text.strip()
    if (
        loose
        and not found
        and len(missing) == 1
        and missing[0] != "customer"
        and parsed.get("kind") in ("other", "visit", "competitor")
        and answer
        and not _NOT_AN_ANSWER.match(answer)
        and not answer.endswith(("?", "？"))
    ):
        found[missing[0]] = answer
    return found


def conflicts(parsed: dict[str, Any], department: str | None, contact: str | None) -> bool:
    """The message is about another department or contact than the open visit: a visit of its own."""
    return bool(
        (parsed.get("department") and department and parsed["department"] != department)
        or (parsed.get("contact") and contact and parsed["contact"] != contact)
    )


def answer_window(expires_at: datetime, now: datetime) -> tuple[bool, bool]:
    """(loose, open): within the conversation's minutes anything may answer; until the end of the
    day of the question, what is recognisably an answer."""
    asked = expires_at - timedelta(minutes=CONVERSATION_MINUTES)
    loose = now < expires_at
    return loose, loose or asked.astimezone(now.tzinfo).date() == now.date()


def provided_items(parsed: dict[str, Any], text: str) -> list[str]:
    """What a visit report gives of the askable items (a stated "no competitor" included)."""
    items = [item for item in ASKABLE if parsed.get(item)]
    if not parsed.get("competitor") and no_competitor(text):
        items.append("competitor")
    return items


def known_customer_in(text: str, aliases: list[tuple[str, int]]) -> str | None:
    """The longest known customer name or alias written in `text` (compared as customer_key), as written."""
    key = customer_key(text)
    for alias, _cid in aliases:  # longest first
        at = key.find(alias)
        if at >= 0:
            return _as_written(text, alias)
    return None


def _as_written(text: str, alias: str) -> str:
    """The part of `text` whose customer_key is `alias` (full-width letters, spaces and case as written)."""
    for start in range(len(text)):
        if customer_key(text[start]) and alias.startswith(customer_key(text[start])):
            for end in range(start + 1, len(text) + 1):
                got = customer_key(text[start:end])
                if got == alias:
                    return text[start:end].strip()
                if not alias.startswith(got):
                    break
    return alias


def still_missing(record: dict[str, Any]) -> list[str]:
    return [item for item in CORE_ITEMS if not record.get(item)]


def plan_due(visited: datetime, calendar: Any, workdays: int) -> datetime:
    """End of the working day `workdays` working days after the visit."""
    day = calendar.add_workdays(visited.date(), workdays)
    return datetime.combine(day, END_OF_DAY, visited.tzinfo)


def _due(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# ----------------------------------------------------------------------------- shared lookups
def customer_for(ctx: Context, name: str) -> tuple[int, str, str | None, bool]:
    """(id, canonical name, level, created) of the directory's customer for a name as written.

    Known names are remembered for a minute (a leader may set a level meanwhile).
    """
    db = ctx.records
    key = customer_key(name)
    known: dict[str, tuple[float, int, str, str | None]] = ctx.cache.setdefault("customers", {})
    hit = known.get(key)
    if hit is not None and monotonic() - hit[0] < 60:
        return hit[1], hit[2], hit[3], False
    alias = db.first(CustomerAlias, ["customer_id"], alias=key)
    row = db.first(Customer, ["name", "level"], id=alias[0]) if alias is not None else None
    if alias is not None and row is not None:
        cid, canonical, level = alias[0], row[0], row[1]
        known[key] = (monotonic(), cid, canonical, level)
        return cid, canonical, level, False
    region = ctx.member.region if ctx.member else ""
    canonical = name.strip()
    cid = db.insert(Customer, name=canonical, level=None, region=region, created_by=ctx.message.sender)
    db.insert(CustomerAlias, alias=key, customer_id=cid)
    ctx.after_commit(lambda: known.__setitem__(key, (monotonic(), cid, canonical, None)))
    return cid, canonical, None, True


def first_visit(ctx: Context, customer_id: int) -> bool:
    """No visit to this customer yet. Once visited, always visited: remembered per process.

    What a read found is remembered at once (the cache is dropped if the batch fails); what a
    handler wrote itself only once it is committed, since the handler may still fail.
    """
    visited: set[int] = ctx.cache.setdefault("visited", set())
    if customer_id in visited:
        return False
    if ctx.records.first(Visit, ["id"], customer_id=customer_id) is None:
        return True
    visited.add(customer_id)
    return False


def contact_for(ctx: Context, customer_id: int, parsed: dict[str, Any]) -> int:
    """The contact's id (added when new), keeping the decision role the latest visit gave.

    Ids are remembered per process (a contact is never renamed or deleted); the role is not:
    another process may have changed it since, so a visit that gives one writes it whenever
    it differs from the stored one, which the database decides (nothing is written otherwise).
    """
    db = ctx.records
    where = {"customer_id": customer_id, "name": parsed["contact"], "department": parsed.get("department")}
    key = (customer_id, where["name"], where["department"])
    known: dict[tuple[Any, ...], int] = ctx.cache.setdefault("contacts", {})
    role = parsed.get("decision_role")
    contact_id = known.get(key)
    if contact_id is None:
        row = db.first(Contact, ["id"], **where)
        if row is None:
            new_id = db.insert(Contact, decision_role=role, **where)
            ctx.after_commit(lambda: known.__setitem__(key, new_id))
            return new_id
        contact_id = known[key] = row[0]
    if role:
        db.update(Contact, contact_id, changed_only=True, decision_role=role)
    return contact_id


# ----------------------------------------------------------------------------- answering a question
@dataclass
class _Open:
    visit_id: int
    missing: list[str]
    answers: dict[str, str]
    due: str | None = None  # of the next action the answer gives


def _open_question_check(ctx: Context) -> FastStatement:
    """The open visit question of a member in a chat that asks for one of the given items (at most 5)."""
    stmt = ctx.cache.get("open_question_check")
    if stmt is None:
        table = Conversation.__table__  # type: ignore[attr-defined]
        query = (
            select(table.c.id)
            .where(
                table.c.chat_id == bindparam("chat_id"),
                table.c.member == bindparam("member"),
                table.c.topic == "visit",
                table.c.visit_id.is_not(None),
                table.c.expires_at > bindparam("expires_at"),
                or_(*(table.c.missing.like(bindparam(f"item{i}")) for i in range(len(ASKABLE)))),
            )
            .limit(1)
        )
        columns = {"chat_id": "chat_id", "member": "member", "expires_at": "expires_at"}
        columns.update({f"item{i}": "missing" for i in range(len(ASKABLE))})
        stmt = ctx.cache["open_question_check"] = FastStatement(ctx.planning.conn, table, query, columns)  # type: ignore[union-attr]
    return stmt


def _open_conversation(msg: Message, ctx: Context) -> _Open | None:
    parsed = ctx.parsed
    if parsed is None or parsed.get("kind") in _OTHER_RECORDS:
        return None
    text = msg.text or ""
    if parsed.get("kind") == "visit" and reports_a_visit(text):
        return None  # "下午又去了…": a visit of its own, whatever is open
    if ctx.planning is not None and parsed.get("kind") == "visit" and parsed.get("customer"):
        # The common case, decided outside the write lock: a visit report naming its customer is
        # a visit of its own unless a question is open that it gives something for; the plan
        # holds only if none is (checked under the lock, else this runs again there).
        given = provided_items(parsed, text)
        midnight = datetime.combine(ctx.now.date(), time(0), ctx.now.tzinfo)
        values: dict[str, Any] = {"chat_id": msg.chat_id, "member": msg.sender}
        values["expires_at"] = min(ctx.now, midnight + timedelta(minutes=CONVERSATION_MINUTES))
        for i, item in enumerate(ASKABLE):
            values[f"item{i}"] = f'%"{item}"%' if item in given else ""
        ctx.planning.expect_none(_open_question_check(ctx), values)
        return None
    read = ctx.read
    where = {"chat_id": msg.chat_id, "member": msg.sender}
    row = read.first(Conversation, ["visit_id", "missing", "expires_at", "topic"], **where)
    if row is None or row[0] is None or row[3] != "visit":
        return None
    loose, still_open = answer_window(row[2], ctx.now)
    if not still_open:
        return None
    visit = read.first(Visit, ["customer_id", "department", "contact_id", "raw_text", "visited_at"], id=row[0])
    if visit is None:
        return None
    if visit[2] is not None:
        contact = read.first(Contact, ["name"], id=visit[2])
        contact_name = contact[0] if contact else None
    else:  # not filed without a customer: as the report wrote it
        contact_name = parse(visit[3] or "", visit[4].astimezone(ctx.now.tzinfo), msg.sender, ctx.calendar)["contact"]
    if conflicts(parsed, visit[1], contact_name):
        return None
    if parsed.get("customer"):
        alias = read.first(CustomerAlias, ["customer_id"], alias=customer_key(parsed["customer"]))
        if visit[0] is not None and (alias is None or alias[0] != visit[0]):
            return None  # another customer: a visit (or news) of its own
    kind = parsed.get("kind")
    if kind == "visit":
        continued = parsed
    elif loose and not text.rstrip().endswith(("?", "？")):
        continued = parse(_CONTINUATION + text, ctx.now, msg.sender, ctx.calendar)
    else:  # hours later, a chat message or a question is not read as a report: labelled lines only
        continued = {}
    missing = json.loads(row[1])
    answers = answers_from(missing, parsed, text, continued, loose=loose)
    if kind == "visit" and not answers:
        return None
    return _Open(row[0], missing, answers, continued.get("due")) if answers else None


def _complete(msg: Message, found: _Open, ctx: Context) -> Reply:
    db = ctx.records
    columns = ["customer_id", *CORE_ITEMS, "due", "contact_id", "visited_at", "raw_text"]
    current = db.first(Visit, columns, id=found.visit_id)
    if current is None:
        return ctx.reply("hint.md.j2", empty=False)
    record = dict(zip(columns, current, strict=True))
    answers = dict(found.answers)
    changes: dict[str, Any] = {k: v for k, v in answers.items() if k != "customer"}
    record.update(changes)
    if "next_action" in answers and record["due"] is None and found.due:
        changes["due"] = _due(found.due)
    first = False
    if "customer" in answers:
        customer_id, canonical, _level, created = customer_for(ctx, answers["customer"])
        first = created or first_visit(ctx, customer_id)
        record["customer_id"] = changes["customer_id"] = customer_id
        answers["customer"] = canonical
        visited = record["visited_at"]
        if record["contact_id"] is None:  # the report named a contact the visit could not file without a customer
            earlier = parse(record["raw_text"] or "", visited.astimezone(ctx.now.tzinfo), msg.sender, ctx.calendar)
            if earlier.get("contact"):
                changes["contact_id"] = contact_for(ctx, customer_id, earlier)
        if first:
            _plan_followups(ctx, found.visit_id, customer_id, msg.sender, visited.astimezone(ctx.now.tzinfo))
            changes["first_visit"] = True
        cache = ctx.cache.setdefault("visited", set())
        ctx.after_commit(lambda: cache.add(customer_id))
    left = [item for item in found.missing if item not in answers]
    if record["customer_id"] is not None and "customer" in left:
        left.remove("customer")
    db.update(Visit, found.visit_id, complete=not still_missing(record), **changes)
    if left:
        db.update_where(
            Conversation, {"chat_id": msg.chat_id, "member": msg.sender},
            missing=json.dumps(left), expires_at=ctx.now + timedelta(minutes=CONVERSATION_MINUTES),
        )  # fmt: skip
    else:
        db.delete_where(Conversation, chat_id=msg.chat_id, member=msg.sender)
    name = answers.get("customer")
    if name is None and record["customer_id"]:
        row = db.first(Customer, ["name"], id=record["customer_id"])
        name = row[0] if row else None
    return ctx.reply(
        "visit_completed.md.j2", answers=answers, missing=left, customer=name, first_visit=first,
    )  # fmt: skip


def _plan_followups(ctx: Context, visit_id: Any, customer_id: int, member: str, visited: datetime) -> None:
    """A first visit's two follow-ups: the summary within 24 hours, the customised plan in 3-5 working days."""
    rules = ctx.settings.rules
    summary_due = visited + timedelta(hours=int(rules.get("followup_summary_hours", 24)))
    plan_at = plan_due(visited, ctx.calendar, int(rules.get("followup_plan_workdays", 5)))
    for kind, due_at in (("summary", summary_due), ("plan", plan_at)):
        ctx.records.insert(Followup, visit_id=visit_id, customer_id=customer_id, member=member, kind=kind,
                           due_at=due_at)  # fmt: skip


def known_customer(ctx: Context, text: str) -> str | None:
    """A customer the directory knows, written in a report the parser found none in ("一院 心内 李医生…")."""
    cached = ctx.cache.get("aliases")
    if cached is None or monotonic() - cached[0] >= 60:
        table = CustomerAlias.__table__  # type: ignore[attr-defined]
        conn = ctx.read.conn  # a read: while planning, this sends the handler under the lock
        rows = conn.execute(select(table.c.alias, table.c.customer_id)).all()  # type: ignore[union-attr]
        aliases = sorted(((a, c) for a, c in rows if len(a) >= 2), key=lambda r: -len(r[0]))
        cached = ctx.cache["aliases"] = (monotonic(), aliases)
    return known_customer_in(text, cached[1])


# ----------------------------------------------------------------------------- a new visit
def _is_visit(msg: Message, ctx: Context) -> Any:
    return ctx.parsed is not None and ctx.parsed.get("kind") == "visit" or None


def _record_visit(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    text = msg.text or ""
    if not p.get("customer"):
        named = known_customer(ctx, text)
        if named:
            p = {**p, "customer": named}
    none = no_competitor(text) if not p.get("competitor") else None
    if none:
        p = {**p, "competitor": none, "missing": [i for i in p.get("missing") or [] if i != "competitor"]}
    db = ctx.records
    customer_id, customer_name, level, first = None, p.get("customer"), None, False
    if p.get("customer"):
        customer_id, customer_name, level, created = customer_for(ctx, p["customer"])
        first = created or first_visit(ctx, customer_id)
    contact_id = contact_for(ctx, customer_id, p) if customer_id is not None and p.get("contact") else None
    missing = list(p.get("missing") or [])
    ask = missing if customer_id is not None else ["customer", *missing]
    visit_id = db.insert(
        Visit,
        member=msg.sender,
        customer_id=customer_id,
        contact_id=contact_id,
        department=p.get("department"),
        decision_role=p.get("decision_role"),
        pain_points=p.get("pain_points"),
        competitor=p.get("competitor"),
        next_action=p.get("next_action"),
        due=_due(p.get("due")),
        budget=p.get("budget"),
        first_visit=first,
        complete=not missing,
        visited_at=ctx.now,
        raw_text=msg.text or "",
        message_id=ctx.message_row_id,
    )
    if customer_id is not None:
        visited = ctx.cache.setdefault("visited", set())
        ctx.after_commit(lambda: visited.add(customer_id))
    if first and customer_id is not None:
        _plan_followups(ctx, visit_id, customer_id, msg.sender, ctx.now)
    conversation = {"chat_id": msg.chat_id, "member": msg.sender}
    if ask:
        expires = ctx.now + timedelta(minutes=CONVERSATION_MINUTES)
        db.upsert(Conversation, conversation, topic="visit", visit_id=visit_id, missing=json.dumps(ask),
                  expires_at=expires)  # fmt: skip
    else:
        db.delete_where(Conversation, **conversation)
    return ctx.reply(
        "visit_recorded.md.j2",
        parsed=p,
        customer=customer_name,
        new_customer=first and customer_id is not None and level is None,
        first_visit=first and customer_id is not None,
        missing=ask,
    )


HANDLERS = [
    Handler("visits.answer", _open_conversation, _complete, group=10),
    Handler("visits.record", _is_visit, _record_visit, group=20),
]
