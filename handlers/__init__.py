"""The bot's capabilities, one module each. `load()` lists their handlers in dispatch order."""

from __future__ import annotations

from bot.dispatch import Handler


def load() -> list[Handler]:
    from handlers import chat, fallback

    return [*chat.HANDLERS, *fallback.HANDLERS]
