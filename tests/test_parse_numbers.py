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
        ("新开两个分院，需要OCT和眼底相机各2台", [("OCT", 2, "台"), ("眼底相机", 2, "台")]),  # 2 of each
        ("急需监护仪、除颤仪各3台", [("监护仪", 3, "台"), ("除颤仪", 3, "台")]),
        ("说他们输液泵要换一批大概三十台吧", [("输液泵", 30, "台")]),
        ("睡眠监测室要扩建，多导睡眠仪要加两台", [("多导睡眠仪", 2, "台")]),
        ("院里要上一套重症信息系统加三十台床旁监护仪", [("重症信息系统", 1, "套"), ("床旁监护仪", 30, "台")]),
        ("科里要换3台", []),  # counts nothing named
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


def check_items(cases: list[tuple[str, list[tuple[str, int, str]]]]) -> None:
    wrong = [(text, items(text), want) for text, want in cases if items(text) != want]
    assert not wrong, "\n".join(f"{text}: got {got}, want {want}" for text, got, want in wrong)


def test_a_written_name_runs_past_a_listed_word() -> None:
    """A modifier in front of a listed word, or a device head after it, is part of the product's name."""
    check_items(
        [
            ("血气试剂包只剩两天的量了，急需补二十盒", [("血气试剂包", 20, "盒")]),  # named earlier
            ("急需二十盒血气试剂包", [("血气试剂包", 20, "盒")]),
            ("急需20盒试剂盒", [("试剂盒", 20, "盒")]),
            ("方主任想申请换二十台电针仪", [("电针仪", 20, "台")]),
            ("他们想加一台CT模拟定位机", [("CT模拟定位机", 1, "台")]),
            ("急需一台CT机", [("CT机", 1, "台")]),
            ("要一台超声骨刀", [("超声骨刀", 1, "台")]),
            ("急需两台呼吸机湿化器", [("呼吸机湿化器", 2, "台")]),
            ("急需蓝光治疗仪两台", [("蓝光治疗仪", 2, "台")]),
            ("急需便携式蓝光治疗仪两台", [("便携式蓝光治疗仪", 2, "台")]),
            ("紧急 血透管路三十套", [("血透管路", 30, "套")]),
            ("急需两台激光治疗仪", [("激光治疗仪", 2, "台")]),
            ("急需二十箱医用外科口罩", [("医用外科口罩", 20, "箱")]),
            # the name stops at a verb, a number, 的 and punctuation
            ("急需两台呼吸机同时送到", [("呼吸机", 2, "台")]),
            ("急需两台呼吸机顶一下", [("呼吸机", 2, "台")]),
            ("急需五台监护仪今天送到", [("监护仪", 5, "台")]),
            ("急需一台彩超过来", [("彩超", 1, "台")]),
            ("试剂包装破了，急需补二十盒", [("试剂", 20, "盒")]),  # 包装 is no 包
            # places, times and verbs in front are no part of it
            ("科里呼吸机两台", [("呼吸机", 2, "台")]),
            ("今天呼吸机两台坏了", [("呼吸机", 2, "台")]),
            ("急诊呼吸机两台", [("呼吸机", 2, "台")]),
            ("急需新增呼吸机两台", [("呼吸机", 2, "台")]),
            ("急需更新监护仪两台", [("监护仪", 2, "台")]),
            ("急需20盒新冠抗原检测试剂", [("新冠抗原检测试剂", 20, "盒")]),
        ]
    )


def test_a_name_never_runs_across_a_connective_or_a_count() -> None:
    check_items(
        [
            ("缺一台血球仪和一台尿液分析仪", [("血球仪", 1, "台"), ("尿液分析仪", 1, "台")]),
            ("急需两台监护仪及一台除颤仪", [("监护仪", 2, "台"), ("除颤仪", 1, "台")]),
            ("要一台血球仪跟一台生化仪", [("血球仪", 1, "台"), ("生化仪", 1, "台")]),
            ("急需一台彩超和两个探头", [("彩超", 1, "台"), ("探头", 2, "个")]),
            ("一台呼吸机加两台监护仪", [("呼吸机", 1, "台"), ("监护仪", 2, "台")]),
            ("缺两台输液泵三台注射泵", [("输液泵", 2, "台"), ("注射泵", 3, "台")]),
            ("急需2台输液泵3台注射泵", [("输液泵", 2, "台"), ("注射泵", 3, "台")]),
            ("急需3台呼吸机与2台监护仪", [("呼吸机", 3, "台"), ("监护仪", 2, "台")]),
        ]
    )


def test_an_unlisted_product_after_a_need_verb_and_a_count() -> None:
    check_items(
        [
            ("急要一台电动止血带，今天下午手术用", [("电动止血带", 1, "台")]),
            ("急需两瓶碘伏", [("碘伏", 2, "瓶")]),
            ("急需五十卷胶布", [("胶布", 50, "卷")]),
            ("需要两套手术衣", [("手术衣", 2, "套")]),
            ("马上要两把止血钳", [("止血钳", 2, "把")]),
            ("急需一百片创可贴", [("创可贴", 100, "片")]),
            ("急需医用酒精二十桶", [("医用酒精", 20, "桶")]),
            # people, papers, events and bare counts are not goods
            ("要一个报价", []),
            ("王主任要一份报价单", []),
            ("需要两个工程师过来", []),
            ("急需三个护士", []),
            ("加一台手术", []),
            ("急需两台过来", []),
            ("借两台顶一下", []),
            ("要一张发票", []),
            ("两台打包价八十万", []),
        ]
    )


