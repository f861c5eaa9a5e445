"""A fake WeCom webhook API on 127.0.0.1 for tests and the benchmark.

    with FakeWeCom() as fake:
        url = fake.webhook_url("k1")          # http://127.0.0.1:PORT/cgi-bin/webhook/send?key=k1
        ...                                   # code under test posts there
        assert fake.wait_for(1)
        assert fake.texts() == ["hello"]

Accepted sends are recorded in ``.posts`` as (key, json body); every request that
reached a webhook endpoint, failed or not, is in ``.attempts``.  ``fail_next`` queues
failure steps that the next requests (send or upload, in arrival order) consume.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SEND_PATH = "/cgi-bin/webhook/send"
UPLOAD_PATH = "/cgi-bin/webhook/upload_media"

ERRMSG = {
    -1: "system busy",
    45009: "api freq out of limit",
    93000: "invalid webhook url",
    40008: "invalid message type",
}
Step = int | str  # an errcode, "http500", "http400" or "drop"


@dataclass
class Upload:
    key: str
    type: str
    field: str
    filename: str
    data: bytes
    media_id: str


@dataclass
class Attempt:
    path: str
    key: str
    outcome: str  # "ok", "errcode:<n>", "http500", "http400", "drop", "bad_json", "no_key"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeWeCom:
    """Threaded HTTP server that plays WeCom's group-robot webhook API."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._cond = threading.Condition()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.uploads: list[Upload] = []
        self.attempts: list[Attempt] = []
        self._steps: deque[Step] = deque()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeWeCom", daemon=True
        )
        self._thread.start()
        self._closed = False

    # ---------------------------------------------------------------- public API
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def webhook_url(self, key: str = "test-key") -> str:
        return f"{self.base_url}{SEND_PATH}?key={urllib.parse.quote(key)}"

    def upload_url(self, key: str = "test-key", type_: str = "file") -> str:
        return f"{self.base_url}{UPLOAD_PATH}?key={urllib.parse.quote(key)}&type={type_}"

    def fail_next(self, *steps: Step) -> None:
        """Queue failure steps: an errcode (-1, 45009, 93000, 40008, ...) answered as HTTP 200 JSON,
        "http500", "http400", or "drop" (close without answering).  Consumed one per request."""
        for step in steps:
            if isinstance(step, bool) or not (isinstance(step, int) or step in ("http500", "http400", "drop")):
                raise ValueError(f"unknown failure step {step!r}")
        with self._cond:
            self._steps.extend(steps)

    def pending_steps(self) -> int:
        with self._cond:
            return len(self._steps)

    def texts(self) -> list[str]:
        """Contents of accepted text, markdown and markdown_v2 posts, in order."""
        out: list[str] = []
        with self._cond:
            for _key, body in self.posts:
                kind = body.get("msgtype")
                if kind in ("text", "markdown", "markdown_v2"):
                    out.append(str((body.get(kind) or {}).get("content", "")))
        return out

    def bodies(self, key: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [b for k, b in self.posts if key is None or k == key]

    def wait_for(self, n: int, timeout: float = 5.0, *, attempts: bool = False) -> bool:
        """Block until at least ``n`` accepted posts (or attempts) are recorded; False on timeout."""
        target = self.attempts if attempts else self.posts
        with self._cond:
            return self._cond.wait_for(lambda: len(target) >= n, timeout=timeout)

    def reset(self) -> None:
        with self._cond:
            self.posts.clear()
            self.uploads.clear()
            self.attempts.clear()
            self._steps.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeWeCom:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- internals
    def _take_step(self) -> Step | None:
        with self._cond:
            return self._steps.popleft() if self._steps else None

    def _record(
        self, attempt: Attempt, post: tuple[str, dict[str, Any]] | None = None, upload: Upload | None = None
    ) -> None:
        with self._cond:
            self.attempts.append(attempt)
            if post is not None:
                self.posts.append(post)
            if upload is not None:
                self.uploads.append(upload)
            self._cond.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, payload: dict[str, Any] | None = None) -> None:
                data = json.dumps(payload if payload is not None else {}, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(404, {"errcode": 404, "errmsg": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if url.path not in (SEND_PATH, UPLOAD_PATH):
                    self._answer(404, {"errcode": 404, "errmsg": "not found"})
                    return
                key = query.get("key", "")
                headers = {k.lower(): v for k, v in self.headers.items()}
                step = fake._take_step()
                if step is not None:
                    fake._record(Attempt(url.path, key, _outcome(step), _safe_json(raw), headers))
                    if step == "drop":
                        self.close_connection = True
                        return
                    if step == "http500":
                        self._answer(500, {"errcode": -1, "errmsg": "internal error"})
                    elif step == "http400":
                        self._answer(400, {"errcode": 40001, "errmsg": "bad request"})
                    else:
                        n = int(step)
                        self._answer(200, {"errcode": n, "errmsg": ERRMSG.get(n, "error")})
                    return
                if not key:
                    fake._record(Attempt(url.path, key, "no_key", None, headers))
                    self._answer(200, {"errcode": 93000, "errmsg": ERRMSG[93000]})
                    return
                if url.path == SEND_PATH:
                    body = _safe_json(raw)
                    if not isinstance(body, dict):
                        fake._record(Attempt(url.path, key, "bad_json", raw, headers))
                        self._answer(200, {"errcode": 40008, "errmsg": "invalid json / message type"})
                        return
                    fake._record(Attempt(url.path, key, "ok", body, headers), post=(key, body))
                    self._answer(200, {"errcode": 0, "errmsg": "ok"})
                    return
                upload = _parse_upload(key, query.get("type", ""), headers.get("content-type", ""), raw)
                if upload is None:
                    fake._record(Attempt(url.path, key, "bad_multipart", None, headers))
                    self._answer(200, {"errcode": 44001, "errmsg": "empty media data"})
                    return
                fake._record(Attempt(url.path, key, "ok", upload.filename, headers), upload=upload)
                self._answer(
                    200,
                    {
                        "errcode": 0,
                        "errmsg": "ok",
                        "type": upload.type,
                        "media_id": upload.media_id,
                        "created_at": "0",
                    },
                )

        return Handler


def _outcome(step: Step) -> str:
    return step if isinstance(step, str) else f"errcode:{step}"


def _safe_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _parse_upload(key: str, type_: str, content_type: str, raw: bytes) -> Upload | None:
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        filename = part.get_filename()
        if filename is None:
            continue
        data = part.get_payload(decode=True) or b""
        name = part.get_param("name", header="content-disposition") or ""
        return Upload(key, type_, str(name), filename, data, "m-" + secrets.token_hex(12))
    return None
