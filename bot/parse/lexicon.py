"""The parser's dictionaries, loaded once from bot/parse/data/ and compiled into regular expressions.

Everything a team may want to extend (titles, departments, products, brands,
hospital suffixes, cue words) lives in the data files; this module only turns
them into fast matchers.
"""

from __future__ import annotations

import re
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


def _trie_pattern(node: dict) -> str:
    """A regex for the words under `node`; at every step the longer word is tried first."""
    ends = "" in node
    branches = [re.escape(ch) + _trie_pattern(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return f"(?:{body})?" if len(branches) == 1 else body + "?"
    return body


def words_alt(words: list[str] | tuple[str, ...], *, latin_whole: bool = False) -> str:
    """A regex matching any of the literal words, the longest one where several fit.

    The words are compiled into a trie, so the engine follows one path per
    position instead of trying every word; a lookahead on the first characters
    skips most positions at once. With `latin_whole`, ASCII words match as
    whole words only and in any case (ICU, icu, Icu).
    """
    cjk = {w for w in words if w and not (latin_whole and _is_latin(w))}
    latin: set[str] = set()
    if latin_whole:  # case variants instead of re.IGNORECASE, which slows every position down
        for w in words:
            if w and _is_latin(w):
                latin.update({w, w.lower(), w.upper(), w.capitalize()})
    parts = []
    if cjk:
        parts.append(_trie_pattern(_trie(cjk)))
    if latin:
        parts.append(rf"(?<![A-Za-z]){_trie_pattern(_trie(latin))}(?![A-Za-z])")
    return f"(?={first_chars(list(cjk | latin))})(?:" + "|".join(parts) + ")"


_META = set(".^$*+?{}[]\\|()")
# A leading lookbehind without nested groups ("(?<!出)差"): the pattern still starts with the character after it.
_LOOKBEHIND_RE = re.compile(r"^(?:\(\?<[=!][^()]*\))+")


def patterns_alt(patterns: list[str]) -> str:
    """A regex alternation of regex patterns (each wrapped in a group).

    When every pattern starts with a literal character, a lookahead on those
    characters lets the regex engine skip most positions at once.
    """
    body = "|".join(f"(?:{p})" for p in patterns)
    heads = [_LOOKBEHIND_RE.sub("", p)[:1] for p in patterns]
    if heads and all(heads) and not any(h in _META for h in heads):
        return f"(?={first_chars(heads)})(?:{body})"
    return body


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
