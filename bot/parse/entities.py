"""Named things in a message: customer, department, contact, decision role, competitor brand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.parse.lexicon import lexicon, patterns_alt, words_alt

_lex = lexicon()

# ---------------------------------------------------------------------------- customers
_cust = _lex.customers
_STANDALONE = {s["text"] for s in _cust["suffixes"] if s.get("standalone")}
# An abbreviation (市一院) or a suffix (人民医院); where both fit, the abbreviation. Which of the two
# matched is told by _ABBREVIATION_RE, so that _SUFFIX_RE needs no groups and can start with a
# literal character, which the regex engine looks for with a fast scan.
_ABBREVIATION_RE = re.compile("|".join(f"(?:{p})" for p in _cust["abbreviations"]))
_SUFFIX_RE = re.compile(patterns_alt([*_cust["abbreviations"], words_alt([s["text"] for s in _cust["suffixes"]])]))
_BOUNDARY_RE = re.compile(words_alt(_cust["boundaries"]))
# A suffix that is only one when a longer name does not go on after it (城南社区 / 城南社区医院)
_NOT_BEFORE = {s["text"]: re.compile(s["not_before"]) for s in _cust["suffixes"] if s.get("not_before")}
_ADMIN_CHARS = set(_cust["admin_chars"])
_AMBIGUOUS = set(_cust["ambiguous_boundaries"])
_REJECT_NAMES = set(_cust["reject_names"])
_REJECT_ENDINGS = set(_cust["reject_name_endings"])
_REJECT_STARTS = tuple(_cust["reject_name_starts"])
_MAX_NAME = 12
# The name characters (CJK, Latin letters) right before a suffix, at most _MAX_NAME of them.
_NAME_BEFORE_RE = re.compile(rf"[\u4e00-\u9fffA-Za-z]{{1,{_MAX_NAME}}}\Z")


@dataclass(slots=True)
class Found:
    start: int
    end: int
    text: str  # as written


def _judge_name(name: str, standalone: bool, boundary: str) -> bool | None:
    """True: a name; False: try further left; None: there is no name here at all."""
    if not name:
        if standalone:
            return True
        return False if boundary in _AMBIGUOUS else None
    if len(name) == 1:
        if name in _ADMIN_CHARS:
            return True
        return None if standalone else False
    if name in _REJECT_NAMES or name[-1] in _REJECT_ENDINGS or name.startswith(_REJECT_STARTS):
        return None
    return True


_NUMBERED = {f"{n}院" for n in "一二三四五六七八九"}
_NOT_AFTER_NUMBERED = set("内区外里长办")
_NAME_AFTER_NEI_RE = re.compile(r"内(?:镜|科|分泌|窥)")  # 附一院内镜中心: a department, not 院内


def find_customers(raw: str, norm: str) -> list[Found]:
    """Every hospital or care organisation named in the message, in order; not one named only as
    a landmark ("市一院周边三家社区卫生服务中心")."""
    out = [
        f
        for f in _find_customers(raw, norm)
        if not _AROUND_RE.match(norm, f.end)
        and not _COUNTED_RE.search(norm, max(0, f.start - 4), f.start)
        and not _CLASS_RE.match(norm, f.start)
    ]
    if (
        len(out) > 1
        and _BRACKETED_RE.match(norm, out[0].end, out[1].start)
        and out[1].end - out[1].start > out[0].end - out[0].start
    ):
        out = out[1:]  # "妇幼那边（市妇幼保健院）": the full name the writer gave in brackets
    return out


_AROUND_RE = re.compile(r"周边|附近|旁边|对面|周围|隔壁")
# "全市二级医院", "各大医院", "所有社区卫生服务中心": a class of hospitals, not one customer
_CLASS_RE = re.compile(r"全(?:市|省|区|县|国)|各(?:大|级|家|个)?|所有")
_BRACKETED_RE = re.compile(r"(?:那边|这边|那里)?\s*[(（]\s*$")
# "三家社区卫生服务中心", "好几个卫生院": several of a kind, not one customer
_COUNTED_RE = re.compile(r"(?<!第)(?:[一二两三四五六七八九十几多\d]|好几)(?:家|个|所|些)$")  # not 第二家市三院


def _find_customers(raw: str, norm: str) -> list[Found]:
    out: list[Found] = []
    for m in _SUFFIX_RE.finditer(norm):
        s, e = m.span()
        if m.group() in _NUMBERED and norm[e : e + 1] in _NOT_AFTER_NUMBERED and not _NAME_AFTER_NEI_RE.match(norm, e):
            continue  # 统一院内, 第一院区: 院内/院区/院长 are words of their own, not a numbered 院
        if _NOT_BEFORE and m.group() in _NOT_BEFORE and _NOT_BEFORE[m.group()].match(norm, e):
            continue
        if _ABBREVIATION_RE.match(norm, s):
            s = _place_before(norm, s)  # "江医附一院", "青岚县人医": the place the short name belongs to
            out.append(Found(s, e, raw[s:e]))
            continue
        if norm.startswith("院办", e - 1):
            # "去省人医院办", "市二医院办": a short name and its 院办, not a hospital "省人医院"
            short = None
            for k in range(max(0, s - 4), s):
                tried = _ABBREVIATION_RE.match(norm, k, e - 1)
                if tried is not None and tried.end() == e - 1:
                    short = tried
                    break
            if short is not None:
                out.append(Found(short.start(), short.end(), raw[short.start() : short.end()]))
                continue
        name = _NAME_BEFORE_RE.search(norm, max(0, s - _MAX_NAME), s) if s else None
        lo = name.start() if name else s
        if lo and norm[lo] in "日号" and norm[lo - 1].isdigit():  # "补充11月23日市第一人民医院…": a date before it
            lo += 1
        chunk = norm[lo:s]
        starts = sorted(((b.end(), b.group()) for b in _BOUNDARY_RE.finditer(chunk)), reverse=True) if chunk else []
        starts.append((0, ""))
        standalone = m.group() in _STANDALONE
        for i, (p, boundary) in enumerate(starts):
            if boundary in _AMBIGUOUS:
                # "去安和康复医院": one character stranded between two boundaries is the name's
                before = max(q for q, _b in starts[i + 1 :] if q <= p - len(boundary))
                if p - len(boundary) - before == 1:
                    p, boundary = before, ""
            verdict = _judge_name(chunk[p:], standalone, boundary)
            if verdict is None:
                if standalone:  # "去了趟人民医院": the suffix alone is the name
                    out.append(Found(s, e, raw[s:e]))
                break
            if verdict:
                out.append(Found(lo + p, e, raw[lo + p : e]))
                break
    return out


def _place_before(norm: str, s: int) -> int:
    """Where a short name that starts at `s` really starts: two to four characters of a place in
    front of it ("青岚县人医", "江医附一院"), up to a boundary word; `s` when there are none."""
    lo = s
    while lo > max(0, s - 4) and "\u4e00" <= norm[lo - 1] <= "\u9fff":
        lo -= 1
    if s - lo < 2:
        return s
    chunk = norm[lo:s]
    cut = max((b.end() for b in _BOUNDARY_RE.finditer(chunk)), default=0)
    if any(b.end() > lo for b in _BRAND_RE.finditer(norm, max(0, s - 12), s)):
        return s  # "飞利浦请市一院…": a brand and its verb, not a place
    return lo + cut if s - (lo + cut) >= 2 else s


def _overlaps(found: list[Found], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `found`."""
    for f in found:
        if f.start < end and start < f.end:
            return True
    return False


