"""Several visits told in one message: where each begins, and what they share.

An evening report often tells the day in one go: "今天跑了两个科：1）南湖医院心内科刘主任，…；
2）南湖医院设备科葛科长，…。两边都没提竞品。", "上午检验科冯主任…；下午病理科贺主任…", "①西郊医院急诊科…
②东湖社区卫生服务中心…", a line per hospital, "…然后去了骨科医院见了设备科的陈工…". Each part names
whom it was with, and each is a visit of its own.

A part may begin at a number of a list (1）, ①, 一是, 第二家), at a new line, at a time of the day
opening a clause (下午…), where the rep went or met someone ("又去了设备科", "碰到了药剂科的唐主任",
"转去县中医院"), or at a hospital named after a stop, a space, "和" or "然后". It is a part of its
own when it names a customer, or a contact, that the part before did not, where that part had one
(a department alone starts one only when neither names a contact: "侯主任：1. 急诊科要除颤仪…" is
one visit); else it is more of the same visit ("去了市一院，见了王主任"). People spoken of ("李院长
也同意了") start nothing: only the places above can. Our own colleagues (王经理) are nobody's visit.

What they share stays with each part: the day and the place said before the first part ("今天都在
市中医院：", "今天两家设备科："), and closing sentences said of all of them ("两边都没提竞品",
"下周我把两份方案一起出了"). A part that names no customer takes the one of the part before it.

`visit_parts` cuts the text; `several_visits` parses each part and says which are visits (the
handler visits.several files them). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.parse.entities import find_contacts, find_customers, find_departments
from bot.parse.kinds import asks
from bot.parse.text import SYMBOLS, prepare
from bot.workdays import WorkCalendar

# "1）", "(2)", "3.", "4、", "①", "一、", "一是", "第二家，": a list's numbers, at the start or after a separator
_SEP_BEFORE = r"(?:(?<=^)|(?<=[\s,，。;；:!?…]))"
_ENUM_RE = re.compile(
    _SEP_BEFORE
    + r"(?:\(?(?P<n>[1-9])(?:[).、](?!\d))|(?P<c>[①-⑨])|(?P<h>[一二三四五六七八九])(?:、|是(?=[去跟找到把和给在]))"
    + r"|第(?P<o>[一二三四五六七八九1-9])(?:家|个点|个|站|处)(?:去的|是)?[,，:、]?)\s*"
)
_CHINESE_DIGITS = "一二三四五六七八九"
# a new line, past its bullet: "- 市一院 …", "🏥城东社区…", "A. …", "1 市一院 …"
_LINE_RE = re.compile(rf"\n[ \t]*(?:[-*•·>]+|[A-Za-z][.、)]|\d{{1,2}}(?=[ \t])|[{SYMBOLS}]+)?[ \t]*")
# "上午检验科冯主任…；下午病理科贺主任…": a time of the day opening a clause
_DAYTIME_RE = re.compile(_SEP_BEFORE + r"(?:上午|中午|下午|晚上|傍晚|早上|一早|午后|快下班)")
# where the rep went or whom they met, then (within a few characters) whom: "又去了设备科", "转去县中医院",
# "碰到了药剂科的唐主任", "然后去了骨科医院"; never a visit to come ("下周再去设备科")
_MOVE_RE = re.compile(
    r"(?P<then>然后|之后|接着|随后|紧接着|另外|最后|顺便|顺路|顺道|回来路上)?[,，]?"
    r"(?:又(?:去|跑|到|拐|转)了?|(?:去|跑|到)了|去(?![年过])|(?<=然后|最后|接着|之后|随后)到|转(?:到|去)了?|拐(?:到|去)了?|来到|拜访了|见了|见到了?|碰到了?|遇到了?|碰见了?)"
    r"(?:一?趟)?"
    # a phone call with someone: "给市一院检验科李主任打了个电话", "接到市中心医院器械科葛科长电话"
    r"|(?P<call>给|接到了?|跟|和)(?=[^,，。;；!?]{2,16}?(?:打了?个?电话|通了?个?电话|的?电话|来电))"
)
_THEY_BEFORE_RE = re.compile(r"[他她]|对方")  # "他当场给李院长打了个电话": their call, not ours
_CLAUSE_BREAK_RE = re.compile(r"[,，。;；:!?\s]")
_STOPS_RE = re.compile(r"[。!?;；]\s*\Z")  # a sentence told, not an opening ("县人医设备科葛科长不在，改天再约。")
# the titles people go by, and the ends of hospitals' and departments' names
_CUES = (
    re.compile(
        r"主任|科长|院长|处长|医生|大夫|护士长|技师|老师|教授|专家|书记|[\u4e00-\u9fff]工|经理|[\u4e00-\u9fff]总"
    ),
    re.compile(r"院(?![长办内区里])|中心|医(?=[,，、/\s])"),
    re.compile(r"科(?![长研技学])|ICU|CCU|NICU|急诊|手术室|医学装备部|装备部|招标办|采购办"),
)
_PLAN_RE = re.compile(r"计划|打算|准备|安排|明天|明早|明日|后天|下周|下个?月")
_SAME_STEP = 8  # a going or meeting this close after a cut in the same clause goes with it
_MOVE_REACH = 6  # "见了设备科的王主任": whom, at most this far after the verb
_FUTURE_BEFORE_RE = re.compile(r"(?:要|准备|计划|打算|明天|下周|下次|改天|回头|约)[^,，。;；!?\s]{0,3}$")
# "…的李主任和县中医院检验科的许主任", "然后市三院ICU…": a hospital after a joining word
_JOIN_BEFORE_RE = re.compile(r"((?<=[\u4e00-\u9fff])(?:和|及|以及|还有)|然后|接着|之后|另外)\s*\Z")
# where whom may be listed: "；中医院李主任，…", "… 下周再去 市一院病理科贺主任 …", "📍县人医…"
_SEPARATED_RE = re.compile(rf"([;；。\s,，、/|{SYMBOLS}])[\s{SYMBOLS}]*\Z")
# joining words, which may join hospitals inside what someone said
_SOFT_SEPARATORS = frozenset(("和", "及", "以及", "还有"))
_SAID_BEFORE_RE = re.compile(r"说|表示|提到|反映|透露|讲")
_TOPIC_AFTER_RE = re.compile(r"那边|那里|这边|那块")
_SENTENCE_BREAK_BEFORE_RE = re.compile(r"[。;；!?！？\n][^。;；!?！？\n]*\Z")
_NAME_GAP_RE = re.compile(r"\s*的?\s*")
# a part that opens with a field's label is an item of one visit's list, not a visit ("2. 联系人：…");
# the customer's label opens a visit's line of its own ("客户：市二院 科室：麻醉科 …")
_LABEL_FIRST_RE = re.compile(
    r"\s*[【\[]?(?:科室|部门|联系人|对接人|拜访对象|痛点|需求|竞品|竞争对手|下一步|下步|角色|决策链?|预算|时间|结果)"
    r"[】\]]?\s*(?::|是)"
)
# the day of the visits, which every part shares ("昨天上午市一院王主任…；下午妇幼李主任…")
_DAY_RE = re.compile(
    r"(?:今天|今日|昨天|昨日|前天|(?<!下)(?:上|本|这)?(?:周|星期|礼拜)[一二三四五六日天]|\d{1,2}月\d{1,2}[日号])"
)
# a closing sentence said of every part
_SHARED_RE = re.compile(r"都|两边|两家|两个|三家|三个|几家|各家|分别|一起|统一|这几")
_STOP_OR_JOIN_RE = re.compile(r"[;；。\s,，、/]|[\u4e00-\u9fff](?:和|及)|然后|接着|之后|另外")
_SENTENCE_RE = re.compile(r"[^。!?！？\n]*[。!?！？\n]*")
_SLOTS = ("customer", "department", "contact")
_COLLEAGUE_TITLES = frozenset(("经理", "总", "总监"))  # our own company's: "在王经理的带领下去了市一院"
_CLOSE = 2  # a cut this close after another's text start is the same one ("下午又去了…")
_OPENING = 6  # a cut this close to the start divides nothing (the common "今天拜访了…")


# A part read without a visit's verb ("省立医院设备科朱科长，招标下个月挂网") is read as what it is in
# such a list: the result of a visit. (Also how a handler reads a reply as more of the day's visit.)
CONTINUATION = "拜访了客户，"


@dataclass(frozen=True)
class Several:
    visits: list[tuple[str, dict[str, Any]]]  # each visit's text (as a message of its own) and its parse
    skipped: list[str]  # parts that read as no visit


def several_visits(
    text: str, parsed: dict[str, Any], now: datetime, sender: str | None = None, calendar: WorkCalendar | None = None
) -> Several | None:
    """The visits a message tells, when it tells two or more, each parsed on its own; `parsed` is the
    message's own parse. A report the parser read as a visit; or, read as nothing in particular or
    as competitor news, a terse list whose every part names a person and where ("市一院 王主任 送样机\n
    附二院 李院长 谈合作", a table with a row per visit), that is no question and no word to a colleague."""
    from bot.parse.core import parse  # core → several → core: imported when used

    kind = parsed.get("kind")
    if kind not in ("visit", "other", "competitor"):
        return None
    parts = visit_parts(text)  # first: most messages end at its quick look
    if parts is None:
        return None
    if kind != "visit":
        p = prepare(text)
        if p.to_colleague or asks(p.norm):
            return None
    visits, skipped = [], []
    for part in parts:
        one = parse(part, now, sender, calendar)
        if one["kind"] != "visit":
            one = parse(CONTINUATION + part, now, sender, calendar)
        if one["kind"] == "visit" and (
            kind == "visit" or (one.get("contact") and (one.get("customer") or one.get("department")))
        ):
            visits.append((part, one))
        else:
            skipped.append(part)
    if len(visits) < 2 or (kind != "visit" and skipped):
        return None
    return Several(visits, skipped)


def visit_parts(text: str) -> list[str] | None:
    """The text of each visit told in `text`, each a message of its own; None when it tells at most one."""
    p = prepare(text)
    norm, raw = p.norm, p.raw
    if len(norm) < 16:
        return None
    if not _names_two(norm):
        return None  # one person at one place: most reports end here, cheaply
    fixed, moves = _marked_cuts(norm)
    if not any(m >= _OPENING for m, _ in fixed + moves) and _STOP_OR_JOIN_RE.search(norm, _OPENING) is None:
        return None  # nothing a second part could start at
    customers = find_customers(p.flat, norm)
    found = {
        "customer": [(f.start, f.text) for f in customers],
        "department": [(f.start, f.text) for f in find_departments(p.flat, norm, customers)],
        "contact": [
            (c.start, c.text) for c in find_contacts(p.flat, norm, customers) if c.title not in _COLLEAGUE_TITLES
        ],
    }
    starts = sorted(at for names in found.values() for at, _ in names)
    if len(starts) < 2:
        return None
    cuts = list(fixed)
    # whom, after a stop, a space or an emoji ("；中医院李主任…", "📍县人医手术室刘护士长…"), a comma
    # ("市一院王主任，县人医李科长"), 、 or / ("省人医心内科张主任、附二院放射科赵主任"), or a joining word
    # ("…的李主任和县中医院检验科的许主任", "然后市三院ICU…"): a hospital with someone there, a department's
    # someone, or (after a stop, 、 or a joining word) a hospital alone. Never inside what someone said
    # ("孙主任说，省立医院和市中心医院都上了…") or a topic ("，设备处杨处长那边他去打招呼").
    for at in sorted(set(starts)):
        sep = (_SEPARATED_RE.search(norm, 0, at) or _JOIN_BEFORE_RE.search(norm, 0, at)) if at else None
        if sep is None or not _listed_whom(norm, at, found, hospital_alone=sep.group(1) not in ",，"):
            continue
        if sep.group(1) in _SOFT_SEPARATORS and _SAID_BEFORE_RE.search(norm, _sentence_start(norm, at), at):
            continue
        if sep.group(1) in ",，" and _TOPIC_AFTER_RE.match(norm, _names_at(norm, at, found)[1]):
            continue
        cuts.append((at, at))
    # a going or meeting a few characters after another cut, in its clause, is that part's ("上午去市一院
    # 见了心内科张主任", "带我去设备科见了韦科长")
    for m, e in moves:
        if any(_reaches(norm, m, e, at) for at in starts):
            near = [c for c, _ in cuts if m - _SAME_STEP <= c < m]
            if not near or _CLAUSE_BREAK_RE.search(norm, max(near), m):
                cuts.append((m, m))
    cuts = _merged(cuts)
    if not cuts:
        return None

    def named(start: int, end: int) -> dict[str, set[str]]:
        return {slot: {name for at, name in found[slot] if start <= at < end} for slot in _SLOTS}

    # segments: (where its marker starts, where its text starts, where it ends)
    segments = [(0, 0, cuts[0][0])] if cuts[0][0] > 0 else []
    segments += [(m, s, cuts[i + 1][0] if i + 1 < len(cuts) else len(norm)) for i, (m, s) in enumerate(cuts)]
    parts: list[list[int]] = []  # [marker, start, end] of each part
    slots: list[dict[str, set[str]]] = []  # whom each part names
    context: list[set[str]] = []  # the customer each part was at, named or not
    opening: tuple[int, dict[str, set[str]]] | None = None  # where the opening ends, and whom it names
    for i, (marker, start, end) in enumerate(segments):
        names = named(start, end)
        if not any(names.values()) or _LABEL_FIRST_RE.match(norm, start) is not None:
            if parts:  # more of the part before; before the first part, the opening every part shares
                parts[-1][2] = end
            continue
        if not parts:
            if i == 0 and marker == 0 and not names["contact"] and not _STOPS_RE.search(norm, start, end):
                opening = (end, names)
                continue  # "今天都在市中医院：", "今天两家设备科：": the opening, where all of them were
            parts.append([marker, start, end])
            slots.append(names)
            context.append(names["customer"] or named(0, start)["customer"])
            continue
        if _another(names, slots[-1], context[-1]):
            parts.append([marker, start, end])
            slots.append(names)
            context.append(names["customer"] or context[-1])  # where it was: its own, or where the last one was
        else:  # "去了市一院，见了王主任": more of the same visit
            parts[-1][2] = end
            for slot in _SLOTS:
                slots[-1][slot] |= names[slot]
            context[-1] = context[-1] or names["customer"]
    if (
        opening is not None
        and opening[1]["customer"]
        and all(names["customer"] and not names["customer"] & opening[1]["customer"] for names in slots)
    ):  # "今天3家：市中心医院、县人民医院、青石镇卫生院": where none of the others was, a visit of its own
        parts.insert(0, [0, 0, opening[0]])
        slots.insert(0, opening[1])
    if len(parts) < 2 or _PLAN_RE.search(norm, 0, parts[0][0]):
        return None  # "明天计划：上午市一院…，下午县人医…": visits to come, not told
    # what every part shares: the day and the place said before the first part (or the day the first
    # part opens with), and the sentences after the last one said of all of them
    day = _DAY_RE.search(norm, 0, parts[0][0]) or _DAY_RE.match(norm, parts[0][1])
    shared_day = raw[day.start() : day.end()] if day else ""
    opened = named(0, parts[0][0])
    tail = _closing(norm, raw, parts[-1], starts)
    out: list[str] = []
    place = _first(found["customer"], opened["customer"])
    unit = _first(found["department"], opened["department"])
    for i, (_, start, end) in enumerate(parts):
        body = raw[start:end].strip().rstrip(",，;；、和及")
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


def _listed_whom(norm: str, at: int, found: dict[str, list[tuple[int, str]]], hospital_alone: bool) -> bool:
    """Whether whom a list names at `at` is someone met: the names written together there (a hospital, its
    department, a person, "县人医放射科钱主任", "检验科的李主任") hold a person and where they are, or
    (`hospital_alone`: after 、 or /) a hospital."""
    held, _ = _names_at(norm, at, found)
    return ("contact" in held and len(held) > 1) or (hospital_alone and "customer" in held)


def _names_at(norm: str, at: int, found: dict[str, list[tuple[int, str]]]) -> tuple[set[str], int]:
    """The kinds of name written together from `at` (a hospital, its department, a person), and where they end."""
    ends = {start: (slot, start + len(name)) for slot in _SLOTS for start, name in found[slot]}
    held: set[str] = set()
    pos = at
    while pos in ends:
        slot, end = ends[pos]
        held.add(slot)
        gap = _NAME_GAP_RE.match(norm, end)
        pos = gap.end() if gap else end
    return held, pos


def _sentence_start(norm: str, at: int) -> int:
    m = _SENTENCE_BREAK_BEFORE_RE.search(norm, 0, at)
    return m.end() if m else 0


def _reaches(norm: str, verb: int, end: int, at: int) -> bool:
    """Whether whom starting at `at` is the object of the verb at verb..end: right after it, or a few
    characters on in the same clause ("见了设备科的王主任"); right after a bare 去 ("带我去设备科")."""
    if at < end or at - end > (0 if norm[end - 1] == "去" else _MOVE_REACH):
        return False
    return _CLAUSE_BREAK_RE.search(norm, end, at) is None


def _another(names: dict[str, set[str]], last: dict[str, set[str]], at: set[str]) -> bool:
    """Whether a segment naming `names` is a visit other than the part naming `last`, at customer `at`."""

    def new(slot: str) -> bool:
        return bool(names[slot]) and bool(last[slot]) and not names[slot] <= last[slot]

    if new("contact") or (names["customer"] and at and not names["customer"] <= at):
        return True
    return new("department") and (bool(names["contact"]) or not last["contact"])


def _names_two(norm: str) -> bool:
    """Whether the text may name two people, two hospitals or two departments (a quick look at their
    titles and the last characters of their names; the names themselves cost much more to find)."""
    return any(len(cue.findall(norm)) >= 2 for cue in _CUES)


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


def _marked_cuts(norm: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(where a part's marker starts, where its text starts) at the places a part may begin: the
    list's numbers, new lines and times of the day; and, apart, the verbs of going and meeting,
    which count only when whom follows them."""
    cuts: list[tuple[int, int]] = []
    numbers = list(_ENUM_RE.finditer(norm))
    if len(numbers) >= 2 and _counts_up(numbers):
        cuts += [(m.start(), m.end()) for m in numbers]
    cuts += [(m.start(), m.end()) for m in _LINE_RE.finditer(norm)]
    cuts += [(m.start(), m.start()) for m in _DAYTIME_RE.finditer(norm)]
    moves = [  # after 然后 it is the next step of the day, whatever came before ("…要换然后又去了儿科")
        (m.start(), m.end())
        for m in _MOVE_RE.finditer(norm)
        if (m["then"] or _FUTURE_BEFORE_RE.search(norm, max(0, m.start() - 6), m.start()) is None)
        and not (m["call"] and _THEY_BEFORE_RE.search(norm, max(0, m.start() - 4), m.start()))
    ]
    return cuts, moves


def _merged(cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The cuts in order, one per place, none inside a list's number."""
    out: list[tuple[int, int]] = []
    for marker, start in sorted(cuts, key=lambda c: (c[0], -c[1])):
        # one per place, none inside a list's number, none right after another ("下午|又去了…")
        if not out or marker > out[-1][1] + _CLOSE:
            out.append((marker, start))
    return out


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
