"""Configuration: the shipped config.yaml loads, environment overrides win, a bad config stops start-up clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main, render_config
from bot.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
GOOD_KEY = "a" * 43


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_shipped_config_is_the_simulator_default() -> None:
    s = load_settings(REPO / "config.yaml", environ={})
    assert not s.wecom.has_credentials
    assert s.timezone == "Asia/Shanghai"
    assert s.database_url == f"sqlite:///{REPO / 'frontline.db'}"
    assert {m.role for m in s.members} == {"rep", "leader", "admin"}


def test_the_shipped_config_is_what_init_writes_minus_the_secrets() -> None:
    assert (REPO / "config.yaml").read_text(encoding="utf-8") == render_config("", "")


def test_environment_overrides_every_secret_and_location(tmp_path: Path) -> None:
    cfg = write(tmp_path, "wecom: {token: t1, encoding_aes_key: " + GOOD_KEY + "}\n")
    env = {
        "FRONTLINE_WECOM_TOKEN": "from-env",
        "FRONTLINE_WECOM_AES_KEY": "b" * 43,
        "FRONTLINE_WECOM_RECEIVE_ID": "wwcorp",
        "FRONTLINE_WECOM_WEBHOOK_URL": "http://127.0.0.1:9/cgi-bin/webhook/send?key=k",
        "FRONTLINE_DATABASE_URL": "sqlite:////tmp/elsewhere.db",
    }
    s = load_settings(cfg, environ=env)
    assert (s.wecom.token, s.wecom.encoding_aes_key, s.wecom.receive_id) == ("from-env", "b" * 43, "wwcorp")
    assert s.wecom.webhook_url.endswith("key=k") and s.database_url == "sqlite:////tmp/elsewhere.db"


def test_frontline_config_names_the_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, "timezone: Asia/Urumqi\n")
    assert load_settings(environ={"FRONTLINE_CONFIG": str(cfg)}).timezone == "Asia/Urumqi"


@pytest.mark.parametrize(
    ("yaml_text", "key", "problem"),
    [
        ("wecom: {token: t, encoding_aes_key: short}\n", "wecom.encoding_aes_key", "43 characters"),
        ("team: {members: [{userid: a, name: A, role: boss}]}\n", "team.members[0].role", "unknown role"),
        ("schedule: {eod_review: {time: '25:99'}}\n", "schedule.eod_review.time", "malformed time"),
        ("timezone: Mars/Olympus\n", "timezone", "unknown time zone"),
        ("calendar: {holidays: [2026-13-01]}\n", "calendar.holidays[0]", "malformed date"),
        ("wecom: [1, 2\n", "config", "not valid YAML"),
        ("database: {url: 'oracle+nodriver://u@h/db'}\n", "database.url", "unknown database"),
        ("database: {url: 'postgresql+psycopg2://u@h/db'}\n", "database.url", "use postgresql+psycopg://"),
        ("schedule: {morning_agenda: {days: [mon, wedn]}}\n", "schedule.morning_agenda.days[1]", "unknown weekday"),
        ("schedule: {toolkit_check: {tim: '08:00'}}\n", "schedule.toolkit_check.tim", "unknown key"),
        ("schedule: {toolkit_chek: {time: '08:00'}}\n", "schedule.toolkit_chek", "unknown job"),
        ("schedule: {urgent_escalation: {every_minutes: 0}}\n", "schedule.urgent_escalation.every_minutes", "positive"),
        ("rules: {urgent_leader_minutes: soon}\n", "rules.urgent_leader_minutes", "whole number"),
        (
            "team: {members: [{userid: a, name: A, role: rep}]}\nrules: {manager: nobody}\n",
            "rules",
            "not on the roster",
        ),
    ],
)
def test_a_bad_config_stops_with_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, key: str, problem: str
) -> None:
    cfg = write(tmp_path, yaml_text)
    assert main(["--config", str(cfg), "outbox"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0] and problem in err[0] and "Traceback" not in err[0]


def test_an_unreadable_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "missing.yaml"), "serve"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("config error: config: cannot read")


def test_a_postgresql_url_without_a_driver_gets_psycopg(tmp_path: Path) -> None:
    for url in ("postgresql://bot:pw@db.internal/frontline", "postgres://bot:pw@db.internal/frontline"):
        s = load_settings(write(tmp_path, "timezone: Asia/Shanghai\n"), environ={"FRONTLINE_DATABASE_URL": url})
        assert s.database_url == "postgresql+psycopg://bot:pw@db.internal/frontline"


def test_a_missing_postgresql_driver_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the postgres extra was not installed
    cfg = write(tmp_path, "database: {url: 'postgresql+psycopg://bot@db.internal/frontline'}\n")
    assert main(["--config", str(cfg), "outbox"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "database.url" in line and "psycopg is not installed" in line and "pip install -e '.[postgres]'" in line


def test_the_jobs_the_schedule_may_name_are_the_schedulers() -> None:
    import scheduler
    from bot.settings import SCHEDULE_JOBS

    assert set(SCHEDULE_JOBS) == set(scheduler.DEFAULTS)
