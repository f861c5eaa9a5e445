"""The tables: one name per concept, the same in code, database and templates.

Every timestamp is an aware datetime stored as UTC (`bot.db.UTCDateTime`); calendar
days a rep talks about (a due date, a trip day, a leave) are plain dates in the
team's time zone. Indexes follow the reports that read them: by time, by member
and time, by customer and time.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime, utcnow


def _ts(index: bool = False, nullable: bool = False) -> datetime:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, index=index, nullable=True)
    return Field(sa_type=UTCDateTime, index=index, nullable=False)


def _now(index: bool = False) -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, index=index, nullable=False)


def _text(nullable: bool = True) -> str:
    return Field(default=None if nullable else "", sa_type=Text, nullable=nullable)


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    userid: str = Field(unique=True, index=True)
    name: str
    role: str = "rep"  # rep | leader | admin
    region: str = Field(default="", index=True)
    mobile: str = ""
    active: bool = True
    created_at: datetime = _now()


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)  # canonical name
    level: str | None = Field(default=None, index=True)  # 三甲/三级/二级/一级/社区/民营, None = unknown
    region: str = Field(default="", index=True)
    created_at: datetime = _now(index=True)
    created_by: str | None = None


class CustomerAlias(SQLModel, table=True):
    __tablename__ = "customer_alias"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(unique=True, index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)


class Contact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("customer_id", "name", "department"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str  # surname + title as written: 王主任
    title: str | None = None
    department: str | None = None
    decision_role: str | None = None
    created_at: datetime = _now()


class InboundMessage(SQLModel, table=True):
    """Every accepted callback, stored before any handler runs; msgid is WeCom's dedupe key."""

    __tablename__ = "inbound_message"
    id: int | None = Field(default=None, primary_key=True)
    msgid: str = Field(unique=True)
    mode: str  # robot | aibot
    # No index on chat or sender: nothing looks messages up by them, and every callback would pay
    # for keeping two more B-trees (and writing their pages) at its commit.
    chat_id: str = ""
    chat_type: str = ""
    sender: str = ""
    sender_name: str = ""
    msgtype: str = ""
    text: str | None = _text()
    raw: str = _text(nullable=False)
    received_at: datetime = _now(index=True)
    handled_at: datetime | None = _ts(nullable=True)
    handler: str | None = None
    reply_format: str | None = None  # markdown | text | stream | None (no passive reply)
    reply: str | None = _text()
    error: str | None = _text()


class Chat(SQLModel, table=True):
    """The group chats the bot has heard from, with the webhook WeCom gave for each."""

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str = Field(unique=True)
    webhook_url: str = ""
    last_seen_at: datetime = _now()


