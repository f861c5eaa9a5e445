"""config.yaml + FRONTLINE_* environment -> typed, validated settings.

Every problem is reported as a `ConfigError` naming the key and what is wrong,
so start-up can print one line and exit 2 instead of a traceback.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

ROLES = ("rep", "leader", "admin")
CUSTOMER_LEVELS = ("三甲", "三级", "二级", "一级", "社区", "民营")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_AES_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")

ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "FRONTLINE_WECOM_TOKEN": ("wecom", "token"),
    "FRONTLINE_WECOM_AES_KEY": ("wecom", "encoding_aes_key"),
    "FRONTLINE_WECOM_RECEIVE_ID": ("wecom", "receive_id"),
    "FRONTLINE_WECOM_WEBHOOK_URL": ("wecom", "webhook_url"),
    "FRONTLINE_WECOM_API_BASE": ("wecom", "api_base"),
    "FRONTLINE_DATABASE_URL": ("database", "url"),
    "FRONTLINE_TIMEZONE": ("timezone",),
}


class ConfigError(Exception):
    """A configuration problem: `key` names the setting, the message says what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Member:
    userid: str
    name: str
    role: str
    region: str = ""
    mobile: str = ""


@dataclass(frozen=True)
class CustomerEntry:
    name: str
    level: str | None = None
    region: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolkitDoc:
    """A document of the sales toolkit: licences, registration certificates, brochures, cards."""

    name: str
    kind: str = ""  # e.g. 营业执照, 注册证, 临床报告, 宣传册, 服务承诺卡
    edition: str = ""  # 医生版 / 采购版 for brochures
    version_date: date | None = None
    expiry: date | None = None
    link: str = ""


@dataclass(frozen=True)
class WeComSettings:
    token: str = ""
    encoding_aes_key: str = ""
    receive_id: str = ""
    webhook_url: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    bot_names: tuple[str, ...] = ("前线助手",)
    reply_format: str = "markdown"

    @property
    def has_credentials(self) -> bool:
        return bool(self.token and self.encoding_aes_key)


@dataclass(frozen=True)
class OutboxSettings:
    per_minute: int = 20
    max_attempts: int = 8
    poll_seconds: float = 1.0
    http_timeout: float = 10.0


@dataclass(frozen=True)
class Settings:
    wecom: WeComSettings = field(default_factory=WeComSettings)
    database_url: str = "sqlite:///frontline.db"
    sqlite_synchronous: str = "FULL"
    timezone: str = "Asia/Shanghai"
    chats: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()
    customers: tuple[CustomerEntry, ...] = ()
    toolkit: tuple[ToolkitDoc, ...] = ()
    schedule: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    max_body_bytes: int = 1024 * 1024
    reply_budget_seconds: float = 4.0
    source: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def member(self, userid: str) -> Member | None:
        for m in self.members:
            if m.userid == userid:
                return m
        return None

    def serves_chat(self, chat_id: str) -> bool:
        return not self.chats or chat_id in self.chats


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a mapping")
    return value


