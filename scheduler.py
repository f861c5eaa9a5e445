"""The team's rhythm: every scheduled job as a plain module-level function, and their wiring.

What a job posts is decided in `bot.jobs` (built from the data at the run's time);
this module decides when, and makes each run happen exactly once:

- every job is a cron trigger in the team's time zone, read from config.yaml's
  `schedule`; jobs marked "working days" fire every day and skip days off by the
  Chinese calendar (statutory holidays off, make-up working days on, admin dates);
- a run is keyed by (job, scheduled time): its posts go to the outbox under that key
  in the same transaction as any state the job marks, so a restart, a misfire
  catch-up, a second scheduler or a manual `frontline jobs run` of the same time
  posts nothing twice;
- only one scheduler per database fires jobs: a lease in the database, renewed while
  it lives; other processes wait on standby and take over when it lapses;
- APScheduler keeps its job store in the project's database (misfire grace, coalescing).

It runs embedded in `frontline serve` or alone: `python scheduler.py`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import session_scope, utcnow, write_lock
from bot.jobs import JOBS, JobContext, Post
from bot.models import Kv
from bot.runtime import Runtime
from bot.settings import Settings
from bot.wecom.outbox import enqueue

log = logging.getLogger("frontline.scheduler")

LEASE_KEY = "scheduler.lease"
LEASE_SECONDS = 90
HEARTBEAT_SECONDS = 30
MISFIRE_GRACE_SECONDS = 600

# Default times (config.yaml `schedule` overrides each).
DEFAULTS: dict[str, dict[str, Any]] = {
    "morning_agenda": {"days": ["mon", "wed", "fri"], "time": "08:30"},
    "eod_review": {"time": "17:30"},
    "eod_chase": {"time": "18:00"},
    "crm_deadline": {"time": "19:00"},
    "weekly_report": {"days": ["fri"], "time": "15:30"},
    "followups": {"start_time": "09:00", "end_time": "18:00"},
    "urgent_escalation": {"every_minutes": 1},
    "itinerary_reminder": {"time": "17:00"},
    "toolkit_check": {"time": "08:00"},
}


# ----------------------------------------------------------------------------- when (pure)
def job_config(settings: Settings, name: str) -> dict[str, Any]:
    return {**DEFAULTS[name], **(settings.schedule.get(name) or {})}


def trigger_for(settings: Settings, name: str) -> CronTrigger:
    """The cron trigger of a job in the team's time zone. Working-day jobs fire every day and skip days off."""
    cfg = job_config(settings, name)
    tz = settings.tz
    if "every_minutes" in cfg:
        return CronTrigger(minute=f"*/{int(cfg['every_minutes'])}", timezone=tz)
    if "start_time" in cfg:
        start, end = (int(cfg[k].split(":")[0]) for k in ("start_time", "end_time"))
        minute = int(cfg["start_time"].split(":")[1])
        return CronTrigger(hour=f"{start}-{end}", minute=minute, timezone=tz)
    hour, minute = (int(x) for x in cfg["time"].split(":"))
    days = ",".join(cfg.get("days") or []) or "*"
    return CronTrigger(day_of_week=days, hour=hour, minute=minute, timezone=tz)


def latest_fire_time(trigger: CronTrigger, now: datetime, lookback: timedelta = timedelta(days=8)) -> datetime | None:
    """The scheduled time of the run that `now` belongs to: the last fire time at or before `now`.

    Every process computes the same answer, so the key of a run does not depend on which
    scheduler fired it, or how late.
    """
    prev = None
    t = trigger.get_next_fire_time(None, now - lookback)
    while t is not None and t <= now:
        prev = t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    return prev


def next_fire_time(settings: Settings, name: str, now: datetime, calendar: Any) -> datetime | None:
    """When the job will next post: the next fire time, on a working day when the job keeps to them."""
    trigger = trigger_for(settings, name)
    t = trigger.get_next_fire_time(None, now)
    for _ in range(500):
        if t is None or not JOBS[name].working_days_only or calendar.is_workday(t.date()):
            return t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    return None


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def run_key(name: str, at: datetime) -> str:
    return f"job:{name}@{at.isoformat(timespec='minutes')}"


