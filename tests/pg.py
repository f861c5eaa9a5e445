"""A throwaway PostgreSQL cluster for the tests: started once per session, its database emptied per test.

The cluster lives in a temporary directory and listens on a unix socket there only (no TCP
port to pick or to collide on; the URL names the socket directory as its host). It runs with
fsync off: nothing in it has to survive the test session.

Running as root: initdb and postgres refuse to run as root. Then every server command runs as
an unprivileged account (the `postgres` account if the system has one, else `nobody`) through
subprocess's own `user=`/`group=` switch, so neither runuser, su nor sudo is needed; the
temporary directory is handed to that account. As any other user the commands run as that user.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

USER = "frontline"  # the cluster's superuser (trust authentication: no password)
PG_TOOLS = ("initdb", "pg_ctl", "postgres")
SHARED = "frontline"  # the database the tests share, emptied before each


def bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: on the PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = [shutil.which(tool) for tool in PG_TOOLS]
    if all(found):
        return Path(found[0]).parent  # type: ignore[arg-type]
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    return next((d for d in versions if all((d / tool).exists() for tool in PG_TOOLS)), None)


def unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None."""
    if bindir() is None:
        return f"PostgreSQL server binaries ({', '.join(PG_TOOLS)}) are not on PATH nor in /usr/lib/postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if os.geteuid() == 0 and _unprivileged() is None:
        return "running as root and no unprivileged account (postgres, nobody) to run PostgreSQL as"
    return None


def _unprivileged() -> pwd.struct_passwd | None:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class Cluster:
    def __init__(self) -> None:
        self.account = _unprivileged() if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="frontline-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root  # short path: a unix socket path is limited to ~100 bytes
        self._names = itertools.count(1)
        self.bin = bindir() or Path()
        self._shared_ready = False
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)

    def _run(self, *args: str) -> None:
        kw: dict[str, Any] = {}
        if self.account is not None:
            kw = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
        if self.account is not None:
            env["HOME"] = str(self.root)
        command = [str(self.bin / args[0]), *args[1:]]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=self.root, env=env, timeout=60, **kw)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync", "--no-instructions"
        )
        options = " ".join(
            [
                "-c listen_addresses=''",
                f"-k {self.socket_dir}",
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "-c max_connections=200",
                # Not UTC, so that a timestamp that depended on the server's zone would show.
                "-c timezone=America/New_York",
            ]
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():  # not if initdb or the start failed
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@/{database}?host={self.socket_dir}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), user=USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"t{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def clean_database(self) -> str:
        """The shared test database with the bot's tables, all empty, ids starting at 1; its URL.

        The tables are made once, by the bot's own create_schema; emptying them (a few ms: the
        tables are small) is far cheaper than a new database (a checkpoint), new tables (~0.5 s)
        or a TRUNCATE (new files for every table and index). Connections a previous test left
        open are ended first: one inside a transaction would hold the bot's write lock.
        """
        import psycopg

        from bot.db import create_schema, make_engine

        if not self._shared_ready:
            self._admin(f'CREATE DATABASE "{SHARED}"')
            engine = make_engine(self.url(SHARED))
            try:
                create_schema(engine)
            finally:
                engine.dispose()
            self._shared_ready = True
        with psycopg.connect(host=str(self.socket_dir), user=USER, dbname=SHARED, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (SHARED,),
            )
            conn.execute(_EMPTY_EVERY_TABLE)
        return self.url(SHARED)


# Every table of the schema (the bot's and APScheduler's), in any order: foreign keys are not
# checked in replica mode (the cluster's superuser may set it). Then every id sequence from 1.
_EMPTY_EVERY_TABLE = """
SET session_replication_role = replica;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('DELETE FROM %I', r.tablename);
    END LOOP;
    FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER SEQUENCE %I RESTART', r.sequencename);
    END LOOP;
END $$;
SET session_replication_role = DEFAULT;
"""


def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()
