"""Several visits told in one message: where each begins, and what they share.

An evening report often tells the day in one go: "今天跑了两个科：1）南湖医院心内科刘主任，…；
2）南湖医院设备科葛科长，…。两边都没提竞品。", "上午检验科冯主任…；下午病理科贺主任…", "①西郊医院急诊科…
②东湖社区卫生服务中心…". Each part names whom it was with, and each is a visit of its own. A part
starts at a number of a list, at a time of day opening a clause, or at a sentence that opens with
going to a customer ("然后去了妇幼，…"); it must name a customer, a department or a contact that the
part before did not, and must not open with a field's label (a numbered list of one visit's items,
"1. 客户：… 2. 联系人：…", is one visit).

What they share stays with each part: the words before the first part (the day, "今天都在市中医院：")
and closing sentences said of all of them ("两边都没提竞品", "下周我把两份方案一起出了"). A part that
names no customer takes the one of the part before it ("1）南湖医院心内科…；2）设备科…").

`visit_parts` only cuts the text; the caller parses each part, and files those that are visits.
Pure: no I/O.
"""

from __future__ import annotations

import re

from bot.parse.entities import find_contacts, find_customers, find_departments
from bot.parse.text import prepare

# "1）", "(2)", "3.", "4、", "①", "一、", "第二家，": a list's numbers, at the start or after a separator
_SEP_BEFORE = r"(?:(?<=^)|(?<=[\s,，。;；:!?…]))"
_ENUM_RE = re.compile(
    _SEP_BEFORE
    + r"(?:\(?(?P<n>[1-9])(?:[).、](?!\d))|(?P<c>[①-⑨])|(?P<h>[一二三四五六七八九])、"
    + r"|第(?P<o>[一二三四五六七八九1-9])(?:家|个点|个|站|处)[,，:、]?)\s*"
)
_CHINESE_DIGITS = "一二三四五六七八九"
# "上午检验科冯主任…；下午病理科贺主任…": a time of the day opening a clause
_DAYTIME_RE = re.compile(_SEP_BEFORE + r"(?:上午|中午|下午|晚上|傍晚|早上|一早|午后)")
# "；又去了设备科找王主任", "。然后跑了趟县医院": a clause that opens with going to someone
_MOVE_RE = re.compile(
    _SEP_BEFORE
    + r"(?:然后|之后|接着|随后|紧接着|另外|最后)?[,，]?(?:又|还|再)?(?:去了|跑了趟|跑了|到了|转到|拜访了|见了)"
)
# a part that opens with a field's label is an item of one visit's list, not a visit
_LABEL_FIRST_RE = re.compile(
    r"\s*[【\[]?(?:客户|医院|单位|科室|部门|联系人|对接人|拜访对象|痛点|需求|竞品|竞争对手|下一步|下步|角色|决策链?|预算|时间|结果)"
    r"[】\]]?\s*(?::|是)"
)
# the day of the visits, which every part shares ("昨天上午市一院王主任…；下午妇幼李主任…")
_DAY_RE = re.compile(
    r"(?:今天|今日|昨天|昨日|前天|(?<!下)(?:上|本|这)?(?:周|星期|礼拜)[一二三四五六日天]|\d{1,2}月\d{1,2}[日号])"
)
# a closing sentence said of every part
_SHARED_RE = re.compile(r"都|两边|两家|两个|三家|三个|几家|各家|分别|一起|统一|这几")
_LIST_SEP_RE = re.compile(r"[;；。:\n]")
_LIST_SEP_BEFORE_RE = re.compile(r"[;；。:\n]\s*\Z")
_SENTENCE_RE = re.compile(r"[^。!?！？\n]*[。!?！？\n]*")
_SLOTS = ("customer", "department", "contact")


