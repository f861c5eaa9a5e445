"""Numbers written in Arabic digits or Chinese numerals, on spans the parser captured itself.

`to_number` handles the forms reps write (五, 两, 十二, 一百, 两百, 一千二百,
一百零五, 三千五, 一万五, 1200, 1.5) itself; Chinese decimals (一点五) go to
cn2an, imported only then (its import alone takes ~0.3 s).
"""

from __future__ import annotations

import re

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}

CN_NUM_CHARS = "零〇一二两俩三四五六七八九十百千万亿"

_ARABIC_RE = re.compile(r"\d+(?:\.\d+)?")


def _chinese_to_int(s: str) -> int | None:
    total = 0  # completed 万/亿 groups
    section = 0  # the group below 万
    number = 0  # the pending digit(s)
    digit_run = False
    for ch in s:
        if ch in _DIGITS:
            number = number * 10 + _DIGITS[ch] if digit_run else _DIGITS[ch]
            digit_run = ch not in "零〇"
            continue
        digit_run = False
        if ch in _UNITS:
            unit = _UNITS[ch]
            if number == 0:
                if unit != 10:
                    return None  # 百 or 千 with nothing in front
                number = 1  # 十二 = 12
            section += number * unit
            number = 0
            continue
        if ch in _BIG:
            group = section + number
            if group == 0:
                return None
            if ch == "亿":
                total = (total + group) * _BIG[ch]
            else:
                total += group * _BIG[ch]
            section = number = 0
            continue
        return None
    if number and len(s) >= 2 and s[-1] in _DIGITS and s[-2] in "百千万亿":
        # colloquial: 三千五 = 3500, 一万五 = 15000, 两百五 = 250
        number *= {"百": 10, "千": 100, "万": 1000, "亿": 10_000_000}[s[-2]]
    return total + section + number


def _cn2an_fallback(s: str) -> float | None:
    try:
        import cn2an  # noqa: PLC0415 - imported lazily on purpose (slow import)

        value = cn2an.cn2an(s, "smart")
    except Exception:  # cn2an raises ValueError and friends on text it cannot read
        return None
    return float(value)


def to_number(s: str) -> float | None:
    """The value of a captured numeral span: "12", "1.5", "十二", "两百", "一万五"."""
    s = s.strip()
    if not s:
        return None
    if _ARABIC_RE.fullmatch(s):
        return float(s)
    if "点" in s:
        return _cn2an_fallback(s)
    value = _chinese_to_int(s)
    return None if value is None else float(value)


def to_int(s: str) -> int | None:
    value = to_number(s)
    if value is None:
        return None
    return int(round(value))
