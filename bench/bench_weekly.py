"""The Friday report over a large database: seconds to build `weekly_report`, median of several runs.

    python bench/bench_weekly.py [--visits 1000000] [--runs 5] [--db PATH]

Builds a temporary SQLite database (WAL, as the bot runs it) with two years of a 200-rep
team's records — 1,000,000 visits by default, 20,000 customers, 50,000 opportunities with
their stage changes, 20,000 urgent demands and 20,000 competitor reports — by bulk inserts on
the driver, then times `JOBS["weekly_report"].build` for Friday 27 Nov 2026 15:30 (about
9,000 visits fall in that week), and the other report-like jobs once each for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlmodel import Session  # noqa: E402

from bot.db import create_schema, make_engine  # noqa: E402
from bot.jobs import JOBS, JobContext  # noqa: E402
from bot.render import Renderer  # noqa: E402
from bot.settings import settings_from_dict  # noqa: E402
from bot.workdays import WorkCalendar  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 27, 15, 30, tzinfo=TZ)  # a Friday
SPAN_DAYS = 730
REGIONS = ["华东", "华南", "华北", "华中", "西南", "西北", "东北", "京津"]
LEVELS = ["三甲", "三级", "二级", "一级", "社区", "民营", None]
ROLES = ["决策者", "采购", "技术把关", "财务", "科室负责人", "使用者", "影响者", None]
PAINS = [
    "CT老化，图像不清楚", "呼吸机不够用", "监护仪故障频繁", "希望加强培训", "耗材匹配度需优化", "预算紧张，价格偏贵",
    "彩超排队时间长", "生化仪速度慢", "售后响应慢", "新院区筹备，需要整套监护系统", "输液泵数量不够", "内镜清洗消毒",
    "DR升级", "血气分析仪试剂断货", "需要对接HIS接口", "暂无明确需求", None, None,
]  # fmt: skip
BRANDS = ["迈瑞", "联影", "GE", "西门子", "飞利浦", "理邦", "宝莱特", "鱼跃", "开立", "东软"]
PRODUCTS = ["呼吸机", "监护仪", "除颤仪", "血糖仪", "输液泵", "彩超", "麻醉机", "试纸"]
STAGES = ["线索", "意向", "方案", "报价", "招标", "签约"]


def ts(value: datetime) -> str:
    """How SQLAlchemy stores a UTCDateTime on SQLite: naive UTC text with microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def fast_times(rng: random.Random, n: int) -> list[str]:
    """`n` stored timestamps at working hours (08:00-18:00 local) over SPAN_DAYS before AT."""
    bases = [
        datetime.combine(AT.date() - timedelta(days=d), datetime.min.time(), TZ).astimezone(UTC).replace(tzinfo=None)
        for d in range(SPAN_DAYS)
    ]
    limit = ts(AT - timedelta(minutes=1))
    r = rng.random
    out = []
    for _ in range(n):
        t = (bases[int(r() * SPAN_DAYS)] + timedelta(seconds=28_800 + r() * 36_000)).isoformat(" ", "microseconds")
        out.append(t if t < limit else limit)
    return out


def random_time(rng: random.Random, days_back: float) -> datetime:
    """A working-hours moment within `days_back` days before AT."""
    day = (AT - timedelta(days=rng.random() * days_back)).date()
    moment = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=8 + rng.random() * 10)
    return min(moment, AT - timedelta(minutes=1))


