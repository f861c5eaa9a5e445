"""Shared fixtures: a bot on a temporary database, its fake WeCom, and a peer that plays WeCom.

The database is SQLite unless a test is run with `backend` "postgresql" (see `both_backends`),
or the whole suite with FRONTLINE_TEST_BACKEND=postgresql; PostgreSQL tests skip where the
server binaries or psycopg are missing (tests/pg.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.app import create_app
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings, settings_from_dict
from tests import pg
from tests.fake_wecom import FakeWeCom
from tests.wecom_peer import Caller, PeerCrypt, new_aes_key

TOKEN = "frontline-test-token"
CHAT = "wrkChat001"

ROSTER = [
    {"userid": "zhangwei", "name": "张伟", "role": "rep", "region": "华东"},
    {"userid": "lina", "name": "李娜", "role": "rep", "region": "华东"},
    {"userid": "wangqiang", "name": "王强", "role": "rep", "region": "华南"},
    {"userid": "chenjing", "name": "陈静", "role": "leader", "region": "华东"},
    {"userid": "zhaolei", "name": "赵磊", "role": "leader", "region": "华南"},
    {"userid": "liuyang", "name": "刘洋", "role": "admin", "region": ""},
]


class Clock:
    """A clock the test moves by hand; aware UTC."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Bot:
    settings: Settings
    runtime: Runtime
    caller: Caller
    crypt: PeerCrypt
    fake: FakeWeCom
    clock: Clock

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    def count(self, model: Any) -> int:
        with Session(self.engine) as s:
            return s.execute(select(func.count()).select_from(model)).scalar_one()

    def rows(self, model: Any) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.execute(select(model).order_by(model.id)).scalars())

    def drain(self) -> None:
        self.runtime.worker.drain()


BACKENDS = ("sqlite", "postgresql")
# Runs a test once per database: `@both_backends` on a test that uses `bot`, `make_bot` or `database_url`.
both_backends = pytest.mark.parametrize("backend", BACKENDS)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.Cluster]:
    """One PostgreSQL cluster for the session (a few seconds to start), or a skip saying why not."""
    reason = pg.unavailable()
    if reason is not None:
        pytest.skip(reason)
    yield from pg.cluster()


@pytest.fixture()
def backend() -> str:
    return os.environ.get("FRONTLINE_TEST_BACKEND", "sqlite")


@pytest.fixture()
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'frontline.db'}"
    if backend == "postgresql":
        return request.getfixturevalue("postgres").clean_database()
    raise ValueError(f"unknown backend {backend!r}")


def make_settings(
    tmp_path: Path, fake: FakeWeCom | None, aes_key: str, *, database_url: str | None = None, **overrides: Any
) -> Settings:
    raw: dict[str, Any] = {
        "wecom": {
            "token": TOKEN,
            "encoding_aes_key": aes_key,
            "receive_id": "",
            "webhook_url": fake.webhook_url("team-key") if fake else "",
            "api_base": fake.base_url if fake else "",
        },
        "database": {"url": database_url or f"sqlite:///{tmp_path / 'frontline.db'}"},
        "timezone": "Asia/Shanghai",
        "chats": [CHAT],
        "team": {"members": ROSTER},
    }
    for key, value in overrides.items():
        raw[key] = value
    return settings_from_dict(raw)


@pytest.fixture()
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as f:
        yield f


@pytest.fixture()
def make_bot(tmp_path: Path, fake: FakeWeCom, database_url: str) -> Iterator[Callable[..., Bot]]:
    runtimes: list[Runtime] = []

    def factory(**overrides: Any) -> Bot:
        key = overrides.pop("aes_key", None) or new_aes_key()
        settings = make_settings(tmp_path, fake, key, database_url=database_url, **overrides)
        clock = Clock(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # Wed 10:00 in Shanghai
        runtime = build_runtime(
            settings,
            clock=lambda: clock.now.astimezone(settings.tz),
            utc_clock=clock,
        )
        runtimes.append(runtime)
        app = create_app(runtime)
        crypt = PeerCrypt(TOKEN, key, "")
        return Bot(settings, runtime, Caller(crypt, client=app.test_client()), crypt, fake, clock)

    yield factory
    for runtime in runtimes:  # a server's connections would otherwise stay open until collected
        runtime.engine.dispose()


@pytest.fixture()
def bot(make_bot: Callable[..., Bot]) -> Bot:
    return make_bot()
