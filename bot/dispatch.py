"""Message -> the first handler that matches -> Reply.

Handlers are declared in `handlers/` and passed in; this module knows none by name.
Each has a cheap `check` that returns match data (or None) and a `handle` that
receives it, after the shared middleware has resolved who is speaking.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlmodel import Session

from bot.db import NeedsLock, PlannedRecords, Records, raw_sql
from bot.models import Member, Outbox
from bot.render import Renderer
from bot.settings import Settings
from bot.wecom.inbound import Message
from bot.wecom.outbox import enqueue, enqueue_file
from bot.workdays import WorkCalendar


@dataclass
class Reply:
    content: str
    format: str = "markdown"  # markdown | text
    mentions: list[str] = field(default_factory=list)
    asks: list[str] = field(default_factory=list)  # what the reply asks the member for (a visit's missing items)


@dataclass
class Context:
    """What a handler may use: the open transaction, the speaker, the clock, the templates.

    `session` is an ORM session joined to the request's transaction, opened on first use,
    so a message that writes nothing pays nothing for it.

    A handler is first run outside the write lock with `planning` set (see
    CallbackService._plan): `records` then plans its writes, and a read, the ORM session or
    the use of an id it has not written yet raises NeedsLock and it runs again under the
    lock, where all of them work. So a handler must not act on the world before it returns
    (send, invalidate another process's state): queue posts with `post`, and put what should
    happen once its rows exist in `after_commit`, which is also where a handler remembers
    in `cache` what it wrote.
    """

    conn: Connection
    settings: Settings
    message: Message
    member: Member | None
    now: datetime  # aware, in the team's time zone
    render: Renderer
    target: str  # where group posts for this chat go
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    cache: dict[str, Any] = field(default_factory=dict)  # per service; see CallbackService.cache
    directory: MemberDirectory | None = None  # every active member (the roster and those added by /成员)
    committed: list[Callable[[], None]] = field(default_factory=list)  # run once the transaction commits
    parsed: dict[str, Any] | None = None  # what bot.parse understood of the text (computed outside the lock)
    message_row_id: int | None = None
    posted: list[Outbox] = field(default_factory=list)
    store_message: Callable[[Connection], int] | None = None
    planning: PlannedRecords | None = None  # set while the handler is planned outside the write lock
    listed: bool = False  # replying to one of several visits of a message: the list asks for what is missing
    _session: Session | None = None
    _records: Records | None = None
    _writing: bool = False

    @property
    def read(self) -> Records:
        """Reads on the request's transaction that open nothing (a handler's `check` uses this)."""
        if self.planning is not None:
            raise NeedsLock("a read")
        return Records(self.conn)

    @property
    def peek(self) -> Records:
        """Reads of what is committed that a planned handler may make too (see Records.peek)."""
        return self.planning if self.planning is not None else Records(self.conn)

    @property
    def records(self) -> Records:
        """Handlers' fast way to write: statements on the request's transaction (see bot.db.Records).

        While the handler is being planned, its writes are recorded instead, and applied under the
        write lock (bot.db.PlannedRecords); its reads make it run again under the lock.
        """
        if self.planning is not None:
            return self.planning
        self._begin_writes()
        if self._records is None:
            self._records = Records(self.conn)
        return self._records

    @property
    def session(self) -> Session:
        """An ORM session in a savepoint of the request's transaction, for richer work."""
        if self.planning is not None:
            raise NeedsLock("the ORM session")
        self._begin_writes()
        if self._session is None:
            self._session = Session(
                bind=self.conn, expire_on_commit=False, autoflush=True, join_transaction_mode="create_savepoint"
            )
        return self._session

    def _begin_writes(self) -> None:
        """Before a handler's first write: store the message, then open the handler's savepoint.

        So the records a handler writes can point at the message, and a failing handler's
        records roll back without it.
        """
        if self._writing:
            return
        if self.message_row_id is None and self.store_message is not None:
            self.message_row_id = self.store_message(self.conn)
        raw_sql(self.conn, "SAVEPOINT fl_handler")
        self._writing = True

    def close(self) -> None:
        """The handler is done: keep its writes (they commit with the batch)."""
        if self._session is not None:
            self._session.commit()  # releases the ORM's savepoint only
            self._session.close()
            self._session = None
        if self._writing:
            raw_sql(self.conn, "RELEASE fl_handler")
            self._writing = False
        self._records = None

    def discard(self) -> None:
        """The handler failed: roll back everything it wrote and forget what it queued."""
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None
        if self._writing:
            raw_sql(self.conn, "ROLLBACK TO fl_handler")
            raw_sql(self.conn, "RELEASE fl_handler")
            self._writing = False
        self._records = None
        self.posted.clear()
        self.committed.clear()  # what it meant to do once committed was rolled back with it

    def stop_planning(self, message_row_id: int | None = None) -> None:
        """The handler runs again under the lock: forget what planning it queued."""
        self.planning, self.message_row_id = None, message_row_id
        self.posted.clear()
        self.committed.clear()

    def reply(self, template: str, *, fmt: str = "markdown", **values: Any) -> Reply:
        return Reply(self.render.render(template, member=self.member, now=self.now, listed=self.listed, **values), fmt)

    def post_file(self, filename: str, data: bytes) -> None:
        """Queue a file for the group (upload_media + a file message) in this transaction."""
        self.posted.append(
            enqueue_file(
                self.records,
                self.target,
                filename,
                data,
                chat_id=self.message.chat_id,
                source=f"msg:{self.message.msgid}",
                now=self.now,
            )  # fmt: skip
        )

    def member_named(self, userid: str) -> str:
        m = self.directory.get(userid) if self.directory else None
        m = m or self.settings.member(userid)  # type: ignore[assignment]
        return m.name if m else userid

    def members(self) -> list[Member]:
        return self.directory.all() if self.directory else []

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` once this request's writes are committed (e.g. drop a cache they made stale)."""
        self.committed.append(fn)

    def post(
        self,
        template: str,
        *,
        msgtype: str = "markdown",
        mentions: list[str] | None = None,
        dedupe_key: str | None = None,
        **values: Any,
    ) -> None:
        """Queue a group post in this transaction; it is sent once the transaction commits."""
        content = self.render.render(template, member=self.member, now=self.now, **values)
        self.posted += enqueue(
            self.records,
            self.target,
            msgtype,
            content,
            mentions=mentions,
            chat_id=self.message.chat_id,
            source=f"msg:{self.message.msgid}",
            dedupe_key=dedupe_key,
            now=self.now,
        )


@dataclass(frozen=True)
class Handler:
    name: str
    check: Callable[[Message, Context], Any]
    handle: Callable[[Message, Any, Context], Reply | None]
    group: int = 0


class Dispatcher:
    def __init__(self, handlers: Sequence[Handler]) -> None:
        self.handlers = sorted(handlers, key=lambda h: h.group)

    def dispatch(self, message: Message, ctx: Context) -> tuple[str | None, Reply | None]:
        """Run the first handler whose check matches; (handler name, its reply)."""
        for handler in self.handlers:
            match = handler.check(message, ctx)
            if match is None or match is False:
                continue
            return handler.name, handler.handle(message, match, ctx)
        return None, None


class MemberDirectory:
    """Who is speaking: the member table, cached per process for `ttl` seconds.

    The roster changes a few times a year; a callback should not pay a query for it.
    `invalidate()` after a change made in this process; other processes see it within `ttl`.
    """

    def __init__(self, engine: Engine, ttl: float = 30.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._members: dict[str, Member] = {}
        self._loaded = -1e9
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._loaded = -1e9

    def get(self, userid: str) -> Member | None:
        return self._current().get(userid)

    def all(self) -> list[Member]:
        return list(self._current().values())

    def _current(self) -> dict[str, Member]:
        if time.monotonic() - self._loaded > self.ttl:
            with self._lock:
                if time.monotonic() - self._loaded > self.ttl:
                    with Session(self.engine, expire_on_commit=False) as s:
                        rows = s.execute(select(Member).where(Member.active == True)).scalars().all()  # noqa: E712
                        for row in rows:
                            s.expunge(row)
                    self._members = {m.userid: m for m in rows}
                    self._loaded = time.monotonic()
        return self._members
