"""`frontline …`: init, serve, say, outbox, export, parse."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
import uuid
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bot.settings import ConfigError, Settings, load_settings

log = logging.getLogger("frontline")

CONFIG_TEMPLATE = "config.yaml.j2"


# ---------------------------------------------------------------------------- init
def render_config(token: str, aes_key: str) -> str:
    from jinja2 import Environment, FileSystemLoader

    from bot.render import TEMPLATES

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), keep_trailing_newline=True)
    return env.get_template(CONFIG_TEMPLATE).render(token=token, aes_key=aes_key)


def cmd_init(args: argparse.Namespace) -> int:
    from bot.runtime import new_aes_key, new_token

    target = Path(args.path)
    if target.exists():
        print(f"{target} already exists; left as it is", file=sys.stderr)
        return 1
    target.write_text(render_config(new_token(), new_aes_key()), encoding="utf-8")
    print(f"wrote {target} with a fresh token and EncodingAESKey; paste both into the robot's callback settings")
    return 0


# ---------------------------------------------------------------------------- serve
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import serve

    return serve(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        scheduler=not args.no_scheduler,
    )


# ---------------------------------------------------------------------------- say
def robot_xml(text: str, userid: str, name: str, chat_id: str, msgid: str, webhook_url: str) -> str:
    def cdata(v: str) -> str:
        return "<![CDATA[" + v.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    return (
        f"<xml><WebhookUrl>{cdata(webhook_url)}</WebhookUrl><ChatId>{cdata(chat_id)}</ChatId>"
        f"<ChatType>group</ChatType><From><UserId>{cdata(userid)}</UserId><Name>{cdata(name)}</Name>"
        f"<Alias>{cdata(userid)}</Alias></From><MsgType>text</MsgType>"
        f"<Text><Content>{cdata(text)}</Content></Text><MsgId>{cdata(msgid)}</MsgId></xml>"
    )


def _post_contents(payloads: list[dict[str, Any]]) -> list[str]:
    out = []
    for p in payloads:
        kind = p.get("msgtype", "")
        body = p.get(kind) or {}
        content = body.get("content") or f"[{kind}]"
        mentioned = body.get("mentioned_list") or []
        out.append(content + ("".join(f" @{m}" for m in mentioned)))
    return out


def cmd_say(args: argparse.Namespace, settings: Settings) -> int:
    import requests

    from bot.models import Outbox, SimPost
    from bot.render import Renderer
    from bot.runtime import credentials, prepare_database
    from bot.wecom.crypto import CallbackCipher
    from bot.wecom.inbound import open_robot_reply

    engine = prepare_database(settings)
    creds = credentials(settings, engine)
    cipher = CallbackCipher(creds.token, creds.aes_key, creds.receive_id)
    member = settings.member(args.user)
    name = args.name or (member.name if member else args.user)
    chat_id = args.chat or (settings.chats[0] if settings.chats else "wrkFrontlineSim")
    msgid = "say-" + uuid.uuid4().hex
    webhook = settings.wecom.webhook_url or "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=simulated"
    plain = robot_xml(args.text, args.user, name, chat_id, msgid, webhook)
    encrypt, sig, ts, nonce = cipher.seal(plain)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    query = {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
    source = f"msg:{msgid}"

    if args.local:
        from sqlmodel import Session, select

        from bot.runtime import build_runtime

        # With no webhook of its own in the config, posts go to the local sink, as in simulator mode:
        # the webhook address `say` makes up reaches nothing.
        sink = creds.simulated or not settings.wecom.webhook_url
        rt = build_runtime(settings, engine=engine, local_sink=sink)
        resp = rt.service.receive(query, body)
        status, reply_body = resp.status, resp.body
        rt.worker.drain()
        with Session(engine) as s:
            if sink:
                posts = [json.loads(p.payload) for p in s.exec(select(SimPost).where(SimPost.source == source))]
            else:
                posts = [json.loads(p.payload) for p in s.exec(select(Outbox).where(Outbox.source == source))]
    else:
        url = args.url.rstrip("/") + "/wecom/callback"
        try:
            r = requests.post(url, params=query, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
        except requests.RequestException as exc:
            print(f"cannot reach {url}: {type(exc).__name__} (is `frontline serve` running?)", file=sys.stderr)
            return 1
        status, reply_body = r.status_code, r.content
        posts = []
        if status == 200:
            posts = _wait_for_posts(args, settings, engine, source, creds.simulated)
    if status != 200:
        print(f"refused: HTTP {status} {reply_body.decode(errors='replace')}", file=sys.stderr)
        return 1
    reply = open_robot_reply(cipher, reply_body)
    out = Renderer(settings.tz, plain=True).render(
        "cli/say.txt.j2", name=name, reply=reply, posts=_post_contents(posts)
    )
    print(out)
    return 0


def _wait_for_posts(
    args: argparse.Namespace, settings: Settings, engine: Any, source: str, simulated: bool
) -> list[dict[str, Any]]:
    """Group posts caused by the message: from the simulator's sink, or the outbox rows."""
    import requests
    from sqlmodel import Session, select

    from bot.models import Outbox

    deadline = time.monotonic() + args.wait
    while True:
        pending = False
        if simulated:  # asked before the sink is read: a post sent in between is then in what is read
            with Session(engine) as s:
                pending = (
                    s.exec(select(Outbox.id).where(Outbox.source == source, Outbox.state != "sent")).first() is not None
                )
        if simulated:
            try:
                r = requests.get(args.url.rstrip("/") + "/sim/posts", params={"source": source}, timeout=5)
                posts = [p["payload"] for p in r.json()] if r.status_code == 200 else []
            except (requests.RequestException, ValueError):
                posts = []
        else:
            with Session(engine) as s:
                posts = [json.loads(p.payload) for p in s.exec(select(Outbox).where(Outbox.source == source))]
        if not pending or time.monotonic() > deadline:
            return posts
        time.sleep(0.1)  # a person waiting at a terminal; the server's worker is delivering


