"""Engine, sessions and the column types every table shares.

Timestamps are stored as UTC and come back timezone-aware; SQLite runs in WAL mode
with synchronous=FULL so that a message answered 200 survives a power cut, with a
busy timeout so that several worker processes can share one file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    bindparam,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

log = logging.getLogger("frontline")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime in, an aware UTC datetime out; stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, synchronous: str) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN so two writers queue (busy_timeout) instead of failing on a
    # read-to-write upgrade; readers (reports) use `reader(engine)` and never wait for writers.
    # On the driver: through exec_driver_sql this statement cost more than the rest of a begin.
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")
    finally:
        cur.close()


# The PostgreSQL advisory lock that stands for SQLite's single writer (any constant; scoped to the database).
PG_WRITE_LOCK = 0x46524F4E544C  # "FRONTL"
_PG_TAKE_WRITE_LOCK = (  # one round trip: no parameters, so psycopg sends the three statements at once
    f"SET LOCAL lock_timeout = '10s'; SELECT pg_advisory_xact_lock({PG_WRITE_LOCK}); SET LOCAL lock_timeout = DEFAULT"
)


def _postgresql_begin(conn: Any) -> None:
    # SQLite runs one write transaction at a time (BEGIN IMMEDIATE above), and the bot relies on
    # it: look-then-insert (a new customer, the scheduler lease, the roster) is safe there.
    # PostgreSQL runs transactions side by side at READ COMMITTED, so with several worker
    # processes two of them could both insert what neither found. A transaction-scoped advisory
    # lock taken at BEGIN gives the same one-writer-at-a-time order, across processes, released
    # by COMMIT or ROLLBACK; read-only transactions (`reader(engine)`) skip it, as on SQLite.
    # Like SQLite's busy_timeout, a writer waits 10 s at most, then fails instead of hanging.
    if conn.get_execution_options().get("readonly"):
        return
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(_PG_TAKE_WRITE_LOCK)
    finally:
        cur.close()


def reader(engine: Engine) -> Engine:
    """The same pool, for read-only transactions that must not queue behind writers."""
    return engine.execution_options(readonly=True)


class WriteLock:
    """Serialises writers across the processes sharing one SQLite file, without sleeping.

    SQLite's busy handler polls with sleeps of up to 100 ms, so two server processes
    contending for the write lock wait far longer than the lock is held. A blocking
    `flock` on a file beside the database wakes the next writer the moment the lock is
    free; a thread lock does the same inside a process. Other databases need neither.
    """

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with self._thread_lock:
            if self._depth == 0:
                if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)


_WRITE_LOCKS: dict[int, WriteLock] = {}


def write_lock(engine: Engine) -> WriteLock:
    lock = _WRITE_LOCKS.get(id(engine))
    if lock is None:
        url = engine.url
        db = url.database if url.get_backend_name() == "sqlite" else None
        lock = WriteLock(f"{db}.lock" if db and db != ":memory:" else None)
        _WRITE_LOCKS[id(engine)] = lock
    return lock


_REQUIRED = object()


class FastStatement:
    """One statement compiled once for the engine's dialect and run on the driver's cursor.

    The message store runs on every callback; through SQLAlchemy's execution layer an
    insert costs ~85 µs and a savepoint ~200 µs here, on the driver ~11 µs and ~4 µs.
    Column types still apply (the dialect's bind and result processors of each column),
    so rows written this way read back exactly like ORM rows and vice versa.
    """

    def __init__(
        self,
        engine: Engine | Connection,
        table: Table,
        stmt: Any,
        columns: Mapping[str, str],
        results: Sequence[str] = (),
    ) -> None:
        dialect = engine.dialect
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = list(compiled.positiontup or []) if compiled.positional else None
        self.processors = {  # the dialect's adaptation of each column's type, per bind name
            key: _bind_processor(table.c[col].type, dialect) for key, col in columns.items()
        }
        # Binds SQLAlchemy made itself (a LIMIT, say) keep the values they were compiled with.
        self.defaults = {k: v for k, v in compiled.params.items() if k not in columns and v is not None}
        self.readers = [table.c[col].type.dialect_impl(dialect).result_processor(dialect, None) for col in results]
        # For a positional driver (SQLite's qmark): each position's bind name, processor and default.
        self._order = (
            [(k, self.processors.get(k), self.defaults.get(k, _REQUIRED)) for k in self.positional]
            if self.positional is not None
            else None
        )

    def params(self, values: Mapping[str, Any]) -> Any:
        if self._order is not None:
            out: list[Any] = []
            for key, proc, default in self._order:
                value = values[key] if default is _REQUIRED else values.get(key, default)
                out.append(proc(value) if proc is not None and value is not None else value)
            return out
        named = dict(self.defaults)
        for key, value in values.items():
            proc = self.processors.get(key)
            named[key] = proc(value) if proc is not None and value is not None else value
        return named

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> tuple[tuple[Any, ...] | None, int]:
        """(the first row, converted; the number of rows changed)."""
        return self.execute_params(conn, self.params(values))

    def execute_params(self, conn: Connection, params: Any) -> tuple[tuple[Any, ...] | None, int]:
        """`execute` with parameters `params` made before (outside the write lock, say)."""
        return self.execute_driver(conn.connection.driver_connection, params)

    def execute_driver(self, driver_conn: Any, params: Any) -> tuple[tuple[Any, ...] | None, int]:
        """`execute_params` on the driver's own connection."""
        cur = driver_conn.cursor()
        try:
            cur.execute(self.sql, params)
            row = cur.fetchone() if cur.description else None
            if row is not None and self.readers:
                row = tuple(r(v) if r is not None else v for r, v in zip(self.readers, row, strict=False))
            return row, cur.rowcount
        finally:
            cur.close()

    def run(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        return self.execute(conn, values)[0]


def _sqlite_utc(value: datetime) -> str:
    """UTCDateTime for SQLite as SQLAlchemy writes it ('2026-11-27 06:29:42.000000'), five times faster."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"


def _bind_processor(type_: Any, dialect: Any) -> Any:
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc
    return type_.dialect_impl(dialect).bind_processor(dialect)


def fast_insert(engine: Engine | Connection, table: Table, keys: Sequence[str]) -> FastStatement:
    stmt = insert(table).values({k: bindparam(k) for k in keys}).returning(table.c.id)
    return FastStatement(engine, table, stmt, {k: k for k in keys})


def fast_update(engine: Engine | Connection, table: Table, keys: Sequence[str]) -> FastStatement:
    stmt = update(table).where(table.c.id == bindparam("row_id")).values({k: bindparam(k) for k in keys})
    return FastStatement(engine, table, stmt, {**{k: k for k in keys}, "row_id": "id"})


class NeedsLock(Exception):  # noqa: N818 (a signal, not an error)
    """A handler being planned outside the write lock needs the lock after all (a read, the ORM)."""


class Pending:
    """The id a planned insert will have once it is applied under the write lock.

    It can be passed on as a value of later planned statements, which get the real id. Anything
    else (formatting it, comparing it, hashing it) raises NeedsLock: the handler runs again
    under the lock, where ids are known at once.
    """

    __slots__ = ("value",)

    def __init__(self, value: int | None = None) -> None:
        self.value = value

    def _unknown(self, *_args: Any) -> Any:
        raise NeedsLock("the id of a row not yet written was used")

    __bool__ = __int__ = __index__ = __str__ = __format__ = __eq__ = __lt__ = __gt__ = __hash__ = _unknown  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Pending({self.value!r})"


class Records:
    """Handlers' reads and writes on the request's connection, each statement compiled once.

    Small and literal on purpose: insert a row, update rows, upsert a row, delete rows, read the
    first row's columns, all by equality on columns. Anything richer belongs in an ORM session.
    """

    _cache: dict[tuple[Any, ...], FastStatement] = {}

    def __init__(self, conn: Connection | Engine) -> None:
        self.conn = conn
        self._dialect = conn.dialect.name

    def _get(self, key: tuple[Any, ...], build: Any) -> FastStatement:
        key = (self._dialect, *key)
        stmt = self._cache.get(key)
        if stmt is None:
            stmt = self._cache[key] = build()
        return stmt

    def _execute(self, stmt: FastStatement, values: dict[str, Any], returns_id: bool = False) -> tuple[Any, Any]:
        """(the first row's first column, the number of rows changed); `returns_id`: the statement
        gives the new row's id (PlannedRecords promises one)."""
        row, count = stmt.execute(self.conn, values)  # type: ignore[arg-type]
        return (row[0] if row is not None else None), count

    @staticmethod
    def _where(table: Table, where: Mapping[str, Any]) -> list[Any]:
        return [table.c[k].is_(None) if v is None else table.c[k] == bindparam(f"w_{k}") for k, v in where.items()]

    @staticmethod
    def _wvalues(where: Mapping[str, Any]) -> dict[str, Any]:
        return {f"w_{k}": v for k, v in where.items() if v is not None}

    def insert(self, model: Any, **values: Any) -> int:
        """Insert a row (the model's field defaults apply, as with the ORM); its id."""
        _fill_defaults(model, values)
        table = model.__table__
        keys = tuple(sorted(values))
        stmt = self._get(("ins", table.name, keys), lambda: fast_insert(self.conn, table, keys))
        return self._execute(stmt, values, returns_id=True)[0]  # type: ignore[no-any-return]

    def upsert(self, model: Any, key: Mapping[str, Any], **values: Any) -> None:
        """Insert the row `key` + `values`, or set `values` on the row that has `key` (a unique key)."""
        row = {**key, **values}
        _fill_defaults(model, row)
        table = model.__table__
        keys, conflict, changed = tuple(sorted(row)), tuple(sorted(key)), tuple(sorted(values))

        def build() -> FastStatement:
            if self._dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            else:
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            ins = dialect_insert(table).values({k: bindparam(k) for k in keys})
            stmt = ins.on_conflict_do_update(index_elements=list(conflict), set_={k: ins.excluded[k] for k in changed})
            return FastStatement(self.conn, table, stmt, {k: k for k in keys})

        self._execute(self._get(("ups", table.name, keys, conflict, changed), build), row)

    def update_where(self, model: Any, where: Mapping[str, Any], *, changed_only: bool = False, **values: Any) -> int:
        """Set `values` on the rows matching `where`. `changed_only`: only on rows where one of them
        differs (NULL-aware), so that writing what is already there changes no row and no page."""
        table = model.__table__
        keys, wkeys = tuple(sorted(values)), tuple((k, where[k] is None) for k in sorted(where))

        def build() -> FastStatement:
            conditions = self._where(table, where)
            if changed_only:
                conditions.append(or_(*(table.c[k].is_distinct_from(bindparam(k)) for k in keys)))
            stmt = update(table).where(*conditions).values({k: bindparam(k) for k in keys})
            cols = {**{k: k for k in keys}, **{f"w_{k}": k for k, null in wkeys if not null}}
            return FastStatement(self.conn, table, stmt, cols)

        stmt = self._get(("upd", table.name, keys, wkeys, changed_only), build)
        return self._execute(stmt, {**values, **self._wvalues(where)})[1]  # type: ignore[no-any-return]

    def update(self, model: Any, row_id: int, *, changed_only: bool = False, **values: Any) -> int:
        return self.update_where(model, {"id": row_id}, changed_only=changed_only, **values)

    def delete_where(self, model: Any, **where: Any) -> int:
        table = model.__table__
        wkeys = tuple((k, where[k] is None) for k in sorted(where))

        def build() -> FastStatement:
            stmt = delete(table).where(*self._where(table, where))
            return FastStatement(self.conn, table, stmt, {f"w_{k}": k for k, null in wkeys if not null})

        stmt = self._get(("del", table.name, wkeys), build)
        return self._execute(stmt, self._wvalues(where))[1]  # type: ignore[no-any-return]

    def first(self, model: Any, columns: Sequence[str], **where: Any) -> tuple[Any, ...] | None:
        """The named columns of the first matching row (lowest id), or None."""
        table = model.__table__
        cols, wkeys = tuple(columns), tuple((k, where[k] is None) for k in sorted(where))

        def build() -> FastStatement:
            stmt = select(*[table.c[c] for c in cols]).where(*self._where(table, where)).order_by(table.c.id).limit(1)
            return FastStatement(self.conn, table, stmt, {f"w_{k}": k for k, null in wkeys if not null}, results=cols)

        return self._get(("sel", table.name, cols, wkeys), build).run(self.conn, self._wvalues(where))  # type: ignore[arg-type]

    def peek(self, key: tuple[Any, ...], build: Callable[[Any], FastStatement], values: Mapping[str, Any]) -> Any:
        """The first row of a query (`build(conn)` makes it, once per `key`), as committed.

        Under the write lock this reads on the request's transaction. While a handler is planned
        it reads on a connection of its own (PlannedRecords.peek), so it may miss what another
        request is writing at that very moment: only for checks where that is harmless (two
        messages of one member about one visit arriving within the same few milliseconds).
        """
        return self._get(("peek", *key), lambda: build(self.conn)).run(self.conn, values)  # type: ignore[arg-type]


class PlannedRecords(Records):
    """Records that plan instead of writing: a handler decides outside the write lock.

    Writes become steps of a plan that `apply` runs later on the batch's connection, in
    order; an insert gives a `Pending` id, which later steps may use as a value. What a plan
    cannot do raises NeedsLock, and the handler runs again under the lock: reading (the
    database may change before the plan is applied) and using a written row's count or id.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.steps: list[tuple[FastStatement, Any, Pending | None]] = []

    def _execute(self, stmt: FastStatement, values: dict[str, Any], returns_id: bool = False) -> tuple[Any, Any]:
        pending = Pending() if returns_id else None
        # The driver's parameters are made now, outside the lock; a Pending among them stays as it is.
        self.steps.append((stmt, stmt.params(values), pending))
        return pending, Pending()  # the count is as unknown as the id

    def first(self, model: Any, columns: Sequence[str], **where: Any) -> tuple[Any, ...] | None:
        raise NeedsLock(f"a read of {model.__tablename__}")

    def peek(self, key: tuple[Any, ...], build: Callable[[Any], FastStatement], values: Mapping[str, Any]) -> Any:
        """What is committed, read outside the write lock on a connection of its own: with SQLite one
        each thread keeps, otherwise one from the pool (see Records.peek)."""
        stmt = self._get(("peek", *key), lambda: build(self.conn))
        engine: Engine = self.conn  # type: ignore[assignment]  # here the engine
        if self._dialect == "sqlite":
            # one connection per thread, kept: a pool checkout costs more than the query. SQLite
            # starts no transaction for a SELECT, so it holds no snapshot between peeks.
            local = engine.__dict__.get("_fl_peek")
            if local is None:
                local = engine.__dict__.setdefault("_fl_peek", threading.local())
            raw = getattr(local, "conn", None)
            if raw is None:
                raw = local.conn = engine.raw_connection()
            return stmt.execute_driver(raw.driver_connection, stmt.params(values))[0]
        raw = engine.raw_connection()
        try:
            return stmt.execute_driver(raw.driver_connection, stmt.params(values))[0]
        finally:
            raw.close()  # back to the pool, its transaction rolled back

    def apply(self, conn: Connection) -> None:
        for stmt, params, pending in self.steps:
            if isinstance(params, dict):
                params = {k: v.value if type(v) is Pending else v for k, v in params.items()}
            else:
                params = [v.value if type(v) is Pending else v for v in params]
            row, _count = stmt.execute_params(conn, params)
            if pending is not None:
                pending.value = row[0] if row is not None else None


def _fill_defaults(model: Any, values: dict[str, Any]) -> None:
    for name, factory, default in _defaults(model):
        if name not in values:
            values[name] = factory() if factory is not None else default


_DEFAULTS: dict[Any, list[tuple[str, Any, Any]]] = {}


def _defaults(model: Any) -> list[tuple[str, Any, Any]]:
    """(field, default factory, default value) of each field of `model` that has a default, but its id."""
    found = _DEFAULTS.get(model)
    if found is None:
        found = _DEFAULTS[model] = [
            (name, info.default_factory, info.default)
            for name, info in model.model_fields.items()
            if name != "id" and (info.default_factory is not None or info.default not in (None, PydanticUndefined))
        ]
    return found


def raw_sql(conn: Connection, sql: str) -> None:
    """A statement with no parameters on the driver (SAVEPOINT, RELEASE), bypassing SQLAlchemy's layers."""
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
    finally:
        cur.close()


SQLITE_SYNC_LEVELS = ("FULL", "NORMAL")


def make_engine(url: str, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine for `url`. SQLite: WAL; synchronous=FULL by default, so a commit (and the 200
    that follows it) survives a power cut; NORMAL survives a crash of the process only."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=16,
            max_overflow=16,
        )
        if sqlite_synchronous not in SQLITE_SYNC_LEVELS:
            raise ValueError(f"sqlite synchronous level must be one of {SQLITE_SYNC_LEVELS}")
        event.listen(engine, "connect", lambda conn, _rec: _sqlite_pragmas(conn, sqlite_synchronous))
        event.listen(engine, "begin", _sqlite_begin)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "begin", _postgresql_begin)
    return engine


def create_schema(engine: Engine) -> None:
    from sqlmodel import SQLModel

    from bot import models  # noqa: F401  (registers the tables)

    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine, SQLModel.metadata)
    if engine.dialect.name == "sqlite":
        upgrade_sqlite(engine, SQLModel.metadata)


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add the nullable columns a newer Frontline's tables have to tables an older one made
    (create_all never alters a table that exists), on either backend; "table.column" of each added.
    A column that is not nullable cannot be added to rows that exist: start-up stops and says so."""
    from sqlalchemy.schema import CreateColumn

    def missing(conn: Connection) -> list[tuple[Table, Any]]:
        have = _columns(conn)
        return [
            (table, c)
            for table in metadata.sorted_tables
            if table.name in have
            for c in table.columns
            if c.name not in have[table.name]
        ]

    with engine.connect().execution_options(readonly=True) as conn:  # a read: no writer's BEGIN
        if not missing(conn):
            return []
    with write_lock(engine).hold(), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})")
        added = []
        for table, column in missing(conn):  # again, under the lock: another worker may have done it
            if not column.nullable:
                raise RuntimeError(f"cannot add column {table.name}.{column.name}: it is NOT NULL")
            quote = engine.dialect.identifier_preparer.quote
            spec = str(CreateColumn(column).compile(dialect=engine.dialect))
            conn.exec_driver_sql(f"ALTER TABLE {quote(table.name)} ADD COLUMN {spec}")
            added.append(f"{table.name}.{column.name}")
    if added:
        log.info("database upgraded: added columns %s", ", ".join(added))
    return added


def _columns(conn: Connection) -> dict[str, set[str]]:
    """table -> its columns, as the database has them, in one query (the inspector's table-by-table
    reflection cost ~6 ms at every start)."""
    name = conn.dialect.name
    if name == "sqlite":
        sql = "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table'"
    elif name == "postgresql":
        sql = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    else:
        from sqlalchemy import inspect

        found = inspect(conn)
        return {t: {c["name"] for c in found.get_columns(t)} for t in found.get_table_names()}
    out: dict[str, set[str]] = {}
    for table, column in conn.exec_driver_sql(sql):
        out.setdefault(table, set()).add(column)
    return out


def upgrade_sqlite(engine: Engine, metadata: MetaData) -> list[str]:
    """Bring tables an older Frontline made up to the models where create_all cannot (it never
    alters a table that exists): today, AUTOINCREMENT on the tables whose numbers the group sees
    (urgent, follow-up), so a number withdrawn by /撤销 is never given again. Each such table is
    rebuilt once, rows and ids kept, in one transaction under the write lock (a second worker
    starting at the same moment finds nothing left to do). Returns the tables rebuilt."""
    wanted = [t for t in metadata.sorted_tables if t.dialect_options["sqlite"].get("autoincrement")]
    if not wanted:
        return []
    with write_lock(engine).hold():
        pooled = engine.raw_connection()
        try:
            db = pooled.driver_connection
            stale = [t for t in wanted if _lacks_autoincrement(db, t.name)]
            if not stale:
                return []
            db.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction, so before BEGIN
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for table in stale:
                        _rebuild_sqlite_table(db, engine, table)
                    broken = db.execute("PRAGMA foreign_key_check").fetchone()
                    if broken:
                        raise RuntimeError(f"upgrade left a dangling reference in table {broken[0]}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            finally:
                db.execute("PRAGMA foreign_keys=ON")
        finally:
            pooled.close()
    names = [t.name for t in stale]
    log.info("database upgraded: tables %s now never reuse a withdrawn number", ", ".join(names))
    return names


def _lacks_autoincrement(db: Any, name: str) -> bool:
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return row is not None and "AUTOINCREMENT" not in row[0].upper()


def _rebuild_sqlite_table(db: Any, engine: Engine, table: Table) -> None:
    """SQLite's documented way to change a table: make the new one, copy, drop, rename, index."""
    quote = engine.dialect.identifier_preparer.quote
    name, temp = quote(table.name), quote(f"{table.name}__upgrade")
    ddl = str(CreateTable(table).compile(dialect=engine.dialect)).strip()
    head = f"CREATE TABLE {name} ("
    if not ddl.startswith(head):
        raise RuntimeError(f"unexpected DDL for table {table.name}")
    db.execute(f"DROP TABLE IF EXISTS {temp}")
    db.execute(f"CREATE TABLE {temp} ({ddl[len(head) :]}")
    present = {row[1] for row in db.execute(f"PRAGMA table_info({name})")}
    columns = ", ".join(quote(c.name) for c in table.columns if c.name in present)
    db.execute(f"INSERT INTO {temp} ({columns}) SELECT {columns} FROM {name}")
    db.execute(f"DROP TABLE {name}")
    db.execute(f"ALTER TABLE {temp} RENAME TO {name}")
    for index in table.indexes:
        db.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any error."""
    with write_lock(engine).hold(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
