"""Customers, departments, contacts and decision-chain roles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.parse import parse
from bot.parse.entities import decision_role

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def field(text: str, name: str) -> object:
    return parse(text, NOW)[name]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("今天上午拜访了省人民医院心内科张主任", "省人民医院"),
        ("@前线助手 急！市一院ICU今晚要3台呼吸机", "市一院"),
        ("拜访城东社区卫生服务中心全科医学科孙主任", "城东社区卫生服务中心"),
        ("李家镇卫生院急需试纸50盒", "李家镇卫生院"),
        ("去妇幼保健院新生儿科扫了下楼", "妇幼保健院"),
        ("见了县中医院的李院长", "县中医院"),
        ("和协和医院招标办周主任确认了挂网时间", "协和医院"),
        ("跟仁和医院（民营）的陈院长沟通了", "仁和医院"),
        ("迈瑞中标了协和医院的监护仪项目", "协和医院"),
        ("拜访市妇幼保健院设备科崔科长", "市妇幼保健院"),
        ("拜访北医三院心内科", "北医三院"),
        ("去了美华妇产医院", "美华妇产医院"),
        ("拜访东湖社区卫生服务站站长", "东湖社区卫生服务站"),
        ("明天去县医院", "县医院"),
        ("去和平医院送货", "和平医院"),
        ("拜访市第一人民医院设备科", "市第一人民医院"),
        ("拜访省肿瘤医院放疗科王教授", "省肿瘤医院"),
        ("去了趟人民医院，设备科的孙科长说", "人民医院"),
        ("妇保院产科的胎监又坏了两台，急需维修", "妇保院"),
        ("补充11月23日市第一人民医院设备科的拜访：痛点维修慢", "市第一人民医院"),
        ("刚拜访完省立医院心外科刘主任，想换监护仪", "省立医院"),
        ("Visit了江医附一院设备科的庞科长", "江医附一院"),  # the place a short name belongs to
        ("今天在青岚县人医待了一上午", "青岚县人医"),
        ("刚和松溪县中医院信息科的姚工开完会", "松溪县中医院"),
        ("急 柳巷服务站 制氧机2台 明天要", "柳巷服务站"),
        ("飞利浦请市一院心内科的医生去杭州开会", "市一院"),
        ("明天去省人医送资料，不回公司", "省人医"),
        # the team's own short names: a numbered 院 or 妇幼 alone
        ("二院ICU刘主任 呼吸机老是报警", "二院"),
        ("急 三院急诊今晚要两台微量泵", "三院"),
        ("谁有二院设备科孙科长微信 推我一下", "二院"),
        ("周会几点开？我还在妇幼没回来", "妇幼"),
        ("罗氏在妇幼检验科投放了一台化学发光", "妇幼"),
        ("南湖妇幼的李主任说胎监不够", "南湖妇幼"),
        ("去了福寿园养老院，见了柯院长", "福寿园养老院"),
        ("尽快安排：市二医ICU的管路快用完了", "市二医"),
        ("市人医医学装备部的官副主任今天约我过去", "市人医"),
        ("明天去市中医医院设备科", "市中医医院"),
        ("省人医院办的孙主任说没有竞品", "省人医"),  # 省人医 and its 院办, not a hospital 省人医院
    ],
)
def test_customers(text: str, want: str) -> None:
    assert field(text, "customer") == want


@pytest.mark.parametrize(
    "text",
    [
        "雅培最近在搞活动，好几家医院都在问",
        "明天上午请半天假去医院复查",
        "迈瑞在各个社区医院搞活动",
        "收到",
        "心内科李主任说统一院内采购流程太慢",  # 院内, not a numbered 院
        "去了第一院区心内科，李主任说监护仪不够",
        "这事唯一院长说了算",
    ],
)
def test_no_customer(text: str) -> None:
    assert field(text, "customer") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("市一院设备科王主任说", "设备科"),
        ("省人民医院ICU的陈大夫反馈", "ICU"),
        ("市一院ＩＣＵ急需５台监护仪", "ICU"),  # full-width letters read as ASCII
        ("拜访城东社区卫生服务中心全科医学科孙主任", "全科医学科"),
        ("和省人民医院采购中心的杨主任确认了", "采购中心"),
        ("协和医院医工科郑工程师沟通结果", "医工科"),
        ("拜访市一院血管外科王主任", "血管外科"),
        ("拜访市一院疝气外科王主任", "疝气外科"),  # an unlisted 科 right after the customer
        ("今天见了市一院呼吸科的何主任，他答应这周四帮我们约设备科", "呼吸科"),
        ("省人民医院OR章护士长说 监护仪老接触不良", "OR"),
        ("二院CT室孔技师说 现在的CT是飞利浦16排的", "CT室"),
        ("拜访南湖街道社区卫生服务中心，见了慢病科的苗副主任", "慢病科"),  # unlisted, after 见了
        ("基建办贺主任说新院区二期要开始配设备了", "基建办"),
        ("胸科医院 呼吸 杭主任 雾化器老化 要20台", "呼吸"),  # said short, right after the hospital
        ("报备 今天在省肿放射 不回司", "放射"),
    ],
)
def test_departments(text: str, want: str) -> None:
    assert field(text, "department") == want


@pytest.mark.parametrize(
    "text",
    [
        "和市骨科医院的蔡副院长吃了个工作餐，院里要新建两间复合手术室，C臂和麻醉机都要配",  # being built
        "县医院的李院长说明年改造一个导管室",
        "陈书记说我这周五前约他们院办开个对接会",  # only the target of our next step
        "市三院呼吸机坏了两台",  # 呼吸 of 呼吸机
        "南山医院陈主任电话跟进了，陈主任说设备科那边倾向GE",  # a party the contact speaks of
        "报价单给南山医院陈主任了，陈主任说要和设备科一起看",
        "市一院 检验报告出来了",
    ],
)
def test_no_department(text: str) -> None:
    assert field(text, "department") is None


def test_a_department_that_is_only_our_next_step_is_not_the_department() -> None:
    assert field("见了县中医院的李院长，下周约设备科", "department") is None
    assert field("省人民医院的刘院长答应下周安排我们和设备科开会", "department") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("拜访市一院设备科王主任", "王主任"),
        ("拜访协和医院医工科郑工程师", "郑工程师"),
        ("市中心医院信息科赵工确认了", "赵工"),
        ("拜访妇幼保健院产科刘护士长", "刘护士长"),
        ("中午和县人民医院麻醉科吴副主任吃了个饭", "吴副主任"),
        ("今天拜访总结：\n1. 市一院 孙副院长", "孙副院长"),
        ("拜访市一院欧阳主任", "欧阳主任"),
        ("拜访市一院检验科，见了刘技师", "刘技师"),
        ("市二院设备科科长不在，施工队在装修", None),
        ("下周再去约主任", None),
    ],
)
def test_contacts(text: str, want: str | None) -> None:
    assert field(text, "contact") == want


@pytest.mark.parametrize(
    ("title", "department", "want"),
    [
        ("院长", None, "决策者"),
        ("副院长", "设备科", "决策者"),  # a title of 决策者 wins over a procurement department
        ("书记", None, "决策者"),
        ("主任", "设备科", "采购"),
        ("工程师", "采购中心", "采购"),  # 采购 comes before 技术把关
        (None, "招标办", "采购"),  # a procurement department implies the role without a contact
        ("主任", "信息科", "技术把关"),
        ("工", "影像科", "技术把关"),
        ("工程师", None, "技术把关"),
        ("科长", "财务科", "财务"),
        ("主任", "心内科", "科室负责人"),
        ("副主任", "麻醉科", "科室负责人"),
        ("护士长", "ICU", "科室负责人"),
        ("主任", "护理部", "科室负责人"),
        ("主任", "基建办", None),  # an office that runs the hospital is no clinical department
        ("主任", "院办", None),
        ("主任", None, None),  # a 主任 of no department written could head 设备科 as well: no guess
        ("护士长", None, None),
        ("医生", "内分泌科", "使用者"),
        ("大夫", "ICU", "使用者"),
        ("技师", "检验科", "使用者"),
        ("教授", "心内科", "影响者"),
        ("专家", None, "影响者"),
        (None, "急诊科", None),  # a clinical department alone implies nobody
        (None, None, None),
        ("经理", None, None),
    ],
)
def test_decision_roles_in_table_order(title: str | None, department: str | None, want: str | None) -> None:
    assert decision_role(title, department) == want


def test_decision_role_in_a_message() -> None:
    assert field("下午去市二院设备科转了一圈，科长不在，跟科里小伙子聊了下", "decision_role") == "采购"
    assert field("去了第三人民医院急诊科，科里反馈除颤仪经常充电慢", "decision_role") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("拜访省人民医院病理科冷主任", "冷主任"),  # less common surnames
        ("拜访市一院ICU的尚主任和金护士长", "尚主任"),
        ("协和医院的鲍主任（神经内科）反馈", "鲍主任"),
        ("拜访市妇幼保健院信息科的车工", "车工"),
        ("在仁爱医院（民营）跟邱总聊了", "邱总"),  # 总 as a title
        ("拜访县医院，病房护士长说监护仪不够", None),  # 病房 + 护士长, not 房护士长
        ("见了县医院分管院长", None),  # 分管 + 院长, not 管院长
        ("拜访县医院设备科，高总价超过了预算", None),  # 总价, not 高总
    ],
)
def test_more_surnames_without_ordinary_words(text: str, want: str | None) -> None:
    assert field(text, "contact") == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("谁知道县中医院新来的设备科长姓什么？", "县中医院"),
        ("帮我查一下县人民医院这个月的回款", "县人民医院"),
        ("报备，明天上午跑两家乡镇卫生院：王集镇卫生院和马庄乡卫生院", "王集镇卫生院"),
        # spoken fillers before a name (voice input) are not part of it
        ("那个石湾镇卫生院说血糖试纸用完了，急需三十盒", "石湾镇卫生院"),
        ("嗯白沙县医院采购办的罗主任说招标文件下周出来", "白沙县医院"),
        # one character left between two boundaries belongs to the name, even after 和
        ("嗯下午去安和康复医院见了严院长，预算大概两百万", "安和康复医院"),
        ("上午跑了市一院和康复医院，两边都在等报价", "市一院"),
        # a city's name before its numbered hospital, and the team's short names
        ("刚从澜州一院出来，见了设备科的孙科长", "澜州一院"),
        ("附院ICU今晚要两台高流量，谁有库存", "附院"),
        ("下午去了市妇儿新生儿科，跟刘护士长聊了一下", "市妇儿"),
        ("嗯去了东港社区，跟全科医学科的蔡主任聊了一下", "东港社区"),
    ],
)
def test_customer_name_boundaries(text: str, want: str) -> None:
    assert field(text, "customer") == want


def test_unlisted_brand_guess_is_not_a_competitor_word() -> None:
    result = parse("竞争对手在市中医院ICU做呼吸机租赁，按天收费", NOW)
    assert (result["kind"], result["brand"], result["activity"]) == ("competitor", None, "做呼吸机租赁")


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("谊安医疗在市一院手术室搞麻醉机试用", "谊安"),  # the brand, not the company's full name
        ("费森尤斯给市二院血透室免费投放了10台透析机", "费森尤斯"),
        ("日本光电在市一院神经内科推新款脑电图机", "日本光电"),
    ],
)
def test_more_brands(text: str, brand: str) -> None:
    assert field(text, "brand") == brand


@pytest.mark.parametrize("text", ["听说有家公司在市一院搞买一送一", "有个厂家在市二院送耗材"])
def test_an_unnamed_company_is_competitor_news_with_no_brand(text: str) -> None:
    assert field(text, "kind") == "competitor"
    assert field(text, "brand") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("见了市人医眼科庞主任，聊了十分钟", "庞主任"),
        ("今天见到了市中医院分管设备的副院长蒙院长", "蒙院长"),
        (
            "去石门乡卫生院找韦院长，韦院长请假了不在，跟公卫科的蓝医生聊了聊",
            "蓝医生",
        ),  # who was away is not the contact
        ("市一院王主任说李医生出差了，下周再约", "王主任"),
        ("下午去省人医设备科找王主任，他去开会了不在，跟刘工聊了一会儿", "刘工"),
    ],
)
def test_contacts_of_less_common_surnames_and_who_was_away(text: str, want: str) -> None:
    assert field(text, "contact") == want


def test_an_unlisted_competitor_with_what_of_theirs_before_the_customer() -> None:
    assert (
        field("斯泰瑞的低温等离子在市中医院中标了，下个月装机", "kind"),
        field("斯泰瑞的低温等离子在市中医院中标了", "brand"),
    ) == (
        "competitor",
        "斯泰瑞",
    )
    assert field("我们的样机在市一院装好了", "brand") is None


def test_a_brand_inside_a_customers_name_is_no_competitor() -> None:
    text = "刚从康泰医院出来，设备科钱科长说想上一台彩超，现在是GE的代理商在跟，周五带报价过去"
    assert (field(text, "customer"), field(text, "competitor")) == ("康泰医院", "现在是GE的代理商在跟")
    assert field("见了康泰医院设备科钱科长，想换监护仪，下周送报价", "competitor") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("昨天下午去了福寿养老院，见了院长孙院长，想配一批血压计", "孙院长"),  # not 长孙, a surname
        ("见了长孙主任，聊了设备更新", "长孙主任"),
        ("上午去了西乡社区，跟吴主任的副手何医生聊了下，她负责设备验收", "何医生"),
    ],
)
def test_a_title_before_the_name_and_a_deputy_we_spoke_to(text: str, want: str) -> None:
    assert field(text, "contact") == want


def test_a_service_promise_card_handed_over_is_no_next_step() -> None:
    text = "跟何医生聊了下，关心售后响应速度，我给了服务承诺卡，没看到竞品，下周跟王强一起去报价"
    assert field(text, "next_action") == "下周跟王强一起去报价"


def test_a_department_spoken_of_as_theirs_is_the_department() -> None:
    assert field("见了他们急诊科的那个贺主任，除颤仪不够用", "department") == "急诊科"


@pytest.mark.parametrize(
    "text",
    [
        "拜访市四院神经内科鲁主任，脑电图机用了十多年想换，没提竞品。下周一再去",
        "见了市三院的季书记，院里准备建健康管理中心，没听他提别的厂家。下个月拿清单过去",
        "拜访小结：\n1. 白沙镇卫生院，见了阮院长\n2. 需求：心电图机想添三台\n"
        "3. 竞品：阮院长没提，暂时没看到别家\n4. 下一步：周五前发报价",
    ],
)
def test_a_competitor_not_mentioned_is_no_competitor_item(text: str) -> None:
    result = parse(text, NOW)
    assert result["competitor"] is None and "competitor" in result["missing"]


def test_a_follow_up_done_is_no_next_step() -> None:
    result = parse("南山医院陈主任电话跟进了，陈主任说GE价格比我们低，可能悬了", NOW)
    assert result["next_action"] is None and "next_action" in result["missing"]
    assert parse("南山医院陈主任说GE价格比我们低，下周二再电话跟进", NOW)["next_action"] == "下周二再电话跟进"


def test_a_run_on_report_without_punctuation_still_yields_its_items() -> None:
    text = (
        "今天下午去滨江医院ICU找了吴主任呼吸机的事谈得差不多了他们在用的是六台德尔格最近病人多呼吸机不够用"
        "想再添三台呼吸机吴主任让我们这周五带工程师过去给护士做一次操作培训"
    )
    result = parse(text, NOW)
    assert "呼吸机不够用" in (result["pain_points"] or "")
    assert "德尔格" in (result["competitor"] or "") and result["due"] == "2026-11-13"


@pytest.mark.parametrize(
    ("text", "contact"),
    [("今天回访南湖医院检验科，郎主任很满意", "郎主任"), ("拜访县二院检验科危主任，想加一台血球仪", "危主任")],
)
def test_less_common_surnames_are_contacts(text: str, contact: str) -> None:
    result = parse(text, NOW)
    assert (result["contact"], result["decision_role"]) == (contact, "科室负责人")


def test_machines_that_broke_are_no_goods_needed() -> None:
    result = parse("市第四人民医院血透室两台透析机报警停机，急需工程师今天下午上门", NOW)
    assert result["kind"] == "urgent" and result["items"] == []  # an engineer is needed, not two machines
    result = parse("市二院两台监护仪坏了，急需两台监护仪今天送到", NOW)
    assert result["items"] == [{"product": "监护仪", "quantity": 2, "unit": "台"}]


@pytest.mark.parametrize(
    ("text", "customer", "contact"),
    [
        # "医院" ending a hospital's name before a colon is no "医院：" label
        ("今天都在市中医院：上午检验科冯主任，生化样本量上来了，仪器速度跟不上", "市中医院", "冯主任"),
        ("📍医院：市一院 联系人：王主任 痛点：设备老化", "市一院", "王主任"),  # after an emoji it is one
    ],
)
def test_a_label_follows_a_separator_or_an_emoji_not_a_name(text: str, customer: str, contact: str) -> None:
    assert (field(text, "customer"), field(text, "contact")) == (customer, contact)


@pytest.mark.parametrize(
    ("text", "name", "want"),
    [
        ("第二家市三院，ICU郑护士长很感兴趣，要了彩页", "customer", "市三院"),  # a day's stop, not a hospital "第二家…"
        ("顺便去了趟设备科，陆科长说年中有一批预算", "department", "设备科"),
    ],
)
def test_the_words_of_a_days_round_are_no_part_of_a_name(text: str, name: str, want: str) -> None:
    assert field(text, name) == want
