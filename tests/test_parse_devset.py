"""Every labelled message of the shared dev set through the parser, scored by parse-schema.md's rules.

The set lives beside the repository (../shared/data/messages-dev.jsonl); a
clone without it skips this test. The scoring is written here from the
schema: spans by containment (ignoring whitespace), every other labelled
field exactly, items as a multiset, missing in order.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.parse import parse

DEV_SET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "messages-dev.jsonl"
SPANS = {"pain_points", "competitor", "next_action", "activity", "reason", "remedy"}


def _squash(value: Any) -> Any:
    if isinstance(value, str):
        return "".join(value.split()) or None
    return value


def _item_key(item: dict[str, Any]) -> tuple[Any, Any, Any]:
    return _squash(item.get("product")), item.get("quantity"), _squash(item.get("unit"))


def field_ok(name: str, want: Any, got: Any) -> bool:
    if name in SPANS:
        want, got = _squash(want), _squash(got)
        if want is None:
            return got is None
        return isinstance(got, str) and want in got
    if name == "items":
        return sorted(map(_item_key, want or [])) == sorted(map(_item_key, got or []))
    if name == "missing":
        return list(want or []) == list(got or [])
    return _squash(want) == _squash(got)


def test_field_ok_rules() -> None:
    assert field_ok("pain_points", "老断货", "现在的供应商（雅培）老断货")
    assert not field_ok("pain_points", None, "something")
    assert field_ok("customer", "市一院", " 市一院")
    assert not field_ok("customer", "市一院", "市一院设备科")
    a = {"product": "A", "quantity": 1, "unit": "台"}
    b = {"product": "B", "quantity": 2, "unit": "盒"}
    assert field_ok("items", [a, b], [b, a])
    assert not field_ok("missing", ["competitor", "next_action"], ["next_action", "competitor"])


def test_dev_set_meets_the_bars() -> None:
    if not DEV_SET.exists():
        pytest.skip(f"{DEV_SET} is not here (a clone without ../shared)")
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: list[str] = []
    for row in rows:
        got = parse(row["text"], datetime.fromisoformat(row["now"]), sender=row.get("sender"))
        for name, want in row["expect"].items():
            total[name] += 1
            if field_ok(name, want, got.get(name)):
                right[name] += 1
            else:
                misses.append(f"{name}: want {want!r} got {got.get(name)!r} <- {row['text'][:40]!r}")
    kind_accuracy = right["kind"] / total["kind"]
    field_accuracy = sum(right.values()) / sum(total.values())
    assert kind_accuracy >= 0.98, misses
    assert field_accuracy >= 0.95, misses
