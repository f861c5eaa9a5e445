"""Products with counts (items) and money amounts (budget)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.parse.kinds import is_urgent
from bot.parse.lexicon import first_chars, lexicon, words_alt
from bot.parse.numerals import CN_NUM_CHARS, to_int, to_number
from bot.parse.text import sentences

_prod = lexicon().products

_HEAD = words_alt(_prod["heads"], latin_whole=True, lookahead=True)
_MODIFIER = words_alt(_prod["modifiers"], lookahead=True)
_PRODUCT = rf"(?:(?:{_MODIFIER})*(?:{_HEAD}))"
_PRODUCT_RE = re.compile(_PRODUCT)
PRODUCT_RE = _PRODUCT_RE  # a product's name, for the rules outside this module
# Numbers start where a run of digits starts (the lookbehinds keep long digit runs linear).
_QTY = r"(?:(?<!\d)\d{1,7}|(?<![零一二两三四五六七八九十百千万])[零一二两三四五六七八九十百千万]{1,10})"
_UNIT = words_alt(_prod["units"], lookahead=True)
QTY_UNIT_RE = re.compile(rf"(?=[0-9零一二两三四五六七八九十百千万])(?P<qty>{_QTY})(?P<unit>{_UNIT})")
# Where a count can start: a numeral followed, within the count (at most ten numerals), by a unit.
# Found with a fast scan; QTY_UNIT_RE is then tried there only.
_QTY_START_RE = re.compile(  # not the 一 of 唯一, 统一, 万一 (唯一一台 is one)
    rf"(?<![唯统万])[0-9零一二两三四五六七八九十百千万](?=[0-9零一二两三四五六七八九十百千万]{{0,9}}{first_chars(_prod['units'])})"
)
# A product written right before the count (除颤仪两台); one after it (3台呼吸机) is read by _product_after.
_PRODUCT_BEFORE_RE = re.compile(rf"(?:{_PRODUCT})$")
_NOT_PRODUCTS = set(_prod["not_products"])
_GENERIC_ENDINGS = set(_prod["generic_endings"])
_CJK_WORD_RE = re.compile(r"[\u4e00-\u9fff]+")
# A generic product word does not start with a verb or a function word (急需洗消机 → 洗消机).
_NOT_PRODUCT_START = set("需要补配借调买订购备申添加换急紧用的是了在有和与跟给送新旧台个科院里")
# A bare count ("要20盒") takes the product named earlier in its sentence, when a need verb precedes it.
_NEED_RE = re.compile(r"要|需|补|配(?!件)|借|调|采购|买|订|(?<!设)备|申请|添|加|换|急用|数量|一共|共计|合计")
# "注射泵全换掉，大概40台": a clause that is a count alone takes the product of the clause before
_COUNT_ALONE_RE = re.compile(r"(?:大概|大约|约|差不多|估计|预计|一共|总共|共|总计|合计|要|需要)?$")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_ORPHAN_OK_AFTER_RE = re.compile(
    r"左右|过来|过去|就|吧|啊|呢|以上|备用|应急|送|到|的话|先|马上|今天|明天|急用|即可|够|顶上|顶一下|救急|周转"
)
_NOT_GOODS_AFTER_RE = re.compile(r"工作日|小时|钟头|天|月|年|周|星期|礼拜|次|人|家|点")


def find_items(norm: str) -> list[dict[str, object]]:
    """[{"product", "quantity", "unit"}] in the order they are written."""
    return [item for _, item in find_items_at(norm)]


def find_items_at(norm: str, names: Sequence[tuple[int, int]] = ()) -> list[tuple[int, dict[str, object]]]:
    """Items with the position of their count.

    `names`: spans of customers, departments and contacts, which a product name never reaches into.
    """
    items: list[tuple[int, dict[str, object]]] = []
    pos = 0  # what QTY_UNIT_RE.finditer(norm) finds, tried only where a count can start
    prev_end = 0  # the end of the count before, which a product name never reaches across
    taken = -1  # the end of the product read after the count before ("两台输液泵三台注射泵")
    seen: set[tuple[str, int, str]] = set()
    while (start := _QTY_START_RE.search(norm, pos)) is not None:
        m = QTY_UNIT_RE.match(norm, start.start())
        if m is None:
            pos = start.end()
            continue
        s, pos = m.span()
        qty_text, unit = m.group("qty", "unit")
        qty = to_int(qty_text)
        if not qty:
            continue
        floor = max(prev_end, max((e for _, e in names if e <= s), default=0))
        prev_end = pos
        if s and norm[s - 1] == "各" and (each := _each_of(norm, s - 1, floor)):
            for product in each:  # "需要OCT和眼底相机各2台": that count of each
                if (product, qty, unit) not in seen:
                    seen.add((product, qty, unit))
                    items.append((s, {"product": product, "quantity": qty, "unit": unit}))
            continue
        if taken == s:  # what stands before this count is the product of the one before
            noun = before = generic_before = tail_noun = None
        else:
            noun = _noun_before(norm, s, floor)
            before = _PRODUCT_BEFORE_RE.search(norm, max(floor, s - 12), s)
            tail = None if before else _APPROX_TAIL_RE.search(norm, max(floor, s - 9), s)
            tail_noun = None
            # not back into the product read after the count before ("一套信息系统加三十台监护仪")
            if tail is not None and max(floor, taken) < tail.start() < s:
                # "呼吸机缺口大概6台": a listed product before the words of an estimate
                before = _PRODUCT_BEFORE_RE.search(norm, max(floor, tail.start() - 12), tail.start())
                if before is not None:
                    noun = _noun_before(norm, tail.start(), floor)
                else:  # "多导睡眠仪要加两台": an unlisted one
                    tail_noun = _noun_before(norm, tail.start(), floor)
            generic_before = None if before else _generic_before(norm, s)
        if generic_before and noun and len(noun) > len(generic_before) and noun.endswith(generic_before):
            generic_before = noun  # 高流量氧疗仪, 一次性针灸针: the whole name back to a verb or a name
        if before:
            product = before.group(0)
            if noun and len(noun) > len(product) and noun.endswith(product):
                # 血球试剂, IABP导管, 蓝光治疗仪: a listed word with a qualifier in front
                qualifier = _qualifier(noun[: -len(product)], 1 if product in _QUALIFIED_HEADS else 2)
                product = (qualifier or "") + product
        elif generic_before:
            product = generic_before
        elif tail_noun and _is_goods(tail_noun) and any(tail_noun.endswith(w) for w in _GENERIC_ENDINGS):
            product = tail_noun  # 多导睡眠仪: named like equipment
        elif (
            noun
            and _is_goods(noun)
            and (
                (items and norm[s - len(noun) - 1 : s - len(noun)] in _LIST_SEP)
                or norm[s - len(noun) - 1 : s - len(noun)] in _NEED_BEFORE
                or _alone_when_urgent(norm, s - len(noun), pos, floor, noun)
            )
        ):
            # "血压计8台、体重秤2台", "急需透析液80桶", "紧急 氧气湿化瓶五十个": an unlisted product,
            # listed, needed, or standing alone with its count in an urgent message
            product = noun
        elif after := _product_after(norm, pos, _next_name(names, pos)):
            product, taken = after  # 3台呼吸机, 两台电针仪, 一台CT模拟定位机, 40盒糖化试剂
        elif (longer := _LATIN_AFTER_RE.match(norm, pos)) and longer.group(1).upper() not in _BRANDS:
            product, taken = longer.group(1), longer.end()  # 3台OCT
        elif needed := _needed_after(norm, s, pos, unit, _next_name(names, pos)):
            product, taken = needed  # 急要一台电动止血带: an unlisted word after a need verb and a count of goods
        elif _CJK_RE.match(norm, pos) and not _ORPHAN_OK_AFTER_RE.match(norm, pos):
            continue  # "两台试用机": counts something that is not a product
        else:
            product = _orphan_product(norm, m, names)
            if product is None:
                continue
        if (product, qty, unit) in seen:
            continue  # "科里两台呼吸机坏了，急需借两台呼吸机", "监护仪坏了两台，急调两台过来": the same, said again
        seen.add((product, qty, unit))
        items.append((s, {"product": product, "quantity": qty, "unit": unit}))
    return items


# A product name in front of a count runs back to one of these (or a name, a digit, 10 characters).
_NOUN_STOP = frozenset("、,，。;；:：!！?？ \t\n()（）【】[]<>《》\"'“”") | frozenset(
    "要需缺借调买订购申添加换配补送用急的了在有和与跟给是说讲称也都还再就把被让请帮先已又才共约及或个"
)
_LIST_SEP = frozenset("、和及")
_NEED_BEFORE = frozenset("要需缺借调买订购补添配换")  # the verb right before an unlisted product
# Listed words that are often qualified by what they are for: 血球试剂, 尿常规试纸, IABP导管
_QUALIFIED_HEADS = frozenset(["试剂", "试纸", "导管", "探头", "耗材", "配件", "电极片", "套件"])
_APPROX = frozenset(["大概", "大约", "差不多", "估计", "预计", "一共", "总共", "总计", "合计", "左右"])
_BRANDS = frozenset(b.upper() for b in lexicon().brands)
_LATIN_AFTER_RE = re.compile(r"([A-Za-z][A-Za-z0-9-]{1,11})(?![A-Za-z0-9])")
_COUNT_CHARS = frozenset("0123456789" + CN_NUM_CHARS)
_UNIT_CHARS = frozenset(u for u in _prod["units"] if len(u) == 1)
# Listed words (modifiers and heads), which may hold a stop character (医用, 急救, 有创, 加温毯).
_LISTED_RE = re.compile(words_alt([*_prod["heads"], *_prod["modifiers"]], latin_whole=True))
_HEADS = frozenset(_prod["heads"])
# The characters that end a written product name, and the words they start that are no name's end.
_NAME_ENDINGS = _GENERIC_ENDINGS | frozenset(_prod["name_endings"])
_NOT_HEAD_WORDS = frozenset(_prod["not_head_words"])
_NOT_GOODS_ENDINGS = frozenset(_prod["not_goods_endings"])
# What a product name never runs across: punctuation, 的, connectives (血球仪和一台尿液分析仪), 了.
_NAME_BREAK = frozenset("、,，。;；:：!！?？ \t\n()（）【】[]<>《》\"'“”/~-的和及与跟或了")
# A qualifier in front of a listed word (蓝光治疗仪) is cut after one of these: places, times, people
# and adverbs are no part of a product's name (科里呼吸机, 今天监护仪, 病房监护仪).
_QUALIFIER_CUT = frozenset(
    "里前后边旁底天日月年周今明昨晚早午现目这那此该其每各些们我你他她它咱您科院室房区楼层处号时候第批"
    "剩只还都也就再很太最更另同所想租"
)
# … and after one of these words: 新增呼吸机 → 呼吸机, 更新监护仪 → 监护仪, 马上监护仪 → 监护仪
_QUALIFIER_CUT_RE = re.compile(
    r"更新|新增|全新|新购|新进|新上|淘汰|报废|维修|修理|置换|引进|准备|计划|打算|考虑|升级|安装|马上|线上|线下|门诊|急诊"
    r"|[几\d零一二两三四五六七八九十百]+(?:" + "|".join(sorted(_UNIT_CHARS)) + ")"  # 那几条 (胃镜), 两台 (监护仪)
)
# A specification between a count and the product is no part of its name: 一台64排CT, 两台1.5T核磁
_SPEC_RE = re.compile(
    r"\d{1,4}(?:\.\d{1,2})?(?:排|层|导|道|通道|[Tt](?![A-Za-z]))?|[零一二两三四五六七八九十百]{1,4}(?:排|层|导|道|通道)"
)
# What may stand between a count and its product: 左右, 新的, 国产的 (一台国产的彩超; 两台便携彩超 keeps 便携)
_NEW_PREFIX_RE = re.compile(
    r"(?:左右|以上)?(?:备用|应急)?(?:(?:全新|新款|老款|国产|进口|便携式?|台式|手持|移动|床旁|高端|中端|低端|新)?的)?"
)
# The verb right before a count of goods (急要一台…, 需要两瓶…, 申请换两台…)
_NEED_VERBS = frozenset("要需缺借调买订购补添配换加上")
# Units that count goods (not 个/份/张/件, which as often count people, papers and events)
_GOODS_UNITS = frozenset("台套支盒箱条瓶包袋只片根卷桶把副具辆")
_ALONE_BEFORE = frozenset(" \t\n,，:：;；!！。急")
# The first character of a word that is no product's name (两台带打印功能的, 两个给…)
_FREE_WORD_LEAD = frozenset(_NOT_PRODUCT_START | set("带拿放做让帮说讲提到这那"))


def _counts_at(norm: str, i: int) -> bool:
    """Whether a count ("两台", "20盒") ends at i."""
    return i >= 2 and norm[i - 1] in _UNIT_CHARS and norm[i - 2] in _COUNT_CHARS


# "呼吸机缺口大概6台", "输液泵要换一批大概三十台": what stands between a product and its estimated count
_APPROX_TAIL_RE = re.compile(
    r"(?:(?:要|需要|想|打算)?(?:换|配|买|采购|上|加|添)(?:一批|一些)?|缺口|总共|一共|共)?(?:大概|大约|约|差不多|估计|预计)?$"
)


def _noun_before(norm: str, s: int, floor: int, shortest: int = 2) -> str | None:
    """The run of characters right before a count (or a product), back to a stop character, a name or a count.

    A listed word holding a stop character (医用, 急救) is crossed: 急需医用酒精 → 医用酒精.
    """
    lo = max(floor, s - 10)
    i = s
    while True:
        while i > lo and norm[i - 1] not in _NOUN_STOP and not norm[i - 1].isdigit() and not _counts_at(norm, i):
            i -= 1
        if i <= lo or norm[i - 1] not in _NOUN_STOP:
            break
        for k in range(max(lo, i - 6), i):
            listed = _LISTED_RE.match(norm, k, s)
            if listed is not None and listed.end() >= i:
                i = k
                break
        else:
            break
    word = norm[i:s]
    if len(word) < shortest or word in _NOT_PRODUCTS or word in _APPROX or not (_CJK_RE.search(word) or word.isascii()):
        return None
    return word


_EACH_STOP = frozenset(",，。;；:：!！?？ \t\n要需缺借调买订购配换加添")
_EACH_SEP_RE = re.compile(r"[和、及与跟]")


def _each_of(norm: str, at: int, floor: int) -> list[str] | None:
    """The products listed before 各 at `at` ("OCT和眼底相机各2台"), when there are two or more."""
    lo = at
    while lo > max(floor, at - 24) and norm[lo - 1] not in _EACH_STOP:
        lo -= 1
    parts = [p for p in _EACH_SEP_RE.split(norm[lo:at]) if p]
    if len(parts) < 2:
        return None
    named = [p for p in parts if _PRODUCT_BEFORE_RE.search(p) or _is_goods(p) or (p.isascii() and p.isalnum())]
    return named if len(named) == len(parts) else None


def _qualifier(prefix: str, shortest: int) -> str | None:
    """What of the characters in front of a listed word belongs to its name: 蓝光 (治疗仪), not 科里 (呼吸机)."""
    cut = max((m.end() for m in _QUALIFIER_CUT_RE.finditer(prefix)), default=0)
    j = len(prefix)
    while j > cut and prefix[j - 1] not in _QUALIFIER_CUT:
        j -= 1
    qualifier = prefix[j:]
    if spec := _SPEC_RE.match(qualifier):
        qualifier = qualifier[spec.end() :]  # 十二导 (心电图机)
    return qualifier if len(qualifier) >= shortest else None


def _next_name(names: Sequence[tuple[int, int]], pos: int) -> int:
    """Where the next customer, department or contact starts: a product name stops there."""
    return min((b for b, _ in names if b >= pos), default=1 << 30)


_STATE_AFTER_RE = re.compile(r"报警|停机|故障|坏|罢工|死机|黑屏|出问题|不|没|老是|经常|又|都|也|还|已经|一直|同时")


def _scan_name(norm: str, i: int, limit: int, *, first_free: bool) -> tuple[int, int]:
    """(end of the longest product name from i, end of the word from i).

    A name ends in a listed head or an ending character (仪 机 包 带 …); the word runs on to a
    stop character, a count, a name (unless a listed word goes on) or 12 characters.
    `first_free`: a stop character may start the word (两台加湿器).
    """
    n = min(len(norm), i + 12)
    j, best = i, i
    while j < n:
        if best == j > i and _STATE_AFTER_RE.match(norm, j):
            break  # "两台透析机报警停机": what the machines do is no part of their name
        listed = _LISTED_RE.match(norm, j, n)  # a listed word goes on over a name (医用外科口罩, not 外科)
        if listed is not None:
            j = listed.end()
            if listed.group(0) in _HEADS:
                best = j
            continue
        if j >= limit:
            break
        ch = norm[j]
        if ch in _NAME_BREAK or ch.isdigit() or (ch in _COUNT_CHARS and QTY_UNIT_RE.match(norm, j)):
            break
        if ch in _NOUN_STOP and not (first_free and j == i):
            break
        if not (_CJK_RE.match(ch) or ch.isascii() and ch.isalpha()):
            break
        j += 1
        if ch in _NAME_ENDINGS and norm[j - 1 : j + 1] not in _NOT_HEAD_WORDS:
            best = j
    return best, j


def _is_goods(word: str) -> bool:
    return (
        len(word) >= 2
        and word[-1] not in _NOT_GOODS_ENDINGS
        and not any(word.endswith(w) for w in _NOT_PRODUCTS)
        and _CJK_RE.search(word) is not None
    )


def _product_after(norm: str, pos: int, limit: int) -> tuple[str, int] | None:
    """The product named right after a count, and its end: 3台呼吸机, 两台电针仪, 一台CT模拟定位机.

    Not 两台试用机, 三个人.
    """
    i = _NEW_PREFIX_RE.match(norm, pos).end()  # type: ignore[union-attr]
    if (spec := _SPEC_RE.match(norm, i)) and not QTY_UNIT_RE.match(norm, i):
        i = spec.end()
    best, _ = _scan_name(norm, i, limit, first_free=True)
    word = norm[i:best]
    if len(word) < 2 or any(word.endswith(w) for w in _NOT_PRODUCTS):
        return None
    return word, best


def _needed_after(norm: str, s: int, pos: int, unit: str, limit: int) -> tuple[str, int] | None:
    """An unlisted word after a need verb and a count of goods: 急要一台电动止血带, 需要两瓶碘伏."""
    if s == 0 or norm[s - 1] not in _NEED_VERBS or unit not in _GOODS_UNITS:
        return None
    if _ORPHAN_OK_AFTER_RE.match(norm, pos) or _NOT_GOODS_AFTER_RE.match(norm, pos):
        return None
    _, end = _scan_name(norm, pos, limit, first_free=False)
    word = norm[pos:end]
    return (word, end) if _is_goods(word) and word[0] not in _FREE_WORD_LEAD else None


def _alone_when_urgent(norm: str, start: int, end: int, floor: int, noun: str) -> bool:
    """A product and its count standing alone in an urgent message: "王家镇卫生院 紧急 氧气湿化瓶五十个 …"."""
    if not (start == 0 or start == floor or norm[start - 1] in _ALONE_BEFORE):
        return False
    if end < len(norm) and _CJK_RE.match(norm, end) and not _ORPHAN_OK_AFTER_RE.match(norm, end):
        return False
    if not _is_goods(noun) or any(ch in _QUALIFIER_CUT for ch in noun):
        return False
    return is_urgent(norm)  # the kind rules' reading of urgency: then goods standing alone are wanted


def mentions_product(norm: str) -> bool:
    return _PRODUCT_RE.search(norm) is not None


def _generic_before(norm: str, pos: int) -> str | None:
    """An unlisted device word right before a count: "洗消机两台" (not "急需洗消机")."""
    if pos == 0 or norm[pos - 1] not in _GENERIC_ENDINGS:
        return None
    best = None
    for start in range(max(0, pos - 5), pos - 1):
        word = norm[start:pos]
        if _CJK_WORD_RE.fullmatch(word) and word[0] not in _NOT_PRODUCT_START and word not in _NOT_PRODUCTS:
            best = word
            break
    return best


def _orphan_product(norm: str, m: re.Match[str], names: Sequence[tuple[int, int]] = ()) -> str | None:
    if _NOT_GOODS_AFTER_RE.match(norm, m.end()):
        return None
    for lo, hi in sentences(norm):
        if lo <= m.start() < hi:
            clause_start = max(norm.rfind(",", lo, m.start()), norm.rfind("，", lo, m.start()), lo - 1) + 1
            alone = clause_start > lo and _COUNT_ALONE_RE.fullmatch(norm, clause_start, m.start()) is not None
            if not alone and not _NEED_RE.search(norm, clause_start, m.start()):
                return None
            products = list(_PRODUCT_RE.finditer(norm, lo, m.start()))
            if products:
                last = products[-1]
                floor = max([lo, *(e for _, e in names if e <= last.start())])
                product = last.group(0)
                noun = _noun_before(norm, last.start(), floor, shortest=1)
                qualifier = _qualifier(noun, 1 if product in _QUALIFIED_HEADS else 2) if noun else None
                end, _ = _scan_name(norm, last.end(), m.start(), first_free=False)
                return (qualifier or "") + norm[last.start() : end]  # 尿试纸, 血气试剂包
            return _generic_word_in(norm, lo, clause_start)
    return None


_WORD_LEAD = _NOT_PRODUCT_START | set("说讲称提到反馈映里上下中那这")


def _generic_word_in(norm: str, lo: int, hi: int) -> str | None:
    """The last unlisted device word (…仪, …机, …泵) in norm[lo:hi]: "睡眠监测仪排队…，想再添两台" → 睡眠监测仪."""
    best = None
    for end in range(hi, lo, -1):
        if norm[end - 1] not in _GENERIC_ENDINGS:
            continue
        start = end - 1
        while start > max(lo, end - 6) and _CJK_RE.match(norm, start - 1) and norm[start - 1] not in _WORD_LEAD:
            start -= 1
        word = norm[start:end]
        if len(word) >= 2 and word not in _NOT_PRODUCTS:
            best = word
            break
    return best


# ---------------------------------------------------------------------------- money
_MONEY_UNITS: dict[str, int] = dict(_prod["money_units"])
_CN_SMALL = CN_NUM_CHARS.replace("万", "").replace("亿", "")
_MONEY_RE = re.compile(
    rf"(?P<num>(?<![\d.])\d{{1,12}}(?:\.\d{{1,6}})?"
    rf"|(?<![{CN_NUM_CHARS}])[{_CN_SMALL}]{{1,8}}点[{_CN_SMALL}]{{1,8}}"
    rf"|(?<![{CN_NUM_CHARS}])[{CN_NUM_CHARS}]{{1,12}})"
    rf"\s*(?P<unit>{words_alt(list(_MONEY_UNITS), lookahead=True)})?(?P<yuan>元|块钱?)?(?!火急)"
)
_MONEY_HINT_RE = re.compile("[" + re.escape("".join({u[-1] for u in _MONEY_UNITS})) + "万亿]")
_BUDGET_WORD_RE = re.compile(words_alt(_prod["budget_words"]))
_CLAUSE_END_RE = re.compile(r"[,，。;；!?！？\n]")


def _money_value(m: re.Match[str]) -> int | None:
    num, unit, yuan = m.group("num"), m.group("unit"), m.group("yuan")
    has_cn_big = any(ch in "万亿" for ch in num)
    if not unit and not yuan and not has_cn_big:
        return None
    value = to_number(num)
    if value is None:
        return None
    if unit:
        value *= _MONEY_UNITS[unit]
    result = int(round(value))
    return result if result > 0 else None


def find_budget(norm: str) -> int | None:
    """A money amount in yuan: the first in a clause that talks about budget, else the first big one."""
    if not _MONEY_HINT_RE.search(norm):
        return None
    first_big: int | None = None
    for m in _MONEY_RE.finditer(norm):
        value = _money_value(m)
        if value is None:
            continue
        lo = max((x.end() for x in _CLAUSE_END_RE.finditer(norm, 0, m.start())), default=0)
        end = _CLAUSE_END_RE.search(norm, m.end())
        hi = end.start() if end else len(norm)
        if _BUDGET_WORD_RE.search(norm, lo, hi):
            return value
        if first_big is None and value >= 10_000:
            first_big = value
    return first_big
