"""Posts to the group robot webhook: building payloads, splitting, and reading WeCom's answer.

The pure parts (`split_content`, `build_posts`, `classify`, `backoff`) decide; `WebhookClient`
is the only piece that touches the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
LIMITS = {"text": TEXT_LIMIT, "markdown": MARKDOWN_LIMIT}

RETRYABLE_ERRCODES = {-1: 3, 45009: None}  # errcode -> max retries for it (None: the general limit)
PERMANENT_ERRCODES = {93000: "invalid webhook key", 40008: "invalid message type"}


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def _cut_line(line: str, limit: int) -> list[str]:
    """A single line longer than the limit, cut at character boundaries."""
    out, cur, size = [], [], 0
    for ch in line:
        n = _utf8_len(ch)
        if size + n > limit and cur:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += n
    if cur:
        out.append("".join(cur))
    return out


def split_content(content: str, limit: int) -> list[str]:
    """Chunks of at most `limit` UTF-8 bytes, cut at line boundaries where a line fits."""
    if _utf8_len(content) <= limit:
        return [content]
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for line in content.split("\n"):
        pieces = _cut_line(line, limit) if _utf8_len(line) > limit else [line]
        for piece in pieces:
            n = _utf8_len(piece) + (1 if cur else 0)
            if cur and size + n > limit:
                chunks.append("\n".join(cur))
                cur, size = [], 0
                n = _utf8_len(piece)
            cur.append(piece)
            size += n
    if cur:
        chunks.append("\n".join(cur))
    return [c for c in chunks if c.strip()] or [content[:1]]


def build_posts(
    msgtype: str, content: str, mentions: list[str] | None = None, chat_id: str = ""
) -> list[dict[str, Any]]:
    """WeCom webhook bodies for one logical post, split over the byte limit.

    text: `mentioned_list` rides on the last chunk, so the notification lands on the full message.
    markdown: mentions are `<@userid>` inside the content (chunks are cut at line ends where lines fit).
    """
    if msgtype not in LIMITS:
        raise ValueError(f"unsupported msgtype {msgtype!r}")
    chunks = split_content(content, LIMITS[msgtype])
    posts: list[dict[str, Any]] = []
    for i, chunk in enumerate(chunks):
        body: dict[str, Any] = {"msgtype": msgtype, msgtype: {"content": chunk}}
        if msgtype == "text" and mentions and i == len(chunks) - 1:
            body["text"]["mentioned_list"] = list(mentions)
        if chat_id:
            body["chatid"] = chat_id
        posts.append(body)
    return posts


@dataclass(frozen=True)
class Outcome:
    verdict: str  # sent | retry | failed
    reason: str = ""
    errcode: int | None = None


def classify(status: int | None, body: bytes | None, error: str | None = None) -> Outcome:
    """What WeCom's answer means for the outbox. Branches on errcode, never on errmsg."""
    if error is not None:
        return Outcome("retry", f"network: {error}")
    assert status is not None
    if status >= 500:
        return Outcome("retry", f"HTTP {status}")
    if status >= 400:
        return Outcome("failed", f"HTTP {status}")
    try:
        answer = json.loads(body or b"{}")
        errcode = int(answer.get("errcode", -999))
    except (ValueError, TypeError, AttributeError):
        return Outcome("retry", "unreadable answer")
    if errcode == 0:
        return Outcome("sent", "", 0)
    if errcode in RETRYABLE_ERRCODES:
        return Outcome("retry", f"errcode {errcode}", errcode)
    if errcode in PERMANENT_ERRCODES:
        return Outcome("failed", f"errcode {errcode} ({PERMANENT_ERRCODES[errcode]})", errcode)
    return Outcome("failed", f"errcode {errcode}", errcode)


def backoff(attempts: int, errcode: int | None = None) -> float:
    """Seconds to wait before the next try. A rate limit waits out WeCom's one-minute window."""
    if errcode == 45009:
        return 60.0
    return float(min(300, 2 ** max(0, attempts)))


class WebhookClient:
    """The network edge: one keep-alive session, short timeouts."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.session = requests.Session()
        self.timeout = timeout

    def post(self, url: str, payload: dict[str, Any]) -> Outcome:
        try:
            r = self.session.post(url, json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            return classify(None, None, type(exc).__name__)
        return classify(r.status_code, r.content)

    def upload_file(self, url: str, filename: str, data: bytes) -> tuple[Outcome, str]:
        """upload_media for a file post: (outcome, media_id)."""
        upload = url.replace("/webhook/send", "/webhook/upload_media", 1)
        upload += "&type=file" if "?" in upload else "?type=file"
        try:
            r = self.session.post(upload, files={"media": (filename, data)}, timeout=self.timeout)
        except requests.RequestException as exc:
            return classify(None, None, type(exc).__name__), ""
        outcome = classify(r.status_code, r.content)
        media_id = ""
        if outcome.verdict == "sent":
            try:
                media_id = str(json.loads(r.content).get("media_id") or "")
            except ValueError:
                return Outcome("retry", "unreadable answer"), ""
        return outcome, media_id