# ---------------------------------------------------------------------------- departments
_dept = _lex.departments
DEPARTMENT_CATEGORY: dict[str, str] = {}
for _category in ("clinical", "admin", "office", "finance", "technical", "procurement"):
    for _name in _dept[_category]:
        DEPARTMENT_CATEGORY[_name.upper()] = _category
_DEPT_RE = re.compile(words_alt([n for c in _dept.values() if isinstance(c, list) for n in c], latin_whole=True))
_GENERIC_DEPT_RE = re.compile(r"(?:一?趟)?的?(?:他们|她们|对方|那个|这个)?的?([\u4e00-\u9fff]{1,5}?科)(?![长里室])")
_GENERIC_STOP = set(_dept["generic_stop_chars"])
_TARGET_BEFORE_RE = re.compile(
    patterns_alt(
        [r"(?:找|约|联系|引荐|对接|介绍)(?:一下|下)?(?:他们|她们|对方|人家)?的?", r"(?:我们|咱们)(?:和|跟|与)"]
    )
    + "$"
)
_TOGETHER_AFTER_RE = re.compile(r"一起(?:看|商量|讨论|研究|定)")
_THERE_AFTER_RE = re.compile(r"那边|那儿|那里")
_SAYS_BEFORE_RE = re.compile(r"说[^,，。;；]{0,3}$")
# "新建两间复合手术室", "改造一个导管室": a room being built or bought is not the department spoken to
_BUILT_BEFORE_RE = re.compile(
    r"(?:[一二两三四五六七八九十几\d](?:间|个|套)|新建|扩建|改造|建设|筹建)[\u4e00-\u9fff]{0,3}$"
)
# "见了慢病科的苗副主任": an unlisted "…科" right after a visit verb is the department too
_VISIT_VERB_RE = re.compile(r"见了|拜访了?|去了|到了|找了")


