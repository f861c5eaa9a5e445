"""The web edge: /wecom/callback straight on WSGI, everything else through Flask.

/wecom/callback (GET verification, POST messages) is the hot path: a few lines of
WSGI in front of Flask hand it to `CallbackService` without Flask's request context,
session and routing (a third of a request's cost here). Flask serves /healthz and, in
simulator mode, /sim/posts (what the local group received). Errors are short plain
text, never a traceback, never an HTML page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Response, request
from sqlalchemy import select
from sqlmodel import Session
from werkzeug.exceptions import HTTPException

from bot.callback import CallbackService
from bot.callback import Response as CoreResponse
from bot.models import SimPost
from bot.runtime import Runtime

log = logging.getLogger("frontline.callback")

CALLBACK_PATH = "/wecom/callback"


class CallbackWSGI:
    """WSGI middleware: serves CALLBACK_PATH itself and passes every other request on."""

    def __init__(self, service: CallbackService, app: Callable[..., Iterable[bytes]], max_body: int) -> None:
        self.service = service
        self.app = app
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != CALLBACK_PATH:
            return self.app(environ, start_response)
        args = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            resp = self.service.verify(args)
        elif method == "POST":
            body = environ["wsgi.input"].read(self.max_body + 1)
            if len(body) > self.max_body:
                log.warning("callback refused: body over 1 MB")
                resp = CoreResponse(413, b"body over 1 MB")
            else:
                resp = self.service.receive(args, body)
        else:
            resp = CoreResponse(405, b"method not allowed")
        start_response(
            f"{resp.status} {HTTPStatus(resp.status).phrase}",
            [("Content-Type", resp.content_type), ("Content-Length", str(len(resp.body)))],
        )
        return [resp.body]


def create_app(runtime: Runtime) -> Flask:
    app = Flask("frontline")
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_body_bytes
    app.wsgi_app = CallbackWSGI(runtime.service, app.wsgi_app, runtime.settings.max_body_bytes)  # type: ignore[method-assign]

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", content_type="text/plain")

    if runtime.credentials.simulated:

        @app.get("/sim/posts")
        def sim_posts() -> Response:
            after = request.args.get("after", type=int, default=0)
            source = request.args.get("source", "")
            q = select(SimPost).where(SimPost.id > after).order_by(SimPost.id).limit(200)
            if source:
                q = q.where(SimPost.source == source)
            with Session(runtime.engine) as s:
                rows = s.execute(q).scalars().all()
                out = [
                    {
                        "id": r.id,
                        "source": r.source,
                        "msgtype": r.msgtype,
                        "payload": json.loads(r.payload),
                        "posted_at": r.posted_at.isoformat(),
                    }
                    for r in rows
                ]
            return Response(json.dumps(out, ensure_ascii=False), content_type="application/json")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        reasons = {413: "body over 1 MB", 404: "not found", 405: "method not allowed"}
        return Response(
            reasons.get(exc.code or 400, exc.name.lower()),
            status=exc.code or 400,
            content_type="text/plain; charset=utf-8",
        )

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return Response("internal error", status=500, content_type="text/plain; charset=utf-8")

    return app
