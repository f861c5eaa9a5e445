"""Message -> the first handler that matches -> Reply.

Handlers are declared in `handlers/` and passed in; this module knows none by name.
Each has a cheap `check` that returns match data (or None) and a `handle` that
receives it, after the shared middleware has resolved who is speaking.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

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
    """What a handler may use: the open transaction, the speaker, the clock, the templates."""

    session: Session
    settings: Settings
    message: Message
    member: Member | None
    now: datetime  # aware, in the team's time zone
    render: Renderer
    target: str  # where group posts for this chat go
    message_row_id: int | None = None
    posted: list[Outbox] = field(default_factory=list)

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


def find_member(session: Session, userid: str) -> Member | None:
    if not userid:
        return None
    return session.exec(select(Member).where(Member.userid == userid, Member.active == True)).first()  # noqa: E712