def test_an_unlisted_product_standing_alone_with_its_count_in_an_urgent_message() -> None:
    check_items(
        [
            ("王家镇卫生院 紧急 氧气湿化瓶五十个 流感病人太多 两天内要", [("氧气湿化瓶", 50, "个")]),
            ("紧急：氧气湿化瓶五十个，两天内要", [("氧气湿化瓶", 50, "个")]),
            ("急 市一院 医用酒精二十桶 明天要", [("医用酒精", 20, "桶")]),
            ("紧急 医用口罩五百个 明天要", [("医用口罩", 500, "个")]),
            (
                "王家镇卫生院 紧急 氧气湿化瓶五十个 吸氧面罩三十个 两天内要",
                [("氧气湿化瓶", 50, "个"), ("吸氧面罩", 30, "个")],
            ),
            # not goods, or not urgent
            ("市一院紧急 病人五十个 没地方放", []),
            ("紧急 床位三十张 不够", []),
            ("紧急 今天手术二十台", []),
            ("紧急 至少五十个", []),
            ("紧急 押金五十块 明天交", []),
            ("紧急 库存两台", []),
            ("拜访市一院王主任，湿化瓶五十个", []),
            ("换药包只剩十个了", []),
        ]
    )


def test_the_same_item_said_twice_is_one_item() -> None:
    check_items(
        [
            ("聊着说科里两台呼吸机同时坏了 急需借两台呼吸机顶一下", [("呼吸机", 2, "台")]),
            ("急需两台呼吸机，两台呼吸机今晚必须到", [("呼吸机", 2, "台")]),
            ("急需呼吸机两台，市二院急需呼吸机两台", [("呼吸机", 2, "台")]),
            # a different count or product is another item
            ("急需两台呼吸机和三台呼吸机", [("呼吸机", 2, "台"), ("呼吸机", 3, "台")]),
            ("急需两台呼吸机，两台监护仪", [("呼吸机", 2, "台"), ("监护仪", 2, "台")]),
        ]
    )


def test_counts_of_other_things_are_not_items() -> None:
    check_items(
        [
            ("三个人轮流值班，急需两台呼吸机", [("呼吸机", 2, "台")]),
            ("已经联系了三家医院，急需两台监护仪", [("监护仪", 2, "台")]),
            ("排到一个月后，急需一台彩超", [("彩超", 1, "台")]),
            ("这台彩超用了五年，急需换一台", [("彩超", 1, "台")]),
            ("两天内要五台监护仪", [("监护仪", 5, "台")]),
            ("12月3日前要两台呼吸机", [("呼吸机", 2, "台")]),
            ("预算两百万，要一台CT", [("CT", 1, "台")]),
            # a specification (64排, 1.5T, 12导) is no part of the name and counts nothing
            ("想加一台64排CT", [("CT", 1, "台")]),
            ("紧急 16排的CT一台", [("CT", 1, "台")]),
            ("要上一台1.5T核磁", [("核磁", 1, "台")]),
            ("急需两台12导心电图机", [("心电图机", 2, "台")]),
            ("急需两台十二导心电图机", [("心电图机", 2, "台")]),
            ("急需三个护士，顶三个人", []),
        ]
    )


def test_a_vague_count_before_a_named_product_is_no_part_of_its_name() -> None:
    items = parse("省二院内镜中心那几条胃镜用了十年，图像发糊，今年要换4条", NOW)["items"]
    assert items == [{"product": "胃镜", "quantity": 4, "unit": "条"}]


def test_a_name_ending_in_a_container_or_handle() -> None:
    items = parse("市人医放射科今晚要200套高压注射器针筒，库存用光了", NOW)["items"]
    assert items == [{"product": "高压注射器针筒", "quantity": 200, "unit": "套"}]


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("院长想要一台国产的彩超", [("彩超", 1, "台")]),
        ("科里想加两台便携彩超做床旁", [("便携彩超", 2, "台")]),
        ("ICU呼吸机缺口大概6台，迈瑞和德尔格都在做工作", [("呼吸机", 6, "台")]),
        ("科里缺口约三台", []),
    ],
)
def test_words_between_a_count_and_its_product_or_before_an_estimate(
    text: str, items: list[tuple[str, int, str]]
) -> None:
    got = [(i["product"], i["quantity"], i["unit"]) for i in parse(text, NOW)["items"]]
    assert got == items


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("院里唯一一台转运呼吸机坏了，急需借一台转运呼吸机，今晚要", [("转运呼吸机", 1, "台")]),  # 唯一 is no 一
        ("检验科血气试剂卡快用完了，急需15盒", [("血气试剂卡", 15, "盒")]),
    ],
)
def test_the_one_of_a_word_is_no_count_and_a_card_ends_a_name(text: str, items: list[tuple[str, int, str]]) -> None:
    got = [(i["product"], i["quantity"], i["unit"]) for i in parse(text, NOW)["items"]]
    assert got == items


def test_a_spare_unit_is_the_product() -> None:
    items = parse("急！市一院手术室明早8点前要1台备用麻醉机", NOW)["items"]
    assert items == [{"product": "麻醉机", "quantity": 1, "unit": "台"}]


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("导管室要新增两台除颤仪，现在用的是日本光电的", [("除颤仪", 2, "台")]),  # 新增 is no product
        ("心内科紧急要一台临时起搏器", [("临时起搏器", 1, "台")]),
    ],
)
def test_a_verb_before_a_count_is_no_product_and_a_kind_of_device_keeps_its_name(
    text: str, items: list[tuple[str, int, str]]
) -> None:
    got = [(i["product"], i["quantity"], i["unit"]) for i in parse(text, NOW)["items"]]
    assert got == items