# ----------------------------------------------------------------------------- one run (exactly once)
@dataclass
class JobRun:
    name: str
    at: datetime
    status: str  # posted | duplicate | skipped | empty | dry-run
    posts: list[Post] = field(default_factory=list)
    reason: str = ""


def run_job(runtime: Runtime, name: str, at: datetime, *, dry_run: bool = False, force: bool = False) -> JobRun:
    """Build the job's posts for `at` from the current data and queue them once under (job, at)."""
    job = JOBS[name]
    at = at.astimezone(runtime.settings.tz).replace(second=0, microsecond=0)
    calendar = runtime.service.calendar
    if job.working_days_only and not calendar.is_workday(at.date()) and not force:
        return JobRun(name, at, "skipped", reason=f"{at.date().isoformat()} is not a working day")
    days = [str(d).lower()[:3] for d in job_config(runtime.settings, name).get("days") or []]
    if days and _DAY_NAMES[at.weekday()] not in days and not force:  # "jobs run morning_agenda" on a Tuesday
        return JobRun(name, at, "skipped", reason=f"{at.date().isoformat()} is not one of its days ({','.join(days)})")
    key = run_key(name, at)
    with write_lock(runtime.engine).hold(), Session(runtime.engine, expire_on_commit=False) as s:
        try:
            ctx = JobContext(session=s, settings=runtime.settings, calendar=calendar, renderer=runtime.renderer, at=at)
            posts = job.build(ctx)
            if dry_run:
                s.rollback()
                return JobRun(name, at, "dry-run", posts)
            target = default_target(runtime, s)
            for i, post in enumerate(posts):
                enqueue(
                    s, target, post.msgtype, post.content,
                    source=key, dedupe_key=f"{key}/{i}", now=runtime.worker.clock(),
                )  # fmt: skip
            s.flush()
            s.commit()
        except IntegrityError:
            s.rollback()
            reason = f"{name} at {at.isoformat(timespec='minutes')} was posted before"
            return JobRun(name, at, "duplicate", reason=reason)
        except BaseException:
            s.rollback()
            raise
    if posts:
        runtime.worker.notify()
    return JobRun(name, at, "posted" if posts else "empty", posts)


class NoTarget(RuntimeError):
    """Nowhere to post: no webhook configured and no chat has called the bot yet."""


def default_target(runtime: Runtime, session: Session) -> str:
    """Where scheduled posts go: the simulator's sink, the configured webhook, or the served chat's."""
    from sqlmodel import select

    from bot.models import Chat
    from bot.runtime import rebase
    from bot.wecom.outbox import LOCAL_TARGET

    if runtime.credentials.simulated:
        return LOCAL_TARGET
    if runtime.settings.wecom.webhook_url:
        return runtime.settings.wecom.webhook_url
    q = select(Chat).order_by(Chat.last_seen_at.desc())  # type: ignore[union-attr]
    if runtime.settings.chats:
        q = q.where(Chat.chat_id.in_(runtime.settings.chats))  # type: ignore[attr-defined]
    chat = session.exec(q).first()
    if chat is None or not chat.webhook_url:
        raise NoTarget("no webhook to post to: set wecom.webhook_url, or @ the bot once in the group")
    return rebase(chat.webhook_url, runtime.settings.wecom.api_base)


# ----------------------------------------------------------------------------- the jobs, as plain functions
_RUNTIME: Runtime | None = None


def _fire(name: str) -> None:
    """What APScheduler calls: the run this moment belongs to, exactly once."""
    runtime = _RUNTIME
    if runtime is None:
        log.error("job %s fired with no runtime; ignored", name)
        return
    now = datetime.now(runtime.settings.tz)
    at = latest_fire_time(trigger_for(runtime.settings, name), now)
    if at is None:
        return
    result = run_job(runtime, name, at)
    log.info("job %s at %s: %s %s", name, at.isoformat(timespec="minutes"), result.status, result.reason)


