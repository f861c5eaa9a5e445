"""A trip or leave told wrong and corrected is changed, not doubled; the bot's example of whom to
hand over to is a colleague, never the one taking leave."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.models import Customer, Itinerary, Leave
from tests.conftest import Bot, both_backends
from tests.test_understanding import CUSTOMERS, say


@pytest.fixture()
def team(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot(customers=CUSTOMERS)


def _trips(bot: Bot) -> list[tuple[str, str | None]]:
    names = {c.id: c.name for c in bot.rows(Customer)}
    return [(t.trip_date.isoformat(), names.get(t.customer_id)) for t in bot.rows(Itinerary)]


@both_backends
def test_a_trip_corrected_in_the_next_messages_is_one_trip_with_the_last_word(team: Bot) -> None:
    team.clock.advance(hours=7)  # Wed 25 Nov, 17:00
    say(team, "报备：明天一早直接去市一院送试用探头")
    reply = say(team, "不对，是后天")
    assert _trips(team) == [("2026-11-27", "市第一人民医院")] and "已改为：11月27日直接去市第一人民医院" in reply
    reply = say(team, "说错了，是去市二院")
    assert _trips(team) == [("2026-11-27", "市二院")] and "已改为" in reply
    say(team, "说错了，是周一一早直接去市一院")
    assert _trips(team) == [("2026-11-30", "市第一人民医院")]


@both_backends
def test_a_correction_goes_to_what_was_told_last_and_a_new_trip_is_still_a_trip(team: Bot) -> None:
    team.clock.advance(hours=7)
    say(team, "报备：明天一早直接去市一院")
    say(team, "明天请假一天，交给李娜")
    say(team, "说错了，是周五")  # the leave, told last
    [leave] = team.rows(Leave)
    assert leave.start.isoformat() == "2026-11-27" and _trips(team) == [("2026-11-26", "市第一人民医院")]
    team.clock.advance(days=1)
    say(team, "不对，是后天")  # nothing of mine told today to correct
    say(team, "报备：明天直接去市二院")
    assert len(team.rows(Itinerary)) == 2


def test_the_handover_example_names_a_colleague(team: Bot) -> None:
    assert "如「交给李娜」" not in say(team, "明天请假一天", user="lina")
