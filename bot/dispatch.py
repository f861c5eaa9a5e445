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

from bot.models import Member, Outbox
from bot.render import Renderer
from bot.settings import Settings
from bot.wecom.inbound import Message
from bot.wecom.outbox import enqueue


@dataclass
class Reply:
    content: str
    format: str = "markdown"  # markdown | text
    mentions: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What a handler may use: the open transaction, the speaker, the clock, the templates.

    `session` is an ORM session joined to the request's transaction, opened on first use,
    so a message that writes nothing pays nothing for it.
    """

    conn: Connection
    settings: Settings
    message: Message
    member: Member | None
    now: datetime  # aware, in the team's time zone
    render: Renderer
    target: str  # where group posts for this chat go
    message_row_id: int | None = None
    posted: list[Outbox] = field(default_factory=list)
    store_message: Callable[[Connection], int] | None = None
    _session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session in a savepoint of the request's transaction, opened on first use.

        Handlers write through it (never through `conn`): opening it stores the message
        first, so the records it writes can point at the message and a failing handler's
        records roll back without the message.
        """
        if self._session is None:
            if self.message_row_id is None and self.store_message is not None:
                self.message_row_id = self.store_message(self.conn)
            self._session = Session(
                bind=self.conn, expire_on_commit=False, autoflush=True, join_transaction_mode="create_savepoint"
            )
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        """Done with the ORM session: release its savepoint; the outer transaction commits with the batch."""
        if self._session is not None:
            self._session.commit()
            self._session.close()
            self._session = None

    def discard(self) -> None:
        """The handler failed: roll back its ORM savepoint and forget what it queued."""
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None
        self.posted.clear()

    def reply(self, template: str, *, fmt: str = "markdown", **values: Any) -> Reply:
        return Reply(self.render.render(template, member=self.member, now=self.now, **values), fmt)

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
            self.session,
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
        if time.monotonic() - self._loaded > self.ttl:
            with self._lock:
                if time.monotonic() - self._loaded > self.ttl:
                    with Session(self.engine, expire_on_commit=False) as s:
                        rows = s.execute(select(Member).where(Member.active == True)).scalars().all()  # noqa: E712
                        for row in rows:
                            s.expunge(row)
                    self._members = {m.userid: m for m in rows}
                    self._loaded = time.monotonic()
        return self._members.get(userid)
