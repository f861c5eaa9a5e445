"""Message understanding: `parse(text, now)` turns one rep's message into a parse-schema.md object.

Pure functions, no I/O at call time; the dictionaries in bot/parse/data/ are
loaded once, at import.
"""

from bot.parse.core import CORE_ITEMS, KEYS, KINDS, ROLES, empty_result, parse
from bot.parse.fields import competitor_move

__all__ = ["CORE_ITEMS", "KEYS", "KINDS", "ROLES", "competitor_move", "empty_result", "parse"]
