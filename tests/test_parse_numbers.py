"""Chinese numerals, items (product, quantity, unit) and budgets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.parse import parse
from bot.parse.numerals import to_int, to_number

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("五", 5),
        ("两", 2),
        ("十", 10),
        ("十二", 12),
        ("二十五", 25),
        ("一百", 100),
        ("两百", 200),
        ("一百零五", 105),
        ("一千二百", 1200),
        ("三千五", 3500),
        ("一万五", 15000),
        ("两百万", 2_000_000),
        ("一亿两千万", 120_000_000),
        ("1200", 1200),
    ],
)
def test_numerals(text: str, want: int) -> None:
    assert to_int(text) == want


def test_malformed_numerals_are_none() -> None:
    assert to_int("万") is None
    assert to_int("") is None


def test_chinese_decimal_goes_to_cn2an() -> None:
    assert to_number("一点五") == 1.5


def items(text: str) -> list[tuple[str, int, str]]:
    result = parse(text, NOW)
    return [(i["product"], i["quantity"], i["unit"]) for i in result["items"]]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("市一院急需五台监护仪", [("监护仪", 5, "台")]),
        ("县中医院急调除颤仪两台", [("除颤仪", 2, "台")]),
        ("市一院ICU急需呼吸机十二台", [("呼吸机", 12, "台")]),
        ("市中心医院急需留置针一百支", [("留置针", 100, "支")]),
        ("急需3台呼吸机和2台监护仪", [("呼吸机", 3, "台"), ("监护仪", 2, "台")]),
        ("加急：血糖试剂10箱、血脂试剂5箱", [("血糖试剂", 10, "箱"), ("血脂试剂", 5, "箱")]),
        ("急需胎监探头10个", [("胎监探头", 10, "个")]),
        ("检验科试剂断货了，急需，要20盒", [("试剂", 20, "盒")]),  # the product named earlier
        ("急需洗消机两台", [("洗消机", 2, "台")]),  # an unlisted device word
        ("急需工程师上门", []),
        ("市一院急需试纸，3个工作日内到", []),
    ],
)
def test_items(text: str, want: list[tuple[str, int, str]]) -> None:
    assert items(text) == want


def test_counts_about_a_competitor_are_not_items() -> None:
    text = "拜访市一院设备科王主任，迈瑞在科里有6台在用，科里想先配10台血糖仪"
    assert items(text) == [("血糖仪", 10, "台")]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("预算两百万左右", 2_000_000),
        ("预算80w", 800_000),
        ("预算1.5亿", 150_000_000),
        ("预算150万以内", 1_500_000),
        ("今年还有80万预算没花完", 800_000),
        ("预算三十万", 300_000),
        ("预算一点五亿", 150_000_000),
    ],
)
def test_budget(text: str, want: int) -> None:
    result = parse(f"拜访市一院设备科王主任，{text}，下周一报价", NOW)
    assert result["kind"] == "visit"
    assert result["budget"] == want


def test_no_budget_without_money() -> None:
    assert parse("拜访市一院设备科王主任，降价30%，下周一报价", NOW)["budget"] is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("市二院急诊科呼吸机管路不够了，急需五十套", [("呼吸机管路", 50, "套")]),  # a head with a device modifier
        ("手术室缺一次性吸引管一百根", [("一次性吸引管", 100, "根")]),
        ("县中医院手术室的电刀坏了，今天上午就要用，能不能马上调一台过去", [("电刀", 1, "台")]),
        ("ICU呼吸机坏了两台，科里急用两台", [("呼吸机", 2, "台")]),  # 急用 is a need
        ("说科里的肺功能仪排队很久，想再添两台", [("肺功能仪", 2, "台")]),  # unlisted word, named earlier
        ("钱主任的心电工作站坏了，要补两台", []),  # no device word to count
    ],
)
def test_more_items(text: str, want: list[tuple[str, int, str]]) -> None:
    assert items(text) == want