def seed(db: Path, visits: int, rng: random.Random) -> dict[str, int]:
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    engine.dispose()
    # A loader's connection: no journal, no fsync, and the big table's indexes built after its rows.
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA journal_mode=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-400000")
    visit_indexes = [
        (name, sql)
        for name, sql in raw.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='visit'")
        if sql
    ]
    for name, _sql in visit_indexes:
        raw.execute(f"DROP INDEX {name}")
    cur = raw.cursor()
    cur.execute("BEGIN")
    counts: dict[str, int] = {}

    members = []
    for i in range(200):
        members.append(
            (f"rep{i:03d}", f"销售{i:03d}", "rep", REGIONS[i % len(REGIONS)], 1, ts(AT - timedelta(days=800)), "")
        )
    for i, region in enumerate(REGIONS):
        members.append((f"lead{i}", f"组长{i}", "leader", region, 1, ts(AT - timedelta(days=800)), ""))
    members.append(("boss", "经理", "admin", "", 1, ts(AT - timedelta(days=800)), ""))
    cur.executemany(
        "INSERT INTO member (userid, name, role, region, active, created_at, mobile) VALUES (?,?,?,?,?,?,?)", members
    )
    counts["members"] = len(members)

    n_customers = 20_000
    customers = []
    for i in range(n_customers):
        created = random_time(rng, SPAN_DAYS) if i >= 120 else random_time(rng, 4.6)  # ~120 new this week
        customers.append((f"客户{i:05d}医院", rng.choice(LEVELS), rng.choice(REGIONS), ts(created)))
    cur.executemany("INSERT INTO customer (name, level, region, created_at) VALUES (?,?,?,?)", customers)
    counts["customers"] = n_customers

    reps = [m[0] for m in members if m[2] == "rep"]
    sql = (
        "INSERT INTO visit (member, customer_id, decision_role, pain_points, competitor, next_action, first_visit,"
        " complete, visited_at, raw_text) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    r = rng.random
    done = 0
    while done < visits:
        n = min(100_000, visits - done)
        batch = []
        for when in fast_times(rng, n):
            role, pain = ROLES[int(r() * len(ROLES))], PAINS[int(r() * len(PAINS))]
            competitor = BRANDS[int(r() * len(BRANDS))] if r() < 0.7 else None
            action = "下周带方案" if r() < 0.8 else None
            complete = int(bool(role and pain and competitor and action))
            member, customer_id = reps[int(r() * len(reps))], 1 + int(r() * n_customers)
            batch.append((member, customer_id, role, pain, competitor, action, 0, complete, when, ""))
        cur.executemany(sql, batch)
        done += n
    counts["visits"] = visits

    opps, changes = [], []
    for oid in range(1, 50_001):
        opened = random_time(rng, SPAN_DAYS)
        when, stage, history = opened, "线索", [(None, "线索", opened)]
        for nxt in STAGES[1 : rng.randint(1, len(STAGES))]:
            step = when + timedelta(days=rng.uniform(2, 40))
            if step >= AT:
                break
            when = step
            history.append((stage, nxt, when))
            stage = nxt
        step = when + timedelta(days=rng.uniform(2, 60))
        if stage != "签约" and rng.random() < 0.6 and step < AT:
            when = step
            history.append((stage, "丢单", when))
            stage = "丢单"
        closed = ts(when) if stage in ("签约", "丢单") else None
        opps.append((rng.randint(1, n_customers), stage, rng.choice(["影像类", "生命支持", "检验类", None]),
                     ts(opened), ts(when), closed))  # fmt: skip
        changes += [(oid, a, b, ts(t), "") for a, b, t in history]
    cur.executemany(
        "INSERT INTO opportunity (customer_id, stage, product_line, opened_at, updated_at, closed_at)"
        " VALUES (?,?,?,?,?,?)",
        opps,
    )
    cur.executemany(
        "INSERT INTO stage_change (opportunity_id, from_stage, to_stage, changed_at, changed_by) VALUES (?,?,?,?,?)",
        changes,
    )
    counts["opportunities"], counts["stage_changes"] = len(opps), len(changes)

    urgent = []
    for _ in range(20_000):
        created = random_time(rng, SPAN_DAYS)
        items = json.dumps([{"product": rng.choice(PRODUCTS), "quantity": rng.randint(1, 9), "unit": "台"}],
                           ensure_ascii=False)  # fmt: skip
        status = "done" if created < AT - timedelta(days=2) else rng.choice(["open", "taken", "done"])
        urgent.append((rng.choice(reps), rng.choice(REGIONS), rng.randint(1, n_customers), items, status, 2,
                       ts(created), ""))  # fmt: skip
    cur.executemany(
        "INSERT INTO urgent (member, region, customer_id, items, status, escalation, created_at, raw_text)"
        " VALUES (?,?,?,?,?,?,?,?)",
        urgent,
    )
    counts["urgent"] = len(urgent)

    intel = [
        (rng.choice(reps), rng.choice(REGIONS), rng.randint(1, n_customers), rng.choice(BRANDS), "买设备送耗材",
         ts(random_time(rng, SPAN_DAYS)), "")
        for _ in range(20_000)
    ]  # fmt: skip
    cur.executemany(
        "INSERT INTO competitor (member, region, customer_id, brand, activity, reported_at, raw_text)"
        " VALUES (?,?,?,?,?,?,?)",
        intel,
    )
    counts["competitor"] = len(intel)
    cur.execute("COMMIT")
    for _name, sql in visit_indexes:
        raw.execute(sql)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    return counts


def time_job(engine: object, settings: object, name: str, runs: int) -> tuple[float, list[float], int, int]:
    renderer = Renderer(TZ)
    calendar = WorkCalendar()
    times: list[float] = []
    posts = []
    for _ in range(runs):
        with Session(engine) as s:  # type: ignore[arg-type]
            ctx = JobContext(session=s, settings=settings, calendar=calendar, renderer=renderer, at=AT)  # type: ignore[arg-type]
            start = time.perf_counter()
            posts = JOBS[name].build(ctx)
            times.append(time.perf_counter() - start)
            s.rollback()  # measure content only; leave marks (reminders, escalations) unwritten
    size = max((len(p.content.encode()) for p in posts), default=0)
    return statistics.median(times), times, len(posts), size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", type=Path, help="keep the database here (default: a temporary directory)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        if db.exists():
            print(f"using existing {db}")
        else:
            start = time.perf_counter()
            counts = seed(db, args.visits, random.Random(args.seed))
            print(
                f"seeded in {time.perf_counter() - start:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            )
        settings = settings_from_dict({"timezone": "Asia/Shanghai"})
        engine = make_engine(f"sqlite:///{db}")
        median, times, n_posts, size = time_job(engine, settings, "weekly_report", args.runs)
        print(
            f"weekly_report over {args.visits:,} visits: {median:.3f} s median of {args.runs} "
            f"(runs: {', '.join(f'{t:.3f}' for t in times)}); {n_posts} posts, largest {size:,} bytes"
        )
        for name in ("morning_agenda", "crm_deadline", "eod_review", "followups", "urgent_escalation"):
            median, _times, n_posts, _size = time_job(engine, settings, name, 3)
            print(f"  {name}: {median:.3f} s, {n_posts} posts")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
