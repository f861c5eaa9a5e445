"""What kind of message this is (parse-schema.md, "Kinds").

Rules are tried in this order, the first that applies wins:
a reminder to the group that names no customer, contact or 我 (other) > leave (not 不请假, not a
question about leave without a date) > review > urgent > itinerary (报备, or a message that
opens with a coming day and a trip to a customer) > a question about a competitor naming no customer (other) > news that
opens with a competitor's name (no contact named) > news under a 竞品： label that
tells no visit > visit (strong cue) > competitor news (the move in the clause that
names the competitor) > goods needed today or tomorrow (urgent) > itinerary (weak
cue) > question to the group (other) > itinerary (a trip today) > visit (weak cue)
> other. 反馈/确认/表示/反映 are strong cues only with a customer, contact, department or
product named; a contact asking us for something (让我们报价) keeps a report with a competitor's
move a visit. The cue words live in data/kinds.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.parse.lexicon import lexicon, patterns_alt
from bot.parse.timeexpr import TimeMention

_k = lexicon().kinds


def _rx(name: str) -> re.Pattern[str]:
    return re.compile(patterns_alt(_k[name]))


LEAVE_WORD_RE = _rx("leave")  # 请假, 调休 … wherever they stand
# not "请假的提前说": people who take leave, not a leave
_LEAVE_RE = re.compile(f"(?:{LEAVE_WORD_RE.pattern})(?!的)")
_REVIEW_RE = _rx("review")
_URGENT_IGNORE_RE = _rx("urgent_ignore")
_URGENT_RE = _rx("urgent")
_URGENT_WEAK_RE = _rx("urgent_weak")
_ITIN_STRONG_RE = _rx("itinerary_strong")
_ITIN_WEAK_RE = _rx("itinerary_weak")
_VISIT_STRONG_RE = _rx("visit_strong")
_VISIT_WEAK_RE = _rx("visit_weak")
_ACTIVITY_RE = _rx("competitor_activity")
_SPECIFIC_ACTIVITY_RE = _rx("competitor_specific_activity")
_QUESTION_RE = _rx("question")


_ACK_RE = re.compile(
    r"^\W*(?:(?:好的?|好滴|好嘞|收到了?|嗯+|ok|OK|Ok|明白了?|知道了|了解|谢谢|多谢|辛苦了?|👌|👍|🙏)\W*)+"
    r"(?:我?(?:马上|这就|立刻|稍后|晚点|等下)(?:补|改|发|弄|处理|办)?[上好]?|稍等)?\W*$"
)


def acknowledges(text: str) -> bool:
    """Whether the text only acknowledges ("好的", "收到👌", "谢谢"): it answers and reports nothing."""
    return _ACK_RE.match(text) is not None


def asks(norm: str) -> bool:
    """Whether the (prepared) text is a question (kinds.yaml `question`: ？, 谁, …吗, 请问 …)."""
    return _QUESTION_RE.search(norm) is not None


# "今天拜访4家，都完成了": today's work done or not, with no customer named
_DAY_DONE_RE = re.compile(r"(?:今天|今日).{0,40}?(?:完成|达成|达标|做完|搞定)")
_NEED_RE = re.compile(r"要用|要(?!求)|需要|需|借|调")
_DELIVER_RE = re.compile(r"送到|送过来|到位|到货|用")
_GO_RE = re.compile(r"(?<![交寄发传送没拿收做办找见得])(?:去|跑|到|在|赴|前往|过去)(?![了过])")  # not 拿到, 收到 …
_CLAUSE_END_RE = re.compile(r"[,，。;；!！?？\n]")
_PLACE_RE = re.compile(r"医院|卫生院|诊所|客户|县里|乡里|镇上|乡镇|片区")
_LEAD_RE = re.compile(r"^(?:报备[:：一下]*)?")
_DONE_RE = re.compile(r"了|过(?![去来])")


def _never() -> bool:
    return False


@dataclass(slots=True)
class Signals:
    """What the entity finders saw, for the kind rules."""

    has_customer: bool
    has_contact: bool
    has_brand: bool
    has_competitor_word: bool
    has_template: bool
    has_items: bool = False
    brand_first: bool = False  # the message opens with a competitor's name
    competitor_label_first: bool = False  # the message opens with a "竞品：" label, its only template key
    # computed only when a rule needs them
    goods: Callable[[], bool] = _never  # a product or a department is named
    brand_at: tuple[int, ...] = ()  # where competitors (brands, 竞品 …) are named
    visit_content: Callable[[], bool] = _never  # pain-point or next-step wording
    to_colleague: bool = False  # the message opens with an @ of a colleague, not of the bot
    hour: int = 9  # the hour it was sent ("下午去…" sent at 17:45 is the afternoon that was)


def is_urgent(norm: str) -> bool:
    """A strong urgency word anywhere, or a weak one (尽快, 马上) outside a visit report."""
    text = _URGENT_IGNORE_RE.sub("", norm)
    if _URGENT_RE.search(text):
        return True
    return _URGENT_WEAK_RE.search(text) is not None and _VISIT_STRONG_RE.search(norm) is None


# "休假回来整理资料", "请假结束了": back from a leave, not taking one
_BACK_FROM_LEAVE_RE = re.compile(r"(?:刚|才)?(?:回来|归来|结束|完了|回到)")
# 不请假了 is no leave; "年假怎么请？" asks about leave without taking one
_NO_LEAVE_RE = re.compile(r"不(?=请|休|调休)|没有?(?=请|休|调休)")  # "我没请假！"
# "问我们有没有轻便的": a question the customer asked, reported; not ours to the group
_REPORTED_QUESTION_RE = re.compile(r"(?<![请])问(?!题)[^,，。;；!！?？\n]*[?？]?")


def _asks_whole(norm: str) -> bool:
    """A question from start to end: an asking word, and a question mark or 吗 at the end."""
    return _ASKS_WHAT_RE.search(norm) is not None and _QUESTION_END_RE.search(norm) is not None


_QUESTION_END_RE = re.compile(r"(?:[?？]|吗|么|呢)[\s?？!！。~～\U0001f000-\U0001faff]*$")
_SENTENCE_END_RE = re.compile(r"[。!！?？\n]")


def _asks_the_group(norm: str) -> bool:
    return _QUESTION_RE.search(_REPORTED_QUESTION_RE.sub("", norm) if "问" in norm else norm) is not None


# "华主任下周要休假", "他出差了": someone else's absence, told in a report
_SOMEONE_ELSE_RE = re.compile(
    r"(?:主任|院长|科长|处长|医生|大夫|护士长|老师|经理|教授|专家|书记|工程师|他|她|客户|对方)"
)


def _someone_elses(norm: str, m: re.Match[str]) -> bool:
    """Whether the clause of match `m` names someone else before it (the subject of the absence)."""
    back = _CLAUSE_END_RE.search(norm[m.start() - 1 :: -1]) if m.start() else None
    lo = m.start() - back.start() if back else 0
    return _SOMEONE_ELSE_RE.search(norm, lo, m.start()) is not None


# A question about a record, not one: "明天谁请假？", "小王今天请假了吗", "我这周拜访了几家？"
_ASKS_WHAT_RE = re.compile(r"谁|几(?:家|个|次|天|位|号|点)|多少|哪|什么|怎么|是不是|有没有|(?:了|过)(?:吗|么|没有?)")
# 复盘模板, 复盘怎么写: the review spoken of, not filed
_REVIEW_SPOKEN_OF_RE = re.compile(r"\s*(?:的)?(?:模板|表格?|格式|怎么|在哪|要不要|几点|发哪|写什么|是什么)")


def _clause_of(norm: str, m: re.Match[str]) -> str:
    """The clause around match `m`, up to the next sentence mark (？ included)."""
    back = _CLAUSE_END_RE.search(norm[m.start() - 1 :: -1]) if m.start() else None
    lo = m.start() - back.start() if back else 0
    stop = _SENTENCE_END_RE.search(norm, m.end())
    return norm[lo : stop.end() if stop else len(norm)]


def _asks_about(norm: str, m: re.Match[str]) -> bool:
    """Whether the clause of `m` asks about it ("明天谁请假？") rather than says it."""
    clause = _clause_of(norm, m)
    return _ASKS_WHAT_RE.search(clause) is not None and _QUESTION_RE.search(clause) is not None


def classify(norm: str, times: list[TimeMention], today: date, sig: Signals) -> str:
    if not sig.has_contact and (not sig.has_customer or _ADDRESSES_GROUP_RE.match(norm)) and reminds_group(norm):
        if sig.has_brand and _SPECIFIC_ACTIVITY_RE.search(norm):
            return "competitor"  # "大家注意：迈瑞这个月在推以旧换新，谁碰到了及时反馈": news, passed to all
        return "other"  # "大家今天的拜访记录记得19点前补全", "大家周五前把市二院的报价都准备好": to the group
    leave = _LEAVE_RE.search(norm)
    if leave and not (
        _NO_LEAVE_RE.match(norm, max(0, leave.start() - 1))
        or (not times and _QUESTION_RE.search(norm))
        or _asks_about(norm, leave)
        or _someone_elses(norm, leave)
        or reviews_before(norm, leave.start())
        or _BACK_FROM_LEAVE_RE.match(norm, leave.end())
    ):
        return "leave"
    review = _REVIEW_RE.search(norm)
    if review and _REVIEW_SPOKEN_OF_RE.match(norm, review.end()):
        review = None
    if (
        review or (not sig.has_customer and not sig.has_contact and _DAY_DONE_RE.search(norm))
    ) and not _REMINDS_RE.search(norm):
        return "review"
    if is_urgent(norm) and (sig.has_customer or sig.has_items or sig.goods()):
        return "urgent"
    trip = _ITIN_STRONG_RE.search(norm)
    if trip and not sig.has_customer and _asks_whole(norm):
        trip = None  # "怎么报备？": asks how, files no trip
    if (trip and not _someone_elses(norm, trip)) or (
        # "下周三带样机去做演示，这是冯主任刚定的。他们现在的监护仪是宝莱特的…": a visit told step first
        _coming_trip(norm, times, today, sig, strict=True) and not _told_with_step_first(norm, sig)
    ):
        return "itinerary"
    if (
        (sig.has_brand or sig.has_competitor_word)
        and (
            not (sig.has_customer or sig.has_contact or sig.has_template)
            or _ASKS_OPENLY_RE.search(norm)  # "迈瑞在医大二院是不是又中标了？有人知道吗"
        )
        and _asks_the_group(norm)  # not "好几个社区中心都来问我们能不能跟": a question reported
        and not _VISIT_STRONG_RE.search(norm)
    ):
        return "other"  # "迈瑞降价了吗？", "有谁知道费森尤斯在县医院的投放是几年期的？": a question to colleagues
    if sig.brand_first and not sig.has_contact and not sig.has_template:
        return "competitor"  # "据客户反馈：迈瑞在…": news that opens with the competitor, whoever passed it on
    if (
        sig.competitor_label_first
        and not sig.has_contact
        and (sig.has_brand or sig.has_competitor_word)
        and _ACTIVITY_RE.search(norm)
        and not _VISIT_STRONG_RE.search(norm, norm.find(":") + 1)
    ):
        return "competitor"  # "竞品：飞利浦在省人医送试用机": news under a label, no visit told
    if not (sig.has_customer or sig.has_contact or sig.has_template or sig.has_items) and _asks_whole(norm):
        return "other"  # "我这周拜访了几家？": a question, naming nobody, files nothing
    if _ASKS_OPENLY_RE.match(norm) and _asks_the_group(norm):
        return "other"  # "有没有人知道瑞光眼科的欧阳院长喜欢喝什么茶": a question to colleagues
    if sig.to_colleague and (_ASKS_YOU_RE.match(norm) or _TELLS_YOU_RE.search(norm)):
        return "other"  # "@韩晓东 附二院周科长的电话你有吗？", "@林浩然 …你跟客户确认一下": to a colleague
    if _WEEK_SUMMARY_RE.match(norm):
        return "other"  # "本周小结：新增意向客户5家…": the week in numbers, no visit told
    if not sig.has_contact and sig.has_brand and _SPECIFIC_ACTIVITY_RE.search(norm) and _MET_SAYS_RE.search(norm):
        return "competitor"  # "路上碰到开发区医院设备科的小伙子说万东…打了五折": news passed on
    # "今天没有拜访", "没拜访客户，一直在公司开会": a visit that did not happen is no visit cue
    cues = NO_VISIT_RE.sub(_blank, norm) if "没" in norm or "未" in norm or "不" in norm else norm
    visit_strong = sig.has_template or _strong_visit_cue(cues, sig)
    if visit_strong:
        return "visit"
    news = sig.brand_first or ((sig.has_brand or sig.has_competitor_word) and _acts(norm, sig.brand_at))
    if news and not sig.has_brand and _NONE_HERE_RE.search(norm):
        news = False  # "县妇幼那条竞品没有，下一步…": no competitor there is no competitor news
    if news:
        # a named contact who says something or asks us for something makes it our visit report,
        # not competitor news ("钱科长让我们报个价，奥林巴斯的代理也在跟")
        # nor is a terse report that names whom we saw and what they need or what we do next
        # ("南山医院放射科 周主任 想换DR 老机器经常坏 联影和万东都在跟 下周一送资料")
        heard = _HEARD_RE.search(norm, 0, sig.brand_at[0] if sig.brand_at else len(norm))
        # from someone named ("听罗医生说"), or with nobody we saw; with a step of ours, a visit that heard news
        if (
            (heard and (heard.group() != "听说" or not sig.has_contact)) or _SAID_SO_RE.search(norm)
        ) and not _acts_later(norm, times, today):
            return "competitor"  # "今天在东湖社区中心听罗医生说，三诺生物最近在…推": news passed on
        if not (
            sig.has_customer and _OPENS_WITH_VISIT_RE.match(norm)  # "今天去了市儿童医院设备科，…开立在送样"
        ) and not (
            sig.has_contact
            and (
                _VISIT_WEAK_RE.search(norm)
                or _ASKS_US_RE.search(norm)
                or (
                    sig.has_customer
                    and not sig.brand_first
                    and (sig.visit_content() or _acts_later(norm, times, today))
                )
            )
        ):
            return "competitor"
    if sig.has_items and _soon_need(norm, times, today):
        return "urgent"
    if _ITIN_WEAK_RE.search(norm):
        return "itinerary"
    if _asks_the_group(norm):
        return "other"
    if _coming_trip(norm, times, today, sig) and not _told_with_step_first(norm, sig):
        return "itinerary"
    if sig.to_colleague:
        return "other"  # "@汤欣 市骨科医院的投标资料月底前必须齐": a word to a colleague, no visit told
    if (sig.has_customer or sig.has_contact) and (_VISIT_WEAK_RE.search(cues) or sig.visit_content()):
        return "visit"
    if sig.has_customer and sig.has_contact and _acts_later(norm, times, today):
        return "visit"  # "省人医设备科 孙科长 预算卡得紧 周五带方案": whom we saw, and what we do next
    if sig.has_customer and sig.has_contact and _ASKED_OF_US_RE.search(norm):
        return "visit"  # "市三院ICU 郑护士长 注射泵 要报价": whom we saw, and what they asked of us
    return "other"


# What a customer asks of us, said tersely after whom we saw: "要报价", "要资料", "让出方案"
_ASKED_OF_US_RE = re.compile(r"(?:要|让|等)(?:我们)?(?:报价|报个价|方案|出方案|资料|样机|彩页|参数|试用|演示|清单)")


# A report that opens with our visit of today: "今天去了市儿童医院设备科，…"
_OPENS_WITH_VISIT_RE = re.compile(r"(?:今天|今日)?(?:上午|下午|早上|中午)?(?:去了|到了|跑了|拜访了)(?:趟|一趟)?")
# A statement that there is no competitor ("竞品没有", "没有竞品", "竞品：无")
_NONE_HERE_RE = re.compile(r"竞品(?:情况)?\s*[:：]?\s*(?:没有|没|无|暂无|还没有)|(?:没有|无|暂无)竞品")
# What is done on a coming day, right after it: "周五带方案", "下周一送资料"
_DATED_ACTION_RE = re.compile(
    r"\s*(?:前|之前|以前)?\s*(?:我们?|再)?(?:带|送|发|出|交|提交|报价|演示|约|过去|去|上门|回访|复访)"
)


def _acts_later(norm: str, times: list[TimeMention], today: date) -> bool:
    return any(t.date > today and _DATED_ACTION_RE.match(norm, t.end) for t in times)


# A visit that did not happen ("没有拜访", "不出去拜访了"), and a day in the office: shared by the
# kind rules, the "no visit today" handler and the 19:00 deadline
NO_VISIT_RE = re.compile(
    r"(?:没有?|未|不)(?:客户)?(?:去|出去|出门)?(?:拜访(?!到)|跑客户|见客户|去医院|出去|外出|出门)"
    r"|一个(?:客户|人)?都没(?:约上|约到|见到|见着|见上|拜访)"  # "今天一个客户都没约上"
)
_IN_OFFICE_RE = re.compile(r"在公司(?:开会|写|做|整理)|内勤")


def says_no_visit(text: str) -> bool:
    """Whether the text says its sender made (or makes) no visit: "今天没有拜访", "在公司写方案"."""
    return NO_VISIT_RE.search(text) is not None or _IN_OFFICE_RE.search(text) is not None


# "你跟客户确认一下", "你去仓库拿一下": a word that sets a colleague a task
_TELLS_YOU_RE = re.compile(r"你(?:跟|去|把|帮|再|先|赶紧|马上|记得|负责|联系|确认|看下|看一下)")
_WEEK_SUMMARY_RE = re.compile(r"(?:本周|这周|上周|本月|这个月)(?:小结|总结|汇总|回顾)")
# someone met by chance who passes news on: "路上碰到…的小伙子说", "遇到…的人讲"
_MET_SAYS_RE = re.compile(r"(?:碰到|遇到|碰见|遇见)[^,，。;；]{0,16}?(?:说|讲|透露)")
# A first sentence that asks "you" something ("…的电话你有吗？", "你那边还有样机吗")
_ASKS_YOU_RE = re.compile(r"[^。!！?？\n]*?你[^。!！?？\n]*?(?:吗|么|没有?|不|呢|多少|哪|几)[^。!！\n]{0,4}?[?？]")


# A message that opens by asking the group ("有谁知道…", "请问…"), whatever it names
_ASKS_OPENLY_RE = re.compile(r"(?:有没有人|有谁|有人|谁|请问|大家|各位)(?:知道|了解|清楚|听说)")
# News passed on: "听罗医生说，三诺最近在…推", "据设备科的人说"
_HEARD_RE = re.compile(r"听[^,，。!！?？]{0,14}?说|据[^,，。!！?？]{0,8}?说|听说")
# ... and its source named at the end: "…送两年耗材的活动，放射科刘医生说的"
_SAID_SO_RE = re.compile(r"[,，。;；]\s*[^,，。!！?？;；]{1,16}?(?:说的|讲的|透露的|告诉我的|反馈的)[。.!！~～]*$")
# A leader's reminder to do the review ("18:30前复盘发群里，没完成的写清原因"), not a review
_REMINDS_RE = re.compile(r"发群里|发到群|写清|记得|别忘|别拖|提醒|各位|大家(?:记得|按时|准时)")
_GROUP_REMINDER_RE = re.compile(
    r"(?:大家|各位|所有人)[^。!！?？]*?(?:记得|别忘|别拖|抓紧|按时|准时|务必|一定要|准备好|准备一下|弄好|整理好|交上来|报上来"
    r"|顺便|多留意|留意一下|注意一下|及时)"
    r"|^提醒(?:一下|大家|各位)?[:,，\s]"
)
_ADDRESSES_GROUP_RE = re.compile(r"(?:@所有人\s*)?(?:大家|各位|所有人)")


def reminds_group(norm: str) -> bool:
    """Whether the (prepared) text reminds or tells the group to do something, and says nothing of the
    writer's own ("大家今天的拜访记录记得19点前补全"; not "大家好，我明天请假，记得找小王")."""
    return _GROUP_REMINDER_RE.search(norm) is not None and _ME_RE.search(norm) is None


