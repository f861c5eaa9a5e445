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
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.dispatch import Context, Dispatcher, Reply, find_member
from bot.models import Chat, InboundMessage
from bot.privacy import mask_sensitive
from bot.render import Renderer
from bot.settings import Settings
from bot.wecom.crypto import CallbackCipher, Refusal
from bot.wecom.inbound import AIBOT, Message, read_envelope, read_message
from bot.wecom.outbound import MARKDOWN_LIMIT, TEXT_LIMIT, split_content
from bot.wecom.outbox import LOCAL_TARGET, enqueue

log = logging.getLogger("frontline.callback")

_MSG = InboundMessage.__table__


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


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
        self._chat_webhooks: dict[str, str] = {}

    # ------------------------------------------------------------------ GET
    def verify(self, args: dict[str, str]) -> Response:
        try:
            sig, ts, nonce, echo = (args.get(k, "") for k in ("msg_signature", "timestamp", "nonce", "echostr"))
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
        try:
            msg = self._open(args, body)
        except Refusal as r:
            log.warning("callback refused: %s", r.reason)
            return refused(r)
        try:
            reply = self._store_and_handle(msg, started)
        except Exception:
            log.exception("callback %s could not be stored", msg.msgid)
            # Nothing was stored: let WeCom deliver it again.
            return Response(503, b"storage unavailable, retry later")
        if reply is None:
            return Response(200, b"")
        fmt, content = reply
        plain = reply_plaintext(msg.mode, msg.msgid, fmt, content)
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

    def target_for(self, msg: Message) -> str:
        if self.local_sink:
            return LOCAL_TARGET
        return self.settings.wecom.webhook_url or self.rebase(msg.webhook_url)

    def _store_and_handle(self, msg: Message, started: float) -> tuple[str, str] | None:
        now = self.clock()
        text = mask_sensitive(msg.text) if msg.text is not None else None
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                row_id = s.execute(
                    insert(_MSG).values(
                        msgid=msg.msgid,
                        mode=msg.mode,
                        chat_id=msg.chat_id,
                        chat_type=msg.chat_type,
                        sender=msg.sender,
                        sender_name=msg.sender_name,
                        msgtype=msg.msgtype,
                        text=text,
                        raw=mask_sensitive(msg.raw),
                        received_at=now,
                    )
                ).inserted_primary_key[0]
            except IntegrityError:
                s.rollback()
                return self._replay(s, msg)
            self._remember_chat(s, msg, now)

            member = find_member(s, msg.sender)
            ctx = Context(
                session=s,
                settings=self.settings,
                message=_masked(msg, text),
                member=member,
                now=now,
                render=self.renderer,
                target=self.target_for(msg),
                message_row_id=row_id,
            )
            handler_name, reply, error = None, None, None
            savepoint = s.begin_nested()
            try:
                handler_name, reply = self.dispatcher.dispatch(ctx.message, ctx)
                savepoint.commit()
            except Exception as exc:
                savepoint.rollback()
                ctx.posted.clear()
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("handler failed on message %s", msg.msgid)
                reply = Reply(self.renderer.render("error.md.j2"))
            fmt, content = self._fit(ctx, reply, started)
            s.execute(
                update(_MSG)
                .where(_MSG.c.id == row_id)
                .values(handled_at=self.clock(), handler=handler_name, reply=content, reply_format=fmt, error=error)
            )
            s.commit()
        if ctx.posted:
            self.on_posted()
        if content is None:
            return None
        return fmt or "markdown", content

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
                ctx.session,
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

    def _replay(self, s: Session, msg: Message) -> tuple[str, str] | None:
        row = s.execute(
            select(_MSG.c.reply, _MSG.c.reply_format, _MSG.c.handled_at).where(_MSG.c.msgid == msg.msgid)
        ).first()
        log.info("duplicate delivery of %s: replaying the first reply", msg.msgid)
        if row is None or row.reply is None:
            return None
        return row.reply_format or "markdown", row.reply

    def _remember_chat(self, s: Session, msg: Message, now: datetime) -> None:
        """Keep the webhook WeCom gives for each chat, for posts that no message caused."""
        if not msg.chat_id or not msg.webhook_url or self._chat_webhooks.get(msg.chat_id) == msg.webhook_url:
            return
        chat = s.execute(select(Chat).where(Chat.chat_id == msg.chat_id)).scalars().first()
        if chat is None:
            s.add(Chat(chat_id=msg.chat_id, webhook_url=msg.webhook_url, last_seen_at=now))
        else:
            chat.webhook_url, chat.last_seen_at = msg.webhook_url, now
        self._chat_webhooks[msg.chat_id] = msg.webhook_url


def _masked(msg: Message, text: str | None) -> Message:
    if text == msg.text:
        return msg
    from dataclasses import replace

    return replace(msg, text=text)
