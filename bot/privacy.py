"""Desensitising what is stored: mobile and ID-card numbers are masked before they reach a table."""

from __future__ import annotations

import re

# An 18-character ID-card number (last character may be X), not inside a longer run of digits.
_ID_CARD = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# A mainland mobile number, optionally with +86 and separators: 138 1234 5678, 138-1234-5678.
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9])")


# Anything worth masking holds at least seven digits in a row or 3 + 4 with a separator.
# (Written with one leading branch: an alternation of two patterns that both start with
# a digit makes `re` try both at every position, three times slower on a callback's XML.)
_LONG_NUMBER = re.compile(r"\d\d\d(?:\d{4}|[- ]\d{4})")


def mask_sensitive(text: str) -> str:
    """'13812341234' -> '138****1234'; '110101199003071234' -> '110101********1234'."""
    if not text or not _LONG_NUMBER.search(text):
        return text
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