# ---------------------------------------------------------------------------- outbox
def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import update
    from sqlmodel import Session, select

    from bot.db import session_scope
    from bot.models import Outbox
    from bot.runtime import prepare_database
    from bot.wecom.outbox import redact_target

    engine = prepare_database(settings)
    if args.action == "retry":
        with session_scope(engine) as s:
            q = update(Outbox).where(Outbox.state == "failed")
            unknown: list[int] = []
            if args.ids:
                q = q.where(Outbox.id.in_(args.ids))
                failed = set(s.exec(select(Outbox.id).where(Outbox.id.in_(args.ids), Outbox.state == "failed")))
                unknown = sorted(set(args.ids) - failed)
            n = s.exec(
                q.values(state="pending", attempts=0, error=None, next_attempt_at=datetime.now(settings.tz))
            ).rowcount
        print(f"{n} failed post(s) queued again")
        if unknown:
            print(f"not a failed post (no such id, or not failed): {', '.join(map(str, unknown))}", file=sys.stderr)
            return 1
        return 0
    with Session(engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.state.in_(["pending", "sending", "failed"])).order_by(Outbox.id))
        rows = list(rows)
    if not rows:
        print("outbox is empty: every post was delivered")
        return 0
    tz = settings.tz
    for r in rows:
        body = json.loads(r.payload)
        content = (body.get(r.msgtype) or {}).get("content", "")
        preview = content.replace("\n", " ")[:40]
        print(
            f"{r.id:>6} {r.state:<8} tries={r.attempts} {r.created_at.astimezone(tz):%m-%d %H:%M} "
            f"{redact_target(r.target)} {r.error or ''} | {preview}"
        )
    return 0


# ---------------------------------------------------------------------------- export
EXPORTS = {
    "visits": ("Visit", "visited_at"),
    "urgent": ("Urgent", "created_at"),
    "competitor": ("Competitor", "reported_at"),
    "itinerary": ("Itinerary", "reported_at"),
    "leave": ("Leave", "reported_at"),
    "review": ("Review", "posted_at"),
    "messages": ("InboundMessage", "received_at"),
}


