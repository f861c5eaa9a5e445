"""Group commit: many requests' writes in one transaction, one durable commit per batch.

With SQLite in WAL mode and synchronous=FULL every commit waits for the disk
(0.3–0.7 ms here) while holding the database's single write lock, which caps a
server at roughly a thousand commits a second however many threads it has. A
`GroupCommitter` runs each request's unit of work in its own savepoint inside a
shared transaction and commits once for the whole batch: each request still gets
its answer only after its data is on disk, and a unit that fails is rolled back
alone. Batches form by themselves under load; a lone request commits at once.
Units are short (callbacks decide outside the lock and only apply statements under
it), and the process's request threads step aside while a batch runs
(`wait_for_batch`), so the batch is not kept waiting for the GIL.

SQLite's automatic checkpoint (copying the WAL back into the database once it holds
1000 pages) would run inside whichever commit crosses the line, holding the write
lock for milliseconds. The committer's connection turns it off; a checkpointer thread
copies the WAL back in the background a moment after batches were committed, so
requests never pay for it: a PASSIVE pass that blocks no writer or reader, then a
short one under the write lock for the frames written meanwhile, so that the next
writer can start the WAL file over (see `Checkpointer.checkpoint`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from bot.db import raw_sql, write_lock

log = logging.getLogger("frontline.writer")

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("work", "savepoint", "done", "result", "error")

    def __init__(self, work: Callable[[Connection], T], savepoint: bool) -> None:
        self.work = work
        self.savepoint = savepoint
        self.done: threading.Event | None = None  # only a job handed to the writer thread waits for it
        self.result: T | None = None
        self.error: BaseException | None = None


class Checkpointer:
    """Copies SQLite's WAL into the database in the background, at most once per `interval`."""

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self.engine = engine
        self.interval = interval
        self._due = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        """Pages were committed: checkpoint soon."""
        if self._thread is None or not self._thread.is_alive():
            with self._lock:  # started lazily: a process that forks after building the app gets its own
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
                    self._thread.start()
        self._due.set()

    def _loop(self) -> None:
        while True:
            self._due.wait()
            time.sleep(self.interval)  # let a burst finish: its pages are copied once, not once per commit
            self._due.clear()
            self.checkpoint()

    def checkpoint(self) -> None:
        """Copy the WAL into the database, so that the next writer starts the WAL file over.

        A writer restarts the WAL only when every frame in it was copied back; under steady
        writes a checkpoint never catches up with them and the file grows without end (192 MB
        after 30 s at 600 callbacks/s here). So: one pass while writers go on (most frames),
        then a second pass holding the write lock, which only has the frames written during the
        first one to copy (milliseconds), and leaves the WAL fully copied for the next writer.
        """
        try:
            with self.engine.connect() as conn:
                raw_sql(conn, "PRAGMA wal_checkpoint(PASSIVE)")
                with write_lock(self.engine).hold():
                    raw_sql(conn, "PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # the next one will try again; SQLite's own checkpoints remain too
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)


class GroupCommitter:
    def __init__(self, engine: Engine, max_batch: int = 64, on_rollback: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.on_rollback = on_rollback  # called under the write lock when a batch was rolled back
        self._sqlite = engine.dialect.name == "sqlite"
        self._always_savepoint = not self._sqlite
        self.checkpointer = Checkpointer(engine) if self._sqlite else None
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._busy = threading.Lock()  # held by whoever is running a batch in this process
        self._running = threading.Lock()  # held while a batch runs under the write lock; see wait_for_batch
        self._conn: Connection | None = None

    def run(self, work: Callable[[Connection], T], *, savepoint: bool = True) -> T:
        """Run `work(conn)` in the next batch; return once the batch is committed.

        Raises what `work` raised, its writes undone and the rest of the batch unaffected,
        or the commit's error (then nothing of the batch was stored). With savepoint=False
        the unit promises to leave nothing behind when it raises (its first write is the one
        that may fail, or it keeps its own savepoint) and saves two statements. That holds on
        SQLite only: on PostgreSQL a failed statement aborts the whole transaction, and the
        batch with it, unless a savepoint is rolled back; there every unit gets one.
        """
        job: _Job[T] = _Job(work, savepoint or self._always_savepoint)
        if self._busy.acquire(blocking=False):
            # Nobody is committing: run the batch here, ours first, with whatever else queued
            # meanwhile. No hand-off to another thread, which is most of the cost of a lone request.
            try:
                with write_lock(self.engine).hold(), self._running:
                    self._commit([job, *self._drain(self.max_batch - 1)])
            finally:
                self._busy.release()
        else:  # a batch is running: queue up for the next one, which the writer thread runs
            self._ensure_started()
            job.done = threading.Event()
            self._queue.put(job)
            job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def wait_for_batch(self) -> None:
        """Let a running batch finish before starting CPU work: request threads call this between steps.

        The batch holds the write lock, which every process waits for, and it needs the GIL
        back after each statement (SQLite releases it); with the process's other threads busy
        parsing and rendering it waited milliseconds for each (half the time the lock was held
        at 32 connections). Threads that step aside here leave it the GIL. Never called from a
        unit: the batch's own thread would wait for itself.
        """
        if self._running.locked():
            with self._running:
                pass

    def _ensure_started(self) -> None:
        # Started lazily, so a process that forks after building the app gets its own thread.
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            # Take the locks first, then everything that queued up while we waited for them:
            # under load the wait for the other process's commit is what fills the batch.
            with self._busy, write_lock(self.engine).hold(), self._running:
                self._commit([first, *self._drain(self.max_batch - 1)])

    def _drain(self, limit: int) -> list[_Job[Any]]:
        jobs: list[_Job[Any]] = []
        while len(jobs) < limit:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:  # stop(): leave the sentinel for the writer thread
                self._queue.put(None)
                break
            jobs.append(job)
        return jobs

    def _connection(self) -> Connection:
        # The writer thread keeps one connection: no pool checkout and no reset-on-return
        # ROLLBACK per batch. It is dropped after an error and opened again.
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
            if self._sqlite:
                raw_sql(self._conn, "PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job
        return self._conn

    def _commit(self, batch: list[_Job[Any]]) -> None:
        try:
            conn = self._connection()
            with conn.begin():
                for job in batch:
                    if job.savepoint:
                        raw_sql(conn, "SAVEPOINT fl_unit")
                    try:
                        job.result = job.work(conn)
                        if job.savepoint:
                            raw_sql(conn, "RELEASE fl_unit")
                    except BaseException as exc:  # the unit fails alone
                        if job.savepoint:
                            raw_sql(conn, "ROLLBACK TO fl_unit")
                            raw_sql(conn, "RELEASE fl_unit")
                        job.error = exc
        except Exception as exc:
            log.error("batch of %d could not be committed: %s", len(batch), type(exc).__name__)
            if self.on_rollback is not None:  # before the next batch can act on what this one wrote
                self.on_rollback()
            if self._conn is not None:
                self._conn.invalidate()
                self._conn = None
            for job in batch:
                job.result, job.error = None, job.error or exc
        else:
            if self.checkpointer is not None:
                self.checkpointer.notify()
        finally:
            for job in batch:
                if job.done is not None:
                    job.done.set()

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(5)