def department_category(name: str | None) -> str | None:
    if name is None:
        return None
    return DEPARTMENT_CATEGORY.get(name.upper(), "clinical")


def find_departments(raw: str, norm: str, customers: list[Found]) -> list[Found]:
    """Departments in order; a department that is only the target of our next step (约设备科) is left out."""
    out: list[Found] = []
    for m in _DEPT_RE.finditer(norm):
        s, e = m.span()
        if _overlaps(customers, s, e):
            continue  # part of a customer's name (骨科医院)
        if _TARGET_BEFORE_RE.search(norm, max(0, s - 7), s) or _BUILT_BEFORE_RE.search(norm, max(0, s - 6), s):
            continue
        if (
            _TOGETHER_AFTER_RE.match(norm, e) or (_THERE_AFTER_RE.match(norm, e) and _SAYS_BEFORE_RE.search(norm, 0, s))
        ) and not any(c.end <= s <= c.end + 1 for c in customers):
            continue  # "陈主任说设备科那边倾向GE", "要和设备科一起看": another party the contact speaks of
        out.append(Found(s, e, raw[s:e]))
    unordered = False
    anchors = [c.end for c in customers]
    if "科" in norm:
        anchors += [m.end() for m in _VISIT_VERB_RE.finditer(norm)]
    for at in anchors:
        g = _GENERIC_DEPT_RE.match(norm, at)
        if g is None:
            continue
        gs, ge = g.span(1)
        if not _GENERIC_STOP.isdisjoint(norm[gs:ge]) or _overlaps(customers, gs, ge):
            continue
        overlapping = [o for o in out if o.start < ge and gs < o.end]
        if all(gs <= o.start and o.end <= ge for o in overlapping):  # 疝气外科 rather than 外科
            out = [o for o in out if not (o.start < ge and gs < o.end)]
            out.append(Found(gs, ge, raw[gs:ge]))
            unordered = True
    for c in customers:  # "附二院 放射 DR降价", "胸科医院 呼吸 杭主任": a department said short, after its hospital
        j = c.end + (norm[c.end : c.end + 1] == " ")
        if norm[j : j + 1] not in _SHORT_DEPT_FIRST:
            continue
        m = _SHORT_DEPT_RE.match(norm, c.end)
        if m and not _overlaps(out, *m.span(1)):
            out.append(Found(m.start(1), m.end(1), raw[m.start(1) : m.end(1)]))
            unordered = True
    if unordered:  # the regex found the others in order
        out.sort(key=lambda f: f.start)
    return out


# A clinical department said without its 科, only right after the hospital and before a break or a
# contact: never 呼吸机, 检验报告, 放射源
_SHORT_DEPT_FIRST = frozenset(w[0] for w in _dept["short_after_customer"].split())
_SHORT_DEPT_RE = re.compile(
    r"\s*(" + words_alt(_dept["short_after_customer"].split()) + r")"
    r"(?=\s|$|[,，。;；、]|[\u4e00-\u9fff]{1,2}(?:主任|医生|大夫|护士长|科长|技师|老师|工(?![作程]))|[\u4e00-\u9fff](?:工|总)(?![作程]))"
)


# ---------------------------------------------------------------------------- contacts
_people = _lex.people
_SURNAMES = _people["surnames"].split()
_TITLES = list(_people["titles"])
_CONTACT_RE = re.compile(
    "(?P<surname>" + words_alt(_SURNAMES) + ")" + "(?P<title>" + words_alt(_TITLES, lookahead=True) + ")"
)
# 工 as a title, not 工作/工期/工资/工程 …
_NOT_GONG_RE = re.compile(r"[作地期资具艺厂人业会序单号商位时种伤龄装]|程(?!师)")
# 总 as a title (邱总), not 总结/总价/总共/总院 …
_NOT_ZONG_RE = re.compile(r"[监结计价共体数额量院部署的是经裁工台务账之和]")
_NOT_CONTACTS = set(_people["not_contacts"])
_NOT_SURNAME_AFTER: dict[str, str] = dict(_people.get("not_surname_after") or {})


