"""The callback core, free of any web framework: verify, decrypt, store once, dispatch, reply.

`CallbackService.verify` answers URL verification; `CallbackService.receive` takes one
POSTed callback and returns (status, content type, body). Refusals are 4xx with a
short reason and store nothing. An accepted message is inserted before any handler
runs; the handler runs inside a savepoint of the same transaction, so a handler that
fails leaves the message stored (with its error) and the rest of its work undone.
A message id seen before gets the reply the first delivery got, and nothing else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.db import NeedsLock, Pending, PlannedRecords, fast_insert, fast_update, raw_sql
from bot.dispatch import Context, Dispatcher, MemberDirectory, Reply
from bot.models import Chat, InboundMessage
from bot.parse import parse
from bot.privacy import mask_sensitive
from bot.render import Renderer
from bot.settings import Settings
from bot.wecom.crypto import CallbackCipher, Refusal
from bot.wecom.inbound import AIBOT, Message, read_envelope, read_message
from bot.wecom.outbound import MARKDOWN_LIMIT, TEXT_LIMIT, split_content
from bot.wecom.outbox import LOCAL_TARGET, enqueue
from bot.workdays import WorkCalendar
from bot.writer import GroupCommitter

log = logging.getLogger("frontline.callback")

COMMAND_PREFIXES = ("/", "／")

_MSG = InboundMessage.__table__
_CHAT = Chat.__table__
_STORED = ["msgid", "mode", "chat_id", "chat_type", "sender", "sender_name", "msgtype", "text", "raw", "received_at"]
_OUTCOME = ["handled_at", "handler", "reply", "reply_format", "error"]
_UNHANDLED = dict.fromkeys(_OUTCOME)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


class DuplicateMessage(Exception):
    """The msgid is stored already: WeCom delivered the message again."""


def refused(r: Refusal) -> Response:
    return Response(r.status, r.reason.encode())


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_plaintext(mode: str, msgid: str, fmt: str, content: str) -> str:
    """The reply before encryption, in the caller's format."""
    if mode == AIBOT:
        return json.dumps(
            {"msgtype": "stream", "stream": {"id": msgid[:64], "finish": True, "content": content}},
            ensure_ascii=False,
        )
    if fmt == "text":
        return f"<xml><MsgType>text</MsgType><Text><Content>{_cdata(content)}</Content></Text></xml>"
    return f"<xml><MsgType>markdown</MsgType><Markdown><Content>{_cdata(content)}</Content></Markdown></xml>"


@dataclass(frozen=True)
class _Planned:
    """A message handled outside the write lock, waiting to be applied under it."""

    records: PlannedRecords
    message_id: Pending  # the stored message's id, which the records may point at
    outcome: dict[str, Any]  # the message row's handler, reply and format
    generation: int  # of the cache the handler read


