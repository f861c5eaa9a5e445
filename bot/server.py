"""`frontline serve`: the Flask app under gunicorn (gthread workers), each worker with its outbox worker.

The app is built once in the master (preload) so workers share its memory; each
worker opens its own database connections and starts its own outbox worker thread
after the fork (rows are claimed, so several workers never send the same post).
"""

from __future__ import annotations

import gc
import logging
import socket
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.app import create_app
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings

log = logging.getLogger("frontline.server")


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, runtime: Runtime, options: dict[str, Any], scheduler: bool) -> None:
        self.runtime = runtime
        self.options = options
        self.with_scheduler = scheduler
        self.application = create_app(runtime)
        super().__init__()
        # Everything imported so far is shared with the workers; keep the collector off those
        # pages so they stay shared after the fork instead of being copied into each worker.
        gc.collect()
        gc.freeze()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_fork", self._post_fork)
        self.cfg.set("worker_exit", self._worker_exit)

    def load(self) -> Any:
        return self.application

    def _post_fork(self, server: Any, worker: Any) -> None:
        self.runtime.engine.dispose(close=False)  # never share the master's connections
        self.runtime.worker.start()
        if self.with_scheduler:
            from scheduler import start_embedded

            start_embedded(self.runtime)
        log.info("worker %d ready", worker.pid)

    def _worker_exit(self, server: Any, worker: Any) -> None:
        self.runtime.worker.stop()


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (another server has it), or None when it can."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def serve(settings: Settings, *, host: str, port: int, workers: int, threads: int, scheduler: bool) -> int:
    taken = port_taken(host, port)
    if taken:  # one line instead of gunicorn's ten retries
        print(f"frontline: cannot listen on {host}:{port}: {taken} (another server? try --port)", file=sys.stderr)
        return 1
    runtime = build_runtime(settings)
    if runtime.credentials.simulated:
        log.info(
            "simulator mode: no WeCom credentials configured, group posts go to the local sink; "
            'try: frontline say --user <userid> "今天拜访了市一院设备科王主任"'
        )
    log.info(
        "listening on http://%s:%d/wecom/callback (%d workers x %d threads, database %s)",
        host,
        port,
        workers,
        threads,
        settings.database_url.split("://", 1)[0],
    )
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": True,
        "keepalive": 30,
        "timeout": 30,
        "graceful_timeout": 15,
        "accesslog": None,
        "loglevel": "warning",
        "backlog": 512,
    }
    _Server(runtime, options, scheduler).run()
    return 0
