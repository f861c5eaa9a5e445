"""Spoken self-corrections: the value the rep took back is not the one filed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.parse import parse

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=timezone(timedelta(hours=8)))  # a Wednesday


@pytest.mark.parametrize(
    ("text", "name", "want"),
    [
        ("拜访了市一院设备科，不对，是信息科的马工，想做数据对接，下周一我发方案", "department", "信息科"),
        ("刚见了省人医心内科王主任，哦说错了，是汪主任，想换监护仪，下周发报价", "contact", "汪主任"),
        ("明天直接去城南医院，哦不对，是去城北医院，送样机，不到公司了", "customer", "城北医院"),
        (
            "市二院急诊科急需呼吸机两台，噢不对，三台，明天就要",
            "items",
            [{"product": "呼吸机", "quantity": 3, "unit": "台"}],
        ),
        ("见了县医院设备科李科长，说想换彩超，我周四，不对，周五把报价送过去", "due", "2026-11-13"),
        ("见了县医院设备科李科长，说想换彩超，约了下周一，呃不是，下周二带样机", "due", "2026-11-17"),
        ("见了县医院设备科的那个李科长哦不是李科长是黎科长，说想换彩超，下周二带样机", "contact", "黎科长"),
        ("见了县医院设备科李科长，说想换彩超，让我们下周二哦不下周一带样机过去", "due", "2026-11-16"),
        ("见了县医院设备科李科长，说想换彩超，让我们这周五，呃，周四带样机过去", "due", "2026-11-12"),
        ("报备：明天直接去城南医院，呃，是城北医院，不是城南，不到公司了", "customer", "城北医院"),
        # a day taken back a few words after it was said
        ("见了县医院设备科李科长，想换彩超，约了下周二去演示，刚才说错了，是下周三，周二她开会", "due", "2026-11-18"),
        ("报备：下周一去滨江医院CCU，不对，是下周二，周一要开例会。一早直接过去", "due", "2026-11-17"),
    ],
)
def test_the_value_after_a_correction_is_the_one_filed(text: str, name: str, want: object) -> None:
    assert parse(text, NOW)[name] == want


@pytest.mark.parametrize(
    ("text", "name", "want"),
    [
        ("拜访了市一院设备科王主任，他说报价不对，让我们周五重新报", "contact", "王主任"),
        ("拜访了市一院设备科王主任，他说报价不对，让我们周五重新报", "due", "2026-11-13"),
        ("见了省人医心内科张主任，说现在用的不是GE的，是飞利浦的", "customer", "省人医"),
        ("市一院设备科王主任说不对，这事得找李主任", "contact", "王主任"),
        ("见了县医院设备科李科长，呃，他说想换彩超，呃让我们周四带样机", "due", "2026-11-12"),
        ("见了县医院设备科李科长，约了下周二去演示。不对，王主任说周三不在", "due", "2026-11-17"),  # another sentence
    ],
)
def test_a_no_that_corrects_nothing_changes_nothing(text: str, name: str, want: object) -> None:
    assert parse(text, NOW)[name] == want


def test_the_due_day_is_the_next_steps_not_the_visits_own() -> None:
    text = "上午去了市骨科医院找设备科老王聊C臂的事老王说图像发虚院里打算今年换掉老王让我们月底前把方案做出来给他"
    assert parse(text, NOW)["due"] == "2026-11-30"  # 月底, not this morning
    trip = "今天下午一直在公司开培训会，明天一早直接去江北区人民医院检验科装机，不到公司了"
    assert parse(trip, NOW)["due"] == "2026-11-12"
