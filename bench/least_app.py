"""Two more baselines for bench_callbacks.py --least: the least a callback must do, by the issue's words.

"Inside the request only what the reply needs: verify, store, understand, render." Both servers
are Frontline's own callback service (bot.callback, bot.writer: verify, decrypt, store the message
durably through the group committer, reply, encrypt) with a single handler that answers every
message with one short line: no customer, contact or visit rows, no reads, no reply template.

- `store` (LEAST_UNDERSTAND=0): the text is not parsed. What it costs over the floor is storing a
  message durably.
- `least`: the text is parsed, as for every message, and the reply names the kind it found (so
  the parse cannot be skipped). What it costs over `store` is understanding a message.

What Frontline costs over `least` is deciding, filing and rendering. If `least` alone cannot reach
1.3x the peer, no handler code can.

Bench only: the bot never runs this. Started by bench_callbacks.py with FRONTLINE_CONFIG set, under
the same gunicorn settings as the others, without --preload: each worker builds its own service
after the fork (its own connections, its own committer).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from bot.app import create_app
from bot.dispatch import Context, Handler, Reply
from bot.runtime import build_runtime
from bot.settings import load_settings
from bot.wecom.inbound import Message


def _always(message: Message, ctx: Context) -> bool:
    return True


def _ack(message: Message, match: Any, ctx: Context) -> Reply:
    if ctx.parsed is None:
        return Reply("收到", "text")
    return Reply(f"收到（{ctx.parsed['kind']}）", "text")


def _not_understood(text: str | None, now: datetime, sender: str) -> None:
    return None


runtime = build_runtime(load_settings(), handlers=[Handler("ack", _always, _ack)])
if os.environ.get("LEAST_UNDERSTAND") == "0":
    runtime.service._understand = _not_understood  # type: ignore[method-assign]
app = create_app(runtime)
