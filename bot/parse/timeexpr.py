"""Time expressions, resolved against the day a message was sent (parse-schema.md, "Resolving due").

- 今天/今日/今晚/今早, 上午/下午/晚上 alone → that day; 明天/明早/明日 +1; 后天 +2; 大后天 +3.
- 本周X/这周X → that weekday of the current Monday-Sunday week; 下周X → of the next
  week; bare 周X (星期X, 礼拜X) → the first such day on or after today.
- 本周/这周 alone → Friday of this week; 下周 alone → Friday of next week;
  月底 → last day of this month; 下个月/下月 alone → last day of next month; 月中 → the 15th
  (of next month once this month's is past; not in parse-schema.md).
- N天内/N天后 → +N days; N个工作日(内) → +N working days; 3-5个工作日 → upper bound.
- 12月3日, 12月3号, 12.3, 12/3 → that day in the year nearest to today.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.parse.numerals import to_int
from bot.workdays import WorkCalendar

_CN_SMALL = "一二三四五六七八九十两"
# Numbers start where a run of digits starts (the lookbehinds keep long digit runs linear).
_DAYNUM = rf"(?:(?<!\d)\d{{1,2}}|(?<![{_CN_SMALL}])[{_CN_SMALL}]{{1,3}})"
_NUM = rf"(?:(?<!\d)\d{{1,4}}|(?<![{_CN_SMALL}百零])[{_CN_SMALL}百零]{{1,6}})"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_PART_OF_DAY = r"(?:上午|下午|晚上|早上|中午|傍晚|晚|早|一早|凌晨|夜里)?"

# Every time expression starts with one of these characters.
_TIME_START = "0123456789一二三四五六七八九十两今明后大下上本这周星礼月午晚中傍"
_DIGITS = "0123456789"
_NUM_START = _DIGITS + _CN_SMALL + "百零"

# The rules in order of preference, each with the characters it can start with. Where several
# match at one place, the first wins.
_TIME_RULES: list[tuple[str, str]] = [
    # 2026年12月3日, 2026-12-03, 2026/12/3
    (
        _DIGITS,
        rf"(?P<ymd>(?P<y>\d{{4}})[年./-](?P<ym>\d{{1,2}})[月./-](?P<yd>\d{{1,2}})[日号]?){_PART_OF_DAY}",
    ),
    # 下个月3号
    ("下", rf"(?P<nmd>下个?月(?P<nmd_d>{_DAYNUM})[日号]){_PART_OF_DAY}"),
    # 12月3日, 12月3号, 十二月三日
    (_DIGITS + _CN_SMALL, rf"(?P<md>(?P<m>{_DAYNUM})月(?P<d>{_DAYNUM})[日号]?){_PART_OF_DAY}"),
    # 12.3, 12/3 (not 1.5亿, not 3.5%)
    (
        _DIGITS,
        r"(?P<dot>(?<![\d.])(?P<dm>1[0-2]|0?[1-9])[./](?P<dd>3[01]|[12]\d|0?[1-9])"
        r"(?![\d%]|\.\d|\s*[万亿wW千kK倍元块个台支盒箱折分米斤吨寸]))" + _PART_OF_DAY,
    ),
    # 3-5个工作日, 3个工作日内
    (_NUM_START, rf"(?P<wk>(?:(?P<wk_lo>{_NUM})\s*(?:-|~|到|至)\s*)?(?P<wk_n>{_NUM})个?工作日(?:内|之内|以内)?)"),
    # 3天内, 3天后
    (_NUM_START, rf"(?P<nd>(?P<nd_n>{_NUM})(?:天|日)(?P<nd_k>之内|以内|之后|以后|内|后))"),
    # 两周内, 1周后
    (_NUM_START, rf"(?P<nw>(?P<nw_n>{_NUM})(?:周|个星期|个礼拜)(?:之内|以内|之后|以后|内|后))"),
    # 明后天, 明后两天, 今明两天 (two-day ranges, split in two by find_times)
    ("明今", r"(?P<mh>(?:明后|今明)(?:两)?天)"),
    # 12月底, 1月初
    (_DIGITS + _CN_SMALL, rf"(?P<me>(?P<me_m>{_DAYNUM})月(?P<me_k>底|末|初))"),
    # 大后天 … 今晚
    ("大后明今", rf"(?P<rel>大后天|后天|明天|明早|明晚|明日|明儿|今天|今日|今晚|今早|今儿){_PART_OF_DAY}"),
    # 下周三, 这周五, 周一, 星期天, 下周
    (
        "下上本这周星礼",
        r"(?P<wq>下下(?:个)?(?:周|星期|礼拜)|上(?:个)?(?:周|星期|礼拜)|下(?:个)?(?:周|星期|礼拜)"
        r"|(?:本|这)(?:个)?(?:周|星期|礼拜)|周|星期|礼拜)(?P<wd>[一二三四五六日天])?" + _PART_OF_DAY,
    ),
    # 下月初
    ("下", r"(?P<moi>下个?月初)"),
    # 月底, 下个月, 下月底, 月中 (the 15th)
    ("下本这月", r"(?P<mo>(?:下个?|本|这个?)?月(?:底|末|中)|下个?月)"),
    # 8号, 15日
    (
        _DIGITS + _CN_SMALL,
        rf"(?P<dn>(?<![\d月./-])(?P<dn_d>\d{{1,2}}[日号]|[{_CN_SMALL}]{{1,3}}号))(?![床楼线位机院室])",
    ),
    ("上下晚早中傍", r"(?P<pod>上午|下午|晚上|早上|中午|傍晚)"),
]
# For each character a time expression starts with, the rules that can start with it, in order;
# the numerals share one pattern (the rules for digits only fail at once on 一, 二 …).
_NUMERALS = _DIGITS + _CN_SMALL
_STARTS = "".join(ch for ch in _TIME_START if any(ch in starts for starts, _ in _TIME_RULES))
_NUMBER_RULES_RE = re.compile("|".join(pattern for starts, pattern in _TIME_RULES if set(starts) & set(_NUMERALS)))
_RULES_AT: dict[str, re.Pattern[str]] = {
    ch: _NUMBER_RULES_RE if ch in _NUMERALS else re.compile("|".join(p for starts, p in _TIME_RULES if ch in starts))
    for ch in _STARTS
}
# The text is scanned for those characters, and at each one only its own rules are tried. A number
# that starts a time expression is at most six characters long and is followed by one of the
# characters below (月, 天, 号, 个工作日, 年, 12.3, 3-5 …): a numeral followed by anything else is
# passed over at once (一下, 3台).
_TIME_START_RE = re.compile(
    f"[{_STARTS}]"
    rf"(?:(?<![{_NUMERALS}])|(?=[\d{_CN_SMALL}百零]{{0,5}}[年./\-月\s~到至个工天日周号]))"
)


# The rule that matched, from the last group the match closed: every rule's group encloses its own
# inner groups, except the weekday that may follow 下周/周 (下周三).
_RULE_OF_GROUP: dict[str | None, str] = {
    name: name
    for name in ("ymd", "nmd", "md", "dot", "wk", "nd", "nw", "mh", "me", "rel", "wq", "moi", "mo", "dn", "pod")
}
_RULE_OF_GROUP["wd"] = "wq"


@dataclass(slots=True)
class TimeMention:
    start: int
    end: int
    kind: str  # which rule matched: ymd, md, dot, wk, nd, nw, rel, week, mo, dn, pod
    date: date
    week_qualified: bool = False  # 本周X/下周X (a following bare 周X belongs to the same week)


_DAY_STEPS = {n: timedelta(days=n) for n in range(-63, 64)}
_REL_OFFSET = {"大": 3, "后": 2, "明": 1}  # 大后天, 后天, 明天/明早 …; 今天/今晚 … are 0
_WEEK_OFFSET = {"上": -7, "本": 0, "这": 0}  # 下 and 下下 below


def _plus_days(d: date, n: int) -> date:
    """d + n days (the common small steps are made once)."""
    step = _DAY_STEPS.get(n)
    return d + (step if step is not None else timedelta(days=n))


def _last_day(year: int, month: int) -> date:
    return date(year, month, _calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int) -> tuple[int, int]:
    index = d.year * 12 + (d.month - 1) + months
    return index // 12, index % 12 + 1


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def nearest_month_day(today: date, month: int, day: int) -> date | None:
    """That month and day in the year (last, this or next) that puts it nearest to `today`."""
    best: date | None = None
    for year in (today.year - 1, today.year, today.year + 1):
        cand = _safe_date(year, month, day)
        if cand is not None and (best is None or abs((cand - today).days) < abs((best - today).days)):
            best = cand
    return best


def nearest_day(today: date, day: int) -> date | None:
    """Day `day` of last, this or next month, whichever is nearest to `today`."""
    best: date | None = None
    for months in (-1, 0, 1):
        y, m = _add_months(today, months)
        cand = _safe_date(y, m, day)
        if cand is not None and (best is None or abs((cand - today).days) < abs((best - today).days)):
            best = cand
    return best


def week_day(today: date, qualifier: str, weekday: int | None) -> date:
    """本周X/下周X/bare 周X; Friday when the weekday is left out."""
    head = qualifier[:1]
    if head == "下":
        offset = 14 if qualifier[1:2] == "下" else 7
    elif head in _WEEK_OFFSET:
        offset = _WEEK_OFFSET[head]
    else:  # bare 周X: the first such day on or after today
        assert weekday is not None
        return _plus_days(today, (weekday - today.weekday()) % 7)
    # from today back to its Monday, then on to the day of the week meant
    return _plus_days(today, offset + (4 if weekday is None else weekday) - today.weekday())


def find_times(text: str, today: date, calendar: WorkCalendar, lo: int = 0, hi: int | None = None) -> list[TimeMention]:
    """Every time expression in text[lo:hi], resolved, in order."""
    hi = len(text) if hi is None else hi
    out: list[TimeMention] = []
    pos = lo
    while (start := _TIME_START_RE.search(text, pos, hi)) is not None:
        i = start.start()
        m = _RULES_AT[text[i]].match(text, i, hi)
        if m is None:
            pos = i + 1
            continue
        s, pos = m.span()
        rule = _RULE_OF_GROUP[m.lastgroup]
        if rule == "mh":
            first = 0 if text[s] == "今" else 1  # 今明两天 / 明后天
            out.append(TimeMention(s, s + 1, "rel", _plus_days(today, first)))
            out.append(TimeMention(s + 1, pos, "rel", _plus_days(today, first + 1)))
            continue
        resolved = _resolve(m, rule, today, calendar)
        if resolved is not None:
            kind, d, qualified = resolved
            out.append(TimeMention(s, pos, kind, d, qualified))
    return out


def _resolve(m: re.Match[str], rule: str, today: date, calendar: WorkCalendar) -> tuple[str, date, bool] | None:
    g = m.group
    # the most common rules first
    if rule == "rel":
        return "rel", _plus_days(today, _REL_OFFSET.get(m.string[m.start()], 0)), False
    if rule == "wq":
        qualifier, wd = g("wq", "wd")
        bare = qualifier in ("周", "星期", "礼拜")
        if bare and not wd:
            return None  # 周会, 周末, 一周: not a day
        weekday = _WEEKDAYS[wd] if wd else None
        return "week", week_day(today, qualifier, weekday), not bare
    if rule == "ymd":
        year, month, day = g("y", "ym", "yd")
        d = _safe_date(int(year), int(month), int(day))
        return ("ymd", d, False) if d else None
    if rule == "me":
        month_text, end_word = g("me_m", "me_k")
        month = to_int(month_text)
        if not month or not 1 <= month <= 12:
            return None
        first_day = nearest_month_day(today, month, 1)
        assert first_day is not None
        if end_word == "初":
            return "md", first_day, False
        return "md", _last_day(first_day.year, month), False
    if rule == "nmd":
        day = to_int(g("nmd_d"))
        y, mo = _add_months(today, 1)
        d = _safe_date(y, mo, day) if day else None
        return ("md", d, False) if d else None
    if rule == "md":
        month_text, day_text = g("m", "d")
        month, day = to_int(month_text), to_int(day_text)
        d = nearest_month_day(today, month, day) if month and day else None
        return ("md", d, False) if d else None
    if rule == "dot":
        month_text, day_text = g("dm", "dd")
        d = nearest_month_day(today, int(month_text), int(day_text))
        return ("dot", d, False) if d else None
    if rule == "wk":
        n = to_int(g("wk_n"))
        if n is None or n > 366:
            return None
        return "wk", calendar.add_workdays(today, n), False
    if rule == "nd":
        n = to_int(g("nd_n"))
        if n is None or n > 3660:
            return None
        return "nd", _plus_days(today, n), False
    if rule == "nw":
        n = to_int(g("nw_n"))
        if n is None or n > 520:
            return None
        return "nw", _plus_days(today, 7 * n), False
    if rule == "moi":
        y, mo = _add_months(today, 1)
        return "mo", date(y, mo, 1), False
    if rule == "mo":
        word = g("mo")
        if word.endswith("中"):  # 月中: the 15th; this month's, unless it is past (or 下月中)
            y, mo = _add_months(today, 1) if word.startswith("下") or today.day > 15 else (today.year, today.month)
            return "mo", date(y, mo, 15), False
        if word.startswith("下"):
            y, mo = _add_months(today, 1)
            return "mo", _last_day(y, mo), False
        return "mo", _last_day(today.year, today.month), False
    if rule == "dn":
        day = to_int(g("dn_d")[:-1])
        d = nearest_day(today, day) if day else None
        return ("dn", d, False) if d else None
    if rule == "pod":
        return "pod", today, False
    return None  # pragma: no cover


_WEEK_ALONE_RE = re.compile(r"(?:下下|下|上|本|这)个?(?:周|星期|礼拜)")


def anchor_weekdays(text: str, times: list[TimeMention]) -> list[TimeMention]:
    """ "下周请三天假，周一到周三": a week named alone, then bare weekdays → those days of that week.

    Returns the mentions without the bare week, the weekdays resolved in it; unchanged otherwise.
    """
    if len(times) < 2 or times[0].kind != "week" or not _WEEK_ALONE_RE.fullmatch(text, times[0].start, times[0].end):
        return times
    monday = times[0].date - timedelta(days=times[0].date.weekday())
    out: list[TimeMention] = []
    for t in times[1:]:
        if t.kind == "week" and not t.week_qualified:
            wd = _WEEKDAYS[text[t.start : t.end].lstrip("周星期礼拜")[:1]]
            t = TimeMention(t.start, t.end, t.kind, monday + timedelta(days=wd), True)
        out.append(t)
    return out if any(t.week_qualified for t in out) else times


_RANGE_GAP_RE = re.compile(r"\s*(?:(?:到|至|-|~|、|和|及|与)\s*)?")


def in_range_with_previous(text: str, prev: TimeMention, cur: TimeMention) -> bool:
    """True when `cur` continues a range or list that starts with `prev` (下周一到周三, 12.14-12.18)."""
    return _RANGE_GAP_RE.fullmatch(text, prev.end, cur.start) is not None


def continue_range(text: str, prev: TimeMention, cur: TimeMention, today: date) -> date:
    """The date of `cur` read in the context of `prev`: 下周一到周三 → Wednesday of next week."""
    d = cur.date
    raw = text[cur.start : cur.end]
    if cur.kind == "week" and not cur.week_qualified and prev.kind == "week" and prev.week_qualified:
        monday = prev.date - timedelta(days=prev.date.weekday())
        d = monday + timedelta(days=_WEEKDAYS[raw.lstrip("周星期礼拜")[:1]])
    elif cur.kind == "dn" and prev.kind in ("md", "dot", "ymd"):
        day = to_int(raw.rstrip("日号"))
        cand = _safe_date(prev.date.year, prev.date.month, day) if day else None
        if cand is not None:
            d = cand
    while d < prev.date and (d - prev.date).days > -366:
        if cur.kind == "week":
            d += timedelta(days=7)
        elif cur.kind == "dn":
            y, mo = _add_months(d, 1)
            d = _safe_date(y, mo, d.day) or d + timedelta(days=31)
        else:
            break
    return d
