"""Products with counts (items) and money amounts (budget)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.parse.lexicon import first_chars, lexicon, words_alt
from bot.parse.numerals import CN_NUM_CHARS, to_int, to_number
from bot.parse.text import sentences

_prod = lexicon().products

_HEAD = words_alt(_prod["heads"], latin_whole=True, lookahead=True)
_MODIFIER = words_alt(_prod["modifiers"], lookahead=True)
_PRODUCT = rf"(?:(?:{_MODIFIER})*(?:{_HEAD}))"
_PRODUCT_RE = re.compile(_PRODUCT)
# Numbers start where a run of digits starts (the lookbehinds keep long digit runs linear).
_QTY = r"(?:(?<!\d)\d{1,7}|(?<![零一二两三四五六七八九十百千万])[零一二两三四五六七八九十百千万]{1,10})"
_UNIT = words_alt(_prod["units"], lookahead=True)
_QTY_UNIT_RE = re.compile(rf"(?=[0-9零一二两三四五六七八九十百千万])(?P<qty>{_QTY})(?P<unit>{_UNIT})")
# Where a count can start: a numeral followed, within the count (at most ten numerals), by a unit.
# Found with a fast scan; _QTY_UNIT_RE is then tried there only.
_QTY_START_RE = re.compile(
    rf"[0-9零一二两三四五六七八九十百千万](?=[0-9零一二两三四五六七八九十百千万]{{0,9}}{first_chars(_prod['units'])})"
)
# A product written right before (除颤仪两台) or right after (3台呼吸机) the count.
_PRODUCT_BEFORE_RE = re.compile(rf"(?:{_PRODUCT})$")
_PRODUCT_AFTER_RE = re.compile(rf"(?:新的|的)?({_PRODUCT})")
_GENERIC_AFTER_RE = re.compile(rf"(?:新的|的)?([\u4e00-\u9fff]{{1,5}}?[{''.join(_prod['generic_endings'])}])")
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
    pos = 0  # what _QTY_UNIT_RE.finditer(norm) finds, tried only where a count can start
    while (start := _QTY_START_RE.search(norm, pos)) is not None:
        m = _QTY_UNIT_RE.match(norm, start.start())
        if m is None:
            pos = start.end()
            continue
        s, pos = m.span()
        qty_text, unit = m.group("qty", "unit")
        qty = to_int(qty_text)
        if not qty:
            continue
        floor = max((e for _, e in names if e <= s), default=0)
        noun = _noun_before(norm, s, floor)
        before = _PRODUCT_BEFORE_RE.search(norm, max(0, s - 12), s)
        generic_before = None if before else _generic_before(norm, s)
        if generic_before and noun and len(noun) > len(generic_before) and noun.endswith(generic_before):
            generic_before = noun  # 高流量氧疗仪, 一次性针灸针: the whole name back to a verb or a name
        if before:
            product = before.group(0)
            if noun and len(noun) > len(product) and noun.endswith(product) and product in _QUALIFIED_HEADS:
                product = noun  # 血球试剂, IABP导管: a listed word with a qualifier in front
        elif generic_before:
            product = generic_before
        elif noun and (
            (items and norm[s - len(noun) - 1 : s - len(noun)] in _LIST_SEP)
            or norm[s - len(noun) - 1 : s - len(noun)] in _NEED_BEFORE
        ):
            product = noun  # "血压计8台、体重秤2台", "急需透析液80桶": an unlisted product, listed or needed
        else:
            after = _PRODUCT_AFTER_RE.match(norm, pos) or _generic_after(norm, pos)
            if after:
                product = after.group(1)
                longer = _NAMED_AFTER_RE.match(norm, pos)
                if longer and len(longer.group(1)) > len(product):
                    product = longer.group(1)
            elif (longer := _NAMED_AFTER_RE.match(norm, pos) or _LATIN_AFTER_RE.match(norm, pos)) and longer.group(
                1
            ).upper() not in _BRANDS:
                product = longer.group(1)  # 40盒糖化试剂, 3台OCT
            elif _CJK_RE.match(norm, pos) and not _ORPHAN_OK_AFTER_RE.match(norm, pos):
                continue  # "两台试用机": counts something that is not a product
            else:
                product = _orphan_product(norm, m, names)
                if product is None:
                    continue
                if any(i["product"] == product and i["quantity"] == qty and i["unit"] == unit for _, i in items):
                    continue  # "监护仪坏了两台，急调两台过来": the same two, said again
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
# after a count: up to six characters ending in a listed product (40盒糖化试剂 → 糖化试剂)
_NAMED_AFTER_RE = re.compile(rf"(?:新的|的)?([\u4e00-\u9fffA-Za-z]{{1,6}}?(?:{_HEAD}))")
_LATIN_AFTER_RE = re.compile(r"([A-Za-z][A-Za-z0-9-]{1,11})(?![A-Za-z0-9])")


def _noun_before(norm: str, s: int, floor: int, shortest: int = 2) -> str | None:
    """The run of characters right before a count (or a product), back to a stop character, a name or a digit."""
    i = s
    while i > max(floor, s - 10) and norm[i - 1] not in _NOUN_STOP and not norm[i - 1].isdigit():
        i -= 1
    word = norm[i:s]
    if len(word) < shortest or word in _NOT_PRODUCTS or word in _APPROX or not (_CJK_RE.search(word) or word.isascii()):
        return None
    return word


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


def _generic_after(norm: str, pos: int) -> re.Match[str] | None:
    """An unlisted device word right after a count: "两台洗消机"."""
    m = _GENERIC_AFTER_RE.match(norm, pos)
    return m if m and m.group(1) not in _NOT_PRODUCTS else None


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
                qualified = last.group(0) in _QUALIFIED_HEADS
                qualifier = _noun_before(norm, last.start(), floor, shortest=1) if qualified else None
                return (qualifier or "") + last.group(0) if qualifier else last.group(0)  # 尿试纸
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
