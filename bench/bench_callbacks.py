#!/usr/bin/env python3
"""Callback load benchmark: Frontline against a public peer bot server (wecom-bot-svr 0.3.4).

    python bench/bench_callbacks.py [--seconds 8] [--conns 1,8,32] [--repeat 1]
                                    [--only peer|frontline] [--skip-peer] [--floor] [--least]

Both servers run under gunicorn with the same settings (gthread, 2 workers x 8 threads,
keep-alive 30 s: `frontline serve`'s defaults) on 127.0.0.1.  With --floor two more servers
run (bench/floor_app.py): Frontline's own edge doing only the peer's job, which shows what
the HTTP server and the cipher cost, and so what Frontline's own work costs; and the HTTP
server alone answering a fixed reply, which shows what each application costs.  With --least
two more (bench/least_app.py): Frontline's callback service with one handler that only
acknowledges, storing each message durably (store) and also parsing it (least), which shows
what the issue's minimum (verify, store, understand, reply) costs before any filing.  The load
comes from separate client processes (so the client does not share the server's GIL):
signed, AES-encrypted group-robot text callbacks with unique msgids, all built before
the timed window, sent as raw pre-built request bytes over keep-alive HTTP/1.1
connections (one per client thread).  Every loop is bounded in count and in time.
Loopback only.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import math
import multiprocessing as mp
import os
import queue
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fake_wecom import FakeWeCom  # noqa: E402
from tests.wecom_peer import PeerCrypt, envelope_xml, new_aes_key, new_nonce, open_robot_reply, robot_text_xml  # noqa: E402

HOST = "127.0.0.1"
PATH = "/wecom/callback"
PAYLOAD = "@前线助手 今天拜访了市一院设备科王主任，确认下周提交采购申请"
PEER_VENV = REPO / "bench" / ".peer-venv"
PEER_REQS = ["wecom-bot-svr==0.3.4", "gunicorn"]
FRONTLINE_BIN = REPO / ".venv" / "bin" / "frontline"
GUNICORN_BIN = REPO / ".venv" / "bin" / "gunicorn"
MAX_SECONDS, MAX_CONNS = 120, 256
WORKERS, THREADS = 2, 8  # `frontline serve`'s defaults; the peer gets the same
PER_CONN_RATE_CAP = 3000  # one keep-alive connection on loopback never exceeds this (sizes the pool)
WARMUP_PER_CONN = 10
SAMPLES_PER_THREAD = 8
MAX_ERRORS_PER_THREAD = 200

PEER_APP = '''\
"""wecom-bot-svr 0.3.4 under gunicorn: replies "收到" to text, nothing to events (bench only)."""
from wecom_bot_svr import RspTextMsg, WecomBotServer

server = WecomBotServer("前线助手", "127.0.0.1", 0, path="/wecom/callback")  # token/key from WX_BOT_* env


def on_message(msg):
    rsp = RspTextMsg()
    rsp.content = "收到"
    return rsp


def on_event(msg):
    rsp = RspTextMsg()
    rsp.content = ""
    return rsp


server.set_message_handler(on_message)
server.set_event_handler(on_event)
app = server._app  # WecomBotServer.run() would register these and call app.run(); gunicorn serves instead
app.get(server.path)(server.handle_bot_call_get)
app.post(server.path)(server.handle_bot_call_post)
app.get("/healthz")(lambda: "ok")
'''


# ================================================================ client side (runs in child processes)


@dataclass
class ClientSpec:
    port: int
    token: str
    aes_key: str
    threads: int
    per_thread: int
    seconds: float
    run_tag: str
    webhook_url: str


class RawConn:
    """A keep-alive HTTP/1.1 connection that sends pre-built bytes and parses the response itself."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = bytearray()

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def roundtrip(self, req: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(req)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip().lower()
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            body = bytes(self.buf[:n])
            del self.buf[:n]
        elif "chunked" in headers.get("transfer-encoding", ""):
            body = self._read_chunked()
        else:  # read to close
            with contextlib.suppress(ConnectionError):
                while True:
                    self._fill()
            body = bytes(self.buf)
            self.close()
            return status, body
        if headers.get("connection") == "close":
            self.close()
        return status, body

    def _read_chunked(self) -> bytes:
        out = bytearray()
        for _ in range(1_000_000):
            while (eol := self.buf.find(b"\r\n")) < 0:
                self._fill()
            size = int(bytes(self.buf[:eol]).split(b";")[0], 16)
            del self.buf[: eol + 2]
            while len(self.buf) < size + 2:
                self._fill()
            out += self.buf[:size]
            del self.buf[: size + 2]
            if size == 0:
                return bytes(out)
        raise ConnectionError("endless chunked body")


def build_pool(spec: ClientSpec, n: int, worker: int, thread: int) -> list[bytes]:
    crypt = PeerCrypt(spec.token, spec.aes_key, "")
    ts = str(int(time.time()))
    out = []
    for i in range(n):
        msgid = f"bench-{spec.run_tag}-{worker}-{thread}-{i}"
        xml, _ = robot_text_xml(PAYLOAD, msgid=msgid, webhook_url=spec.webhook_url)
        encrypt = crypt.encrypt(xml)
        nonce = new_nonce()
        q = urllib.parse.urlencode({"msg_signature": crypt.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce})
        body = envelope_xml(encrypt).encode()
        out.append(
            f"POST {PATH}?{q} HTTP/1.1\r\nHost: {HOST}:{spec.port}\r\n"
            f"Content-Type: text/xml; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return out


def client_process(spec: ClientSpec, worker: int, ready: Any, go: Any, deadline: Any, results: Any) -> None:
    """One client process: build pools, connect + warm up, wait for go, run until the shared deadline."""
    pools = [build_pool(spec, spec.per_thread + WARMUP_PER_CONN, worker, t) for t in range(spec.threads)]
    warm = threading.Barrier(spec.threads + 1)
    start = threading.Event()
    out: list[dict[str, Any]] = [{} for _ in range(spec.threads)]

    def run(t: int) -> None:
        pool = pools[t]
        conn = RawConn(spec.port)
        errors: Counter[str] = Counter()
        lat = array.array("d")
        samples: list[bytes] = []
        ok = 0
        try:
            for w in range(WARMUP_PER_CONN):
                try:
                    conn.roundtrip(pool[w])
                except (OSError, ValueError):
                    conn.close()
        finally:
            warm.wait(timeout=120)
        i = WARMUP_PER_CONN
        start.wait(timeout=120)
        end = deadline.value
        rng = random.Random(f"{spec.run_tag}-{worker}-{t}")
        exhausted = False
        while time.monotonic() < end:
            if i >= len(pool):
                exhausted = True
                break
            req = pool[i]
            i += 1
            t0 = time.perf_counter()
            try:
                status, body = conn.roundtrip(req)
            except (OSError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                conn.close()
                if sum(errors.values()) >= MAX_ERRORS_PER_THREAD:
                    break
                continue
            t1 = time.perf_counter()
            if time.monotonic() > end:
                break  # finished after the window: not counted
            if status != 200:
                errors[f"http{status}"] += 1
                if sum(errors.values()) >= MAX_ERRORS_PER_THREAD:
                    break
                continue
            ok += 1
            lat.append(t1 - t0)
            if len(samples) < SAMPLES_PER_THREAD:  # reservoir: a uniform sample of the whole window
                samples.append(body)
            elif (j := rng.randrange(ok)) < SAMPLES_PER_THREAD:
                samples[j] = body
        conn.close()
        out[t] = {
            "ok": ok,
            "lat": lat.tobytes(),
            "errors": dict(errors),
            "samples": samples,
            "exhausted": exhausted,
        }

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(spec.threads)]
    for th in threads:
        th.start()
    warm.wait(timeout=120)
    ready.put(worker)
    if not go.wait(timeout=120):
        return
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start.set()
    for th in threads:
        th.join(timeout=spec.seconds + 30)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    results.put((worker, out, cpu))


# ================================================================ measurement (parent)


@dataclass
class RunResult:
    server: str
    conns: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_kinds: dict[str, int]
    sampled: int
    verified: int
    empty: int
    exhausted: bool
    client_cpu_pct: float
    server_cpu_ms: float  # server CPU (master + workers) per answered callback over the window
    server_sys_ms: float  # the part of it spent in the kernel
    example: str = ""  # a decrypted reply (a failed one if any failed)


def percentile(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, math.ceil(q / 100 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def verify_sample(crypt: PeerCrypt, body: bytes, expect: str | None) -> tuple[str, str]:
    """('ok' | 'empty' | 'bad', plaintext): signature, ciphertext, receive id and reply XML all check out."""
    try:
        plain = open_robot_reply(crypt, body)
    except Exception as exc:  # noqa: BLE001 - any failure is a failed verification
        return "bad", f"{type(exc).__name__}: {exc}"
    if not plain:
        return "empty", ""
    try:
        root = ET.fromstring(plain)
    except ET.ParseError:
        return "bad", plain
    if root.findtext("MsgType") is None:
        return "bad", plain
    if expect is not None and expect not in "".join(root.itertext()):
        return "bad", plain
    return "ok", plain


def cpu_seconds(root: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process tree so far, from /proc (0 where unreadable)."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in [root, *descendants(root)]:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return user / tick, system / tick


def run_load(
    server: str,
    server_pid: int,
    port: int,
    conns: int,
    args: argparse.Namespace,
    crypt: PeerCrypt,
    webhook_url: str,
    expect: str | None,
) -> RunResult:
    procs_n = args.client_procs
    procs_n = max(1, min(procs_n, conns))
    per_thread = math.ceil(args.seconds * min(args.max_rate / conns, PER_CONN_RATE_CAP))
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    deadline = ctx.Value("d", 0.0)
    tag = uuid.uuid4().hex[:10]
    children = []
    for w in range(procs_n):
        threads = conns // procs_n + (1 if w < conns % procs_n else 0)
        spec = ClientSpec(port, crypt.token, crypt.aes_key, threads, per_thread, args.seconds, tag, webhook_url)
        p = ctx.Process(target=client_process, args=(spec, w, ready, go, deadline, results), daemon=True)
        p.start()
        children.append(p)
    outs: list[dict[str, Any]] = []
    client_cpu = 0.0
    try:
        for _ in children:
            ready.get(timeout=300)  # pools built, connections warm
        deadline.value = time.monotonic() + 0.05 + args.seconds
        server_cpu0 = cpu_seconds(server_pid)
        go.set()
        for _ in children:
            _, out, cpu = results.get(timeout=args.seconds + 90)
            outs.extend(out)
            client_cpu += cpu
        server_cpu1 = cpu_seconds(server_pid)
        server_user, server_sys = (b - a for a, b in zip(server_cpu0, server_cpu1, strict=True))
    except queue.Empty:
        raise RuntimeError(f"{server}: client processes did not report in time") from None
    finally:
        for p in children:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    lat: list[float] = []
    errors: Counter[str] = Counter()
    ok = 0
    samples: list[bytes] = []
    exhausted = False
    for o in outs:
        if not o:
            errors["thread-lost"] += 1
            continue
        ok += o["ok"]
        a = array.array("d")
        a.frombytes(o["lat"])
        lat.extend(a)
        errors.update(o["errors"])
        samples.extend(o["samples"])
        exhausted |= o["exhausted"]
    lat.sort()
    checked = [verify_sample(crypt, b, expect) for b in samples]
    verdicts = Counter(v for v, _ in checked)
    example = next((p for v, p in checked if v == "bad"), "") or next((p for _, p in checked if p), "")
    return RunResult(
        server,
        conns,
        ok / args.seconds,
        percentile(lat, 50) * 1000,
        percentile(lat, 99) * 1000,
        sum(errors.values()),
        dict(errors),
        len(samples),
        verdicts["ok"],
        verdicts["empty"],
        exhausted,
        100 * client_cpu / args.seconds,
        1000 * (server_user + server_sys) / ok if ok else float("nan"),
        1000 * server_sys / ok if ok else float("nan"),
        example,
    )


# ================================================================ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    memory: list[tuple[int, int | None, int]] = field(default_factory=list)  # (rss_kb, pss_kb|None, nprocs)


def start_server(name: str, cmd: list[str], env: dict[str, str], port: int, log: Path, cwd: Path) -> Server:
    fh = log.open("wb")
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=fh,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    fh.close()
    server = Server(name, port, proc, log)
    try:
        wait_healthy(server, timeout=60)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_healthy(server: Server, timeout: float) -> None:
    import http.client

    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{tail(server.log)}")
        try:
            c = http.client.HTTPConnection(HOST, server.port, timeout=2)
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
            last = f"HTTP {r.status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not healthy after {timeout}s ({last}):\n{tail(server.log)}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGTERM)
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=5)


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def memory_of(root: int) -> tuple[int, int | None, int]:
    """(sum RSS kB, sum PSS kB or None if smaps_rollup is unreadable, process count) of a process tree."""
    rss, pss, pss_ok, n = 0, 0, True, 0
    for pid in descendants(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                    n += 1
        except OSError:
            continue
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pss_ok = False
    return rss, (pss if pss_ok else None), n


def ensure_peer_venv() -> Path:
    gunicorn = PEER_VENV / "bin" / "gunicorn"
    py = PEER_VENV / "bin" / "python"
    probe = [
        str(py),
        "-c",
        "import wecom_bot_svr, gunicorn, importlib.metadata as m; assert m.version('wecom-bot-svr') == '0.3.4'",
    ]
    if gunicorn.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return gunicorn
    print(f"setting up {PEER_VENV} (first run) ...", flush=True)
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PEER_REQS], check=True)
    return gunicorn


SQLITE_SYNCHRONOUS = "FULL"  # --sqlite-synchronous; FULL is the project's default


def frontline_config(tmp: Path, token: str, aes_key: str, webhook_url: str) -> Path:
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    name, region = "张伟", "华东"
    text = f"""\
wecom:
  token: {q(token)}
  encoding_aes_key: {q(aes_key)}
  receive_id: ""
  webhook_url: {q(webhook_url)}
database:
  url: {q("sqlite:///" + str(tmp / "bench.db"))}
  sqlite_synchronous: {SQLITE_SYNCHRONOUS}
timezone: "Asia/Shanghai"
chats: []
team:
  members:
    - userid: "zhangwei"
      name: {q(name, ensure_ascii=False)}
      role: "rep"
      region: {q(region, ensure_ascii=False)}
"""
    path = tmp / "frontline-bench.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def gunicorn_settings(port: int) -> list[str]:
    """What `frontline serve` sets, for the servers the bench starts with gunicorn's own command."""
    return [
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--keep-alive",
        "30",
        "--worker-class",
        "gthread",
    ]


@contextlib.contextmanager
def serving(name: str, tmp: Path, crypt: PeerCrypt, webhook_url: str) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTLINE_", "WX_BOT_"))}
    if name == "frontline":
        if not FRONTLINE_BIN.exists():
            raise RuntimeError(f"{FRONTLINE_BIN} not found: install the project (pip install -e .) or use --only peer")
        env["FRONTLINE_CONFIG"] = str(frontline_config(tmp, crypt.token, crypt.aes_key, webhook_url))
        cmd = [
            str(FRONTLINE_BIN),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--no-scheduler",
        ]
    elif name in ("store", "least"):
        own = tmp / name  # its own database, apart from frontline's
        own.mkdir(exist_ok=True)
        env["FRONTLINE_CONFIG"] = str(frontline_config(own, crypt.token, crypt.aes_key, webhook_url))
        env.update(PYTHONPATH=str(REPO), LEAST_UNDERSTAND="1" if name == "least" else "0")
        cmd = [str(GUNICORN_BIN), *gunicorn_settings(port), "--chdir", str(REPO / "bench"), "least_app:app"]
    elif name in ("floor", "bare"):
        env.update(FLOOR_TOKEN=crypt.token, FLOOR_AES_KEY=crypt.aes_key, PYTHONPATH=str(REPO))
        bench_dir = str(REPO / "bench")
        target = "floor_app:app" if name == "floor" else "floor_app:bare"
        cmd = [str(GUNICORN_BIN), *gunicorn_settings(port), "--preload", "--chdir", bench_dir, target]
    else:
        gunicorn = ensure_peer_venv()
        app_dir = tmp / "peer"
        app_dir.mkdir(exist_ok=True)
        (app_dir / "peer_app.py").write_text(PEER_APP, encoding="utf-8")
        env.update(WX_BOT_TOKEN=crypt.token, WX_BOT_AES_KEY=crypt.aes_key, WX_BOT_CORP_ID="", WX_BOT_KEY="bench")
        cmd = [str(gunicorn), *gunicorn_settings(port), "--chdir", str(app_dir), "peer_app:app"]
    server = start_server(name, cmd, env, port, tmp / f"{name}.log", tmp)
    try:
        yield server
    finally:
        stop_server(server)


# ================================================================ report


def median_result(runs: list[RunResult]) -> RunResult:
    if len(runs) == 1:
        return runs[0]
    kinds: Counter[str] = Counter()
    for r in runs:
        kinds.update(r.error_kinds)
    return RunResult(
        runs[0].server,
        runs[0].conns,
        statistics.median(r.rate for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        int(statistics.median(r.errors for r in runs)),
        dict(kinds),
        sum(r.sampled for r in runs),
        sum(r.verified for r in runs),
        sum(r.empty for r in runs),
        any(r.exhausted for r in runs),
        statistics.median(r.client_cpu_pct for r in runs),
        statistics.median(r.server_cpu_ms for r in runs),
        statistics.median(r.server_sys_ms for r in runs),
        runs[-1].example,
    )


def fmt_row(r: RunResult, repeat: int) -> str:
    verify = f"{r.verified}/{r.sampled}" + (f" ({r.empty} empty)" if r.empty else "")
    kinds = (" " + ",".join(f"{k}={v}" for k, v in sorted(r.error_kinds.items()))) if r.error_kinds else ""
    warn = "  POOL EXHAUSTED: raise --max-rate" if r.exhausted else ""
    tag = f" (median of {repeat})" if repeat > 1 else ""
    return (
        f"{r.server:<10} conns={r.conns:<3} {r.rate:8.0f} cb/s  "
        f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:7.2f} ms  "
        f"errors {r.errors}{kinds}  verified {verify}  "
        f"server cpu {r.server_cpu_ms:.2f} ms/cb ({r.server_sys_ms:.2f} sys)  "
        f"client cpu {r.client_cpu_pct:.0f}%{tag}{warn}"
    )


def fmt_mem(mem: list[tuple[int, int | None, int]]) -> str:
    rss = statistics.median(m[0] for m in mem) / 1024
    pss_vals = [m[1] for m in mem if m[1] is not None]
    pss = f", PSS {statistics.median(pss_vals) / 1024:.1f} MiB" if len(pss_vals) == len(mem) else ""
    return f"RSS {rss:.1f} MiB{pss} over {mem[-1][2]} processes"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="timed window per run (default 8)")
    ap.add_argument("--conns", default="1,8,32", help="comma-separated connection counts (default 1,8,32)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration; medians are reported")
    ap.add_argument("--only", choices=["peer", "frontline"], help="benchmark one server only")
    ap.add_argument("--skip-peer", action="store_true", help="same as --only frontline")
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also run Frontline's edge doing only the peer's job (the HTTP server + cipher cost) and the "
        "HTTP server alone (bench/floor_app.py)",
    )
    ap.add_argument(
        "--least",
        action="store_true",
        help="also run Frontline's callback service with one handler that only acknowledges, storing each "
        "message (store) and also parsing it (least): bench/least_app.py",
    )
    ap.add_argument(
        "--sqlite-synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="Frontline's database.sqlite_synchronous (FULL: answered messages survive a power cut)",
    )
    ap.add_argument(
        "--max-rate",
        type=float,
        default=None,
        help="sizes the pre-built pool (callbacks/s, total; default 6000, 12000 with --floor)",
    )
    ap.add_argument(
        "--client-procs", type=int, default=1, help="client processes (default 1; the machine has few cores)"
    )
    a = ap.parse_args(argv)
    try:
        a.conn_list = sorted({int(c) for c in a.conns.split(",") if c.strip()})
    except ValueError:
        ap.error("--conns takes integers, e.g. 1,8,32")
    if not a.conn_list or not all(1 <= c <= MAX_CONNS for c in a.conn_list):
        ap.error(f"--conns must be between 1 and {MAX_CONNS}")
    if not 0.5 <= a.seconds <= MAX_SECONDS:
        ap.error(f"--seconds must be between 0.5 and {MAX_SECONDS}")
    if not 1 <= a.client_procs <= 8:
        ap.error("--client-procs must be between 1 and 8")
    if not 1 <= a.repeat <= 10:
        ap.error("--repeat must be between 1 and 10")
    if a.only == "peer" and a.skip_peer:
        ap.error("--only peer contradicts --skip-peer")
    a.targets = [a.only] if a.only else (["frontline"] if a.skip_peer else ["frontline", "peer"])
    if a.least:
        a.targets += ["least", "store"]
    if a.floor:
        a.targets += ["floor", "bare"]
    if a.max_rate is None:
        a.max_rate = 12000.0 if a.floor else 6000.0  # the floor answers fast enough to run 6000/s dry
    return a


def main(argv: list[str] | None = None) -> int:
    global SQLITE_SYNCHRONOUS
    args = parse_args(argv)
    SQLITE_SYNCHRONOUS = args.sqlite_synchronous
    crypt = PeerCrypt("bench-" + uuid.uuid4().hex[:12], new_aes_key(), "")
    expect = {"peer": "收到", "floor": "收到", "bare": "收到", "store": "收到", "least": "收到", "frontline": None}
    table: dict[tuple[str, int], RunResult] = {}
    memory: dict[str, list[tuple[int, int | None, int]]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="frontline-bench-"))
    print(
        f"bench: {', '.join(args.targets)}; conns {args.conn_list}; {args.seconds:g}s x {args.repeat}; "
        f"gunicorn gthread {WORKERS} workers x {THREADS} threads on {HOST}; {os.cpu_count()} CPUs; "
        f"frontline sqlite synchronous={SQLITE_SYNCHRONOUS}",
        flush=True,
    )
    try:
        with FakeWeCom() as sink, contextlib.ExitStack() as stack:
            webhook_url = sink.webhook_url("bench")
            # Both servers run side by side (the idle one costs nothing) and their runs alternate,
            # so a slow minute of this shared machine falls on both instead of on one.
            servers = {name: stack.enter_context(serving(name, tmp, crypt, webhook_url)) for name in args.targets}
            runs: dict[tuple[str, int], list[RunResult]] = {}
            for conns in args.conn_list:
                for _ in range(args.repeat):
                    for name, server in servers.items():
                        pid, port = server.proc.pid, server.port
                        run = run_load(name, pid, port, conns, args, crypt, webhook_url, expect[name])
                        runs.setdefault((name, conns), []).append(run)
                        if conns == max(args.conn_list):
                            memory.setdefault(name, []).append(memory_of(server.proc.pid))
                for name in servers:
                    table[(name, conns)] = median_result(runs[(name, conns)])
                    print(fmt_row(table[(name, conns)], args.repeat), flush=True)
            for name, server in servers.items():
                last = table[(name, args.conn_list[-1])]
                if last.example:
                    print(f"{name:<10} a sampled reply: {' '.join(last.example.split())[:200]}", flush=True)
                if server.proc.poll() is not None:
                    print(f"warning: {name} exited during the run:\n{tail(server.log)}")
                print(
                    f"{name:<10} memory after the {max(args.conn_list)}-connection run: {fmt_mem(memory[name])}",
                    flush=True,
                )
            if sink.posts:
                print(f"webhook sink received {len(sink.posts)} posts")
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "peer" in args.targets:
        for name in ("frontline", "least", "store"):
            for conns in (8, 32):
                f, p = table.get((name, conns)), table.get(("peer", conns))
                if f and p and p.rate:
                    print(f"ratio {name}/peer at {conns} conns: {f.rate / p.rate:.2f}")
    if "frontline" in args.targets and "floor" in args.targets:
        for conns in args.conn_list:
            f, fl = table.get(("frontline", conns)), table.get(("floor", conns))
            if f and fl:
                print(
                    f"frontline's own work at {conns} conns (server cpu over the floor's): "
                    f"{f.server_cpu_ms - fl.server_cpu_ms:.2f} ms/cb"
                )
    if {"frontline", "peer", "bare"} <= set(args.targets):
        print(app_budget(table, args.conn_list))
    return 0


def app_budget(table: dict[tuple[str, int], RunResult], conn_list: list[int], target: float = 1.3) -> str:
    """What each application costs over the bare HTTP server, and what Frontline's may cost for `target`.

    On a machine the servers saturate, callbacks/s go as the inverse of server cpu per callback,
    so a ratio of `target` needs (server + frontline app) <= (server + peer app) / target.
    """
    lines = [
        "application cpu over the bare HTTP server (ms/cb), and what frontline's may cost for "
        f"{target:g}x the peer with this server:"
    ]
    for conns in conn_list:
        f, p, b = (table.get((n, conns)) for n in ("frontline", "peer", "bare"))
        if not (f and p and b):
            continue
        server = b.server_cpu_ms
        budget = p.server_cpu_ms / target - server  # (server + peer app) / target - server
        steps = "".join(
            f"  {n} app {r.server_cpu_ms - server:.2f}"
            for n in ("floor", "store", "least")
            if (r := table.get((n, conns))) is not None
        )
        lines.append(
            f"  conns={conns:<3} server alone {server:.2f}  peer app {p.server_cpu_ms - server:.2f}  "
            f"frontline app {f.server_cpu_ms - server:.2f}{steps}  budget {budget:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
