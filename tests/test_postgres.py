"""What differs between the backends, checked on both: schema creation, timestamps, batches, writers.

Most of the suite runs on PostgreSQL too (`@both_backends`); these are the cases that only a
second database brings up. The PostgreSQL server of the tests runs in America/New_York, so a
timestamp that depended on the server's zone would come back hours off.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from defusedxml.ElementTree import fromstring
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import scheduler
from bot.cli import main
from bot.db import Records, reader, session_scope
from bot.models import Contact, Customer, InboundMessage, Kv, Member, Visit
from bot.runtime import build_runtime
from tests.conftest import CHAT, Bot, both_backends, make_settings
from tests.fake_wecom import FakeWeCom
from tests.pg import Cluster
from tests.wecom_peer import aibot_text_json, new_aes_key, robot_text_xml

SHANGHAI = ZoneInfo("Asia/Shanghai")
VISIT = "@前线助手 今天拜访了市一院设备科王主任，确认下周提交采购申请"
CUSTOMERS = [{"name": "市第一人民医院", "level": "三甲", "region": "华东", "aliases": ["市一院"]}]


def content(bot: Bot, body: bytes) -> str:
    plain = bot.caller.open_robot_reply(body)
    return fromstring(plain.encode()).findtext("Markdown/Content") or ""


# ----------------------------------------------------------------------------- schema
def test_start_creates_the_schema_on_an_empty_postgresql_database(
    postgres: Cluster, tmp_path: Path, fake: FakeWeCom
) -> None:
    url = postgres.new_database()
    settings = make_settings(tmp_path, fake, new_aes_key(), database_url=url, customers=CUSTOMERS)
    runtime = build_runtime(settings)
    try:
        tables = set(inspect(runtime.engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        columns = {c["name"]: c["type"] for c in inspect(runtime.engine).get_columns("inbound_message")}
        assert type(columns["received_at"]).__name__ == "TIMESTAMP" and not columns["received_at"].timezone
        # a second start (a restart, another worker) finds the tables and changes nothing
        again = build_runtime(settings)
        assert again.credentials.aes_key == runtime.credentials.aes_key  # the simulator's key, kept once
        again.engine.dispose()
    finally:
        runtime.engine.dispose()


# ----------------------------------------------------------------------------- timestamps
@both_backends
def test_timestamps_are_stored_as_naive_utc_and_read_back_aware(bot: Bot) -> None:
    local = datetime(2026, 11, 27, 8, 30, 15, 250000, tzinfo=SHANGHAI)  # 00:30:15.25 UTC
    with session_scope(bot.engine) as s:  # through the ORM
        s.add(Visit(member="zhangwei", visited_at=local))
    with bot.engine.connect() as conn:  # through the driver, as the message store writes
        with conn.begin():
            row_id = Records(conn).insert(Visit, member="lina", visited_at=local + timedelta(hours=1))
        # the stored values, untyped: SQLite gives its text, PostgreSQL a `timestamp without time zone`
        raw = [r[0] for r in conn.execute(text("SELECT visited_at FROM visit ORDER BY id"))]
        [(read,)] = [Records(conn).first(Visit, ["visited_at"], id=row_id)]
    stored = [datetime.fromisoformat(v) if isinstance(v, str) else v for v in raw]
    assert stored == [datetime(2026, 11, 27, 0, 30, 15, 250000), datetime(2026, 11, 27, 1, 30, 15, 250000)]
    assert read == datetime(2026, 11, 27, 1, 30, 15, 250000, UTC) and read.tzinfo is UTC
    first, second = bot.rows(Visit)
    assert first.visited_at == local and first.visited_at.tzinfo is UTC
    assert second.visited_at == local + timedelta(hours=1)


# ----------------------------------------------------------------------------- group commit
class _CountingQueue(queue.Queue[Any]):
    """The committer's queue, telling the test each time a request joins it."""

    def __init__(self) -> None:
        super().__init__()
        self.joined = threading.Semaphore(0)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self.joined.release()


def one_batch(bot: Bot, *requests: Callable[[], Any]) -> list[Any]:
    """Run the requests so that the group committer commits them in one batch, in this order."""
    writer = bot.runtime.service.writer
    writer._queue = _CountingQueue()  # type: ignore[assignment]
    results: list[Any] = [None] * len(requests)

    def call(i: int) -> None:
        results[i] = requests[i]()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(requests))]
    with writer._busy:  # a batch is being committed: every request queues for the next one
        for t in threads:
            t.start()
            assert writer._queue.joined.acquire(timeout=10)  # type: ignore[attr-defined]
    for t in threads:
        t.join(10)
    return results


