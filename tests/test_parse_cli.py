"""bot.parse.cli.run: the JSON Lines runner behind `frontline parse`."""

from __future__ import annotations

import io
import json
from datetime import date

from bot.parse.cli import run
from bot.workdays import WorkCalendar


def run_lines(lines: list[str], calendar: WorkCalendar | None = None) -> list[dict]:
    out = io.StringIO()
    assert run(io.StringIO("\n".join(lines) + "\n"), out, calendar=calendar) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_result_per_line_in_order_with_errors_in_place() -> None:
    lines = [
        json.dumps({"text": "收到", "now": "2026-11-02T09:05:00+08:00", "expect": {"kind": "other"}}),
        "",
        "{not json",
        json.dumps({"text": "明天请假一天", "now": "2026-11-04T09:20:00+08:00", "sender": "zhangsan"}),
        json.dumps({"now": "2026-11-04T09:20:00+08:00"}),
        json.dumps({"text": "收到"}),
        json.dumps({"text": "收到", "now": "yesterday"}),
        json.dumps(["text", "now"]),
        "   ",
        json.dumps({"text": "市一院急需3台呼吸机，今晚要", "now": "2026-11-03T14:20:00+08:00"}, ensure_ascii=False),
    ]
    results = run_lines(lines)
    assert len(results) == 8
    assert results[0]["kind"] == "other"
    assert "error" in results[1] and "JSON" in results[1]["error"]
    assert results[2]["kind"] == "leave" and results[2]["start"] == "2026-11-05"
    assert "text" in results[3]["error"]
    assert "now" in results[4]["error"]
    assert "now" in results[5]["error"]
    assert "error" in results[6]
    assert results[7]["kind"] == "urgent" and results[7]["due"] == "2026-11-03"


def test_now_without_an_offset_is_local_time() -> None:
    line = json.dumps({"text": "明天请假一天", "now": "2026-11-04T09:20:00"})
    assert run_lines([line])[0]["start"] == "2026-11-05"


def test_output_keeps_chinese_readable() -> None:
    out = io.StringIO()
    run(io.StringIO(json.dumps({"text": "收到", "now": "2026-11-02T09:05:00+08:00"}) + "\n"), out)
    assert "\\u" not in out.getvalue()
    first = io.StringIO()
    run(io.StringIO(json.dumps({"text": "拜访市一院设备科王主任", "now": "2026-11-02T09:05:00+08:00"}) + "\n"), first)
    assert "市一院" in first.getvalue()


def test_calendar_is_passed_through() -> None:
    line = json.dumps({"text": "市一院急需3台呼吸机，2个工作日内到", "now": "2026-11-11T10:00:00+08:00"})
    assert run_lines([line])[0]["due"] == "2026-11-13"
    cal = WorkCalendar(holidays=[date(2026, 11, 12)])
    assert run_lines([line], cal)[0]["due"] == "2026-11-16"