class Visit(SQLModel, table=True):
    __table_args__ = (
        Index("ix_visit_member_time", "member", "visited_at"),
        Index("ix_visit_customer_time", "customer_id", "visited_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    member: str  # userid
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    department: str | None = None
    decision_role: str | None = None  # no index: it would lure SQLite off the visited_at range
    pain_points: str | None = _text()
    competitor: str | None = _text()
    next_action: str | None = _text()
    due: date | None = None
    budget: int | None = None
    first_visit: bool = False
    complete: bool = False
    visited_at: datetime = _now(index=True)
    raw_text: str = _text(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id")


class Urgent(SQLModel, table=True):
    # numbers the group has seen (急需 #3) are never given again, even after /撤销 (SQLite reuses
    # the highest rowid without AUTOINCREMENT)
    __table_args__ = (Index("ix_urgent_status_created", "status", "created_at"), {"sqlite_autoincrement": True})
    id: int | None = Field(default=None, primary_key=True)
    member: str
    region: str = ""
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    department: str | None = None
    items: str = Field(default="[]", sa_type=Text)  # JSON list of {product, quantity, unit}
    due: date | None = None
    status: str = "open"  # open | taken | done
    taken_by: str | None = None
    taken_at: datetime | None = _ts(nullable=True)
    done_at: datetime | None = _ts(nullable=True)
    escalation: int = 0  # 0 none, 1 leader, 2 manager
    created_at: datetime = _now()
    raw_text: str = _text(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id")


class Competitor(SQLModel, table=True):
    """Competitor intel: a move by another brand, at a customer or in a region."""

    id: int | None = Field(default=None, primary_key=True)
    member: str
    region: str = Field(default="", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    brand: str | None = Field(default=None, index=True)
    activity: str | None = _text()
    reported_at: datetime = _now(index=True)
    raw_text: str = _text(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id")


class Itinerary(SQLModel, table=True):
    __table_args__ = (Index("ix_itinerary_day_member", "trip_date", "member"),)
    id: int | None = Field(default=None, primary_key=True)
    member: str
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    department: str | None = None
    trip_date: date
    reported_at: datetime = _now()
    raw_text: str = _text(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id")


class Leave(SQLModel, table=True):
    __table_args__ = (Index("ix_leave_member_span", "member", "start", "end"),)
    id: int | None = Field(default=None, primary_key=True)
    member: str
    start: date
    end: date
    part: str | None = None  # a half day: "am", "pm", or "half" (which half not said); None: whole days
    handover: str | None = None
    reported_at: datetime = _now()
    raw_text: str = _text(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id")


class Review(SQLModel, table=True):
    __table_args__ = (Index("ix_review_day_member", "review_date", "member"),)
    id: int | None = Field(default=None, primary_key=True)
    member: str
    review_date: date
    target_met: bool | None = None
    reason: str | None = _text()
    remedy: str | None = _text()
    posted_at: datetime = _now()
    raw_text: str = _text(nullable=False)
    message_id: int | None = Field(default=None, foreign_key="inbound_message.id")


class Followup(SQLModel, table=True):
    __table_args__ = (Index("ix_followup_status_due", "status", "due_at"), {"sqlite_autoincrement": True})
    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    member: str = Field(index=True)
    kind: str  # summary (24 h) | plan (3-5 working days)
    due_at: datetime = _ts()
    status: str = "open"  # open | done
    done_at: datetime | None = _ts(nullable=True)
    reminded_at: datetime | None = _ts(nullable=True)
    overdue_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _now()


class Opportunity(SQLModel, table=True):
    __table_args__ = (Index("ix_opportunity_stage", "stage", "updated_at"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    stage: str = "线索"  # 线索 意向 方案 报价 招标 签约 | 丢单
    product_line: str | None = None
    opened_at: datetime = _now()
    updated_at: datetime = _now()
    closed_at: datetime | None = _ts(nullable=True)
    lost_reason: str | None = None


class StageChange(SQLModel, table=True):
    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_to_time", "to_stage", "changed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    from_stage: str | None = None
    to_stage: str
    changed_at: datetime = _now()
    changed_by: str = ""
    reason: str | None = None


class Outbox(SQLModel, table=True):
    """A post the bot owes the group, written in the same transaction as the data behind it."""

    __table_args__ = (
        Index("ix_outbox_state_target", "state", "target", "id"),
        Index("ix_outbox_target_sent", "target", "sent_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    target: str  # webhook URL, or "local" for the simulator's sink
    chat_id: str = ""
    msgtype: str  # text | markdown | file
    payload: str = Field(sa_type=Text)  # the JSON body for WeCom, minus nothing
    state: str = "pending"  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _now()
    claimed_until: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)
    error: str | None = _text()
    source: str = ""  # msg:<msgid> or job:<name>@<iso time>
    dedupe_key: str | None = Field(default=None, unique=True)
    created_at: datetime = _now()


class SimPost(SQLModel, table=True):
    """What the local simulator's group received (no WeCom tenant configured)."""

    __tablename__ = "sim_post"
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int | None = Field(default=None, index=True)
    source: str = Field(default="", index=True)
    msgtype: str
    payload: str = Field(sa_type=Text)
    posted_at: datetime = _now()


class Conversation(SQLModel, table=True):
    """A question the bot asked a member and is waiting for, keyed by chat and member.

    After a visit with missing core items, the member's next message in the same chat
    within the timeout answers them instead of starting a new record.
    """

    __table_args__ = (UniqueConstraint("chat_id", "member"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: str
    member: str
    topic: str = "visit"
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    missing: str = Field(default="[]", sa_type=Text)  # JSON list of core items still missing
    expires_at: datetime = _ts()


class Audit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    actor: str
    action: str
    detail: str = Field(default="", sa_type=Text)
    at: datetime = _now(index=True)


class Kv(SQLModel, table=True):
    """Small durable facts of this installation (the simulator's generated key, job locks)."""

    key: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = _now()


__all__ = [
    "Audit",
    "Chat",
    "Competitor",
    "Contact",
    "Conversation",
    "Customer",
    "CustomerAlias",
    "Followup",
    "InboundMessage",
    "Itinerary",
    "Kv",
    "Leave",
    "Member",
    "Opportunity",
    "Outbox",
    "Review",
    "SimPost",
    "StageChange",
    "Urgent",
    "Visit",
]