def _str(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(key, "must be a string")
    return str(value).strip()


def _check_time(value: Any, key: str) -> None:
    if not isinstance(value, str) or not _TIME_RE.match(value.strip()):
        raise ConfigError(key, f"malformed time {value!r}, expected HH:MM")


def _walk_times(node: Any, key: str) -> None:
    """Every `time`/`*_time`/`at` value, and every item of a `times` list, anywhere under schedule/rules."""
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f"{key}.{k}"
            if k in ("time", "at") or str(k).endswith("_time"):
                _check_time(v, sub)
            elif k == "times":
                for i, t in enumerate(v or []):
                    _check_time(t, f"{sub}[{i}]")
            else:
                _walk_times(v, sub)


# What the schedule and rules sections may hold (a misspelt key would silently fall back to a default).
SCHEDULE_JOBS = ("morning_agenda", "eod_review", "eod_chase", "crm_deadline", "weekly_report", "followups",
                 "urgent_escalation", "itinerary_reminder", "toolkit_check")  # fmt: skip
_SCHEDULE_KEYS = {"time", "days", "start_time", "end_time", "every_minutes", "meeting_time", "minutes", "link"}
_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INT_RULES = ("followup_summary_hours", "followup_plan_workdays", "urgent_leader_minutes", "urgent_manager_minutes",
              "toolkit_fresh_days", "toolkit_expiry_warn_days")  # fmt: skip
_LIST_RULES = ("urgent_on_duty",)


def _check_schedule(schedule: dict[str, Any]) -> None:
    for job, conf in schedule.items():
        key = f"schedule.{job}"
        if job not in SCHEDULE_JOBS:
            raise ConfigError(key, f"unknown job, expected one of {', '.join(SCHEDULE_JOBS)}")
        if not isinstance(conf, dict):
            raise ConfigError(key, 'must be a mapping such as {time: "08:30"}')
        for k, v in conf.items():
            if k not in _SCHEDULE_KEYS:
                raise ConfigError(f"{key}.{k}", f"unknown key, expected one of {', '.join(sorted(_SCHEDULE_KEYS))}")
            if k == "days":
                for i, day in enumerate(v if isinstance(v, list) else [v]):
                    if str(day).strip().lower() not in _WEEKDAY_NAMES:
                        raise ConfigError(f"{key}.days[{i}]", f"unknown weekday {day!r}, expected mon … sun")
            elif k in ("every_minutes", "minutes") and not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
                raise ConfigError(f"{key}.{k}", f"must be a positive whole number, not {v!r}")


def _check_rules(rules: dict[str, Any], userids: set[str]) -> None:
    for k in _INT_RULES:
        v = rules.get(k)
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            raise ConfigError(f"rules.{k}", f"must be a whole number, not {v!r}")
    for k in _LIST_RULES:
        v = rules.get(k)
        if v is not None and not isinstance(v, list):
            raise ConfigError(f"rules.{k}", "must be a list of userids")
    named = [*(rules.get("urgent_on_duty") or []), *([rules["manager"]] if isinstance(rules.get("manager"), str) else
             rules.get("manager") or [])]  # fmt: skip
    for userid in named:
        if userid and userids and str(userid) not in userids:
            raise ConfigError("rules", f"{userid!r} is not on the roster (team.members)")


def _dates(value: Any, key: str) -> tuple[date, ...]:
    out = []
    for i, item in enumerate(value or []):
        if isinstance(item, date):
            out.append(item)
            continue
        try:
            out.append(date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(f"{key}[{i}]", f"malformed date {item!r}, expected YYYY-MM-DD") from None
    return tuple(out)


def _customers(value: Any) -> tuple[CustomerEntry, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("customers", "must be a list of {name, level, region, aliases}")
    out: list[CustomerEntry] = []
    for i, c in enumerate(value):
        key = f"customers[{i}]"
        if not isinstance(c, dict):
            raise ConfigError(key, "must be a mapping with name, level, region, aliases")
        name = _str(c.get("name"), f"{key}.name")
        if not name:
            raise ConfigError(f"{key}.name", "is required")
        level = _str(c.get("level"), f"{key}.level") or None
        if level is not None and level not in CUSTOMER_LEVELS:
            raise ConfigError(f"{key}.level", f"unknown level {level!r}, expected one of {', '.join(CUSTOMER_LEVELS)}")
        aliases = c.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [aliases]
        out.append(
            CustomerEntry(
                name=name,
                level=level,
                region=_str(c.get("region"), f"{key}.region"),
                aliases=tuple(_str(a, f"{key}.aliases") for a in aliases if a),
            )
        )
    return tuple(out)


def _one_date(value: Any, key: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(key, f"malformed date {value!r}, expected YYYY-MM-DD") from None


def _toolkit(value: Any) -> tuple[ToolkitDoc, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("toolkit", "must be a list of {name, kind, edition, version_date, expiry, link}")
    out = []
    for i, d in enumerate(value):
        key = f"toolkit[{i}]"
        if not isinstance(d, dict) or not d.get("name"):
            raise ConfigError(key, "must be a mapping with at least a name")
        out.append(
            ToolkitDoc(
                name=_str(d.get("name"), f"{key}.name"),
                kind=_str(d.get("kind"), f"{key}.kind"),
                edition=_str(d.get("edition"), f"{key}.edition"),
                version_date=_one_date(d.get("version_date"), f"{key}.version_date"),
                expiry=_one_date(d.get("expiry"), f"{key}.expiry"),
                link=_str(d.get("link"), f"{key}.link"),
            )
        )
    return tuple(out)


def parse_time(value: str) -> time:
    hh, mm = value.strip().split(":")
    return time(int(hh), int(mm))


def _set_path(raw: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    node = raw
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so a bad date is reported by its key, not by YAML."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("config", f"{path} is not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("config", f"{path} must hold a mapping at the top level")
    return raw


def config_path(explicit: str | None = None, environ: dict[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    chosen = explicit or env.get("FRONTLINE_CONFIG")
    if chosen:
        return Path(chosen)
    default = Path("config.yaml")
    return default if default.exists() else None


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the YAML (FRONTLINE_CONFIG, or ./config.yaml when present), apply the environment, validate."""
    env = os.environ if environ is None else environ
    cfg = config_path(str(path) if path else None, env)
    raw = read_yaml(cfg) if cfg is not None else {}
    for var, keypath in ENV_OVERRIDES.items():
        if env.get(var) is not None and env.get(var) != "":
            _set_path(raw, keypath, env[var])
    settings = settings_from_dict(raw)
    db_url = settings.database_url
    if cfg is not None and env.get("FRONTLINE_DATABASE_URL") in (None, ""):
        db_url = anchor_sqlite(db_url, cfg.resolve().parent)
    return Settings(**{**settings.__dict__, "database_url": db_url, "source": str(cfg) if cfg else ""})


def _with_driver(url: str) -> str:
    """The URL with a driver SQLAlchemy can load, or a ConfigError that says what to install.

    PostgreSQL URLs without a driver (postgresql://, and postgres:// as hosting services
    write them) get psycopg, the driver of the `postgres` extra; SQLAlchemy would pick psycopg2.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            url = "postgresql+psycopg://" + url[len(bare) :]
    try:
        dialect = make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ConfigError("database.url", "unknown database (use sqlite:/// or postgresql+psycopg://)") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        hint = ""
        if dialect.name == "postgresql":
            hint = " (pip install -e '.[postgres]')" if dialect.driver == "psycopg" else " (use postgresql+psycopg://)"
        raise ConfigError("database.url", f"the driver {exc.name or dialect.driver} is not installed{hint}") from None
    return url


def anchor_sqlite(url: str, base: Path) -> str:
    """A relative SQLite path in config.yaml is relative to that file, so every command finds the same database."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    path = url[len(prefix) :]
    if not path or path.startswith("/"):
        return url
    return prefix + str(base / path)


def settings_from_dict(raw: dict[str, Any]) -> Settings:
    wc = _section(raw, "wecom")
    aes = _str(wc.get("encoding_aes_key"), "wecom.encoding_aes_key")
    if aes and not _AES_RE.match(aes):
        raise ConfigError("wecom.encoding_aes_key", f"must be 43 characters of base64, got {len(aes)}")
    token = _str(wc.get("token"), "wecom.token")
    if bool(token) != bool(aes):
        missing = "wecom.token" if not token else "wecom.encoding_aes_key"
        raise ConfigError(missing, "is empty while the other WeCom credential is set; set both or neither")
    names = wc.get("bot_names") or ["前线助手"]
    if isinstance(names, str):
        names = [names]
    reply_format = _str(wc.get("reply_format") or "markdown", "wecom.reply_format")
    if reply_format not in ("markdown", "text"):
        raise ConfigError("wecom.reply_format", f"must be markdown or text, got {reply_format!r}")
    webhook = _str(wc.get("webhook_url"), "wecom.webhook_url")
    if webhook and not webhook.startswith(("http://", "https://")):
        raise ConfigError("wecom.webhook_url", "must be an http(s) URL")
    wecom = WeComSettings(
        token=token,
        encoding_aes_key=aes,
        receive_id=_str(wc.get("receive_id"), "wecom.receive_id"),
        webhook_url=webhook,
        api_base=_str(wc.get("api_base") or "https://qyapi.weixin.qq.com", "wecom.api_base").rstrip("/"),
        bot_names=tuple(_str(n, "wecom.bot_names") for n in names),
        reply_format=reply_format,
    )

    db = _section(raw, "database")
    db_url = _str(db.get("url") or "sqlite:///frontline.db", "database.url")
    if "://" not in db_url:
        raise ConfigError("database.url", f"not a database URL: {db_url!r}")
    db_url = _with_driver(db_url)
    sqlite_sync = _str(db.get("sqlite_synchronous") or "FULL", "database.sqlite_synchronous").upper()
    if sqlite_sync not in ("FULL", "NORMAL"):
        raise ConfigError("database.sqlite_synchronous", f"must be FULL or NORMAL, got {sqlite_sync!r}")

    tz = _str(raw.get("timezone") or "Asia/Shanghai", "timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("timezone", f"unknown time zone {tz!r}") from None

    chats_raw = raw.get("chats") or []
    if isinstance(chats_raw, str):
        chats_raw = [chats_raw]
    if not isinstance(chats_raw, list):
        raise ConfigError("chats", "must be a list of chat ids")
    chats = tuple(_str(c, "chats") for c in chats_raw if c)

    team = _section(raw, "team")
    members: list[Member] = []
    seen: set[str] = set()
    for i, m in enumerate(team.get("members") or []):
        key = f"team.members[{i}]"
        if not isinstance(m, dict):
            raise ConfigError(key, "must be a mapping with userid, name, role, region")
        userid = _str(m.get("userid"), f"{key}.userid")
        if not userid:
            raise ConfigError(f"{key}.userid", "is required")
        if userid in seen:
            raise ConfigError(f"{key}.userid", f"duplicate userid {userid!r}")
        seen.add(userid)
        role = _str(m.get("role") or "rep", f"{key}.role")
        if role not in ROLES:
            raise ConfigError(f"{key}.role", f"unknown role {role!r}, expected one of {', '.join(ROLES)}")
        mobile = _str(m.get("mobile"), f"{key}.mobile")
        if mobile and not re.fullmatch(r"1\d{10}", mobile):
            raise ConfigError(f"{key}.mobile", "must be an 11-digit mainland mobile number")
        members.append(
            Member(
                userid=userid,
                name=_str(m.get("name"), f"{key}.name") or userid,
                role=role,
                region=_str(m.get("region"), f"{key}.region"),
                mobile=mobile,
            )
        )

    customers = _customers(raw.get("customers"))
    toolkit = _toolkit(raw.get("toolkit"))
    schedule = _section(raw, "schedule")
    rules = _section(raw, "rules")
    _walk_times(schedule, "schedule")
    _walk_times(rules, "rules")
    _check_schedule(schedule)
    _check_rules(rules, {m.userid for m in members})

    cal = _section(raw, "calendar")
    ob = _section(raw, "outbox")
    try:
        outbox = OutboxSettings(
            per_minute=int(ob.get("per_minute", 20)),
            max_attempts=int(ob.get("max_attempts", 8)),
            poll_seconds=float(ob.get("poll_seconds", 1.0)),
            http_timeout=float(ob.get("http_timeout", 10.0)),
        )
    except (TypeError, ValueError):
        raise ConfigError("outbox", "per_minute/max_attempts must be integers, *_seconds numbers") from None
    if not 1 <= outbox.per_minute <= 20:
        raise ConfigError("outbox.per_minute", "must be between 1 and 20 (WeCom's limit per robot)")

    return Settings(
        wecom=wecom,
        database_url=db_url,
        sqlite_synchronous=sqlite_sync,
        timezone=tz,
        chats=chats,
        members=tuple(members),
        customers=customers,
        toolkit=toolkit,
        schedule=schedule,
        rules=rules,
        holidays=_dates(cal.get("holidays"), "calendar.holidays"),
        workdays=_dates(cal.get("workdays"), "calendar.workdays"),
        outbox=outbox,
    )
