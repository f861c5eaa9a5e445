"""`frontline demo`: a working day of 销售前线 in ten seconds, with no WeCom tenant.

A temporary SQLite database, the simulator's key and local sink, a simulated clock:
the script's messages go through the real signed callback path, its jobs run at
their times, and the group's conversation is printed in order, with times.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import yaml
from sqlmodel import Session, select

from bot.models import SimPost
from bot.render import Renderer
from bot.runtime import build_runtime
from bot.settings import settings_from_dict
from bot.wecom.inbound import open_robot_reply


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def utc(self) -> datetime:
        return self.now.astimezone(UTC)


def load_script() -> dict[str, Any]:
    text = resources.files("bot").joinpath("data/demo_day.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def run_demo(out: TextIO, directory: Path | None = None) -> int:
    import scheduler
    from bot.cli import robot_xml

    script = load_script()
    workdir = Path(directory or tempfile.mkdtemp(prefix="frontline-demo-"))
    settings = settings_from_dict(
        {
            "database": {"url": f"sqlite:///{workdir / 'demo.db'}"},
            "team": {"members": script["team"]},
            "customers": script["customers"],
            "rules": script["rules"],
        }
    )
    tz = settings.tz
    first = datetime.fromisoformat(script["script"][0]["at"]).replace(tzinfo=tz)
    clock = SimClock(first)
    runtime = build_runtime(settings, clock=lambda: clock.now, utc_clock=clock.utc)
    service, cipher = runtime.service, runtime.service.cipher
    names = {m["userid"]: m["name"] for m in script["team"]}
    render = Renderer(tz, plain=True)
    seen = 0
    lines: list[dict[str, Any]] = []

    def group_posts() -> None:
        nonlocal seen
        runtime.worker.drain()
        with Session(runtime.engine) as s:
            rows = s.exec(select(SimPost).where(SimPost.id > seen).order_by(SimPost.id)).all()
        for row in rows:
            seen = row.id or seen
            body = json.loads(row.payload)
            lines.append({"at": clock.now, "who": "bot-group", "text": body[body["msgtype"]]["content"]})

    for step in script["script"]:
        clock.now = datetime.fromisoformat(step["at"]).replace(tzinfo=tz)
        if "job" in step:
            scheduler.run_job(runtime, step["job"], clock.now)
            group_posts()
            continue
        user, text = step["user"], step["say"]
        lines.append({"at": clock.now, "who": names.get(user, user), "text": text})
        msgid = "demo-" + uuid.uuid4().hex
        xml = robot_xml(f"@前线助手 {text}", user, names.get(user, user), "wrkDemoChat", msgid, "")
        encrypt, sig, ts, nonce = cipher.seal(xml)
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        resp = service.receive({"msg_signature": sig, "timestamp": ts, "nonce": nonce}, body)
        if resp.body:
            reply = open_robot_reply(cipher, resp.body)
            lines.append({"at": clock.now, "who": "bot", "to": names.get(user, user), "text": reply})
        group_posts()
    out.write(render.render("cli/demo.txt.j2", lines=lines, day=script["day"], workdir=str(workdir)) + "\n")
    return 0
