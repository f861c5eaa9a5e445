"""The rhythm: which jobs run on which days, each run posted exactly once, one scheduler per database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine

import scheduler
from bot.models import Outbox
from bot.runtime import build_runtime
from tests.conftest import Bot, both_backends

WORKDAY_JOBS = ["eod_review", "eod_chase", "crm_deadline", "itinerary_reminder", "toolkit_check"]


def at(bot: Bot, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=bot.settings.tz)


def outbox_keys(bot: Bot) -> list[str]:
    return [r.source for r in bot.rows(Outbox)]


# ------------------------------------------------------------------ when (pure)
def test_the_run_a_moment_belongs_to_is_the_last_fire_time(bot: Bot) -> None:
    trigger = scheduler.trigger_for(bot.settings, "morning_agenda")  # Mon/Wed/Fri 08:30
    assert scheduler.latest_fire_time(trigger, at(bot, "2026-11-27T08:33")) == at(bot, "2026-11-27T08:30")
    assert scheduler.latest_fire_time(trigger, at(bot, "2026-11-26T12:00")) == at(bot, "2026-11-25T08:30")
    every_minute = scheduler.trigger_for(bot.settings, "urgent_escalation")
    assert scheduler.latest_fire_time(every_minute, at(bot, "2026-11-27T10:07:59")) == at(bot, "2026-11-27T10:07")


def test_times_come_from_config(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(schedule={"eod_review": {"time": "17:45"}, "urgent_escalation": {"every_minutes": 5}})
    trigger = scheduler.trigger_for(bot.settings, "eod_review")
    assert scheduler.latest_fire_time(trigger, at(bot, "2026-11-27T18:00")) == at(bot, "2026-11-27T17:45")
    every5 = scheduler.trigger_for(bot.settings, "urgent_escalation")
    assert scheduler.latest_fire_time(every5, at(bot, "2026-11-27T10:07:59")) == at(bot, "2026-11-27T10:05")


def test_next_fire_skips_days_off_for_working_day_jobs(bot: Bot) -> None:
    cal = bot.runtime.service.calendar
    # Thu 2026-04-30 after 17:30: Fri 1 May to Tue 5 May are off (Sat/Sun in between).
    nxt = scheduler.next_fire_time(bot.settings, "eod_review", at(bot, "2026-04-30T18:00"), cal)
    assert nxt == at(bot, "2026-05-06T17:30")
    # The make-up working day Sat 2026-05-09 is worked.
    nxt = scheduler.next_fire_time(bot.settings, "eod_review", at(bot, "2026-05-08T18:00"), cal)
    assert nxt == at(bot, "2026-05-09T17:30")


# ------------------------------------------------------------------ a week with a holiday and a make-up day
@pytest.mark.parametrize(
    ("day", "works"),
    [
        ("2026-05-04", False),  # Mon, Labour Day holiday
        ("2026-05-05", False),  # Tue, holiday
        ("2026-05-06", True),  # Wed
        ("2026-05-08", True),  # Fri
        ("2026-05-09", True),  # Sat, make-up working day
        ("2026-05-10", False),  # Sun
    ],
)
def test_working_day_jobs_fire_only_on_working_days(bot: Bot, day: str, works: bool) -> None:
    for name in WORKDAY_JOBS:
        trigger = scheduler.trigger_for(bot.settings, name)
        fire = trigger.get_next_fire_time(None, at(bot, f"{day}T00:00"))
        with time_machine.travel(fire + timedelta(seconds=2), tick=False):
            run = scheduler.run_job(bot.runtime, name, fire)
        assert (run.status != "skipped") is works, (name, day, run)


def test_a_job_run_by_hand_on_a_day_outside_its_schedule_is_skipped_unless_forced(bot: Bot) -> None:
    run = scheduler.run_job(bot.runtime, "morning_agenda", at(bot, "2026-11-24T08:30"))  # a Tuesday
    assert run.status == "skipped" and "not one of its days (mon,wed,fri)" in run.reason
    assert bot.rows(Outbox) == []
    forced = scheduler.run_job(bot.runtime, "morning_agenda", at(bot, "2026-11-24T08:30"), force=True)
    assert forced.status == "posted"


def test_the_weekly_stand_up_skips_a_holiday_monday(bot: Bot) -> None:
    run = scheduler.run_job(bot.runtime, "morning_agenda", at(bot, "2026-05-04T08:30"))
    assert run.status == "skipped" and "not a working day" in run.reason
    run = scheduler.run_job(bot.runtime, "morning_agenda", at(bot, "2026-05-06T08:30"))
    assert run.status == "posted"


def test_an_admin_holiday_from_config_is_a_day_off(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(calendar={"holidays": ["2026-11-27"]})
    assert scheduler.run_job(bot.runtime, "eod_review", at(bot, "2026-11-27T17:30")).status == "skipped"
    assert scheduler.run_job(bot.runtime, "eod_review", at(bot, "2026-11-26T17:30")).status == "posted"


# ------------------------------------------------------------------ exactly once
@both_backends
def test_running_the_same_run_twice_posts_once(bot: Bot) -> None:
    first = scheduler.run_job(bot.runtime, "eod_review", at(bot, "2026-11-26T17:30"))
    second = scheduler.run_job(bot.runtime, "eod_review", at(bot, "2026-11-26T17:30"))
    assert (first.status, second.status) == ("posted", "duplicate")
    assert len(bot.rows(Outbox)) == len(first.posts) >= 1
    bot.drain()
    assert len(bot.fake.bodies()) == len(first.posts)


def test_a_late_catch_up_belongs_to_the_same_run(bot: Bot) -> None:
    scheduler._RUNTIME = bot.runtime
    with time_machine.travel(at(bot, "2026-11-26T17:30:01"), tick=False):
        scheduler.eod_review()
    with time_machine.travel(at(bot, "2026-11-26T17:36"), tick=False):  # a restart's misfire catch-up
        scheduler.eod_review()
    keys = outbox_keys(bot)
    assert keys and set(keys) == {"job:eod_review@2026-11-26T17:30+08:00"}


@both_backends
def test_two_schedulers_on_one_database_post_a_run_once(bot: Bot, tmp_path: Path) -> None:
    other = build_runtime(bot.settings, engine=bot.engine)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def fire(runtime: object) -> None:
        barrier.wait()
        results.append(scheduler.run_job(runtime, "eod_review", at(bot, "2026-11-26T17:30")).status)  # type: ignore[arg-type]

    threads = [threading.Thread(target=fire, args=(rt,)) for rt in (bot.runtime, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == ["duplicate", "posted"]
    assert len({r.dedupe_key for r in bot.rows(Outbox)}) == len(bot.rows(Outbox))


@both_backends
def test_only_one_process_holds_the_scheduler_lease(bot: Bot) -> None:
    now = [datetime(2026, 11, 26, 9, 0, tzinfo=bot.settings.tz)]
    first = scheduler.Lease(bot.runtime, owner="a", clock=lambda: now[0])
    second = scheduler.Lease(bot.runtime, owner="b", clock=lambda: now[0])
    assert first.acquire() and not second.acquire()
    now[0] += timedelta(seconds=30)
    assert first.acquire() and not second.acquire()  # renewed
    now[0] += timedelta(seconds=scheduler.LEASE_SECONDS + 1)  # the holder died
    assert second.acquire() and not first.acquire()


def test_a_dry_run_posts_nothing(bot: Bot) -> None:
    run = scheduler.run_job(bot.runtime, "eod_review", at(bot, "2026-11-26T17:30"), dry_run=True)
    assert run.status == "dry-run" and run.posts
    assert bot.rows(Outbox) == []


@both_backends
def test_apscheduler_keeps_every_job_in_the_projects_database(bot: Bot) -> None:
    from sqlalchemy import text

    sched = scheduler.RhythmScheduler(bot.runtime)._build()
    sched.start(paused=True)
    try:
        assert {j.id for j in sched.get_jobs()} == set(scheduler.DEFAULTS)
        assert all(j.func is scheduler.JOB_FUNCTIONS[j.id] for j in sched.get_jobs())
    finally:
        sched.shutdown(wait=False)
    with bot.engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT id FROM apscheduler_jobs"))}
    assert stored == set(scheduler.DEFAULTS)