class CallbackService:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        cipher: CallbackCipher,
        dispatcher: Dispatcher,
        renderer: Renderer,
        *,
        local_sink: bool = False,
        clock: Callable[[], datetime] | None = None,
        on_posted: Callable[[], None] | None = None,
        rebase: Callable[[str], str] = lambda url: url,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.cipher = cipher
        self.dispatcher = dispatcher
        self.renderer = renderer
        self.local_sink = local_sink
        self.tz = settings.tz
        self.clock = clock or (lambda: datetime.now(self.tz))
        self.on_posted = on_posted or (lambda: None)
        self.rebase = rebase
        self.calendar = calendar or WorkCalendar(settings.holidays, settings.workdays)
        self.members = MemberDirectory(engine)
        # Facts handlers learnt from rows (a customer's id, "has been visited"): written under the
        # write lock or once committed, read by handlers being planned too; cleared if a batch
        # fails (it may hold ids the batch wrote), and then plans made before are not applied.
        self.cache: dict[str, Any] = {}
        self._generation = 0
        self.writer = GroupCommitter(engine, on_rollback=self._forget)
        # A second delivery of a msgid breaks its unique index, through SQLAlchemy or the driver.
        self._duplicate = (IntegrityError, engine.dialect.loaded_dbapi.IntegrityError)
        self._insert = fast_insert(engine, _MSG, _STORED + _OUTCOME)
        self._update = fast_update(engine, _MSG, _OUTCOME)
        self._chat_webhooks: dict[str, str] = {}
        # PostgreSQL's text cannot hold U+0000, which a JSON callback can carry (\u0000); SQLite's can.
        self._nul_free = engine.dialect.name != "sqlite"

    # ------------------------------------------------------------------ GET
    def verify(self, args: dict[str, str]) -> Response:
        try:
            sig, ts, nonce, echo = (args.get(k, "") for k in ("msg_signature", "timestamp", "nonce", "echostr"))
            echo = echo.replace(" ", "+")  # base64 has no spaces: an unencoded '+' arrived as one
            if not (sig and ts and nonce and echo):
                raise Refusal(400, "missing msg_signature, timestamp, nonce or echostr")
            plain = self.cipher.verify_url(sig, ts, nonce, echo)
        except Refusal as r:
            log.warning("url verification refused: %s", r.reason)
            return refused(r)
        return Response(200, plain.encode())

    # ------------------------------------------------------------------ POST
    def receive(self, args: dict[str, str], body: bytes) -> Response:
        started = time.monotonic()
        self.writer.wait_for_batch()
        try:
            msg = self._open(args, body)
        except Refusal as r:
            log.warning("callback refused: %s", r.reason)
            return refused(r)
        except Exception:  # a shape of request no reader foresaw: still the caller's fault, never a 5xx
            log.exception("callback refused: unreadable request")
            return refused(Refusal(400, "unreadable request"))
        try:
            reply = self._store_and_handle(msg, started)
        except Exception:
            self._forget()
            log.exception("callback %s could not be stored", msg.msgid)
            # Nothing was stored: let WeCom deliver it again.
            return Response(503, b"storage unavailable, retry later")
        if reply is None:
            return Response(200, b"")
        fmt, content = reply
        plain = reply_plaintext(msg.mode, msg.msgid, fmt, content)
        self.writer.wait_for_batch()
        if msg.mode == AIBOT:
            return Response(200, self.cipher.seal_json(plain).encode(), "application/json")
        return Response(200, self.cipher.seal_xml(plain).encode(), "application/xml")

    def _open(self, args: dict[str, str], body: bytes) -> Message:
        if len(body) > self.settings.max_body_bytes:
            raise Refusal(413, "body over 1 MB")
        sig, ts, nonce = (args.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if not (sig and ts and nonce):
            raise Refusal(400, "missing msg_signature, timestamp or nonce")
        envelope = read_envelope(body)
        plaintext = self.cipher.open(envelope.encrypt, sig, ts, nonce)
        msg = read_message(envelope.mode, plaintext, self.settings.wecom.bot_names)
        if msg.chat_type == "single" and not msg.chat_id:
            if self.settings.chats and self.settings.member(msg.sender) is None:
                raise Refusal(403, "single chat from a non-member")
        elif not self.settings.serves_chat(msg.chat_id):
            raise Refusal(403, "chat not served")
        return msg

    def _understand(self, text: str | None, now: datetime, sender: str) -> dict[str, Any] | None:
        """Parsing is pure and the costliest step of a text: done here, before the write lock."""
        if not text or text.lstrip().startswith(COMMAND_PREFIXES):
            return None
        return parse(text, now, sender or None, self.calendar)

    def target_for(self, msg: Message) -> str:
        if self.local_sink:
            return LOCAL_TARGET
        return self.settings.wecom.webhook_url or self.rebase(msg.webhook_url)

    def _store_and_handle(self, msg: Message, started: float) -> tuple[str, str] | None:
        if self._nul_free:
            msg = _without_nul(msg)
        self.writer.wait_for_batch()
        now = self.clock()
        text = mask_sensitive(msg.text) if msg.text is not None else None
        values = {
            "msgid": msg.msgid, "mode": msg.mode, "chat_id": msg.chat_id, "chat_type": msg.chat_type,
            "sender": msg.sender, "sender_name": msg.sender_name, "msgtype": msg.msgtype,
            "text": text, "raw": mask_sensitive(msg.raw), "received_at": now,
        }  # fmt: skip
        ctx = Context(
            conn=None,  # type: ignore[arg-type]  # the batch's connection, set when the unit runs
            settings=self.settings, message=_masked(msg, text), member=self.members.get(msg.sender),
            now=now, render=self.renderer, target=self.target_for(msg), calendar=self.calendar, cache=self.cache,
            directory=self.members,
            parsed=self._understand(text, now, msg.sender),
        )  # fmt: skip

        def store(conn: Connection, outcome: dict[str, Any], params: Any = None) -> int:
            try:
                if params is None:
                    params = self._insert.params({**values, **outcome})
                return self._insert.execute_params(conn, params)[0][0]  # type: ignore[index]
            except self._duplicate:
                raise DuplicateMessage(msg.msgid) from None

        def handle(conn: Connection) -> tuple[str | None, str | None]:
            """Handle the message and store it with its reply, in the batch's transaction.

            A handler that writes records reaches the database through `ctx.records` or `ctx.session`, which
            first stores the message and then opens a savepoint: records of a failing handler
            are rolled back, the message stays. A handler that writes nothing costs one INSERT.
            Either way the unit's first write is the message, so a duplicate msgid fails it
            before anything else was written (the writer needs no savepoint for it).
            """
            ctx.conn = conn
            handler_name, reply, error = None, None, None
            try:
                handler_name, reply = self.dispatcher.dispatch(ctx.message, ctx)
                ctx.close()
            except DuplicateMessage:
                raise
            except Exception as exc:
                ctx.discard()
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("handler failed on message %s", msg.msgid)
                reply = Reply(self.renderer.render("error.md.j2"))
            fmt, content = self._fit(ctx, reply, started)
            ctx.close()
            outcome = self._outcome(handler_name, fmt, content, error)
            if ctx.message_row_id is None:
                ctx.message_row_id = store(conn, outcome)
            else:
                self._update.run(conn, {"row_id": ctx.message_row_id, **outcome})
            self._remember_chat(conn, msg, now)
            return fmt, content

        ctx.store_message = lambda conn: store(conn, _UNHANDLED)
        self.writer.wait_for_batch()
        planned = self._plan(ctx, started)
        if planned is None:
            unit = handle
        else:
            row = self._insert.params({**values, **planned.outcome})  # made here, outside the lock

            def unit(conn: Connection) -> tuple[str | None, str | None]:
                """Apply what the handler decided outside the lock: the message with its reply, then its
                records, in a savepoint. If the plan no longer fits the data (a row it names is gone)
                or the cache it relied on was dropped meanwhile, the handler runs again here."""
                ctx.conn = conn
                row_id = store(conn, planned.outcome, row)  # first: a duplicate fails before anything is written
                planned.message_id.value = row_id
                if planned.generation == self._generation and self._applied(conn, planned.records, msg.msgid):
                    self._remember_chat(conn, msg, now)
                    return planned.outcome["reply_format"], planned.outcome["reply"]
                ctx.stop_planning(message_row_id=row_id)
                return handle(conn)

        try:
            fmt, content = self.writer.run(unit, savepoint=False)
        except DuplicateMessage:
            return self._replay(msg)
        for fn in ctx.committed:
            fn()
        if ctx.posted:
            self.on_posted()
        if content is None:
            return None
        return fmt or "markdown", content

    def _plan(self, ctx: Context, started: float) -> _Planned | None:
        """Decide and render outside the write lock, so that under it only statements run.

        Most messages need nothing a plan cannot give (their writes, the per-process cache);
        None when the handler read the database, used the ORM, used the id of a row it wrote,
        or failed: then it runs under the lock as it always could.
        """
        generation = self._generation
        planning = ctx.planning = PlannedRecords(self.engine)
        message_id = ctx.message_row_id = Pending()  # type: ignore[assignment]
        try:
            handler_name, reply = self.dispatcher.dispatch(ctx.message, ctx)
            fmt, content = self._fit(ctx, reply, started)
        except Exception as exc:  # NeedsLock, or a failure the handler will report under the lock
            if not isinstance(exc, NeedsLock):
                log.debug("planning %s failed (%s); handling it under the lock", ctx.message.msgid, type(exc).__name__)
            ctx.stop_planning()
            return None
        return _Planned(planning, message_id, self._outcome(handler_name, fmt, content, None), generation)

    def _outcome(self, handler: str | None, fmt: str | None, content: str | None, error: str | None) -> dict[str, Any]:
        """The message row's columns that say how it was handled (`_OUTCOME`)."""
        return {"handled_at": self.clock(), "handler": handler, "reply": content, "reply_format": fmt, "error": error}

    def _applied(self, conn: Connection, records: PlannedRecords, msgid: str) -> bool:
        if not records.steps:
            return True
        raw_sql(conn, "SAVEPOINT fl_handler")
        try:
            records.apply(conn)
        except Exception as exc:
            raw_sql(conn, "ROLLBACK TO fl_handler")
            raw_sql(conn, "RELEASE fl_handler")
            log.info("plan for %s no longer applies (%s); handling it again", msgid, type(exc).__name__)
            return False
        raw_sql(conn, "RELEASE fl_handler")
        return True

    def _fit(self, ctx: Context, reply: Reply | None, started: float) -> tuple[str | None, str | None]:
        """The passive part of a reply; what does not fit, or comes too late, goes through the outbox."""
        if reply is None or not reply.content:
            return None, None
        limit = TEXT_LIMIT if reply.format == "text" else MARKDOWN_LIMIT
        chunks = split_content(reply.content, limit)
        late = time.monotonic() - started > self.settings.reply_budget_seconds
        rest = chunks if late else chunks[1:]
        if rest:
            ctx.posted += enqueue(
                ctx.records,
                ctx.target,
                reply.format,
                "\n".join(rest),
                mentions=reply.mentions,
                chat_id=ctx.message.chat_id,
                source=f"msg:{ctx.message.msgid}",
                now=ctx.now,
            )
        if late:
            return None, None
        return reply.format, chunks[0]

    def _forget(self) -> None:
        self._generation += 1
        self.cache.clear()

    def _replay(self, msg: Message) -> tuple[str, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_MSG.c.reply, _MSG.c.reply_format).where(_MSG.c.msgid == msg.msgid)).first()
        log.info("duplicate delivery of %s: replaying the first reply", msg.msgid)
        if row is None or row.reply is None:
            return None
        return row.reply_format or "markdown", row.reply

    def _remember_chat(self, conn: Connection, msg: Message, now: datetime) -> None:
        """Keep the webhook WeCom gives for each chat, for posts that no message caused."""
        if not msg.chat_id or not msg.webhook_url or self._chat_webhooks.get(msg.chat_id) == msg.webhook_url:
            return
        updated = conn.execute(
            update(_CHAT).where(_CHAT.c.chat_id == msg.chat_id).values(webhook_url=msg.webhook_url, last_seen_at=now)
        ).rowcount
        if not updated:
            conn.execute(insert(_CHAT).values(chat_id=msg.chat_id, webhook_url=msg.webhook_url, last_seen_at=now))
        self._chat_webhooks[msg.chat_id] = msg.webhook_url


def _without_nul(msg: Message) -> Message:
    """The message without NUL characters in its text fields (they could not be stored)."""
    changes = {
        f.name: value.replace("\x00", "")
        for f in fields(msg)
        if isinstance(value := getattr(msg, f.name), str) and "\x00" in value
    }
    return replace(msg, **changes) if changes else msg


def _masked(msg: Message, text: str | None) -> Message:
    if text == msg.text:
        return msg
    return replace(msg, text=text)