_AGREED_RE = re.compile(r"[说约商敲刚]定|定的")


def _told_with_step_first(norm: str, sig: Signals) -> bool:
    """A visit report that opens with the step agreed ("下周三带样机去做演示，这是冯主任刚定的。他们现在的
    监护仪是宝莱特的…"): a contact named, and what was agreed or a competitor told."""
    return sig.has_contact and (sig.has_brand or sig.has_competitor_word or _AGREED_RE.search(norm) is not None)


_ME_RE = re.compile(r"我(?!们)")  # "大家好，我明天请假，记得找小王" is the writer's own news
_ASKS_US_RE = re.compile(r"[让叫请要问]我|要求我|让咱们")
# Cues that are visit words only when someone or somewhere is named: "昨天有重点客户反馈的准备一下"
# (a leader's reminder) reports no visit
_NOUN_LIKE_CUES = frozenset(("反馈", "确认", "表示", "反映"))


def _strong_visit_cue(cues: str, sig: Signals) -> bool:
    if sig.has_customer or sig.has_contact:
        return _VISIT_STRONG_RE.search(cues) is not None
    named = None  # whether a product or department is named: asked only when it decides
    for m in _VISIT_STRONG_RE.finditer(cues):
        if m.group() not in _NOUN_LIKE_CUES:
            return True
        if named is None:
            named = sig.goods()
        if named:
            return True
    return False


