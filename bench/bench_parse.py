"""Parser speed: messages per second on one core, and import + first parse in a fresh process.

    python bench/bench_parse.py [MESSAGES.jsonl] [--rounds N] [--seconds S]

MESSAGES defaults to ../shared/data/messages-dev.jsonl beside the repository;
without it a small built-in set of varied messages is used. Each round parses
the whole set repeatedly for about S seconds; the figure printed is the median
of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SET = REPO.parent / "shared" / "data" / "messages-dev.jsonl"

_NOW = "2026-11-11T10:00:00+08:00"
BUILT_IN = [
    "收到👌",
    "@前线助手 急！县人民医院手术室今晚要两台麻醉机，谁手上有货？",
    "拜访市三院骨科赵主任，科里的C臂老化严重，图像不清楚，想明年更新。目前用的是西门子的。下周五前把方案发给赵主任",
    "【拜访】客户：王家镇卫生院\n科室：全科\n联系人：周院长\n痛点：没有心电图机\n竞品：无\n下一步：下周二带报价",
    "听说联影在市中医院搞促销，CT打八折，大家留意",
    "报备：明天一早直接去省妇幼保健院送资料，不回公司了",
    "11月20日至11月22日休年假，工作交给张敏",
    "今日复盘：目标拜访5家，只完成了3家，原因是客户临时开会，补救：明天上午再去",
    "市人民医院设备科刘科长说今年还有三百万预算，打算采购一批监护仪，迈瑞和理邦都报过价了，让我们月底前投标",
    "仁济医院ICU马上要10台输液泵、5台监护仪，3个工作日内必须到",
    "和附一院心内科的刘主任沟通，科里想上一套中央监护系统，竞品飞利浦也在跟，下下周一给方案",
    "请问明天的周会几点开？",
]

_FIRST_PARSE = """
import sys, time
t = time.perf_counter()
from datetime import datetime
from bot.parse import parse
parse("市一院ICU急需3台呼吸机，明天上午要到", datetime.fromisoformat("2026-11-11T10:00:00+08:00"))
print(time.perf_counter() - t, "cn2an" in sys.modules)
"""


def load_messages(path: Path | None) -> tuple[list[tuple[str, datetime]], str]:
    if path is not None and path.exists():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [(r["text"], datetime.fromisoformat(r["now"])) for r in rows], str(path)
    now = datetime.fromisoformat(_NOW).astimezone(timezone(timedelta(hours=8)))
    return [(text, now) for text in BUILT_IN], "built-in messages"


def first_parse_in_fresh_process() -> tuple[float, float, bool]:
    """(seconds for import + first parse inside the process, wall seconds of the whole process, cn2an loaded)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_PARSE], capture_output=True, text=True, check=True, cwd=REPO, env=env
    )
    wall = time.perf_counter() - start
    inner, cn2an_loaded = out.stdout.split()
    return float(inner), wall, cn2an_loaded == "True"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("messages", nargs="?", type=Path, default=DEFAULT_SET)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=1.0, help="length of one round")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from bot.parse import parse

    messages, source = load_messages(args.messages)
    for text, now in messages:  # warm up, and make sure every message parses
        parse(text, now)

    rates: list[float] = []
    for _ in range(args.rounds):
        count = 0
        start = time.perf_counter()
        while True:
            for text, now in messages:
                parse(text, now)
            count += len(messages)
            elapsed = time.perf_counter() - start
            if elapsed >= args.seconds:
                break
        rates.append(count / elapsed)

    inner, wall, cn2an_loaded = first_parse_in_fresh_process()
    print(f"messages: {len(messages)} from {source}")
    print(
        f"throughput: {statistics.median(rates):,.0f} messages/s (median of {args.rounds} rounds; "
        f"min {min(rates):,.0f}, max {max(rates):,.0f}), one thread on one core"
    )
    print(
        f"import + first parse: {inner:.3f} s in a fresh process ({wall:.3f} s with interpreter start-up); "
        f"cn2an imported: {'yes' if cn2an_loaded else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
