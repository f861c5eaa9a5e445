"""Assembling one running bot from its settings: database, cipher, handlers, outbox worker."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine
from sqlmodel import select

from bot.callback import CallbackService
from bot.customers import sync_directory
from bot.db import create_schema, make_engine, session_scope, utcnow
from bot.dispatch import Dispatcher, Handler
from bot.logs import install_redaction
from bot.models import Kv, Member
from bot.render import Renderer
from bot.settings import Settings
from bot.wecom.crypto import CallbackCipher
from bot.wecom.outbound import WebhookClient
from bot.wecom.outbox import OutboxWorker

log = logging.getLogger("frontline")

SIM_TOKEN, SIM_AES_KEY = "sim.token", "sim.aes_key"


@dataclass
class Credentials:
    token: str
    aes_key: str
    receive_id: str
    simulated: bool


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    credentials: Credentials
    renderer: Renderer
    service: CallbackService
    worker: OutboxWorker


_ALNUM = string.ascii_letters + string.digits


def new_aes_key() -> str:
    """43 letters and digits, as WeCom's admin console takes an EncodingAESKey (and generates one):
    base64 of 32 random bytes would often hold + or /, which the console refuses. Each is one of
    base64's characters, so the key still decodes (key + "=") to the 32-byte AES key."""
    return "".join(secrets.choice(_ALNUM) for _ in range(43))


def new_token() -> str:
    """32 letters and digits: WeCom's callback Token takes English letters and digits, 3-32 long."""
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def credentials(settings: Settings, engine: Engine) -> Credentials:
    """The configured WeCom credentials, or the simulator's, generated once and kept in the database."""
    wc = settings.wecom
    if wc.has_credentials:
        return Credentials(wc.token, wc.encoding_aes_key, wc.receive_id, simulated=False)
    with session_scope(engine) as s:
        token = s.get(Kv, SIM_TOKEN)
        key = s.get(Kv, SIM_AES_KEY)
        if token is None or key is None:
            token = Kv(key=SIM_TOKEN, value=new_token())
            key = Kv(key=SIM_AES_KEY, value=new_aes_key())
            s.merge(token)
            s.merge(key)
        return Credentials(token.value, key.value, "", simulated=True)


def sync_roster(settings: Settings, engine: Engine) -> None:
    """config.yaml's team.members are the source of truth for the members it lists."""
    with session_scope(engine) as s:
        existing = {m.userid: m for m in s.exec(select(Member)).all()}
        for m in settings.members:
            row = existing.get(m.userid)
            if row is None:
                s.add(Member(userid=m.userid, name=m.name, role=m.role, region=m.region, mobile=m.mobile))
            elif (row.name, row.role, row.region, row.mobile, row.active) != (
                m.name,
                m.role,
                m.region,
                m.mobile,
                True,
            ):
                row.name, row.role, row.region, row.mobile, row.active = (
                    m.name,
                    m.role,
                    m.region,
                    m.mobile,
                    True,
                )
                s.add(row)


def rebase(url: str, api_base: str) -> str:
    """Point a WeCom API URL (as a callback gives it) at the configured api_base (a test server)."""
    if not url or not api_base or api_base.rstrip("/") == "https://qyapi.weixin.qq.com":
        return url
    base = urlsplit(api_base)
    u = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + u.path, u.query, u.fragment))


def prepare_database(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url, settings.sqlite_synchronous)
    create_schema(engine)
    sync_roster(settings, engine)
    sync_directory(settings.customers, engine)
    return engine


def build_runtime(
    settings: Settings,
    *,
    engine: Engine | None = None,
    handlers: list[Handler] | None = None,
    clock: Callable[[], datetime] | None = None,
    utc_clock: Callable[[], datetime] = utcnow,
    local_sink: bool | None = None,
) -> Runtime:
    """The bot's parts. Group posts go to the local sink in simulator mode (no credentials), or
    when `local_sink` says so (`say --local` on a config with no webhook of its own)."""
    if handlers is None:
        from handlers import load

        handlers = load()
    engine = engine or prepare_database(settings)
    creds = credentials(settings, engine)
    install_redaction([creds.token, creds.aes_key, settings.wecom.webhook_url])
    renderer = Renderer(settings.tz)
    worker = OutboxWorker(
        engine,
        WebhookClient(timeout=settings.outbox.http_timeout),
        per_minute=settings.outbox.per_minute,
        max_attempts=settings.outbox.max_attempts,
        poll_seconds=settings.outbox.poll_seconds,
        clock=utc_clock,
    )
    service = CallbackService(
        settings,
        engine,
        CallbackCipher(creds.token, creds.aes_key, creds.receive_id),
        Dispatcher(handlers),
        renderer,
        local_sink=creds.simulated if local_sink is None else local_sink,
        clock=clock,
        on_posted=worker.notify,
        rebase=lambda url: rebase(url, settings.wecom.api_base),
    )
    return Runtime(settings, engine, creds, renderer, service, worker)