# Next to each stored id, what a leader reading the export in a spreadsheet needs: the names (and
# the member's region), as they are now. Columns the table stores itself (urgent.region) are kept.
_READABLE: dict[str, tuple[tuple[str, str], ...]] = {
    "member": (("member_name", "member_name"), ("region", "member_region")),
    "customer_id": (("customer", "customer"),),
    "contact_id": (("contact", "contact"),),
    "taken_by": (("taken_by_name", "member_name"),),
}


def _names(session: Any, columns: list[str]) -> dict[str, dict[Any, Any]]:
    """The lookups the export's columns need, each read once."""
    from sqlmodel import select

    from bot.models import Contact, Customer, Member

    names: dict[str, dict[Any, Any]] = {}
    if "member" in columns or "taken_by" in columns:
        members = session.exec(select(Member.userid, Member.name, Member.region)).all()
        names["member_name"] = {u: n for u, n, _ in members}
        names["member_region"] = {u: r or None for u, _, r in members}
    if "customer_id" in columns:
        names["customer"] = dict(session.exec(select(Customer.id, Customer.name)).all())
    if "contact_id" in columns:
        names["contact"] = dict(session.exec(select(Contact.id, Contact.name)).all())
    return names


def _cell(value: Any, tz: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session, select

    from bot import models
    from bot.runtime import prepare_database

    model_name, time_col = EXPORTS[args.table]
    model = getattr(models, model_name)
    engine = prepare_database(settings)
    q = select(model).order_by(model.id)
    if args.since:
        try:
            since = datetime.combine(date.fromisoformat(args.since), dtime(0), settings.tz)
        except ValueError:
            print(f"--since: not a date: {args.since!r} (expected YYYY-MM-DD)", file=sys.stderr)
            return 2
        q = q.where(getattr(model, time_col) >= since)
    stored = list(model.model_fields)
    with Session(engine) as s:
        names = _names(s, stored)
    columns = [c for col in stored for c in (col, *(n for n, _ in _READABLE.get(col, ()) if n not in stored))]
    out = sys.stdout
    writer = csv.DictWriter(out, fieldnames=columns) if args.format == "csv" else None
    if writer:
        writer.writeheader()
    with Session(engine) as s:
        for row in s.exec(q.execution_options(yield_per=500)):
            record: dict[str, Any] = {}
            for c in stored:
                value = getattr(row, c)
                record[c] = _cell(value, settings.tz)
                for name, lookup in _READABLE.get(c, ()):
                    if name not in stored:
                        record[name] = names[lookup].get(value)
            if writer:
                writer.writerow(record)
            else:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


# ---------------------------------------------------------------------------- parse
def cmd_parse(args: argparse.Namespace, settings: Settings | None) -> int:
    from bot.parse.cli import run
    from bot.workdays import WorkCalendar

    calendar = WorkCalendar(settings.holidays, settings.workdays) if settings else None
    return run(sys.stdin, sys.stdout, calendar=calendar)


# ---------------------------------------------------------------------------- jobs
def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    import scheduler
    from bot.render import Renderer
    from bot.runtime import build_runtime

    runtime = build_runtime(settings)
    tz = settings.tz
    now = datetime.now(tz)
    out = Renderer(tz, plain=True)
    if args.action == "list":
        rows = []
        for name in scheduler.DEFAULTS:
            nxt = scheduler.next_fire_time(settings, name, now, runtime.service.calendar)
            rows.append({"name": name, "next": nxt, "workdays": scheduler.JOBS[name].working_days_only,
                         "trigger": str(scheduler.trigger_for(settings, name))})  # fmt: skip
        print(out.render("cli/jobs_list.txt.j2", rows=rows))
        return 0
    if args.name not in scheduler.JOBS:  # also an empty name
        print(f"unknown job {args.name!r}; jobs: {', '.join(scheduler.JOBS)}", file=sys.stderr)
        return 2
    try:
        at = datetime.fromisoformat(args.at) if args.at else now
    except ValueError:
        print(f"--at: not an ISO time: {args.at!r} (e.g. 2026-11-27T08:30)", file=sys.stderr)
        return 2
    at = at.replace(tzinfo=tz) if at.tzinfo is None else at
    try:
        result = scheduler.run_job(runtime, args.name, at, dry_run=args.dry_run, force=args.force)
    except scheduler.NoTarget as exc:
        print(f"not posted: {exc}", file=sys.stderr)
        return 1
    if result.status == "skipped":
        print(f"skipped: {result.reason} (use --force to run it anyway)")
        return 0
    print(out.render("cli/job_run.txt.j2", run=result, posts=[p.content for p in result.posts]))
    if result.status == "posted":
        runtime.worker.drain()  # deliver now; a running server would otherwise do it within a second
    return 0


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frontline", description="前线助手: the WeCom bot of 销售前线")
    p.add_argument("--config", help="path of config.yaml (default: $FRONTLINE_CONFIG or ./config.yaml)")
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="write a commented config.yaml with a fresh token and AES key")
    s.add_argument("--path", default="config.yaml")

    s = sub.add_parser("serve", help="run the callback server (with the outbox worker and the scheduler)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--workers", type=int, default=2, help="worker processes (gunicorn)")
    s.add_argument("--threads", type=int, default=8, help="threads per worker")
    s.add_argument("--no-scheduler", action="store_true", help="do not run scheduled jobs in this server")

    s = sub.add_parser("say", help="play WeCom: send a signed message to the bot and print what it answers")
    s.add_argument("text")
    s.add_argument("--user", required=True, help="the sender's WeCom userid")
    s.add_argument("--name", default="", help="display name (default: from the roster)")
    s.add_argument("--chat", default="", help="chat id (default: the first configured chat)")
    s.add_argument("--url", default="http://127.0.0.1:8080", help="where `frontline serve` listens")
    s.add_argument("--local", action="store_true", help="run the bot in this process instead")
    s.add_argument("--wait", type=float, default=5.0, help="seconds to wait for group posts")

    s = sub.add_parser("outbox", help="list pending and failed posts; `outbox retry [ID…]` queues failed ones again")
    s.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    s.add_argument("ids", nargs="*", type=int)

    s = sub.add_parser("export", help="write stored records as JSON Lines or CSV")
    s.add_argument("table", choices=sorted(EXPORTS))
    s.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    s.add_argument("--since", help="YYYY-MM-DD: only records from that day on")

    sub.add_parser("parse", help="read JSON Lines {text, now, sender?} on stdin, write parse results")

    sub.add_parser("demo", help="a scripted working day of the group on a temporary database, printed in order")

    s = sub.add_parser("jobs", help="`jobs list`: every scheduled job and its next run; `jobs run NAME`: run one")
    s.add_argument("action", choices=["list", "run"])
    s.add_argument("name", nargs="?", default="")
    s.add_argument("--at", help="the run's time, ISO (default: now), e.g. 2026-11-27T08:30")
    s.add_argument("--dry-run", action="store_true", help="print what it would post, post nothing")
    s.add_argument("--force", action="store_true", help="run even on a day off")
    return p


def main(argv: list[str] | None = None) -> int:
    from bot.logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    if args.command == "init":
        return cmd_init(args)
    if args.command == "demo":  # its own team and database: no config needed
        from bot.demo import run_demo

        return run_demo(sys.stdout)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"config error: {exc.key}: {exc.problem}", file=sys.stderr)
        return 2
    handlers = {
        "serve": cmd_serve,
        "say": cmd_say,
        "outbox": cmd_outbox,
        "export": cmd_export,
        "parse": cmd_parse,
        "jobs": cmd_jobs,
    }

    return handlers[args.command](args, settings)


if __name__ == "__main__":
    sys.exit(main())
