"""The parser's dictionaries, loaded once from bot/parse/data/ and compiled into regular expressions.

Everything a team may want to extend (titles, departments, products, brands,
hospital suffixes, cue words) lives in the data files; this module only turns
them into fast matchers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).with_name("data")

try:  # the C loader is several times faster; fall back to pure Python when libyaml is absent
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


def _yaml(name: str) -> dict[str, Any]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader) or {}


def _lines(name: str) -> list[str]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return [s for s in (line.split("#", 1)[0].strip() for line in fh) if s]


def _is_latin(word: str) -> bool:
    return word.isascii()


def first_chars(words: list[str] | tuple[str, ...] | set[str]) -> str:
    """A character class of the words' first characters (both cases for Latin letters)."""
    chars: set[str] = set()
    for w in words:
        if w:
            chars.update({w[0], w[0].lower(), w[0].upper()})
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _trie(words: set[str]) -> dict:
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}
    return root


def _trie_branches(node: dict) -> list[str]:
    return [re.escape(ch) + _trie_pattern(child) for ch, child in sorted(node.items()) if ch]


def _trie_pattern(node: dict) -> str:
    """A regex for the words under `node`; at every step the longer word is tried first."""
    ends = "" in node
    branches = _trie_branches(node)
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return f"(?:{body})?" if len(branches) == 1 else body + "?"
    return body


def words_alt(words: list[str] | tuple[str, ...], *, latin_whole: bool = False, lookahead: bool = False) -> str:
    """A regex matching any of the literal words, the longest one where several fit.

    The words are compiled into a trie, so the engine follows one path per
    position instead of trying every word. Every alternative at the top starts
    with a literal character: at the start of a pattern, that lets the regex
    engine skip the positions where no word starts with a fast scan. Where the
    words come after something else or repeat, `lookahead` puts a lookahead on
    their first characters in front, which rules out most positions in one
    step. With `latin_whole`, ASCII words match as whole words only and in any
    case (ICU, icu, Icu).
    """
    cjk = {w for w in words if w and not (latin_whole and _is_latin(w))}
    latin: set[str] = set()
    if latin_whole:  # case variants instead of re.IGNORECASE, which slows every position down
        for w in words:
            if w and _is_latin(w):
                latin.update({w, w.lower(), w.upper(), w.capitalize()})
    branches = _trie_branches(_trie(cjk))
    # a whole Latin word: no letter before its first character, none after its last
    for ch, child in sorted(_trie(latin).items()):
        head = re.escape(ch)
        branches.append(f"{head}(?<![A-Za-z]{head}){_trie_pattern(child)}(?![A-Za-z])")
    alternation = "(?:" + "|".join(branches) + ")"
    return f"(?={first_chars(list(cjk | latin))}){alternation}" if lookahead else alternation


_META = set(".^$*+?{}[]\\|()")
# A leading lookbehind without nested groups ("(?<!出)差"): the pattern still starts with the character after it.
_LOOKBEHIND_RE = re.compile(r"^(?:\(\?<[=!][^()]*\))+")
_ONE_LOOKBEHIND_RE = re.compile(r"\(\?<([=!])([^()]*)\)")
_PLAIN_CLASS_RE = re.compile(r"\[([^\]\[\\^-]+)\]")