_AWAY_RE = re.compile(
    r"(?:[,，\s]?[他她])?[^,，。;；!！?？\s说讲让]{0,4}?(?:不在|出差|休假|请假|外出|没空|上台|开会|没见着|没见到|没碰到)"
)


_MET_OTHER_RE = re.compile(r"见了|见到了|跟[^,，。;；]{0,8}聊|接待|碰到了|留了资料")
_NOT_MET_RE = re.compile(r"(?:没见到|没见着|没碰到|没约到|没找到)$")  # "今天没见到谢主任，戴医生说…"


@dataclass(slots=True)
class Contact:
    start: int
    end: int
    text: str
    title: str


def find_contacts(raw: str, norm: str, customers: list[Found]) -> list[Contact]:
    out: list[Contact] = []
    for m in _CONTACT_RE.finditer(norm):
        surname, title = m.groups()
        s, e = m.span()
        if len(surname) == 2 and s and norm[s - 1 : s + 1] in _TITLE_WORDS:
            # "见了院长孙院长": not 长孙 (a surname) but 孙, after the title 院长
            single = _CONTACT_RE.fullmatch(norm, s + 1, e)
            if single is None:
                continue
            s, (surname, title) = s + 1, single.groups()
        if title == "工" and _NOT_GONG_RE.match(norm, e):
            continue
        if title == "总" and _NOT_ZONG_RE.match(norm, e):
            continue
        before = _NOT_SURNAME_AFTER.get(surname)
        if before and s > 0 and norm[s - 1] in before:
            continue  # 病房护士, 分管院长: the "surname" belongs to the word in front
        if norm[s:e] in _NOT_CONTACTS:
            continue
        if _overlaps(customers, s, e):
            continue
        out.append(Contact(s, e, raw[s:e], title))
    if len(out) > 1:  # "跟王经理一起去…见林书记": who goes with us is not the customer's contact
        out = [c for c in out if not (c.start and norm[c.start - 1] in _WITH and _TOGETHER_RE.match(norm, c.end))]
    if len(out) > 1:  # "跟吴主任的副手何医生聊了下": whom we spoke to is the one after 的副手
        out = [c for c in out if not _DEPUTY_RE.match(norm, c.end)] or out
    if len(out) > 1:  # "陪王经理去了…，见了曹院长": a colleague we went with is not the contact
        out = [c for c in out if not (c.start and norm[c.start - 1] == "陪")] or out
    if out:  # "找韦院长，韦院长请假了不在，跟蓝医生聊了聊": who was away is not who we spoke to
        away = {
            c.text for c in out if _AWAY_RE.match(norm, c.end) or _NOT_MET_RE.search(norm, max(0, c.start - 4), c.start)
        }
        if away and any(c.text not in away for c in out):
            out = [c for c in out if c.text not in away]
        elif away and _MET_OTHER_RE.search(norm, out[-1].end):
            out = []  # "王主任不在，见了采购的小马": someone else was met, not 王主任
    return out


_WITH = frozenset("跟和与同陪")
_DEPUTY_RE = re.compile(r"的(?:副手|助理|下属|手下|秘书|同事|学生|徒弟|科员|搭档)")
_TITLE_WORDS = frozenset(
    ("院长", "科长", "处长", "所长", "站长", "部长", "局长", "组长", "主任", "经理", "书记", "总监")
)
_TOGETHER_RE = re.compile(r"一起|一块|一同|一道")


def split_contact(text: str) -> tuple[str, str] | None:
    """("王", "主任") for a contact as written in a template ("王主任"); None when it is not one."""
    m = _CONTACT_RE.fullmatch(text.strip())
    if not m:
        return None
    return m.group("surname"), m.group("title")


# ---------------------------------------------------------------------------- decision role
_ROLES: list[dict] = list(_people["roles"])
# (role, titles, department categories, clinical titles) of each rule, as sets
_ROLE_RULES = [
    (
        rule["role"],
        frozenset(rule.get("titles", ())),
        frozenset(rule.get("departments", ())),
        frozenset(rule.get("clinical_titles", ())),
    )
    for rule in _ROLES
]