def reviews_before(norm: str, at: int) -> bool:
    """A review that opens the message, with `at` (a leave, say) in a later sentence of it:
    "复盘：…达成。明天请假" is the day's review, and the leave comes with it."""
    review = _REVIEW_RE.search(norm, 0, at)
    return review is not None and review.start() < 4 and _SENTENCE_END_RE.search(norm, review.end(), at) is not None


_SENTENCE_END_RE = re.compile(r"[。!！?？;；\n]")


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group())


def _acts(norm: str, at: tuple[int, ...]) -> bool:
    """A competitor's move in the clause that names it or the next one of its sentence
    ("迈瑞在市一院降价了", "迈瑞最近很活跃，在送耗材"), not "科曼的在用。下周一报价"."""
    if not at:  # where it is named is not known: anywhere
        return _ACTIVITY_RE.search(norm) is not None
    for pos in at:
        back = _CLAUSE_END_RE.search(norm[pos::-1])
        lo = pos - back.start() + 1 if back else 0
        stop = _CLAUSE_END_RE.search(norm, pos)
        hi = stop.start() if stop else len(norm)
        if stop and norm[hi] in ",，":  # the next clause of the same sentence
            after = _CLAUSE_END_RE.search(norm, hi + 1)
            hi = after.start() if after else len(norm)
        if _ACTIVITY_RE.search(norm, lo, hi):
            return True
    return False