def _syntax(pattern: str) -> Iterator[tuple[int, str]]:
    """(index, character) of the characters of a pattern that are neither escaped nor in a character class."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i += 1 if pattern[i + 1 : i + 2] == "^" else 0
            i += 1 if pattern[i + 1 : i + 2] == "]" else 0  # "[]…]": the first "]" is a member
        else:
            yield i, ch
        i += 1


def _has_capture(pattern: str) -> bool:
    """Whether the pattern has a capturing group: "(…)" or "(?P<name>…)"."""
    return any(
        ch == "(" and pattern[i + 1 : i + 2] != "?" or pattern[i : i + 4] == "(?P<" for i, ch in _syntax(pattern)
    )


def _leading_group(pattern: str) -> tuple[list[str], str] | None:
    """("(?:A|B)rest" →) the top-level alternatives of a leading non-capturing group, and the rest.

    None when the pattern does not start with such a group or the group is repeated ("(?:的)?…").
    """
    if not pattern.startswith("(?:"):
        return None
    alternatives: list[str] = []
    depth, start = 0, 3
    for i, ch in _syntax(pattern):
        if i < 3:
            continue
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == ")":
            alternatives.append(pattern[start:i])
            rest = pattern[i + 1 :]
            return None if rest[:1] in ("?", "*", "+", "{") and rest else (alternatives, rest)
        elif ch == "|" and not depth:
            alternatives.append(pattern[start:i])
            start = i + 1
    return None


def _leading_class(pattern: str) -> str | None:
    """("[省市县]…" →) the members of a leading character class of plain characters, once only."""
    m = _PLAIN_CLASS_RE.match(pattern)
    if m is None or pattern[m.end() : m.end() + 1] in ("?", "*", "+", "{"):
        return None
    return m.group(1) if len(set(m.group(1))) == len(m.group(1)) else None


def _after_head(lookbehinds: str, head: str) -> str:
    """Lookbehinds that held before `head`, to be checked right after it: "(?<!出)" → "(?<!(?:出)差)"."""
    esc = re.escape(head)
    return _ONE_LOOKBEHIND_RE.sub(lambda lb: f"(?<{lb.group(1)}(?:{lb.group(2)}){esc})", lookbehinds)


def _headed(pattern: str) -> list[tuple[str, str]] | None:
    """The pattern as alternatives, in order, that each start with a literal character: [(char, regex after it)].

    "(?:年|病)假" → [("年", "假"), ("病", "假")]; "(?<!出)差" → [("差", "(?<!(?:出)差)")]: a leading
    lookbehind moves past the character, widened by it. None when the pattern does not start that way.
    """
    behind = _LOOKBEHIND_RE.match(pattern)
    if behind is not None:
        headed = _headed(pattern[behind.end() :])
        if headed is None:
            return None
        return [(head, _after_head(behind.group(0), head) + tail) for head, tail in headed]
    group = _leading_group(pattern)
    if group is not None:
        alternatives, rest = group
        out = []
        for alternative in alternatives:
            headed = _headed(alternative + rest)
            if headed is None:
                return None
            out += headed
        return out
    chars = _leading_class(pattern)
    if chars is not None:
        out = []
        for ch in chars:
            headed = _headed(ch + pattern[len(chars) + 2 :])
            if headed is None:
                return None
            out += headed
        return out
    head, after = pattern[:1], pattern[1:2]
    if not head or head in _META or (after and after in "?*+{"):
        return None
    return [(head, pattern[1:])]


_PLAIN_RE = re.compile(r"[^.^$*+?{}\[\]\\|()]+")  # a literal word: no regex syntax at all


def _headed_pattern(pattern: str) -> list[tuple[str, str]] | None:
    """_headed for a whole pattern of a list; None when it has a capturing group (it would be copied)."""
    if _PLAIN_RE.fullmatch(pattern):
        return [(pattern[0], pattern[1:])]
    return None if _has_capture(pattern) else _headed(f"(?:{pattern})")


def patterns_alt(patterns: list[str]) -> str:
    """A regex alternation of regex patterns, matching exactly what "(?:p1)|(?:p2)|…" matches.

    When every pattern can be written as alternatives that start with a literal
    character, they are grouped by that character (keeping their order), so the
    regex engine skips the positions where none starts with a fast scan; where
    that would copy too much of the patterns, a lookahead on those characters
    does a similar job.
    """
    body = "|".join(f"(?:{p})" for p in patterns)
    headed = [_headed_pattern(p) for p in patterns]
    if not patterns or any(h is None for h in headed):
        heads = [_LOOKBEHIND_RE.sub("", p)[:1] for p in patterns]
        if heads and all(heads) and not any(h in _META for h in heads):
            return f"(?={first_chars(heads)})(?:{body})"
        return body
    tails: dict[str, list[str]] = {}
    for alternatives in headed:
        for head, tail in alternatives or ():
            tails.setdefault(head, []).append(tail)
    grouped = "(?:" + "|".join(re.escape(head) + "(?:" + "|".join(ts) + ")" for head, ts in tails.items()) + ")"
    if len(grouped) > 3 * len(body):  # so many copies cost more to compile than the fast scan saves
        return f"(?={first_chars(list(tails))})(?:{body})"
    return grouped


@dataclass(frozen=True)
class Lexicon:
    people: dict[str, Any]
    departments: dict[str, Any]
    customers: dict[str, Any]
    products: dict[str, Any]
    kinds: dict[str, Any]
    fields: dict[str, Any]
    brands: list[str]
    typos: dict[str, str]


@cache
def lexicon() -> Lexicon:
    typos: dict[str, str] = {}
    for line in _lines("typos.txt"):
        wrong, right = line.split()
        if len(wrong) != len(right):
            raise ValueError(f"typos.txt: {wrong!r} and {right!r} differ in length")
        typos[wrong] = right
    return Lexicon(
        people=_yaml("people.yaml"),
        departments=_yaml("departments.yaml"),
        customers=_yaml("customers.yaml"),
        products=_yaml("products.yaml"),
        kinds=_yaml("kinds.yaml"),
        fields=_yaml("fields.yaml"),
        brands=_lines("brands.txt"),
        typos=typos,
    )
