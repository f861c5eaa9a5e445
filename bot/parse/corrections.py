"""Spoken self-corrections: "周三，不对，周四", "见了王主任，哦说错了，是汪主任".

Voice input keeps what a rep said and then took back. When the same kind of thing
(a customer, a department, a contact, a date, a count with its unit) ends right before
a correction marker and another one begins right after it, the first one and the
marker are dropped, and the message is read as the rep meant it. Nothing is dropped
when either side is not such a thing: "价格不对" or "他说不对" stay as they are.
"""

from __future__ import annotations

import re
from datetime import date

from bot.parse.entities import find_contacts, find_customers, find_departments
from bot.parse.quantities import QTY_UNIT_RE
from bot.parse.text import prepare
from bot.parse.timeexpr import find_times
from bot.workdays import WorkCalendar

# 哦不对 / 噢说错了 / 不对 / 说错了 / 口误 …, then an optional 应该是 / 是 and a verb the first value also had.
# 不是 alone ("不是GE的") is no correction; after an interjection ("王主任哦不是李主任") it is.
# 呃 / 额 alone ("这周五，呃，周四") and 哦不 ("下周二哦不下周一") take back too, between two of a kind.
_MARK_RE = re.compile(
    r"[,，、\s]*"
    r"(?:(?:哦|噢|喔|呃|额|啊|嗯)[,，\s]*(?:不对|不是|说错了|搞错了|错了)|不对不对|不对|说错了|搞错了|口误|更正一下|纠正一下"
    r"|(?:哦|噢|喔)不(?![是对错过会能要用])|呃|额)"
    r"[,，、:：\s]*(?:应该是|是)?(?:去|在|跟|找|配|要)?"
)
_QUICK_RE = re.compile(r"不对|错了|口误|更正一下|纠正一下|(?:哦|噢|喔|呃|额|啊|嗯)[,，\s]*不|呃|额")
_SAID_AGAIN_RE = re.compile(r"[,，\s]*(?:是|应该是)(?:去|在|跟|找)?")


def _ends_and_starts(text: str, today: date, calendar: WorkCalendar) -> list[tuple[dict[int, int], set[int]]]:
    """Per kind of thing: {end: start} of each one in the message, and the set of their starts."""
    p = prepare(text)
    customers = find_customers(p.flat, p.norm)
    kinds: list[list[tuple[int, int]]] = [
        [(f.start, f.end) for f in customers],
        [(f.start, f.end) for f in find_departments(p.flat, p.norm, customers)],
        [(c.start, c.end) for c in find_contacts(p.flat, p.norm, customers)],
        [(t.start, t.end) for t in find_times(p.norm, today, calendar)],
        [m.span() for m in QTY_UNIT_RE.finditer(p.norm)],
    ]
    return [({e: s for s, e in spans}, {s for s, _ in spans}) for spans in kinds]


def correct(text: str, today: date, calendar: WorkCalendar) -> str:
    """`text` (already stripped of its @mention) with every value the rep took back removed."""
    if _QUICK_RE.search(text) is None:
        return text
    found = _ends_and_starts(text, today, calendar)
    cuts: list[tuple[int, int, str]] = []  # (start, end, what stands there instead)
    for m in _MARK_RE.finditer(text):
        mark_start, after = m.span()
        before = mark_start - 1 if text[mark_start - 1 : mark_start] == "的" else mark_start
        for ends, starts in found:
            first = ends.get(before)
            if first is None:
                continue
            if text.startswith(text[first:before], after):
                # "何主任哦不是何主任是贺主任": the taken-back value said once more before the right one
                again = _SAID_AGAIN_RE.match(text, after + before - first)
                after = again.end() if again else after
            if after in starts:
                cuts.append((first, after, ""))
                break
        else:
            moved = _day_taken_back(text, found[_TIMES], mark_start, after)
            if moved is not None:
                cuts.extend(moved)
    if not cuts:
        return text
    out, pos = [], 0
    for start, end, instead in sorted(cuts):
        out.append(text[pos:start])
        out.append(instead)
        pos = end
    out.append(text[pos:])
    return "".join(out)


_TIMES = 3  # the index of dates in _ends_and_starts
_GAP_RE = re.compile(r"[^。!！?？\n]{0,12}")


def _day_taken_back(
    text: str, times: tuple[dict[int, int], set[int]], mark_start: int, after: int
) -> list[tuple[int, int, str]] | None:
    """ "约了下周二去演示，刚才说错了，是下周三": a day taken back a few words after it was said (in
    the same sentence) and the right one said next; the right day takes its place, and the
    correction goes. None when the marker is not between two days so."""
    ends, starts = times
    if after not in starts:
        return None
    new_end = next((e for e, s in ends.items() if s == after), None)
    earlier = [(s, e) for e, s in ends.items() if e < mark_start and _GAP_RE.fullmatch(text, e, mark_start)]
    if new_end is None or not earlier:
        return None
    old_start, old_end = max(earlier)
    lead = _JUST_NOW_RE.search(text, old_end, mark_start)  # "刚才说错了": 刚才 goes with the correction
    cut = lead.start() if lead else mark_start
    return [(old_start, old_end, text[after:new_end]), (cut, new_end, "")]


_JUST_NOW_RE = re.compile(r"[,，\s]*(?:刚才|刚刚|我)+$")
