"""Visit results: a visit record with the four core items, asking for what is missing.

A visit with missing core items opens a conversation (chat + member, 30 minutes):
the member's next message there that answers them completes the record instead of
starting a new one. A first visit to a customer creates its two follow-ups: the
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

from bot.customers import customer_key
from bot.dispatch import Context, Handler, Reply
from bot.models import Contact, Conversation, Customer, CustomerAlias, Followup, Visit
from bot.parse import CORE_ITEMS
from bot.wecom.inbound import Message

CONVERSATION_MINUTES = 30
END_OF_DAY = time(18, 0)
# Kinds that are news of their own, never an answer to "what was missing".
_OTHER_RECORDS = {"urgent", "competitor", "itinerary", "leave", "review"}
_TEMPLATE_LINE = re.compile(r"^\s*([^:：\n]{1,8})\s*[:：]\s*(.+?)\s*$", re.M)
_ITEM_LABELS: dict[str, tuple[str, ...]] = {
    item: tuple(labels)
    for item, labels in yaml.safe_load(
        resources.files("bot").joinpath("data/core_item_labels.yaml").read_text(encoding="utf-8")
    ).items()
}


# ----------------------------------------------------------------------------- pure decisions
def answers_from(missing: list[str], parsed: dict[str, Any], text: str) -> dict[str, str]:
    """Which of the missing core items a follow-up message answers, and with what.

    Fields the parser found count first; then template lines ("竞品：无"); and when a
    single item was missing, a message that is nothing else is taken as its answer.
    """
    found: dict[str, str] = {}
    for item in missing:
        value = parsed.get(item)
        if value:
            found[item] = str(value)
    for label, value in _TEMPLATE_LINE.findall(text):
        for item, labels in _ITEM_LABELS.items():
            if item in missing and item not in found and label.strip() in labels:
                found[item] = value
    if not found and len(missing) == 1 and parsed.get("kind") in ("other", "visit") and text.strip():
        found[missing[0]] = text.strip()
    return found


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


def _open_conversation(msg: Message, ctx: Context) -> _Open | None:
    parsed = ctx.parsed
    if parsed is None or parsed.get("kind") in _OTHER_RECORDS:
        return None
    if parsed.get("kind") == "visit" and parsed.get("customer"):
        return None  # a new visit, not an answer
    row = ctx.read.first(Conversation, ["visit_id", "missing", "expires_at"], chat_id=msg.chat_id, member=msg.sender)
    if row is None or row[0] is None or row[2] <= ctx.now:
        return None
    missing = json.loads(row[1])
    answers = answers_from(missing, parsed, msg.text or "")
    return _Open(row[0], missing, answers) if answers else None


def _complete(msg: Message, found: _Open, ctx: Context) -> Reply:
    db = ctx.records
    current = db.first(Visit, ["customer_id", *CORE_ITEMS, "due"], id=found.visit_id)
    if current is None:
        return ctx.reply("hint.md.j2", empty=False)
    record = dict(zip(["customer_id", *CORE_ITEMS, "due"], current, strict=True))
    record.update(found.answers)
    changes: dict[str, Any] = dict(found.answers)
    if "next_action" in found.answers and record["due"] is None and (ctx.parsed or {}).get("due"):
        changes["due"] = _due(ctx.parsed["due"])  # type: ignore[index]
    left = still_missing(record)
    db.update(Visit, found.visit_id, complete=not left, **changes)
    if left:
        db.update_where(
            Conversation, {"chat_id": msg.chat_id, "member": msg.sender},
            missing=json.dumps(left), expires_at=ctx.now + timedelta(minutes=CONVERSATION_MINUTES),
        )  # fmt: skip
    else:
        db.delete_where(Conversation, chat_id=msg.chat_id, member=msg.sender)
    name = db.first(Customer, ["name"], id=record["customer_id"]) if record["customer_id"] else None
    return ctx.reply("visit_completed.md.j2", answers=found.answers, missing=left, customer=name[0] if name else None)


# ----------------------------------------------------------------------------- a new visit
def _is_visit(msg: Message, ctx: Context) -> Any:
    return ctx.parsed is not None and ctx.parsed.get("kind") == "visit" or None


def _record_visit(msg: Message, _match: Any, ctx: Context) -> Reply:
    p = ctx.parsed or {}
    db = ctx.records
    customer_id, customer_name, level, first = None, p.get("customer"), None, False
    if p.get("customer"):
        customer_id, customer_name, level, created = customer_for(ctx, p["customer"])
        first = created or first_visit(ctx, customer_id)
    contact_id = contact_for(ctx, customer_id, p) if customer_id is not None and p.get("contact") else None
    missing = list(p.get("missing") or [])
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
        rules = ctx.settings.rules
        summary_due = ctx.now + timedelta(hours=int(rules.get("followup_summary_hours", 24)))
        plan_at = plan_due(ctx.now, ctx.calendar, int(rules.get("followup_plan_workdays", 5)))
        for kind, due_at in (("summary", summary_due), ("plan", plan_at)):
            db.insert(Followup, visit_id=visit_id, customer_id=customer_id, member=msg.sender, kind=kind,
                      due_at=due_at)  # fmt: skip
    conversation = {"chat_id": msg.chat_id, "member": msg.sender}
    if missing:
        expires = ctx.now + timedelta(minutes=CONVERSATION_MINUTES)
        db.upsert(Conversation, conversation, topic="visit", visit_id=visit_id, missing=json.dumps(missing),
                  expires_at=expires)  # fmt: skip
    else:
        db.delete_where(Conversation, **conversation)
    return ctx.reply(
        "visit_recorded.md.j2",
        parsed=p,
        customer=customer_name,
        new_customer=first and customer_id is not None and level is None,
        first_visit=first and customer_id is not None,
        missing=missing,
    )


HANDLERS = [
    Handler("visits.answer", _open_conversation, _complete, group=10),
    Handler("visits.record", _is_visit, _record_visit, group=20),
]
