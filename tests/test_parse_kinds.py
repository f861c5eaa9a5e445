"""One message of each kind, the template form, and the shape of every result."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.parse import KEYS, parse

SHANGHAI = timezone(timedelta(hours=8))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def test_every_key_is_always_there() -> None:
    for text in ("", "收到", "拜访市一院设备科王主任", "请假", "复盘：完成了"):
        result = parse(text, at("2026-11-11"))
        assert tuple(result) == KEYS
        assert isinstance(result["items"], list) and isinstance(result["missing"], list)


def test_visit_free_text() -> None:
    text = (
        "今天上午拜访了省人民医院心内科张主任，科里想更新一批心电图机，现在用的是GE的，张主任觉得操作麻烦。"
        "答应下周三让我们带样机过去演示"
    )
    r = parse(text, at("2026-11-03"))
    assert r["kind"] == "visit"
    assert (r["customer"], r["department"], r["contact"], r["decision_role"]) == (
        "省人民医院",
        "心内科",
        "张主任",
        "科室负责人",
    )
    assert "想更新一批心电图机" in r["pain_points"]
    assert "现在用的是GE的" in r["competitor"]
    assert "带样机过去演示" in r["next_action"]
    assert r["due"] == "2026-11-11"
    assert r["missing"] == []


@pytest.mark.parametrize("colon", ["：", ":"])
def test_visit_template(colon: str) -> None:
    text = (
        f"【拜访】客户{colon}市一院\n科室{colon}设备科\n联系人{colon}王主任\n"
        f"痛点{colon}老监护仪故障率高，维修跟不上\n竞品{colon}\n下一步{colon}周五前我把报价单发给王主任"
    )
    r = parse(text, at("2026-11-03"))
    assert r["kind"] == "visit"
    assert (r["customer"], r["department"], r["contact"], r["decision_role"]) == ("市一院", "设备科", "王主任", "采购")
    assert r["pain_points"] == "老监护仪故障率高，维修跟不上"
    assert r["competitor"] is None  # stated empty
    assert r["next_action"] == "周五前我把报价单发给王主任"
    assert r["due"] == "2026-11-06"
    assert r["missing"] == ["competitor"]


def test_a_stated_item_in_prose_ends_where_the_next_step_begins() -> None:
    r = parse("又去了市一院设备科王主任，痛点是维修慢，配件贵，下周二再约", at("2026-11-27"))
    assert (r["pain_points"], r["next_action"], r["due"]) == ("维修慢，配件贵", "下周二再约", "2026-12-01")
    r = parse("拜访市一院王主任，竞品是GE的在用，下周我们送报价", at("2026-11-27"))
    assert (r["competitor"], r["next_action"]) == ("GE的在用", "下周我们送报价")


def test_visit_missing_items_in_order() -> None:
    r = parse("今天去第三人民医院拜访，人都在开会，白跑一趟😓", at("2026-12-07"))
    assert r["kind"] == "visit"
    assert r["missing"] == ["decision_role", "pain_points", "competitor", "next_action"]
    text = "【拜访记录】\n客户：李家镇卫生院\n联系人：马院长\n痛点：慢病随访缺血糖仪\n竞品：\n下一步：待定"
    r = parse(text, at("2026-11-13"))
    assert r["missing"] == ["competitor", "next_action"]


def test_urgent_with_mention_and_typo_free_items() -> None:
    r = parse("@前线助手 急！市一院ICU今晚要3台呼吸机，病人爆满", at("2026-11-03", 14))
    assert r["kind"] == "urgent"
    assert (r["customer"], r["department"], r["due"]) == ("市一院", "ICU", "2026-11-03")
    assert r["items"] == [{"product": "呼吸机", "quantity": 3, "unit": "台"}]
    assert r["missing"] == []


def test_urgent_reported_during_a_visit_is_urgent() -> None:
    r = parse("在第三人民医院拜访呢，护理部王主任说新病区下周一开科，急需输液泵十台", at("2026-11-12"))
    assert r["kind"] == "urgent"
    assert r["items"] == [{"product": "输液泵", "quantity": 10, "unit": "台"}]
    assert r["due"] == "2026-11-16"


def test_emergency_department_alone_is_not_urgent() -> None:
    r = parse("市一院急诊科王大夫说现在的血氧仪不准，跟王大夫约好12月8号去科室做个演示", at("2026-11-30"))
    assert r["kind"] == "visit"


def test_competitor() -> None:
    r = parse("听说迈瑞在市一院搞活动，买监护仪送耗材，大家注意一下", at("2026-11-04"))
    assert r["kind"] == "competitor"
    assert (r["customer"], r["brand"]) == ("市一院", "迈瑞")
    assert "买监护仪送耗材" in r["activity"]
    r = parse("某品牌在城南社区卫生服务中心免费投放血糖仪，绑定他们家试纸", at("2026-11-11"))
    assert (r["kind"], r["brand"]) == ("competitor", "某品牌")
    assert "免费投放血糖仪" in r["activity"]


def test_competitor_news_without_a_listed_activity_word() -> None:
    r = parse("联影最近在我们片区很活跃，好几个县医院都去了", at("2026-11-19"))
    assert (r["kind"], r["brand"]) == ("competitor", "联影")
    assert "很活跃" in r["activity"]
    # an unlisted brand right before 在 + a customer
    r = parse("瑞康在市一院搞活动，买监护仪送耗材", at("2026-11-19"))
    assert (r["kind"], r["brand"], r["customer"]) == ("competitor", "瑞康", "市一院")
    assert parse("小王在市一院吗？", at("2026-11-19"))["kind"] == "other"


def test_a_visit_that_mentions_a_competitor_is_a_visit() -> None:
    r = parse(
        "和协和医院招标办周主任确认了挂网时间，这次西门子和迈瑞都会来投。我这边12月1日前把资质文件交过去",
        at("2026-11-09"),
    )
    assert r["kind"] == "visit"
    assert "西门子和迈瑞都会来投" in r["competitor"]
    assert r["brand"] is None


def test_a_terse_visit_report_that_names_competitors_is_still_a_visit() -> None:
    """Typed between two meetings, with spaces for punctuation: whom we saw, the need, the
    competitors, our next step. Filed as competitor news, the visit itself would be lost."""
    r = parse("南山医院放射科 周主任 想换DR 老机器经常坏 联影和万东都在跟 下周一送资料", at("2026-12-09"))
    assert (r["kind"], r["contact"], r["competitor"], r["next_action"]) == (
        "visit", "周主任", "联影和万东都在跟", "下周一送资料"
    )  # fmt: skip
    r = parse("省人医设备科 孙科长 预算卡得紧 在看联影的 周五带方案", at("2026-12-08"))
    assert (r["kind"], r["pain_points"], r["next_action"]) == ("visit", "预算卡得紧", "周五带方案")
    assert r["due"] == "2026-12-11"
    # news that opens with the competitor stays news, whoever it names
    assert parse("联影在南山医院放射科跟周主任推DR，想换掉老机器", at("2026-12-09"))["kind"] == "competitor"


def test_itinerary() -> None:
    r = parse("报备：明天一早直接去市一院设备科，不到公司了", at("2026-11-02", 18))
    assert (r["kind"], r["customer"], r["department"], r["due"]) == ("itinerary", "市一院", "设备科", "2026-11-03")
    r = parse("下周二去县人民医院，陪工程师做设备验收，当天回", at("2026-12-10"))
    assert (r["kind"], r["due"]) == ("itinerary", "2026-12-15")


def test_leave() -> None:
    r = parse("下周一到周三休年假，工作交接给李娜", at("2026-11-12"))
    assert (r["kind"], r["start"], r["end"], r["handover"]) == ("leave", "2026-11-16", "2026-11-18", "李娜")
    r = parse("申请调休：下周二，手上的事情已跟王磊交接", at("2026-11-20"))
    assert (r["kind"], r["start"], r["handover"]) == ("leave", "2026-11-24", "王磊")
    r = parse("今天发烧39度，请病假一天，急事电话联系", at("2026-11-18"))
    assert (r["kind"], r["start"], r["end"], r["handover"]) == ("leave", "2026-11-18", "2026-11-18", None)


def test_back_from_a_leave_is_no_leave() -> None:
    r = parse("复盘：今天没拜访，休假回来整理资料，目标没达成，下周一去省人医补", at("2026-12-11", 17))
    assert (r["kind"], r["target_met"], r["remedy"]) == ("review", False, "下周一去省人医补")


def test_review() -> None:
    r = parse("今日复盘：计划拜访4家，实际完成4家，目标达成✅", at("2026-11-03"))
    assert (r["kind"], r["target_met"], r["reason"], r["remedy"]) == ("review", True, None, None)
    r = parse(
        "今日总结：拜访目标5家，完成3家，未完成。原因：下午暴雨，路上堵了两个小时。补救：明天上午补拜访2家",
        at("2026-11-05"),
    )
    assert (r["kind"], r["target_met"]) == ("review", False)
    assert "路上堵了两个小时" in r["reason"] and "补拜访2家" in r["remedy"]
    r = parse("复盘一下：今天目标没达成，样机没及时到，演示推迟了。下周让仓库提前一天发货", at("2026-11-27"))
    assert "样机没及时到" in r["reason"] and "让仓库提前一天发货" in r["remedy"]


@pytest.mark.parametrize(
    "text",
    [
        "收到",
        "好的👌",
        "早上好☀️ 新的一天加油💪",
        "请问下周的周会还是周一上午开吗",
        "中午谁在公司？帮我拿下快递",
        "明天下午两点开季度会，大家别迟到",
    ],
)
def test_other(text: str) -> None:
    assert parse(text, at("2026-11-11"))["kind"] == "other"


def test_other_keeps_names() -> None:
    r = parse("谁有市一院设备科王主任的电话？发我一下，谢谢", at("2026-11-06"))
    assert (r["kind"], r["customer"], r["department"], r["contact"]) == ("other", "市一院", "设备科", "王主任")


def test_full_width_punctuation_and_typos() -> None:
    r = parse("拜方市一院急诊科张医生，反馈除颤议充电太慢！下周一再去找主任", at("2026-11-11"))
    assert r["kind"] == "visit"
    assert r["pain_points"] == "反馈除颤议充电太慢"  # spans are returned as written
    assert r["due"] == "2026-11-16"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("周五一天请假，客户交给小李", "2026-11-27", "2026-11-27"),  # 周五 + 一天, not 五十一天
        ("请假：周五一天", "2026-11-27", "2026-11-27"),
        ("调休周五两天", "2026-11-27", "2026-11-30"),  # two working days: Fri, Mon
    ],
)
def test_a_leave_length_right_after_a_weekday(text: str, start: str, end: str) -> None:
    wed = datetime(2026, 11, 25, 11, 0, tzinfo=timezone(timedelta(hours=8)))
    r = parse(text, wed)
    assert (r["kind"], r["start"], r["end"]) == ("leave", start, end)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("今天拜访第一人民医院设备科，没见到人，科长出差了，周四再约", "visit"),  # someone else's trip
        ("周五出差去省城，去省肿瘤医院参加招标会", "itinerary"),
        ("中午约了县二院泌尿外科的章主任喝咖啡，章主任说科里要新上一台钬激光", "visit"),  # not goods wanted today
        ("据客户反馈：迈瑞最近在区里的社区卫生服务中心免费投放血球仪", "competitor"),  # hearsay opening
        ("有客户说威高在县人民医院的输液泵投标报了超低价", "competitor"),
        ("市人民医院急诊科管主任说急诊抢救室的监护仪经常黑屏，现在是迈瑞的老款", "visit"),  # 抢救 is no 抢单
        ("下周休息三天，有事找小林", "leave"),
        ("月底想请两天年假，具体哪天再定", "leave"),  # 哪天再定 asks nothing
        ("大家注意：迈瑞这个月在全市二级医院推监护仪以旧换新，谁片区碰到了及时反馈", "competitor"),
        ("市三院放射科门口贴了联影的海报，这周六他们在科里办CT新技术培训班", "competitor"),
        ("本周大家辛苦，拜访量比上周多了12家👍 下周继续", "other"),  # 拜访量 is no visit
        ("明早 中医院 设备处 签合同 不回司", "itinerary"),
        ("今日上午赴高新区社区卫生服务中心走访，负责人外出学习，未获取有效信息", "visit"),
        ("东湖社区卫生服务中心戴主任原话：“血糖仪读数跟医院对不上。”下次我带对比数据过去", "visit"),
        ("@韩晓东 附二院周科长的电话你有吗？我这边要跟他确认个发票的事", "other"),  # to a colleague
        ("@汤欣 市骨科医院的投标资料月底前必须齐，有问题提前说", "other"),
        ("@前线助手 市骨科医院设备科周科长，想换监护仪，下周送方案", "visit"),  # the bot's own @
        ("@组长 今天拜访了市一院设备科王主任，他问我们能不能下周演示？", "visit"),
        ("@林浩然 县二院那二百个针筒仓库说下午能发，你跟客户确认一下收货人", "other"),
        ("本周小结：新增意向客户5家，需求集中在监护。下周重点盯滨江医院手术室的项目", "other"),
        ("路上碰到开发区医院设备科的小伙子说万东给他们报DR直接打了五折", "competitor"),
        ("今天在江北区人民医院设备科跟孙科长坐了快一个钟头他们那批输液泵用了九年下星期二我再把报价送过去", "visit"),
        ("南湖医院检验科的生化仪加样针堵了，周四晚上之前必须修好，哪位工程师能过去？", "urgent"),
    ],
)
def test_kind_rules_from_unseen_phrasings(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-09"))["kind"] == kind


@pytest.mark.parametrize(
    ("text", "activity"),
    [
        ("迈瑞给市二院ICU捐了5台监护仪，附带三年免费保修", "捐了5台监护仪"),
        ("飞利浦这周在省人民医院搞超声学术沙龙，请客吃饭", "搞超声学术沙龙"),
        ("市三院门口贴了联影的海报，这周六他们在科里办CT新技术培训班", "这周六他们在科里办CT新技术培训班"),
    ],
)
def test_competitor_activity_words(text: str, activity: str) -> None:
    result = parse(text, at("2026-11-09"))
    assert result["kind"] == "competitor"
    assert activity in result["activity"]


@pytest.mark.parametrize(
    ("text", "met", "reason", "remedy"),
    [
        ("复盘：今天跑了两家，都没见到关键人，白跑。明天换个时间再去", False, "都没见到关键人", "换个时间再去"),
        ("今天目标完成一半，签了一个单，另一个客户说要等年后。补救：下周再约", False, "客户说要等年后", "下周再约"),
        ("今日总结\n目标：拜访3家+送样1家\n结果：全部完成\n明天计划：跟进县人民医院", True, None, None),
        ("复盘：想拿到县医院的采购意向，没拿到，钱主任休假了。补救：周一再约", False, "钱主任休假了", "周一再约"),
        ("复盘：没约到李主任，他在开会，明天一早再去", False, "他在开会", "明天一早再去"),
        ("今天完成：拜访3家、送样1家，计划的都做完了", True, None, None),
        ("今日复盘：计划的没做完，下午临时开会。明天补上", False, "下午临时开会", "明天补上"),
    ],
)
def test_review_verdicts(text: str, met: bool, reason: str | None, remedy: str | None) -> None:
    result = parse(text, at("2026-11-20", 18))
    assert result["kind"] == "review"
    assert result["target_met"] is met
    for name, want in (("reason", reason), ("remedy", remedy)):
        assert (result[name] is None) if want is None else (want in result[name]), name


@pytest.mark.parametrize(
    ("text", "pain"),
    [
        # the report opens after 说, clauses before the pain word
        ("拜访城北社区卫生服务中心，韦主任说中心的DR还是模拟的，拍片要洗片，很不方便", "DR还是模拟的"),
        ("拜访中心医院急诊科，跟小护士聊了两句，说转运监护仪电池不耐用。后天再去找护士长", "电池不耐用"),
        ("到市中心医院财务处对账，黎处长说我们的发票抬头开错了。明天我把新发票送过去", "发票抬头开错了"),
    ],
)
def test_pain_points_from_what_the_customer_said(text: str, pain: str) -> None:
    result = parse(text, at("2026-11-16"))
    assert result["kind"] == "visit"
    assert pain in result["pain_points"]


@pytest.mark.parametrize(
    ("text", "pain"),
    [
        ("信息科的周主任说现有中央站的数据导不出来，周主任很头疼", "数据导不出来"),
        ("财务处李处长说院里今年资金压力大，款要晚点付", "资金压力大"),
        ("县医院财务科说今年经费也紧，设备款分两次付", "经费也紧"),
        ("透析室王大夫说耗材被原厂绑死了，价格下不来。周四我再去", "耗材被原厂绑死了"),
        ("ICU陈教授很关注管路的兼容性", "管路的兼容性"),
        ("二院急诊科只有一台转运呼吸机 根本不够用", "只有一台转运呼吸机"),
        ("市一院心内科王主任说病房的监护仪陆续过保了，配件等半个月都到不了", "配件等半个月都到不了"),
        ("呼吸科李主任说睡眠监测只有一台，预约排到一个月后，想再加两台", "预约排到一个月后"),
        ("妇保院设备科许科长说预算批下来了，给产房配胎监，让我下周提交报价", "给产房配胎监"),
        ("民营血透中心的常院长说透析器都是威高的，价格还行但是供货不稳定", "供货不稳定"),
        ("市人医急诊科许主任说血气要送检验科，出结果要40分钟", "出结果要40分钟"),
        ("市中医院供应室梁护士长说，灭菌器一个循环太久，腔镜器械周转不过来", "周转不过来"),
        ("县医院口腔科的骆护士长说器械是科里自己消毒，院感检查被扣分了", "院感检查被扣分了"),
        # not the customer's pain: how our visit went, a department's name
        ("去了市一院ICU，主任不在，跟护士聊了几句，说输液泵老是报警", "输液泵老是报警"),
        ("拜访县医院，科里太忙没人接待，跟小护士聊了两句，说输液泵不够用", "输液泵不够用"),
        ("见了城东社区卫生服务中心慢病科的李主任，老人越来越多，血压计不够发", "血压计不够发"),
    ],
)
def test_more_ways_to_say_a_pain_point(text: str, pain: str) -> None:
    result = parse(text, at("2026-11-16"))
    assert result["kind"] == "visit"
    assert pain in result["pain_points"]
    assert not any(w in result["pain_points"] for w in ("主任不在", "没人接待", "慢病科"))


def test_no_need_said_is_no_pain_point() -> None:
    result = parse("县医院B超室的刘技师说B超机用了六年了还行，暂时没有换的打算", at("2026-11-16"))
    assert result["kind"] == "visit"
    assert result["pain_points"] is None and "pain_points" in result["missing"]


def test_our_own_invoice_is_not_our_next_step() -> None:
    text = "到市中心医院财务处对账，黎处长说我们的发票抬头开错了。明天我把新发票送过去"
    result = parse(text, at("2026-12-22"))
    assert "把新发票送过去" in result["next_action"] and "开错" not in result["next_action"]
    assert result["due"] == "2026-12-23"


@pytest.mark.parametrize(
    "text",
    [
        "科里想上数字病理扫描仪。竞品还没进来",
        "科里想上数字病理扫描仪，暂无竞品",
        "科里想上数字病理扫描仪，目前没接触过别家",
        "科里想上数字病理扫描仪，还没有其他厂家来过",
    ],
)
def test_no_competitor_yet(text: str) -> None:
    assert parse(f"拜访省人民医院病理科冷主任，{text}", at("2026-11-02"))["competitor"] is None


@pytest.mark.parametrize(
    "text",
    [
        "拜访市一院设备科王主任 痛点 监护仪老化 竞品 迈瑞 下一步 周五送样机",  # labels and values split by spaces
        "拜访市一院设备科王主任【痛点】监护仪老化【竞品】迈瑞【下一步】周五送样机",  # labels in brackets
    ],
)
def test_labels_without_a_colon(text: str) -> None:
    r = parse(text, at("2026-11-25"))
    assert r["kind"] == "visit"
    assert (r["pain_points"], r["competitor"], r["next_action"], r["due"]) == (
        "监护仪老化",
        "迈瑞",
        "周五送样机",
        "2026-11-27",
    )


def test_a_shorthand_record_with_no_competitor_is_a_visit() -> None:
    r = parse("市一院 竞品 无 下一步 周五送样机", at("2026-11-25"))
    assert (r["kind"], r["competitor"], r["next_action"]) == ("visit", None, "周五送样机")


def test_a_key_word_followed_by_a_space_alone_is_prose() -> None:
    r = parse("竞品 迈瑞在市一院搞活动", at("2026-11-25"))
    assert (r["kind"], r["brand"]) == ("competitor", "迈瑞")


def test_a_no_competitor_clause_ends_a_stated_pain_and_a_write_up_is_a_next_step() -> None:
    r = parse("拜访市一院设备科王主任，痛点是监护仪老化，没有竞品，明天发拜访小结", at("2026-11-25"))
    assert (r["pain_points"], r["competitor"]) == ("监护仪老化", None)
    assert (r["next_action"], r["due"]) == ("明天发拜访小结", "2026-11-26")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("市一院急诊科王主任说十二台监护仪下周要到位，很着急", "urgent"),
        ("市一院急诊科王主任说十二台监护仪下个月到位就行，不着急", "visit"),
        ("拜访了市一院王主任，他很着急换监护仪，下周我们送方案", "visit"),  # a wish told in a visit report
    ],
)
def test_zhaoji_is_urgent_unless_negated_or_in_a_visit_report(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-25"))["kind"] == kind


def test_a_cover_who_helps_me_is_named_without_the_help() -> None:
    r = parse("明天请假一天，王强帮我盯一下市一院", at("2026-11-25"))
    assert (r["kind"], r["handover"]) == ("leave", "王强")


@pytest.mark.parametrize(
    ("text", "met", "reason", "remedy"),
    [
        ("今日复盘：计划3家，完成1家，客户都在开会，明天再去", False, "客户都在开会", "明天再去"),
        ("复盘：目标3家 实际2家 排队的人太多没轮上 明天上午早点去补上", False, "排队的人太多没轮上", "早点去补上"),
        ("今日总结：计划拜访五家，完成五家，还多签了一个小单", True, None, None),
    ],
)
def test_a_review_with_planned_and_actual_counts_is_judged_by_them(
    text: str, met: bool, reason: str | None, remedy: str | None
) -> None:
    r = parse(text, at("2026-11-25", 18))
    assert (r["kind"], r["target_met"]) == ("review", met)
    assert (reason is None) == (r["reason"] is None) and (reason or "") in (r["reason"] or "")
    assert (remedy is None) == (r["remedy"] is None) and (remedy or "") in (r["remedy"] or "")


@pytest.mark.parametrize(
    ("text", "customer", "department"),
    [
        ("报备 明天早上直接去省医设备科送标书 不回公司", "省医", "设备科"),
        ("开立的内镜进院了，附一院内镜中心刚装了三台", "附一院", "内镜中心"),
        ("国庆期间人民医院要保障，ICU急需注射泵十五台", "人民医院", "ICU"),
        ("省医保局下周开会讨论集采", None, None),
    ],
)
def test_customer_short_forms_and_what_stands_before_a_name(
    text: str, customer: str | None, department: str | None
) -> None:
    r = parse(text, at("2026-11-25"))
    assert (r["customer"], r["department"]) == (customer, department)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("今天见到市二院骨科的刘主任，C臂图像不清楚，现在是西门子的，下周二带方案过去", "visit"),
        ("和区医院器械科王科长通了电话，想把注射泵全换掉，大概40台。王科长说这周四前把参数要求发给我们", "visit"),
        ("下午三点线上开会，链接稍后发群里，请假的提前说", "other"),
        ("迈瑞那个以旧换新的政策到底怎么算的，有人知道吗", "other"),
        ("省医那个急单后来谁送的？客户刚打电话问发票", "other"),
        ("迈瑞在市一院降价了，大家注意", "competitor"),
    ],
)
def test_kinds_from_held_out_phrasings(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-25"))["kind"] == kind


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("紧急！社区卫生服务中心接种点明天开，要体温枪二十把、血压计五台", [("体温枪", 20, "把"), ("血压计", 5, "台")]),
        ("拜访市一院设备科王主任，他们想把老的注射泵全换掉，大概40台，下周送方案", [("注射泵", 40, "台")]),
        ("在县中医院呢，设备科李科长说手术室监护仪坏了两台，急调两台过来，礼拜一上午要用", [("监护仪", 2, "台")]),
    ],
)
def test_items_counted_apart_from_their_product_or_said_twice(text: str, items: list[tuple[str, int, str]]) -> None:
    got = parse(text, at("2026-11-25"))["items"]
    assert [(i["product"], i["quantity"], i["unit"]) for i in got] == items


def test_a_colleague_who_comes_along_is_not_the_contact() -> None:
    r = parse("后天跟王经理一起去仁济医院见林书记，早上八点半直接在医院门口集合", at("2026-11-25"))
    assert (r["contact"], r["decision_role"]) == ("林书记", "决策者")
    assert parse("跟王主任一起吃了个饭，聊了聊新院区的规划", at("2026-11-25"))["contact"] == "王主任"


def test_mingr_is_tomorrow_and_a_cut_price_is_the_competitors_move() -> None:
    assert parse("明儿去李家镇卫生院装机，直接过去", at("2026-11-25"))["due"] == "2026-11-26"
    r = parse("罗氏把县人民医院的化学发光试剂降了20%，还承诺免费升级仪器", at("2026-11-25"))
    assert r["activity"] == "化学发光试剂降了20%"
    r = parse("市中心医院导管室陈工说高压注射器老是报错，原厂是拜耳的。明天我带工程师过去看一下", at("2026-11-25"))
    assert r["competitor"] == "原厂是拜耳的"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("市二院器械科 周科。监护仪要换，科曼的在用。下周一报价", "visit"),  # the brand's clause tells no move
        ("儿童医院输液室刘护士说输液泵太重，问我们有没有轻便的。明早我带样机去给护士长看看", "visit"),
        ("请问年假怎么请？要在系统里提还是群里说一声就行？", "other"),
        ("明天不请假了，正常上班，之前说的作废", "other"),
        ("市一院ICU冯护士长反馈上次急调过去的那3台呼吸机用得不错，想正式采购。下周一我去设备科递资料", "visit"),
    ],
)
def test_kinds_that_keywords_alone_got_wrong(text: str, kind: str) -> None:
    assert parse(text, at("2026-12-17"))["kind"] == kind


def test_a_visit_told_in_the_first_person_is_not_the_next_step() -> None:
    text = "今天下午我第一次去了丰县人民医院，见到了吴老师。吴老师建议我们十天内准备一份详细的方案和报价"
    r = parse(text, at("2026-11-10", 18))
    assert "准备一份详细的方案和报价" in r["next_action"] and "去了" not in r["next_action"]
    assert r["due"] == "2026-11-20"


def test_a_later_dated_step_of_ours_is_the_next_action_when_the_first_has_no_date() -> None:
    text = "市一院ICU冯护士长反馈想正式采购，让我们尽快走流程。现在科里主力还是德尔格。下周一我去设备科递资料"
    r = parse(text, at("2026-12-17"))
    assert (r["next_action"], r["due"]) == ("下周一我去设备科递资料", "2026-12-21")


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("博仁医院体检中心大后天开业，急需血压计8台、体重秤2台", [("血压计", 8, "台"), ("体重秤", 2, "台")]),
        (
            "急调：县中医院手术室要无菌手套20箱、一次性手术衣五十件",
            [("无菌手套", 20, "箱"), ("一次性手术衣", 50, "件")],
        ),
        ("沛县人民医院检验科急需血球试剂30箱", [("血球试剂", 30, "箱")]),
        ("协和医院心外科急需IABP导管3根", [("IABP导管", 3, "根")]),
        ("跟市三院检验科确认了，要40盒糖化试剂，下周五前送到", [("糖化试剂", 40, "盒")]),
        ("明德眼科医院采购办蒋经理说他们想换3台OCT", [("OCT", 3, "台")]),
        ("县中医院急诊科紧急调拨除颤仪两台，明天上午必须到位", [("除颤仪", 2, "台")]),
        ("CT室的高压注射器坏了，马上要借一台顶上", [("高压注射器", 1, "台")]),
    ],
)
def test_unlisted_and_qualified_product_names(text: str, items: list[tuple[str, int, str]]) -> None:
    got = parse(text, at("2026-11-25"))["items"]
    assert [(i["product"], i["quantity"], i["unit"]) for i in got] == items


@pytest.mark.parametrize(
    ("text", "met"),
    [
        ("今日总结：回款完成60%，财务说要等院长签字。明天上午我去财务处蹲一下", False),
        ("今日总结：拜访目标完成了120%", True),
    ],
)
def test_a_review_that_gives_a_share_of_the_target(text: str, met: bool) -> None:
    assert parse(text, at("2026-11-25", 18))["target_met"] is met


def test_a_competitor_known_only_by_what_they_use() -> None:
    r = parse("放射科王技师反映高压注射器老是漏液，他们用的拜耳的。我答应大后天带注射器过去让他们试", at("2026-11-25"))
    assert r["competitor"] == "他们用的拜耳的"


def test_a_next_step_written_after_its_label_without_a_colon_is_the_step() -> None:
    r = parse("拜访市一院王主任，痛点老化，下一步周四前把方案发过去", at("2026-11-24"))
    assert (r["next_action"], r["due"]) == ("周四前把方案发过去", "2026-11-26")


@pytest.mark.parametrize(
    ("text", "now", "kind", "due"),
    [
        (
            "拜访市老年病医院康复科华主任，科里想增加几台排痰机，华主任下周要休假，让我10月9号再过去",
            "2026-09-23",
            "visit",
            "2026-10-09",
        ),  # fmt: skip
        ("拜访市一院王主任，痛点老化，李主任下周要出差，让我10月29号再过去", "2026-10-23", "visit", "2026-10-29"),
        ("今天调休上班，上午直接去市四院设备科对账，不回公司了", "2026-09-20", "itinerary", "2026-09-20"),
        (
            "今天去县第二人民医院检验科转了转，主任还没见着，听技师说化学发光现在外送。下次约姜主任",
            "2026-09-21",
            "visit",
            None,
        ),  # fmt: skip
        ("王主任说要上两台彩超，让我们尽快出方案", "2026-09-21", "visit", None),
        (
            "见了高新区人民医院设备科的汤科长，标书交了。下周一开标，我跟经理一起去现场",
            "2026-09-16",
            "visit",
            "2026-09-21",
        ),  # fmt: skip
    ],
)
def test_someone_elses_absence_a_visit_told_and_a_day_said_before_the_step(
    text: str, now: str, kind: str, due: str | None
) -> None:
    r = parse(text, at(now, 18))
    assert (r["kind"], r["due"]) == (kind, due)


def test_an_unlisted_product_right_after_a_need_verb() -> None:
    r = parse("省第二人民医院麻醉科紧急订购喉镜片50个，透析室急需透析液80桶", at("2026-09-21"))
    assert [(i["product"], i["quantity"]) for i in r["items"]] == [("喉镜片", 50), ("透析液", 80)]


def test_an_unnamed_domestic_brand_is_a_brand() -> None:
    r = parse("某国产品牌在县妇幼保健院搞胎监零元投放，按纸张收费", at("2026-09-21"))
    assert (r["kind"], r["brand"]) == ("competitor", "某国产品牌")


@pytest.mark.parametrize(
    ("text", "competitor", "next_action"),
    [
        (
            "又去了市一院信息科刘工，关心监护数据能否接入，竞品：无，下一步让工程师出接口方案",
            None,
            "让工程师出接口方案",
        ),
        ("拜访市一院王主任，痛点老化，竞品迈瑞，下一步节后带样机演示", "竞品迈瑞", "节后带样机演示"),
    ],
)
def test_a_next_step_after_its_word_alone_and_a_stated_value_ending_there(
    text: str, competitor: str | None, next_action: str
) -> None:
    r = parse(text, at("2026-11-18"))
    assert (r["competitor"], r["next_action"]) == (competitor, next_action)
    assert r["pain_points"] is not None


def test_a_cover_named_with_their_title_is_named_without_it() -> None:
    assert parse("下周四周五请假，客户交给赵磊组长", at("2026-11-23"))["handover"] == "赵磊"


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("拜访市一院设备科王主任，痛点是监护仪老化，用的是雷度的。下周送方案", "competitor", "用的是雷度的"),
        ("拜访市一院设备科王主任，痛点是监护仪老化，之前卡瓦的人来过。下周送方案", "competitor", "之前卡瓦的人来过"),
        ("拜访市一院设备科王主任，痛点是老化，用的是我们的。下周送方案", "competitor", None),
        ("拜访医大二附院设备科王主任，想换监护仪", "customer", "医大二附院"),
        ("拜访市精神卫生中心设备科王主任，想换监护仪", "customer", "市精神卫生中心"),
        ("拜访市一院器械科的罗干事，想换监护仪", "contact", "罗干事"),
        ("拜访市一院，见了口腔颌面外科的丁主任，想换牙椅", "department", "口腔颌面外科"),
        ("下周一请假一天，区域客户由张伟先盯着", "handover", "张伟"),
    ],
)
def test_competitors_by_what_is_used_and_names_of_hospitals_titles_and_covers(
    text: str, field: str, value: str | None
) -> None:
    assert parse(text, at("2026-11-25"))[field] == value


def test_a_hospital_named_as_a_landmark_or_several_of_a_kind_is_no_customer() -> None:
    r = parse("迈瑞本周在市一院周边三家社区卫生服务中心搞免费试用", at("2026-11-26"))
    assert (r["kind"], r["customer"], r["brand"]) == ("competitor", None, "迈瑞")
    assert "免费试用" in r["activity"]


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("市一院ICU急需高流量氧疗仪3台", [("高流量氧疗仪", 3, "台")]),
        ("针灸科急需一次性针灸针100盒", [("一次性针灸针", 100, "盒")]),
        ("检验科尿试纸断货了，要30盒", [("尿试纸", 30, "盒")]),
        ("急诊科除颤监护仪坏了，急需借两台", [("除颤监护仪", 2, "台")]),
    ],
)
def test_whole_product_names_before_a_count_or_earlier_in_the_sentence(
    text: str, items: list[tuple[str, int, str]]
) -> None:
    got = parse(text, at("2026-11-25"))["items"]
    assert [(i["product"], i["quantity"], i["unit"]) for i in got] == items


def test_a_question_the_customer_asked_us_is_not_our_next_step() -> None:
    text = "拜访市一院设备科梁工，问我们能不能做原厂检测，下周三前我们报个检测服务价给梁工"
    r = parse(text, at("2026-09-16"))
    assert (r["next_action"], r["due"]) == ("下周三前我们报个检测服务价给梁工", "2026-09-23")


def test_a_role_label_written_with_de_is_the_role() -> None:
    text = "【客户】博爱医院（民营）【联系人】孙主任【角色】技术把关的【痛点】老化【竞品】无【下一步】周五送样"
    assert parse(text, at("2026-11-23"))["decision_role"] == "技术把关"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # 反馈/确认 with nobody and nothing named: a reminder, not a visit
        ("各位早，九点线上晨会别忘了，昨天有重点客户反馈的准备一下", "other"),
        ("设备科反馈说监护仪不够用", "visit"),  # a department is named
        # a contact who asks us for something: our visit, though a competitor moves too
        ("县中医院器械科钱科长 想把清洗机换了 奥林巴斯的代理也在跟 让我们3个工作日内报个价", "visit"),
        ("妇保院设备科许科长 预算批下来了 给产房配胎监 让我下周提交报价 理邦也在报", "visit"),
        ("奥林巴斯的代理在县中医院跟清洗机的项目，在报价", "competitor"),
    ],
)
def test_who_is_named_decides_between_visit_competitor_and_other(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-24"))["kind"] == kind


def test_an_unlisted_competitor_introduced_by_name() -> None:
    result = parse("有个叫瑞德康的小牌子在东城区中医院推理疗设备，买二送一，还包三年维保", at("2026-11-24"))
    assert (result["kind"], result["brand"], result["customer"]) == ("competitor", "瑞德康", "东城区中医院")
    assert "买二送一" in result["activity"]
    assert parse("叫我们明天去市一院设备科", at("2026-11-24"))["brand"] is None


@pytest.mark.parametrize(
    ("text", "competitor"),
    [
        ("省医体检中心李主任说想加一台骨密度仪，之前有个小厂家的报价便宜很多", "小厂家的报价便宜很多"),
        ("二院呼吸科吴主任说肺功能仪还是十年前的耶格，经常出故障", "耶格"),
    ],
)
def test_a_competitor_named_by_a_word_for_one_or_a_less_known_brand(text: str, competitor: str) -> None:
    result = parse(text, at("2026-11-24"))
    assert result["kind"] == "visit" and competitor in result["competitor"]


@pytest.mark.parametrize(
    ("text", "start", "end", "cover"),
    [
        ("明天加班去装机 下周一调休 县医院的事@小李 帮我盯下", "2026-12-07", "2026-12-07", "小李"),
        ("明天要去市一院装机，后天请假，小王帮我盯着", "2026-12-05", "2026-12-05", "小王"),
        ("请假：12.14-12.18，交给李娜", "2026-12-14", "2026-12-18", "李娜"),
        ("家里有事，明后两天请假，急事找我们组长老郑", "2026-12-04", "2026-12-05", "老郑"),
        ("今天发烧请个病假 县医院下午的会小陈帮我去一下", "2026-12-03", "2026-12-03", "小陈"),
        ("周五调休，客户那边找我们经理赵磊", "2026-12-04", "2026-12-04", "赵磊"),
        ("下周一请病假，腰扭了，急事找组长", "2026-12-07", "2026-12-07", "组长"),
    ],
)
def test_the_leave_is_the_day_told_with_it_and_the_cover_however_named(
    text: str, start: str, end: str, cover: str
) -> None:
    result = parse(text, at("2026-12-03", 18))
    assert (result["kind"], result["start"], result["end"], result["handover"]) == ("leave", start, end, cover)


@pytest.mark.parametrize(
    ("text", "step", "due"),
    [
        ("市一院医工科田科长说配件不好备，这周三前要一份维保方案", "这周三前要一份维保方案", "2026-12-16"),
        ("县医院设备科王科长说监护仪要换，月底前要定下来", "月底前要定下来", "2026-12-31"),
    ],
)
def test_something_due_before_a_coming_day_is_the_next_step(text: str, step: str, due: str) -> None:
    result = parse(text, at("2026-12-14", 18))
    assert step in result["next_action"] and result["due"] == due


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("有谁知道费森尤斯在青溪县医院的投放是几年期的？", "other"),  # a question to the group
        ("青溪县医院那批急调的透析器发出去了吗？仓库回个话", "other"),  # an old urgent order asked after
        ("今天18:30前复盘发群里，没完成的写清原因和补救", "other"),  # a leader's reminder
        ("今日复盘：拜访3家，全部完成", "review"),
        ("大家今天的拜访记录记得19点前补全，缺项的抓紧", "other"),
        ("明天下午周例会，华南的数据我来讲，大家复盘别拖", "other"),
        ("提醒一下：请假、调休一定提前在群里报", "other"),
        ("大家好，我明天请假，记得找小王", "leave"),  # the writer's own news
    ],
)
def test_questions_reminders_and_old_orders_are_other(text: str, kind: str) -> None:
    assert parse(text, at("2026-12-03", 17))["kind"] == kind


def test_a_review_template_whose_target_line_says_done() -> None:
    result = parse("今日总结\n拜访：3家\n送样：1家\n目标：完成", at("2026-12-03", 18))
    assert (result["kind"], result["target_met"]) == ("review", True)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("二院的拜访小结昨晚已经发给刘科长了", "other"),  # the summary spoken of, not a visit
        ("拜访小结：市一院设备科王主任，想换监护仪", "visit"),  # the report's own header
        ("今天替李娜去了趟县妇幼，陈护士长说胎心监护老误报，让我们下周一尽快把样机送过去", "visit"),  # not urgent
        ("今天福寿养老院的单子没拿到", "other"),  # 拿到 is no trip
        ("今天的目标都做完了", "review"),
        ("县医院钱科长收到报价了，问我们能不能再降5个点", "visit"),  # a contact asking us
    ],
)
def test_kinds_a_week_in_the_group_got_wrong(text: str, kind: str) -> None:
    assert parse(text, at("2026-12-08", 17))["kind"] == kind


def test_a_review_whose_target_line_says_done_before_more_text() -> None:
    result = parse("复盘 目标：完成。南山医院ICU需求摸清了", at("2026-12-08", 18))
    assert (result["kind"], result["target_met"]) == ("review", True)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("下周三带样机去做演示，这是县医院ICU冯主任刚定的。他们现在的监护仪是宝莱特的，屏幕太小", "visit"),
        ("明天去市一院设备科找王主任送资料", "itinerary"),
        ("下周一去县医院，迈瑞也在跟这个项目", "itinerary"),
        ("听市胸科医院的朋友说，GE的心脏彩超已经签下来了，下周进心内科", "competitor"),
        ("有个不知名的小厂在开发区医院报了超低价的输液泵，一台不到三千", "competitor"),
        ("谁说设备科难搞的😂 开发区医院器械科的马科长今天主动问我们有没有国产的除颤仪", "visit"),
        ("今天见的是县医院信息科的吴工，现有的科曼监护仪接不了护理系统", "visit"),
        ("铁路医院招标办郑主任透露，监护仪项目下个月挂网，参数是按迈瑞的写的", "visit"),
    ],
)
def test_kinds_of_a_fifth_fresh_set(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-12", 17))["kind"] == kind


def test_a_discount_is_the_activity_and_mid_month_a_date() -> None:
    assert "全线八折" in parse("鱼跃在搞年底冲量，制氧机和雾化器全线八折", at("2026-11-12"))["activity"]
    result = parse("市中医院设备科孙科长让我月中之前把我们的售后承诺整理一份给他", at("2026-11-02"))
    assert result["due"] == "2026-11-15"
    assert parse("县医院设备科孙科长让我月中之前把方案给他", at("2026-11-20"))["due"] == "2026-12-15"


@pytest.mark.parametrize(
    ("text", "field", "want"),
    [
        ("今天在南山镇卫生院见了王院长，想要一台国产的彩超。没提到别家。下周我把方案给他", "competitor", None),
        (
            "南山镇卫生院王院长回电：镇里的钱批下来了。让我们下周内把合同初稿拿过去。别的厂家暂时没来",
            "competitor",
            None,
        ),
        (
            "青石镇卫生院：见了蒋院长。他们现在连一台十二导的心电图机都没有",
            "pain_points",
            "连一台十二导的心电图机都没有",
        ),
        ("市骨科医院麻醉科贺主任说，现在做老年人手术麻醉深度全凭经验", "pain_points", "麻醉深度全凭经验"),
        ("安康医院采购中心的宋经理说他们12月底前要把ICU配齐监护仪，让我们周三前交报价", "next_action", "交报价"),
        (
            "跟安康医院采购中心的宋经理混熟了，他们12月底前要把ICU配齐监护仪。宋经理让我们周三前交报价",
            "next_action",
            "交报价",
        ),
        ("妇幼那边（市妇幼保健院）新生儿科的汤医生说暖箱坏了一台", "customer", "市妇幼保健院"),
        ("今天陪王经理去了江北区人民医院，见了分管设备的曹院长", "contact", "曹院长"),
        ("跟进检验科的试剂单子，今天没见到谢主任，科里的戴医生说主任去开会了", "contact", "戴医生"),
    ],
)
def test_fields_of_a_fifth_fresh_set(text: str, field: str, want: str | None) -> None:
    got = parse(text, at("2026-11-12", 17))[field]
    assert got is None if want is None else (got is not None and want in got)


def test_a_question_customers_asked_us_about_a_competitors_move_is_news() -> None:
    result = parse("欧姆龙在搞血压计团购价，好几个社区中心都来问我们能不能跟", at("2026-12-08"))
    assert (result["kind"], result["brand"]) == ("competitor", "欧姆龙")
    assert parse("迈瑞降价了吗？", at("2026-12-08"))["kind"] == "other"


@pytest.mark.parametrize(
    ("text", "field", "want"),
    [
        ("今天又去省人医院办见了钱主任，预算下来了，要我们下周报价", "customer", "省人医"),
        ("转一下：飞利浦下个月在省人民医院办超声培训班，免费给超声科医生培训", "customer", "省人民医院"),
        ("明天上午按复盘说的再去市二院找黄主任", "kind", "itinerary"),
        ("去了县妇幼产科，见了刘护士长，她们想要便携胎心监护，现在用的太笨重", "competitor", None),
        ("今天的目标都做完了，明天去县妇幼", "kind", "review"),
    ],
)
def test_what_a_second_week_in_the_group_found(text: str, field: str, want: str | None) -> None:
    assert parse(text, at("2026-12-15", 17))[field] == want


def test_no_prefix_of_a_message_breaks_the_parser() -> None:
    texts = [
        "转一下区域群的消息：飞利浦下个月在省人民医院办超声培训班，大家有客户在省医的注意一下",
        "今天又去省人医院办见了钱主任，预算下来了，要我们下周报价。竞品：迈瑞；下一步：周四再去",
        "急！市一院手术室明早8点前要1台备用麻醉机，唯一一台坏了，缺口大概两台",
    ]
    for text in texts:
        for end in range(len(text) + 1):
            parse(text[:end], at("2026-12-15"))  # never raises


@pytest.mark.parametrize(
    ("text", "field", "want"),
    [
        ("飞利浦在附二院办了个重症超声培训班，免费给ICU医生发证书", "customer", "附二院"),  # 办 a verb here
        (
            "市中医院检验科龙主任说，科里外送的项目积压越来越多，主任比我们还急。龙主任让我们下周一前把报告准备好",
            "kind",
            "visit",
        ),
        ("今天去市中医院检验科，科里在搬新楼，人都没空理我，放下资料就走了", "kind", "visit"),
        ("今天去市一院，下午回公司", "kind", "itinerary"),
        ("今日拜访小结：\n1、县医院设备科 孟科长\n2、报价审过了，价格没问题\n3、竞品：暂无", "pain_points", None),
    ],
)
def test_what_the_last_held_out_set_found(text: str, field: str, want: str | None) -> None:
    assert parse(text, at("2026-11-24", 10))[field] == want


@pytest.mark.parametrize(
    "text",
    [
        "后天谁休假？要排一下晨会",
        "周五谁请假了吗？",
        "老周昨天请假了吗？群里没看到他",
        "这个月我拜访了多少家？",
        "周报模板在哪？复盘模板是哪个？",
        "出差补助标准是多少？",
        "飞利浦在县医院是不是又降价了？有人知道吗",
    ],
)
def test_a_question_about_a_record_is_no_record(text: str) -> None:
    assert parse(text, at("2026-11-11"))["kind"] == "other"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("明天想请假一天可以吗？家里有事，客户找李娜", "leave"),
        ("复盘：目标3家完成2家，王主任没见到，明天补上", "review"),
        ("下周一出差去县医院，不到公司了", "itinerary"),
        ("市一院王主任问我们的监护仪是不是能接HIS？我说能，下周送资料", "visit"),
    ],
)
def test_a_record_that_holds_a_question_is_still_that_record(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-11"))["kind"] == kind


@pytest.mark.parametrize(
    "text",
    [
        "上午在县医院ICU跟刘护士长聊了一下，两台监护仪坏了就是她报的急调，已经有人接了，她想年后整体换，下周一送方案",
        "不是急需，是拜访记录：上午在县医院ICU见了刘护士长，她想年后整体换监护仪，下周一送方案",
    ],
)
def test_a_visit_that_speaks_of_an_urgent_need_is_no_new_one(text: str) -> None:
    assert parse(text, at("2026-11-11"))["kind"] == "visit"


def test_a_visit_naming_whom_we_saw_a_competitors_price_and_our_dated_step_is_a_visit() -> None:
    text = "市儿院放射科现场看完了，孙主任和工程师对了一下，机房够装新DR，联影报价比我们低一点，下周三出正式方案"
    r = parse(text, at("2026-11-11"))
    assert (r["kind"], r["customer"], r["contact"]) == ("visit", "市儿院", "孙主任")


def test_the_next_step_starts_after_its_label_inside_the_clause() -> None:
    r = parse("市一院设备科王主任那边下一步是下周三讲方案", at("2026-11-11"))
    assert (r["next_action"], r["due"]) == ("下周三讲方案", "2026-11-18")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("今天下午请三个小时假去办证，四点前回来", "leave"),
        ("Today's review: 目标4家 done 4家 👍", "review"),
        (
            "今天去了县医院设备科，老周（科长）说预算还没批，监护仪不够。迈瑞在送样。下周我先去仓库看看有没有样机",
            "visit",
        ),
    ],
)
def test_hours_of_leave_an_english_review_and_a_visit_that_opens_with_it(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-11"))["kind"] == kind


def test_competitor_news_in_a_template_of_its_own() -> None:
    r = parse(
        "【竞品动态】\n品牌：开立\n医院：城南县人民医院\n动作：彩超以旧换新，旧机抵5000元\n来源：设备科",
        at("2026-11-11"),
    )
    assert (r["kind"], r["brand"], r["activity"]) == ("competitor", "开立", "彩超以旧换新，旧机抵5000元")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("今天在城南社区中心听吴医生说，鱼跃最近在咱们区的社区推血压计免费用，大家多留意", "competitor"),
        ("县医院设备科吕工说维保年底到期，听说联影也找过他，我们周五给个方案", "visit"),
        ("有没有人知道城南医院的欧阳院长喜欢喝什么茶🍵 下周去拜访", "other"),
        ("上周有两家客户反馈培训不够，这周大家拜访的时候顺便问一下", "other"),
        ("今日review：target是2个demo，全部done✅", "review"),
    ],
)
def test_news_passed_on_a_question_or_reminder_to_the_group_and_an_english_review(text: str, kind: str) -> None:
    assert parse(text, at("2026-11-11"))["kind"] == kind


def test_a_report_in_spaced_fragments_keeps_a_day_with_its_step_and_brands_with_what_they_do() -> None:
    r = parse("县医院 放射科 吕主任 DR要换 万东 联影 都在跟 大后天 送参数表", at("2026-11-11"))
    assert (r["competitor"], r["next_action"], r["due"]) == ("万东 联影 都在跟", "大后天 送参数表", "2026-11-14")
    r = parse("县人医 骨科 骆教授 导航系统想引进 史赛克的 在试用 下周四前我约骆教授吃饭", at("2026-11-11"))
    assert r["competitor"] == "史赛克的 在试用"


def test_an_urgent_loaner_is_the_product_that_broke_wanted_when_it_is_asked_for() -> None:
    r = parse("急！西乡社区黄院长说他们的心电图机坏了，明天有体检活动，今天下午能不能送一台备机过去", at("2026-12-09"))
    assert r["kind"] == "urgent" and r["due"] == "2026-12-09"  # wanted this afternoon, for tomorrow's event
    assert r["items"] == [{"product": "心电图机", "quantity": 1, "unit": "台"}]
    r = parse("急！市一院手术室明早要两台备用机", at("2026-12-09"))
    assert r["items"] == [{"product": "备机", "quantity": 2, "unit": "台"}]


def test_a_trip_this_afternoon_told_after_it_is_a_visit() -> None:
    text = "下午去省立医院财务处找王姐催那笔款，王姐说要等七月中旬医保款回来才能付"
    assert parse(text, at("2026-07-01", 10))["kind"] == "itinerary"  # the afternoon to come
    assert parse(text, at("2026-07-01", 18))["kind"] == "visit"  # the afternoon that was


def test_a_report_written_as_questions_and_answers_reads_as_the_template() -> None:
    text = "客户？西郊医院。科室？心内。谁？包主任。痛点？动态血压盒不够，排队要一周。竞品？GE。下一步？周五演示。"
    r = parse(text, at("2026-06-03"))
    assert (r["kind"], r["customer"], r["department"], r["contact"]) == ("visit", "西郊医院", "心内", "包主任")
    assert (r["pain_points"], r["competitor"], r["next_action"]) == ("动态血压盒不够，排队要一周", "GE", "周五演示")
    r = parse("竞品动态？有。谁？罗氏。在哪？开发区医院检验科。干啥？送了一台e411试用。", at("2026-06-03"))
    assert (r["kind"], r["brand"], r["activity"]) == ("competitor", "罗氏", "送了一台e411试用")
    r = parse("客户？江北区人民医院。谁？设备科孙科长。痛点？暂无。竞品？没提。下一步？还没想好。", at("2026-06-03"))
    assert r["kind"] == "visit" and r["missing"] == ["pain_points", "competitor", "next_action"]
    assert parse("谁去？几点？在哪？", at("2026-06-03"))["kind"] == "other"  # questions with no answers


@pytest.mark.parametrize(
    "text",
    [
        "明天计划：上午市一院设备科王科长，下午县人医检验科李主任",
        "下周拜访计划：\n1. 周一 附二院ICU吴主任\n2. 周二 妇幼保健院产科刘护士长",
    ],
)
def test_a_plan_of_visits_to_come_is_an_itinerary(text: str) -> None:
    assert parse(text, at("2026-11-11", 18))["kind"] == "itinerary"


def test_a_terse_report_of_whom_we_saw_and_what_they_asked_of_us_is_a_visit() -> None:
    assert parse("市三院ICU 郑护士长 注射泵 要报价", at("2026-11-11", 18))["kind"] == "visit"
    assert parse("市一院王主任要报价的话找谁？", at("2026-11-11", 18))["kind"] == "other"  # a question
