"""`frontline demo`: the scripted day goes through the real path and reads like the group's day."""

from __future__ import annotations

import io
from pathlib import Path

from bot.demo import run_demo


def test_the_demo_day_reads_like_the_group(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(out, tmp_path) == 0
    text = out.getvalue()
    # In order, with times: the stand-up agenda names yesterday's key customer and today's trip ...
    agenda = text.index("[12-02 08:30] 前线助手（群消息）")
    assert text.index("省人民医院 心内科 张主任", agenda) < text.index("张伟 → 市第一人民医院", agenda)
    # ... a visit with missing items is asked about and completed by the answer ...
    assert "还缺：**需求痛点、竞品情况**" in text and "已补上需求痛点、竞品情况" in text
    # ... an urgent need alerts the on-duty and the leader, and escalates when nobody takes it ...
    assert "🚨 急需 #1" in text and "<@zhaolei> <@chenjing>" in text and "无人接单" in text
    # ... until someone takes it: then the group is told, and escalation stops.
    assert "急需 #1 已由王强接单" in text and "[12-02 10:45]" not in text
    # ... and the evening chase mentions only the rep who has not reviewed.
    chase = text[text.index("[12-02 18:00]") :]
    assert "<@wangqiang>" in chase and "<@zhangwei>" not in chase.split("[12-02 19:00]")[0]
    assert (tmp_path / "demo.db").exists()