def _soon_need(norm: str, times: list[TimeMention], today: date) -> bool:
    """Goods wanted today or tomorrow ("明天手术要用两台除颤仪") is urgent even without 急.

    The need and the day are said in the same clause: "中午约了…，科里要新上一台" is not.
    """
    for t in times:
        if not 0 <= (t.date - today).days <= 1:
            continue
        before = _CLAUSE_END_RE.search(norm[t.start :: -1]) if t.start else None
        lo = t.start - before.start() + 1 if before else 0
        stop = _CLAUSE_END_RE.search(norm, t.end)
        hi = stop.start() if stop else len(norm)
        if _NEED_RE.search(norm, lo, hi) or _DELIVER_RE.search(norm, lo, hi):
            return True
    return False


_PART_RE = re.compile(r"上午|早上|一早|中午|下午")
_PART_OVER = {"上午": 12, "早上": 12, "一早": 12, "中午": 14, "下午": 17}  # the hour that part of the day is over


def _coming_trip(norm: str, times: list[TimeMention], today: date, sig: Signals, strict: bool = False) -> bool:
    """明天去县中医院…, 下周二去县人民医院…: the message opens with a coming day and a trip to a customer.

    `strict`: the day is after today and the opening clause tells nothing that already happened.
    """
    if not times or not (sig.has_customer or _PLACE_RE.search(norm)):
        return False
    lead = _LEAD_RE.match(norm) if norm.startswith("报备") else None  # else the lead is empty
    first = times[0]
    if first.start > (lead.end() if lead else 0) + 1 or first.date < today:
        return False
    stop = _CLAUSE_END_RE.search(norm, first.end)
    end = stop.start() if stop else len(norm)
    if strict and (first.date == today or "了" in norm[first.end : end] or _QUESTION_RE.search(norm)):
        return False
    if first.date == today and _DONE_RE.search(norm, first.end):
        return False  # "今天去县二院检验科转了转", "今天去…，放下资料就走了": the visit told, not a trip planned
    part = _PART_RE.search(norm, first.start, first.end + 1) if first.date == today else None
    if part is not None and sig.hour >= _PART_OVER[part.group()]:
        return False  # "下午去省立医院…" sent at 17:45: that afternoon is over, a visit told
    return _GO_RE.search(norm, first.end, end) is not None