def decision_role(title: str | None, department: str | None) -> str | None:
    """The contact's place in the decision chain (parse-schema.md table, first match wins)."""
    category = department_category(department)
    # 科室负责人: a 主任/护士长 of a department the earlier rules did not claim (clinical, 护理部 …);
    # with no department written, a 主任 could head any (设备科 too): no role, never a guess
    clinical = department is not None and category not in ("procurement", "technical", "finance", "office")
    for role, titles, categories, clinical_titles in _ROLE_RULES:
        if title is not None and title in titles:
            return role
        if category is not None and category in categories:
            return role
        if title is not None and clinical and title in clinical_titles:
            return role
    return None


# ---------------------------------------------------------------------------- brands
_BRAND_RE = re.compile(words_alt(_lex.brands, latin_whole=True))
_COMPETITOR_WORD_RE = re.compile(words_alt(_lex.kinds["competitor_words"]))


def find_brands(raw: str, norm: str, customers: list[Found] | None = None) -> list[Found]:
    """Competitors' brands named in the text; one inside a customer's name ("康泰医院") is none."""
    out: list[Found] = []
    for m in _BRAND_RE.finditer(norm):
        s, e = m.span()
        if customers and _overlaps(customers, s, e):
            continue
        out.append(Found(s, e, raw[s:e]))
    return out


_UNKNOWN_BRAND_RE = re.compile(
    r"(?:听说|据说|有同行说|同行说|有人说)?(?P<brand>[A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,4}?)"
    # "斯泰瑞的低温等离子在市中医院中标了": what of theirs may stand between the name and 在
    r"(?:的人|的销售|公司|医疗|的[A-Za-z0-9\u4e00-\u9fff]{1,8}?)?(?:最近|近期|这几天|这段时间|正在|又|也|已经|一直)?(?:在|给)"
)
_NOT_BRANDS = {
    "我们",
    "他们",
    "她们",
    "大家",
    "同事",
    "我",
    "谁",
    "客户",
    "医院",
    "科里",
    "院里",
    "今天",
    "昨天",
    "最近",
    *_lex.kinds["competitor_words"],  # 竞争对手在市一院…: a competitor, but no brand
}


_SOME_ONE_RE = re.compile(r"(?:有|一|某|这|那|另|另一|几)(?:家|个|些)")


# "有个叫康瑞达的小牌子在…": an unlisted competitor introduced by name
_CALLED_BRAND_RE = re.compile(
    r"(?:叫|名叫|叫做)(?P<brand>[A-Za-z][A-Za-z0-9]{1,15}|[\u4e00-\u9fff]{2,6}?)"
    r"的(?:小|新|国产|外地|本地|进口)?(?:牌子|品牌|厂家|厂商|公司|代理商?)"
)


def guess_brand(raw: str, norm: str, customers: list[Found]) -> Found | None:
    """An unlisted competitor introduced by name ("有个叫康瑞达的小牌子"), or named at the start,
    just before 在/给 + a customer ("瑞康在市一院搞活动")."""
    if "叫" in norm:
        called = _CALLED_BRAND_RE.search(norm)
        if called:
            return Found(called.start("brand"), called.end("brand"), raw[called.start("brand") : called.end("brand")])
    if not customers:
        return None
    at = customers[0].start
    if not at or norm[at - 1] not in "在给":  # the pattern ends with 在/给 right before the customer
        return None
    m = _UNKNOWN_BRAND_RE.match(norm)
    name = m.group("brand") if m else ""
    if not m or m.end() != customers[0].start or name in _NOT_BRANDS or name[0] in "小老阿":
        return None
    if _SOME_ONE_RE.match(name):  # 有家公司, 一家, 某个厂家: someone unnamed, no brand
        return None
    return Found(m.start("brand"), m.end("brand"), raw[m.start("brand") : m.end("brand")])


def competitor_word_at(norm: str) -> tuple[int, ...]:
    """Where a competitor is named without a brand (竞品, 友商, 有家公司 …)."""
    return tuple(m.start() for m in _COMPETITOR_WORD_RE.finditer(norm))


def has_competitor_word(norm: str, lo: int = 0, hi: int | None = None) -> bool:
    return _COMPETITOR_WORD_RE.search(norm, lo, len(norm) if hi is None else hi) is not None
