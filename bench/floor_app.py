"""Two baselines for bench_callbacks.py --floor, on bare WSGI, under the others' gunicorn settings.

`app` (the floor): Frontline's own edge doing only the peer's job. Verify the signature,
decrypt, read the message, reply "收到", encrypt and sign, with the project's code
(bot.wecom): no parsing, no storage, no handlers, no templates. It measures what the HTTP
server and the cipher cost on this machine; Frontline's figure minus this one is what
understanding, storing and rendering a message cost.

`bare`: the HTTP server alone. It reads the callback and answers one reply sealed at start
(a valid "收到", the same for every request): no signature check, no cipher. A server's
figure minus this one is what its application costs per callback, whatever it is written in.

Bench only: the bot never runs this.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from bot.callback import reply_plaintext
from bot.wecom.crypto import CallbackCipher, Refusal
from bot.wecom.inbound import read_envelope, read_message

MAX_BODY = 1 << 20
BOT_NAMES = ("前线助手",)

cipher = CallbackCipher(os.environ["FLOOR_TOKEN"], os.environ["FLOOR_AES_KEY"], "")
_SEALED = cipher.seal_xml(reply_plaintext("robot", "bare", "text", "收到")).encode()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    args = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    try:
        envelope = read_envelope(environ["wsgi.input"].read(MAX_BODY))
        sig, ts, nonce = (args.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        plain = cipher.open(envelope.encrypt, sig, ts, nonce)
        msg = read_message(envelope.mode, plain, BOT_NAMES)
    except Refusal as r:
        body = r.reason.encode()
        start_response(f"{r.status} Refused", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    body = cipher.seal_xml(reply_plaintext(msg.mode, msg.msgid, "text", "收到")).encode()
    start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(MAX_BODY)
    start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", str(len(_SEALED)))])
    return [_SEALED]
