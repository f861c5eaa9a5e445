"""The group committer's SQLite housekeeping: the WAL file is copied back and starts over."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

import bot.writer as writer
from bot.db import make_engine, raw_sql
from bot.writer import GroupCommitter


def _note(conn: Connection, n: int) -> None:
    conn.connection.driver_connection.execute("INSERT INTO note (body) VALUES (?)", (f"{n:04d} " + "x" * 900,))


def test_a_checkpoint_lets_the_wal_start_over_although_others_write_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
    committer = GroupCommitter(engine)
    assert committer.checkpointer is not None
    # The test runs the checkpoint itself: the background one (a second after the writes) would
    # run through the patched statement too on a slow machine and add a pass of its own.
    monkeypatch.setattr(committer.checkpointer, "notify", lambda: None)
    for n in range(150):
        committer.run(lambda conn, n=n: _note(conn, n))

    # Whether each pass ran with writers held off, as another worker process would find the
    # write lock; after the first, another worker commits (it may: the first pass stops nobody).
    def other_process_locked_out() -> bool:
        fd = os.open(tmp_path / "w.db.lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the lock if we got it
        return False

    passes: list[bool] = []

    def raw(conn: Connection, sql: str) -> None:
        raw_sql(conn, sql)
        if sql.startswith("PRAGMA wal_checkpoint"):
            passes.append(other_process_locked_out())
            if len(passes) == 1:
                with engine.begin() as other:
                    other.execute(text("INSERT INTO note (body) VALUES ('meanwhile')"))

    with monkeypatch.context() as patch:
        patch.setattr(writer, "raw_sql", raw)
        committer.checkpointer.checkpoint()
    # The last pass copied what was written meanwhile while nobody could append more, so the
    # WAL ends fully copied however busy the writers are.
    assert passes == [False, True]

    wal = tmp_path / "w.db-wal"
    before = wal.stat().st_size
    committer.run(lambda conn: _note(conn, 999))
    # The next write started the WAL file over (writing over its first frames) instead of
    # appending to it: the file did not grow.
    assert before > 100 * 4096
    assert wal.stat().st_size == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM note")).scalar_one() == 152
    committer.stop()
    engine.dispose()


def test_request_threads_wait_for_a_running_batch_and_go_on_after_it(tmp_path: Path) -> None:
    import threading

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
    committer = GroupCommitter(engine)
    committer.wait_for_batch()  # no batch: returns at once
    passed = threading.Event()

    def step_aside() -> None:
        committer.wait_for_batch()
        passed.set()

    other = threading.Thread(target=step_aside)
    seen: list[bool] = []

    def unit(conn: Connection) -> None:
        _note(conn, 1)
        other.start()
        seen.append(passed.wait(0.2))  # the other thread is held while this batch runs

    committer.run(unit)
    other.join(5)
    assert seen == [False] and passed.is_set()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM note")).scalar_one() == 1
