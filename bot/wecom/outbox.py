"""The durable outbox: posts owed to the group, drained in order, at WeCom's pace.

A post is added with `enqueue` inside the caller's transaction, so it exists exactly
when the data that caused it does. `OutboxWorker.drain` sends what is due: per target
(webhook) strictly in id order, at most `per_minute` posts in any 60 seconds (counted
from the table, so the pace survives restarts and is shared by every process), retrying
transient errors with backoff and marking permanent ones failed with the reason.

A row is claimed before it is sent (state `sending`, with a lease) so two processes
never send the same row; it is marked `sent` in the same moment WeCom accepts it.
Only a hard crash between WeCom's answer and that commit leaves a row in doubt; when
its lease runs out it is sent again (a duplicate is better than a lost urgent alert).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from bot.db import Records, session_scope, utcnow
from bot.models import Outbox, SimPost
from bot.wecom.outbound import RETRYABLE_ERRCODES, Outcome, WebhookClient, backoff, build_posts

log = logging.getLogger("frontline.outbox")

LOCAL_TARGET = "local"
LEASE = timedelta(seconds=60)
WINDOW = timedelta(seconds=60)


def enqueue(
    db: Session | Records,
    target: str,
    msgtype: str,
    content: str,
    *,
    mentions: list[str] | None = None,
    chat_id: str = "",
    source: str = "",
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> list[Outbox]:
    """Add a post (split over WeCom's limits) to the caller's transaction; one row per WeCom post."""
    now = now or utcnow()
    rows = []
    for i, payload in enumerate(build_posts(msgtype, content, mentions, chat_id)):
        key = None if dedupe_key is None else (dedupe_key if i == 0 else f"{dedupe_key}#{i}")
        row = Outbox(
            target=target,
            chat_id=chat_id,
            msgtype=msgtype,
            payload=json.dumps(payload, ensure_ascii=False),
            source=source,
            dedupe_key=key,
            next_attempt_at=now,
            created_at=now,
        )
        rows.append(_add(db, row))
    return rows


def _add(db: Session | Records, row: Outbox) -> Outbox:
    """Into the caller's transaction: through the ORM session, or as one fast insert."""
    if isinstance(db, Records):
        row.id = db.insert(Outbox, **row.model_dump(exclude={"id"}))
    else:
        db.add(row)
    return row


FILE_LIMIT = 20 * 1024 * 1024  # WeCom's upload_media limit


def enqueue_file(
    db: Session | Records,
    target: str,
    filename: str,
    data: bytes,
    *,
    chat_id: str = "",
    source: str = "",
    now: datetime | None = None,
) -> Outbox:
    """A file for the group (upload_media, then a file message), in the caller's transaction."""
    if not 5 <= len(data) <= FILE_LIMIT:
        raise ValueError(f"a WeCom file must be 5 B to 20 MB, got {len(data)} bytes")
    now = now or utcnow()
    row = Outbox(
        target=target,
        chat_id=chat_id,
        msgtype="file",
        payload=json.dumps({"filename": filename, "content_b64": base64.b64encode(data).decode()}),
        source=source,
        next_attempt_at=now,
        created_at=now,
    )
    return _add(db, row)


class OutboxWorker:
    """Drains the outbox. `drain()` is one pass (tests call it with a moved clock);
    `start()` runs passes on a daemon thread until `stop()`."""

    def __init__(
        self,
        engine: Engine,
        client: WebhookClient | None = None,
        *,
        per_minute: int = 20,
        max_attempts: int = 8,
        poll_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        owner: str = "",
    ) -> None:
        self.engine = engine
        self.client = client or WebhookClient()
        self.per_minute = per_minute
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.owner = owner or f"pid{threading.get_native_id()}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def notify(self) -> None:
        """Something was enqueued: drain now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.drain()
            except Exception:  # a broken pass must not end the worker
                log.exception("outbox pass failed")
                wait = self.poll_seconds * 5
            self._wake.wait(min(self.poll_seconds, wait) if wait is not None else self.poll_seconds)
            self._wake.clear()

    # -------------------------------------------------------------- one pass
    def drain(self, limit: int = 1000) -> float | None:
        """Send everything that is due now. Returns seconds until the next row could be due."""
        sent = 0
        next_due: float | None = None
        while sent < limit and not self._stop.is_set():
            progressed = False
            for target in self._targets():
                result = self._step(target)
                if result is True:
                    progressed = True
                    sent += 1
                elif isinstance(result, float):
                    next_due = result if next_due is None else min(next_due, result)
            if not progressed:
                break
        return next_due

    def _targets(self) -> list[str]:
        now = self.clock()
        with Session(self.engine) as s:
            q = (
                select(Outbox.target)
                .where((Outbox.state == "pending") | ((Outbox.state == "sending") & (Outbox.claimed_until < now)))
                .distinct()
            )
            return list(s.execute(q).scalars().all())

    def _head(self, s: Session, target: str, now: datetime) -> Outbox | None:
        q = (
            select(Outbox)
            .where(Outbox.target == target)
            .where((Outbox.state == "pending") | (Outbox.state == "sending"))
            .order_by(Outbox.id)
            .limit(1)
        )
        return s.execute(q).scalars().first()

    def _step(self, target: str) -> bool | float | None:
        """Send the head of one target's queue if it is due. True when a row was settled."""
        now = self.clock()
        with session_scope(self.engine) as s:
            head = self._head(s, target, now)
            if head is None:
                return None
            if head.state == "sending" and head.claimed_until and head.claimed_until > now:
                return (head.claimed_until - now).total_seconds()  # another process is on it
            if head.next_attempt_at > now:
                return (head.next_attempt_at - now).total_seconds()
            if target != LOCAL_TARGET:
                recent = s.execute(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.target == target, Outbox.sent_at > now - WINDOW)
                ).scalar_one()
                if recent >= self.per_minute:
                    oldest = s.execute(
                        select(func.min(Outbox.sent_at)).where(Outbox.target == target, Outbox.sent_at > now - WINDOW)
                    ).scalar_one()
                    return max(0.5, (oldest + WINDOW - now).total_seconds())
            claimed = s.execute(
                update(Outbox)
                .where(Outbox.id == head.id, Outbox.state == head.state, Outbox.attempts == head.attempts)
                .values(state="sending", claimed_until=now + LEASE)
            )
            if claimed.rowcount != 1:
                return None
            row_id, msgtype, payload, attempts, source = (
                head.id,
                head.msgtype,
                head.payload,
                head.attempts,
                head.source,
            )

        outcome = self._send(target, row_id, msgtype, payload, source)
        self._settle(row_id, target, attempts + 1, outcome)
        return True

    def _send(self, target: str, row_id: int, msgtype: str, payload: str, source: str) -> Outcome:
        body = json.loads(payload)
        if target == LOCAL_TARGET:
            if msgtype == "file":  # the simulator's group sees the file's name and size
                size = len(base64.b64decode(body["content_b64"]))
                file = {"filename": body["filename"], "size": size}
                payload = json.dumps({"msgtype": "file", "file": file}, ensure_ascii=False)
            with session_scope(self.engine) as s:
                post = SimPost(
                    outbox_id=row_id, source=source, msgtype=msgtype, payload=payload, posted_at=self.clock()
                )
                s.add(post)
            return Outcome("sent", "", 0)
        if msgtype == "file":
            data = base64.b64decode(body["content_b64"])
            uploaded, media_id = self.client.upload_file(target, body["filename"], data)
            if uploaded.verdict != "sent":
                return uploaded
            return self.client.post(target, {"msgtype": "file", "file": {"media_id": media_id}})
        return self.client.post(target, body)

    def _settle(self, row_id: int, target: str, attempts: int, outcome: Outcome) -> None:
        now = self.clock()
        values: dict[str, Any] = {"attempts": attempts, "claimed_until": None}
        if outcome.verdict == "sent":
            values.update(state="sent", sent_at=now, error=None)
        elif outcome.verdict == "retry" and attempts < self._retry_limit(outcome):
            values.update(
                state="pending",
                error=outcome.reason,
                next_attempt_at=now + timedelta(seconds=backoff(attempts, outcome.errcode)),
            )
            log.warning("outbox %s to %s: %s, retry %d", row_id, redact_target(target), outcome.reason, attempts)
        else:
            reason = (
                outcome.reason if outcome.verdict == "failed" else f"gave up after {attempts} tries: {outcome.reason}"
            )
            values.update(state="failed", error=reason)
            log.error("outbox %s to %s failed: %s", row_id, redact_target(target), reason)
        with session_scope(self.engine) as s:
            s.execute(update(Outbox).where(Outbox.id == row_id).values(**values))

    def _retry_limit(self, outcome: Outcome) -> int:
        per_code = RETRYABLE_ERRCODES.get(outcome.errcode) if outcome.errcode is not None else None
        return (per_code + 1) if per_code is not None else self.max_attempts


def redact_target(target: str) -> str:
    """A webhook URL without its key, for logs."""
    head, sep, _ = target.partition("key=")
    return head + (sep + "***" if sep else "")
