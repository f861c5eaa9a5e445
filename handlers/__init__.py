"""The bot's capabilities, one module each. `load()` lists their handlers in dispatch order."""

from __future__ import annotations

from bot.dispatch import Handler


def load() -> list[Handler]:
    from handlers import attendance, chat, commands, competitor, fallback, review, urgent, visits

    return [
        *chat.HANDLERS,
        *commands.HANDLERS,
        *visits.HANDLERS,
        *urgent.HANDLERS,
        *competitor.HANDLERS,
        *attendance.HANDLERS,
        *review.HANDLERS,
        *fallback.HANDLERS,
    ]
