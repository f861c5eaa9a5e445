"""The command line as a new user meets it: init, say, export, outbox, and serve for real."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import load_settings
from tests.conftest import both_backends

ROSTER = "team:\n  members:\n    - {userid: zhangwei, name: 张伟, role: rep, region: 华东}\n"


@pytest.fixture()
def sim_config(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Path:
    # SQLite: a path relative to the config file, as a user writes it; PostgreSQL: a fresh test database.
    url = "sqlite:///bot.db" if backend == "sqlite" else request.getfixturevalue("database_url")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database: {{url: '{url}'}}\n" + ROSTER, encoding="utf-8")
    return cfg


def test_init_writes_a_working_config_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    s = load_settings(tmp_path / "config.yaml", environ={})
    assert s.wecom.has_credentials and len(s.wecom.encoding_aes_key) == 43
    # WeCom's admin console takes letters and digits only (as it generates them itself)
    assert s.wecom.encoding_aes_key.isalnum() and s.wecom.token.isalnum() and len(s.wecom.token) <= 32
    before = (tmp_path / "config.yaml").read_text()
    assert main(["init"]) == 1  # never overwrites
    assert (tmp_path / "config.yaml").read_text() == before


@both_backends
def test_say_local_prints_the_reply_and_export_finds_the_message(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(sim_config), "say", "--local", "--user", "zhangwei", "@前线助手 在吗"]) == 0
    out = capsys.readouterr().out
    assert "[前线助手 → 张伟]" in out and "/帮助" in out

    assert main(["--config", str(sim_config), "export", "messages"]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["sender"] == "zhangwei" and record["text"] == "在吗"
    assert record["received_at"].endswith("+08:00")

    assert main(["--config", str(sim_config), "export", "messages", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("id,msgid,") and len(rows) == 2

    # --since is a day in the team's time zone (Asia/Shanghai by default)
    today = datetime.fromisoformat(record["received_at"]).date()
    for since, expected in ((today, 1), (today + timedelta(days=1), 0)):
        assert main(["--config", str(sim_config), "export", "messages", "--since", since.isoformat()]) == 0
        assert len(capsys.readouterr().out.splitlines()) == expected


def test_say_local_after_init_shows_group_posts_without_a_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # init writes real credentials but no webhook: --local posts to the local sink, not to a made-up WeCom address
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0  # its sample roster has zhangwei
    capsys.readouterr()
    assert main(["say", "--local", "--user", "zhangwei", "@前线助手 急！市一院ICU今晚要3台呼吸机"]) == 0
    out = capsys.readouterr().out
    assert "[群消息 1/1]" in out and "急需" in out
    assert main(["outbox"]) == 0
    assert "qyapi" not in capsys.readouterr().out


@both_backends
def test_export_of_visits_names_the_member_customer_and_contact(
    sim_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    say = ["--config", str(sim_config), "say", "--local", "--user", "zhangwei"]
    assert main([*say, "@前线助手 今天拜访了市一院设备科王主任，确认下周提交采购申请"]) == 0
    capsys.readouterr()
    assert main(["--config", str(sim_config), "export", "visits"]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (record["member"], record["member_name"], record["region"]) == ("zhangwei", "张伟", "华东")
    assert (record["customer"], record["contact"], record["department"]) == ("市一院", "王主任", "设备科")
    assert main(["--config", str(sim_config), "export", "visits", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("id,member,member_name,region,customer_id,customer,contact_id,contact,")


def test_export_rejects_a_bad_since(sim_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(sim_config), "export", "messages", "--since", "last week"]) == 2
    assert "--since" in capsys.readouterr().err


@both_backends
def test_outbox_lists_failed_posts_and_retries_them(sim_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.db import session_scope
    from bot.models import Outbox
    from bot.runtime import prepare_database
    from bot.wecom.outbox import enqueue

    engine = prepare_database(load_settings(sim_config, environ={}))
    with session_scope(engine) as s:
        [row] = enqueue(s, "http://127.0.0.1:9/cgi-bin/webhook/send?key=secret-key", "text", "周报")
        s.flush()
        row.state, row.error = "failed", "errcode 93000 (invalid webhook key)"
    assert main(["--config", str(sim_config), "outbox"]) == 0
    out = capsys.readouterr().out
    assert "failed" in out and "93000" in out and "周报" in out and "secret-key" not in out
    assert main(["--config", str(sim_config), "outbox", "retry"]) == 0
    with session_scope(engine) as s:
        assert s.get(Outbox, row.id).state == "pending"
    capsys.readouterr()
    assert main(["--config", str(sim_config), "outbox", "retry", "999"]) == 1  # no such failed post
    assert "not a failed post (no such id, or not failed): 999" in capsys.readouterr().err


def wait_for_line(proc: subprocess.Popen[bytes], needle: str, seconds: float) -> None:
    """Read the process's output until a line holds `needle` (select with a deadline, no sleeping)."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            seen.append(line)
            if needle in line:
                return
    raise AssertionError(f"no line with {needle!r}; the server said:\n{''.join(seen)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@both_backends
def test_serve_answers_say_and_posts_to_the_local_group(sim_config: Path, tmp_path: Path) -> None:
    """The README's path: `frontline serve` on the simulator, `frontline say`, a reply, the export."""
    port = _free_port()
    env = {**os.environ, "FRONTLINE_CONFIG": str(sim_config)}
    cli = [sys.executable, "-m", "bot.cli"]
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", "1", "--threads", "2", "--no-scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        wait_for_line(server, "ready", seconds=30)  # a worker is up: the port is bound and served
        said = subprocess.run(
            [*cli, "say", "--url", f"http://127.0.0.1:{port}", "--user", "zhangwei", "@前线助手 在吗"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )
        assert said.returncode == 0, said.stderr
        assert "[前线助手 → 张伟]" in said.stdout and "/帮助" in said.stdout
        exported = subprocess.run(
            [*cli, "export", "messages"], env=env, capture_output=True, text=True, timeout=30, cwd=tmp_path
        )
        assert json.loads(exported.stdout.splitlines()[0])["text"] == "在吗"
    finally:
        server.terminate()
        server.wait(15)


def test_serve_on_a_port_in_use_says_so_in_one_line(sim_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--config", str(sim_config), "serve", "--port", str(port), "--no-scheduler"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and f"cannot listen on 127.0.0.1:{port}" in err[0]
