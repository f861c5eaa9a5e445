"""Text preparation: the @mention, full-width forms, typos, clauses and sentences.

The parser matches on a normalised copy of the message that has exactly the
same length as the original, so every span it returns is cut from the text as
the rep wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.parse.lexicon import lexicon, words_alt

# Full-width ASCII (！ … ～) to ASCII, the ideographic space to a space, dashes to "-".
_WIDTH_TABLE: dict[int, int] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH_TABLE.update({0x3000: 0x20, 0x2014: 0x2D, 0x2013: 0x2D, 0x2012: 0x2D, 0x2212: 0x2D, 0x301C: 0x7E})

_WIDE_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in _WIDTH_TABLE) + "]")
_WIDE_MAP = {chr(k): chr(v) for k, v in _WIDTH_TABLE.items()}

_MENTION_RE = re.compile(r"\s*[@＠][^\s@＠]{1,30}\s+")
_MENTION_FIRST = ("@", "＠")

_typos = lexicon().typos
_TYPO_RE = re.compile(words_alt(list(_typos))) if _typos else None

# Emoji and other pictographs end a clause like punctuation does.
SYMBOLS = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u203c\u2049\u2190-\u21ff\u2300-\u23ff"
# A run of separators; a colon separates unless a digit follows (10:30). The pattern starts with a
# character class, so the regex engine finds the separators with a fast scan.
SYMBOL_RE = re.compile(f"[{SYMBOLS}]")  # one emoji or pictograph
_CLAUSE_SEP = rf"[,，。!?;；\s【】「」『』…:{SYMBOLS}](?<!:(?=\d))"
_CLAUSE_SEP_RE = re.compile(rf"{_CLAUSE_SEP}(?:{_CLAUSE_SEP})*")
_SENTENCE_SEP_RE = re.compile(rf"[。!?;；\n{SYMBOLS}]+")


@dataclass(slots=True)
class Prepared:
    """The message as written (`raw`), with half-width letters and digits (`flat`), and fully normalised (`norm`).

    All three have the same length. Spans come from `raw`; names (customer,
    department, contact …) from `flat`, so "ＩＣＵ" reads "ICU"; matching runs on `norm`.
    """

    raw: str
    flat: str
    norm: str
    to_colleague: bool = False  # it opened with an @ of someone other than the bot ("@汤欣 …")


# The bot as members @ it (the callback strips its mention before anything reads the text; a text
# given to the parser as written may still open with it)
_BOT_MENTION_RE = re.compile(r"\s*[@＠](?:前线助手|[^\s@＠]*(?:助手|机器人|bot|Bot|BOT))\s")


def prepare(text: str) -> Prepared:
    """Strip a leading @mention and surrounding whitespace; build the normalised twin."""
    to_colleague = False
    if text[:1] in _MENTION_FIRST or text[:1].isspace():  # the mention pattern needs one of these first
        m = _MENTION_RE.match(text)
        if m:
            to_colleague = _BOT_MENTION_RE.match(text) is None
            text = text[m.end() :]
    raw = text.strip()
    flat = raw
    for ch in set(_WIDE_RE.findall(raw)):  # faster than str.translate on CJK text
        flat = flat.replace(ch, _WIDE_MAP[ch])
    norm = _TYPO_RE.sub(_fix_typo, flat) if _TYPO_RE is not None else flat
    return Prepared(raw, flat, norm, to_colleague)


def _fix_typo(m: re.Match[str]) -> str:
    return _typos[m.group()]


def fix_typos(text: str) -> str:
    """`text` with the frequent typos of the lexicon fixed ("市第二人名医院" → "市第二人民医院")."""
    return _TYPO_RE.sub(_fix_typo, text) if _TYPO_RE is not None else text


def split_spans(text: str, sep: re.Pattern[str], lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of the pieces of text[lo:hi] between separators."""
    hi = len(text) if hi is None else hi
    out: list[tuple[int, int]] = []
    pos = lo
    for m in sep.finditer(text, lo, hi):
        start, end = m.span()
        if start > pos:
            out.append((pos, start))
        pos = end
    if pos < hi:
        out.append((pos, hi))
    return out


def clauses(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    parts = split_spans(text, _CLAUSE_SEP_RE, lo, hi)
    if any(e - s > _RUN_ON for s, e in parts):
        parts = [piece for s, e in parts for piece in _run_on_pieces(text, s, e)]
    return parts


# A clause this long with no punctuation is a run-on sentence (voice input, a hurried rep): it is
# cut where a new statement starts ("…用了九年故障一天比一天多|科里天天催他换新的|现在在用的是科曼的")
_RUN_ON = 24
_STATEMENT_START_RE = re.compile(
    r"(?=(?<![看到去给在找跟对帮把向和让替为从])(?:他们|她们|院里|科里)|他说|她说|现在|最近|目前|我答应|我再|我跟|让我们|等院里|因为|所以|但是|不过|其中|只问|"
    r"(?<![说想])想(?:再|要|申请|换|添|加|买|上)|(?<=[\u4e00-\u9fff]{2})(?:说|反馈|表示)(?![的了过明]))"
)


def _run_on_pieces(text: str, s: int, e: int) -> list[tuple[int, int]]:
    if e - s <= _RUN_ON:
        return [(s, e)]
    out, pos = [], s
    for m in _STATEMENT_START_RE.finditer(text, s + 4, e - 3):
        if m.start() - pos >= 4:
            out.append((pos, m.start()))
            pos = m.start()
    out.append((pos, e))
    return out


def within_clauses(words: list[str]) -> bool:
    """Whether none of the words holds a character that can separate clauses (a word is one clause).

    Then a match of the words never reaches from one clause into the next, and
    searching a clause alone finds what a scan of the whole text finds there.
    """
    return all(clauses(w) == [(0, len(w))] for w in words)


def sentences(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    return split_spans(text, _SENTENCE_SEP_RE, lo, hi)


_TRIM_CHARS = ' \t\r\n,，。.!！?？;；:：、~-"“”‘’' + "\ufe0f\u200d"


def trim(raw: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past surrounding punctuation and spaces."""
    while start < end and raw[start] in _TRIM_CHARS:
        start += 1
    while end > start and raw[end - 1] in _TRIM_CHARS:
        end -= 1
    return start, end