@both_backends
def test_a_retry_in_the_same_batch_as_a_new_visit_loses_nothing(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(customers=CUSTOMERS)
    hello, _ = robot_text_xml("@前线助手 在吗", chatid=CHAT, userid="lina", name="李娜")
    first = content(bot, bot.caller.post_robot(hello)[1])
    visit, visit_id = robot_text_xml(VISIT, chatid=CHAT)
    client = bot.caller.client.application.test_client  # one client per thread

    def post(xml: str) -> Callable[[], tuple[int, bytes]]:
        return lambda: type(bot.caller)(bot.crypt, client=client()).post_robot(xml)

    # The new visit first, then WeCom's retry of the first message, whose store fails on the unique msgid.
    (visit_status, visit_body), (retry_status, retry_body) = one_batch(bot, post(visit), post(hello))
    assert (visit_status, retry_status) == (200, 200)
    assert content(bot, retry_body) == first  # the retry gets the first reply
    assert "市第一人民医院" in content(bot, visit_body)
    assert [m.msgid for m in bot.rows(InboundMessage)][1:] == [visit_id]  # the visit is stored, once
    [row] = bot.rows(Visit)
    assert row.customer_id == bot.rows(Customer)[0].id and row.message_id == bot.rows(InboundMessage)[1].id
    assert [c.name for c in bot.rows(Contact)] == ["王主任"]


@both_backends
def test_a_failing_unit_in_a_batch_is_undone_alone(bot: Bot) -> None:
    def add_member(userid: str) -> Callable[[], Any]:
        def unit(conn: Any) -> int:
            return Records(conn).insert(Member, userid=userid, name=userid, role="rep")

        def run() -> Any:
            try:
                return bot.runtime.service.writer.run(unit)
            except Exception as exc:
                return exc

        return run

    # zhangwei is on the roster already: the second unit breaks the unique userid
    results = one_batch(bot, add_member("a"), add_member("zhangwei"), add_member("b"))
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert type(results[1]).__name__ in ("IntegrityError", "UniqueViolation")
    members = [m.userid for m in bot.rows(Member)]
    assert members[-2:] == ["a", "b"] and members.count("zhangwei") == 1


# ----------------------------------------------------------------------------- one writer at a time
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_writer_waits_for_the_one_in_progress_as_on_sqlite(bot: Bot) -> None:
    """Two schedulers start together: the second's lease check waits for the first's transaction.

    PostgreSQL would otherwise run both look-then-write transactions side by side: both see no
    lease, and both insert it (one fails) or both renew an expired one (both fire the jobs).
    """
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    first_read, go = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def first() -> None:
        with session_scope(bot.engine) as s:  # what Lease.acquire does, paused between look and write
            results["seen"] = s.get(Kv, scheduler.LEASE_KEY)
            first_read.set()
            go.wait(10)
            value = f'{{"owner": "a", "until": "{(now + timedelta(seconds=scheduler.LEASE_SECONDS)).isoformat()}"}}'
            s.add(Kv(key=scheduler.LEASE_KEY, value=value, updated_at=now))

    def second() -> None:
        try:
            results["b"] = scheduler.Lease(bot.runtime, owner="b", clock=lambda: now).acquire()
        except Exception as exc:  # without the writers' lock: a duplicate lease row
            results["b"] = exc

    a = threading.Thread(target=first)
    a.start()
    assert first_read.wait(10)
    b = threading.Thread(target=second)
    b.start()
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    with reader(bot.engine).connect() as conn:
        for _ in range(1000):  # until the second writer queues behind the first
            if conn.execute(text(waiting)).scalar_one() == 1:
                break
            conn.rollback()
            threading.Event().wait(0.005)
        else:
            pytest.fail("the second writer did not wait for the first")
    go.set()
    a.join(10)
    b.join(10)
    assert results["seen"] is None and results["b"] is False  # b saw a's lease: one scheduler fires


# ----------------------------------------------------------------------------- text PostgreSQL cannot store
@both_backends
def test_a_nul_character_in_a_json_callback_does_not_lose_the_message(bot: Bot, backend: str) -> None:
    plain, msgid = aibot_text_json("@前线助手 你好\x00在吗", chatid=CHAT, userid="zhangwei")  # "\u0000" in the JSON
    status, body = bot.caller.post_aibot(plain)
    assert status == 200 and "/帮助" in bot.caller.open_aibot_reply(body)["stream"]["content"]
    [row] = bot.rows(InboundMessage)
    # SQLite keeps the character; PostgreSQL's text cannot hold it, so it is dropped rather than the message
    assert row.msgid == msgid and row.text == ("你好\x00在吗" if backend == "sqlite" else "你好在吗")


# ----------------------------------------------------------------------------- export
@both_backends
def test_export_lists_the_visit_a_rep_reported(
    make_bot: Callable[..., Bot], database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = make_bot(customers=CUSTOMERS)
    assert bot.caller.post_robot(robot_text_xml(VISIT, chatid=CHAT)[0])[0] == 200
    cfg = tmp_path / "export.yaml"
    cfg.write_text(f"database: {{url: '{database_url}'}}\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["--config", str(cfg), "export", "visits"]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["member"], record["department"], record["customer_id"]) == ("zhangwei", "设备科", 1)
    assert record["visited_at"].startswith("2026-11-25T") and record["visited_at"].endswith("+08:00")
    for since, rows in (("2026-11-25", 1), ("2026-11-26", 0)):  # days in the team's time zone
        assert main(["--config", str(cfg), "export", "visits", "--since", since, "--format", "csv"]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 1 + rows  # the header, then the rows
