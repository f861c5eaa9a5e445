"""The Flask adapter: a thin shell around `CallbackService`.

Routes: /wecom/callback (GET verification, POST messages), /healthz, and in simulator
mode /sim/posts (what the local group received). Errors are short plain text, never a
traceback, never an HTML page.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request
from sqlalchemy import select
from sqlmodel import Session
from werkzeug.exceptions import HTTPException

from bot.callback import Response as CoreResponse
from bot.models import SimPost
from bot.runtime import Runtime


def _flask(r: CoreResponse) -> Response:
    return Response(r.body, status=r.status, content_type=r.content_type)


def create_app(runtime: Runtime) -> Flask:
    app = Flask("frontline")
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_body_bytes
    service = runtime.service

    @app.get("/wecom/callback")
    def verify() -> Response:
        return _flask(service.verify(request.args.to_dict()))

    @app.post("/wecom/callback")
    def callback() -> Response:
        return _flask(service.receive(request.args.to_dict(), request.get_data(cache=False)))

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
        if request.path == "/wecom/callback":
            app.logger.warning("callback refused: %s", reasons.get(exc.code or 400, exc.name.lower()))
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