def morning_agenda() -> None:
    _fire("morning_agenda")


def eod_review() -> None:
    _fire("eod_review")


def eod_chase() -> None:
    _fire("eod_chase")


def crm_deadline() -> None:
    _fire("crm_deadline")


def weekly_report() -> None:
    _fire("weekly_report")


def followups() -> None:
    _fire("followups")


def urgent_escalation() -> None:
    _fire("urgent_escalation")


def itinerary_reminder() -> None:
    _fire("itinerary_reminder")


def toolkit_check() -> None:
    _fire("toolkit_check")


JOB_FUNCTIONS = {name: globals()[name] for name in DEFAULTS}


# ----------------------------------------------------------------------------- one scheduler per database
class Lease:
    """A lease row in the database: who fires jobs, until when. Renewed by its holder."""

    def __init__(self, runtime: Runtime, owner: str | None = None, clock: Any = utcnow) -> None:
        self.runtime = runtime
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock

    def acquire(self) -> bool:
        """Take or renew the lease; False while another live scheduler holds it."""
        now = self.clock()
        with session_scope(self.runtime.engine) as s:
            row = s.get(Kv, LEASE_KEY)
            if row is not None:
                held = json.loads(row.value)
                if held["owner"] != self.owner and datetime.fromisoformat(held["until"]) > now:
                    return False
            value = json.dumps({"owner": self.owner, "until": (now + timedelta(seconds=LEASE_SECONDS)).isoformat()})
            s.merge(Kv(key=LEASE_KEY, value=value, updated_at=now))
        return True

    def release(self) -> None:
        with session_scope(self.runtime.engine) as s:
            row = s.get(Kv, LEASE_KEY)
            if row is not None and json.loads(row.value)["owner"] == self.owner:
                s.delete(row)


class RhythmScheduler:
    """APScheduler with the project's job store, started only while this process holds the lease."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.lease = Lease(runtime)
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _build(self) -> BackgroundScheduler:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        settings = self.runtime.settings
        sched = BackgroundScheduler(
            timezone=settings.tz,
            jobstores={"default": SQLAlchemyJobStore(engine=self.runtime.engine, tablename="apscheduler_jobs")},
            job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1},
        )
        for name in DEFAULTS:
            sched.add_job(
                f"scheduler:{name}", trigger=trigger_for(settings, name), id=name, name=name, replace_existing=True
            )
        return sched

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                held = self.lease.acquire()
            except Exception:
                log.exception("scheduler lease check failed")
                held = False
            if held and self.scheduler is None:
                log.info("this process fires the scheduled jobs (%s)", self.lease.owner)
                self.scheduler = self._build()
                self.scheduler.start()
            elif not held and self.scheduler is not None:
                log.warning("scheduler lease lost; standing by")
                self.scheduler.shutdown(wait=False)
                self.scheduler = None
            self._stop.wait(HEARTBEAT_SECONDS)

    def start(self) -> None:
        global _RUNTIME
        _RUNTIME = self.runtime
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        try:
            self.lease.release()
        except Exception:
            log.exception("could not release the scheduler lease")


def start_embedded(runtime: Runtime) -> RhythmScheduler:
    """Run the scheduler inside `frontline serve` (it stays on standby while another process holds the lease)."""
    rhythm = RhythmScheduler(runtime)
    rhythm.start()
    return rhythm


def main(argv: list[str] | None = None) -> int:
    """`python scheduler.py`: the scheduler and the outbox worker, without the web server."""
    from bot.logs import setup_logging
    from bot.runtime import build_runtime
    from bot.settings import ConfigError, load_settings

    setup_logging()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"config error: {exc.key}: {exc.problem}")
        return 2
    runtime = build_runtime(settings)
    runtime.worker.start()
    rhythm = start_embedded(runtime)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    rhythm.stop()
    runtime.worker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