def visit_parts(text: str) -> list[str] | None:
    """The text of each visit told in `text`, each a message of its own; None when it tells at most one."""
    p = prepare(text)
    norm, raw = p.norm, p.raw
    if len(norm) < 16:
        return None
    cuts = _cuts(norm)
    if not cuts and _LIST_SEP_RE.search(norm) is None:
        return None
    customers = find_customers(p.flat, norm)
    # "今天跑了三家：市一院王主任，要报价；中医院李主任，没需求；…": a sentence opening with a customer
    cuts = _merged(cuts + [(f.start, f.start) for f in customers if _LIST_SEP_BEFORE_RE.search(norm, 0, f.start)])
    if not cuts:
        return None
    found = {
        "customer": [(f.start, f.text) for f in customers],
        "department": [(f.start, f.text) for f in find_departments(p.flat, norm, customers)],
        "contact": [(c.start, c.text) for c in find_contacts(p.flat, norm, customers)],
    }
    if sum(len(v) for v in found.values()) < 2:
        return None

    def named(start: int, end: int) -> dict[str, set[str]]:
        return {slot: {name for at, name in found[slot] if start <= at < end} for slot in _SLOTS}

    # segments: (where its marker starts, where its text starts, where it ends)
    segments = [(0, 0, cuts[0][0])] if cuts[0][0] > 0 else []
    segments += [(m, s, cuts[i + 1][0] if i + 1 < len(cuts) else len(norm)) for i, (m, s) in enumerate(cuts)]
    parts: list[list[int]] = []  # [marker, start, end] of each part
    slots: list[dict[str, set[str]]] = []
    for i, (marker, start, end) in enumerate(segments):
        names = named(start, end)
        if not any(names.values()) or _LABEL_FIRST_RE.match(norm, start) is not None:
            if parts:  # more of the part before; before the first part, the opening every part shares
                parts[-1][2] = end
            continue
        if not parts:
            if i == 0 and marker == 0 and not names["contact"]:
                continue  # "今天都在市中医院：", "今天两家设备科：": the opening, where all of them were
            parts.append([marker, start, end])
            slots.append(names)
            continue
        last = slots[-1]
        if any(names[slot] and last[slot] and not names[slot] <= last[slot] for slot in _SLOTS):
            parts.append([marker, start, end])
            slots.append(names)
        else:  # "去了市一院，见了王主任": more of the same visit
            parts[-1][2] = end
            for slot in _SLOTS:
                last[slot] |= names[slot]
    if len(parts) < 2:
        return None
    # what every part shares: the day and the place said before the first part (or the day the first
    # part opens with), and the sentences after the last one said of all of them
    day = _DAY_RE.search(norm, 0, parts[0][0]) or _DAY_RE.match(norm, parts[0][1])
    shared_day = raw[day.start() : day.end()] if day else ""
    opened = named(0, parts[0][0])
    tail = _closing(norm, raw, parts[-1], [at for v in found.values() for at, _ in v])
    out: list[str] = []
    place = _first(found["customer"], opened["customer"])
    unit = _first(found["department"], opened["department"])
    for i, (_, start, end) in enumerate(parts):
        body = raw[start:end].strip().rstrip(",，;；、")
        lead = "" if day is not None and start <= day.start() < end else shared_day
        if slots[i]["customer"]:
            place = _first(found["customer"], slots[i]["customer"])
        elif place:  # "2）设备科葛科长…": at the customer of the part before, or of the opening
            lead += place + ("" if unit and not slots[i]["department"] else "，")
        if unit and not slots[i]["department"] and not slots[i]["customer"]:
            lead += unit + "，"  # "今天在市一院设备科：1）王主任…"
        part = lead + body
        if tail:
            part += ("" if part.endswith(("。", "！", "!", "？", "?")) else "。") + tail
        out.append(part)
    return out


def _first(found: list[tuple[int, str]], names: set[str]) -> str | None:
    """The one of `names` written first."""
    return next((name for _, name in found if name in names), None)


def _closing(norm: str, raw: str, last: list[int], names_at: list[int]) -> str:
    """The last part's closing sentences that speak of every part ("两边都没提竞品。"), cut from it."""
    _, start, end = last
    sentences = [(m.start(), m.end()) for m in _SENTENCE_RE.finditer(norm, start, end) if m.end() > m.start()]
    tail_start = end
    for s, e in reversed(sentences[1:]):
        if _SHARED_RE.search(norm, s, e) is None or any(s <= at < e for at in names_at):
            break
        tail_start = s
    last[2] = tail_start
    return raw[tail_start:end].strip()


def _cuts(norm: str) -> list[tuple[int, int]]:
    """(where a part's marker starts, where its text starts) for every place a part may begin, in order."""
    cuts: list[tuple[int, int]] = []
    numbers = list(_ENUM_RE.finditer(norm))
    if len(numbers) >= 2 and _counts_up(numbers):
        cuts += [(m.start(), m.end()) for m in numbers]
    cuts += [(m.start(), m.start()) for m in _DAYTIME_RE.finditer(norm)]
    cuts += [(m.start(), m.start()) for m in _MOVE_RE.finditer(norm)]
    return _merged(cuts)


def _merged(cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The cuts in order, one per place, none inside a list's number."""
    seen: dict[int, tuple[int, int]] = {}
    for marker, start in sorted(cuts, key=lambda c: (c[0], -c[1])):
        if not any(m <= marker < s for m, s in seen.values()):  # not inside a list number
            seen.setdefault(marker, (marker, start))
    return sorted(seen.values())


def _counts_up(numbers: list[re.Match[str]]) -> bool:
    """Whether the numbers found are one list: 1, 2, 3 … (or ①②③, 一、二、, 第一家 第二家) in order."""
    values = []
    for m in numbers:
        if m["n"]:
            values.append(int(m["n"]))
        elif m["c"]:
            values.append(ord(m["c"]) - ord("①") + 1)
        else:
            digit = m["h"] or m["o"]
            values.append(int(digit) if digit.isdigit() else _CHINESE_DIGITS.index(digit) + 1)
    return values[0] == 1 and values == list(range(1, len(values) + 1))
