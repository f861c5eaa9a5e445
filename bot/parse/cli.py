"""JSON Lines runner behind `frontline parse`: {"text", "now", "sender"?} per line in, one result per line out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from bot.parse.core import parse
from bot.workdays import WorkCalendar


def _one(line: str, calendar: WorkCalendar | None) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as exc:
        return {"error": f"not valid JSON: {exc.msg} (column {exc.colno})"}
    if not isinstance(record, dict):
        return {"error": 'expected a JSON object with "text" and "now"'}
    text, now = record.get("text"), record.get("now")
    if not isinstance(text, str):
        return {"error": 'missing "text" (a string)'}
    if not isinstance(now, str):
        return {"error": 'missing "now" (an ISO 8601 time string)'}
    try:
        when = datetime.fromisoformat(now)
    except ValueError:
        return {"error": f'"now" is not an ISO 8601 time: {now!r}'}
    sender = record.get("sender")
    return parse(text, when, sender=sender if isinstance(sender, str) else None, calendar=calendar)


def run(stdin: TextIO, stdout: TextIO, calendar: WorkCalendar | None = None) -> int:
    """Parse every non-blank line of `stdin`; write one JSON object per line to `stdout`, in order.

    A line that is not a JSON object with a string "text" and an ISO 8601 "now"
    gets {"error": "..."} in its place (a "now" without an offset is read as
    the team's local time). Other keys ("expect" …) are ignored. Returns 0.
    """
    for line in stdin:
        if not line.strip():
            continue
        try:
            result = _one(line, calendar)
        except Exception as exc:  # one bad message must not stop the run
            result = {"error": f"could not parse this message: {type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
