"""parse(): one message in, one parse-schema.md object out. Pure: no I/O at call time."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bot.parse.corrections import correct
from bot.parse.entities import (
    Found,
    competitor_word_at,
    decision_role,
    find_brands,
    find_contacts,
    find_customers,
    find_departments,
    guess_brand,
    has_competitor_word,
    split_contact,
)
from bot.parse.fields import (
    competitor_activity,
    find_markers,
    first_time_in,
    handover,
    has_visit_content,
    leave_dates,
    review_fields,
    visit_spans,
)
from bot.parse.kinds import Signals, classify
from bot.parse.lexicon import lexicon
from bot.parse.numerals import to_int
from bot.parse.qa import qa_labels
from bot.parse.quantities import PRODUCT_RE, find_budget, find_items_at, mentions_product
from bot.parse.text import Prepared, clauses, prepare, trim
from bot.parse.timeexpr import TimeMention, find_times
from bot.workdays import DEFAULT_CALENDAR, WorkCalendar

KEYS: tuple[str, ...] = (
    "kind",
    "customer",
    "department",
    "contact",
    "decision_role",
    "pain_points",
    "competitor",
    "next_action",
    "due",
    "items",
    "budget",
    "brand",
    "activity",
    "start",
    "end",
    "handover",
    "target_met",
    "reason",
    "remedy",
    "missing",
)
KINDS: tuple[str, ...] = ("visit", "urgent", "competitor", "itinerary", "leave", "review", "other")
ROLES: tuple[str, ...] = ("决策者", "采购", "技术把关", "财务", "科室负责人", "使用者", "影响者")
CORE_ITEMS: tuple[str, ...] = ("decision_role", "pain_points", "competitor", "next_action")
_ROLE_SET = frozenset(ROLES)

_NAME_END_RE = re.compile(r"[（(,，、;；/\s]")
_TEMPLATE_FIELDS = ("customer", "department", "contact", "pain_points", "competitor", "next_action")
_EMPTY: dict[str, Any] = dict.fromkeys(KEYS)  # copied, which is much cheaper than building it key by key


_OTHER_TEMPLATE_FIELDS = frozenset(_TEMPLATE_FIELDS) - {"competitor"}
_COMPETITOR_LABEL_FIRST_RE = re.compile(r"[【\[]?(?:竞品|竞争对手|友商)(?:动态|信息|情况)?[】\]]?\s*(?::|是)")


def empty_result(kind: str = "other") -> dict[str, Any]:
    """A result with every key of the schema, nothing filled in."""
    out = _EMPTY.copy()
    out["kind"] = kind
    out["items"] = []
    out["missing"] = []
    return out


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _span_text(p: Prepared, span: tuple[int, int] | None) -> str | None:
    """A span of the message as written."""
    if span is None or span[1] <= span[0]:
        return None
    return p.raw[span[0] : span[1]]


def _until(p: Prepared, span: tuple[int, int] | None, other: tuple[int, int] | None) -> tuple[int, int] | None:
    """`span` cut where `other` (another field's clauses) begins inside it, after its first clause."""
    if span is None or other is None or not span[0] < other[0] < span[1]:
        return span
    return trim(p.raw, span[0], other[0])


def _name_text(p: Prepared, span: tuple[int, int] | None) -> str | None:
    """A name from a template value, with half-width letters and digits, up to a bracket or a comma."""
    if span is None or span[1] <= span[0]:
        return None
    value = _NAME_END_RE.split(p.flat[span[0] : span[1]], maxsplit=1)[0].strip()
    return value or None


def parse(text: str, now: datetime, sender: str | None = None, calendar: WorkCalendar | None = None) -> dict[str, Any]:
    """Understand one message sent at `now` (timezone-aware; its own date is "today").

    `sender` (the WeCom userid) is accepted for callers' convenience; the text
    alone decides the result. `calendar` supplies the working days (default:
    the statutory Chinese calendar with no admin dates).
    """
    cal = calendar or DEFAULT_CALENDAR
    today = now.date()
    p = prepare(text)
    if (meant := correct(p.raw, today, cal)) is not p.raw:  # "周三，不对，周四"
        p = prepare(meant)
    if (labelled := qa_labels(p.raw)) is not p.raw:  # "客户？西郊医院。谁？包主任。…"
        p = prepare(labelled)
    out = empty_result()
    if not p.norm:
        return out
    norm = p.norm

    markers = find_markers(p)
    stated = markers.values  # field → the span of its "key：value" marker (None: left empty)
    times = find_times(norm, today, cal)
    customers = find_customers(p.flat, norm)
    departments = find_departments(p.flat, norm, customers)
    contacts = find_contacts(p.flat, norm, customers)
    brands = find_brands(p.flat, norm, customers)
    guessed = None if brands else guess_brand(p.flat, norm, customers)
    comp_word = has_competitor_word(norm)
    template = not stated.keys().isdisjoint(_TEMPLATE_FIELDS)

    names = [(f.start, f.end) for f in customers] if customers else []
    names += [(f.start, f.end) for f in departments] if departments else ()
    names += [(f.start, f.end) for f in contacts] if contacts else ()
    located = [(at, item) for at, item in find_items_at(norm, names) if not _broken_at(norm, at, item)]
    items = [item for _, item in located]
    sig = Signals(
        has_customer=bool(customers) or stated.get("customer") is not None,
        has_contact=bool(contacts) or stated.get("contact") is not None,
        has_brand=bool(brands) or guessed is not None,
        has_competitor_word=comp_word,
        has_template=template,
        has_items=bool(items),
        brand_first=_opens_with(norm, brands[0] if brands else None),
        competitor_label_first="competitor" in stated
        and _COMPETITOR_LABEL_FIRST_RE.match(norm) is not None
        and stated.keys().isdisjoint(_OTHER_TEMPLATE_FIELDS),
        goods=lambda: bool(departments) or mentions_product(norm),
        brand_at=(tuple(b.start for b in brands) + ((guessed.start,) if guessed else ()) + competitor_word_at(norm))
        if brands or guessed or comp_word
        else (),
        visit_content=lambda: has_visit_content(norm),
        to_colleague=p.to_colleague,
        hour=now.hour,
    )
    kind = classify(norm, times, today, sig)
    if "brand" in stated and "activity" in stated and kind not in ("urgent", "review"):
        kind = "competitor"  # "【竞品动态】品牌：迈瑞 医院：… 动作：…": news in a template of its own
    out["kind"] = kind

    # --- who and where
    if "customer" in stated:
        out["customer"] = _name_text(p, stated["customer"])
    elif customers:
        out["customer"] = customers[0].text
    if "department" in stated:
        out["department"] = _name_text(p, stated["department"])
    elif departments:
        out["department"] = departments[0].text
    title: str | None = None
    if "contact" in stated:
        out["contact"] = _name_text(p, stated["contact"])
        span = stated["contact"]
        inside = [c for c in contacts if span and span[0] <= c.start < span[1]]
        if inside:  # "联系人：设备科王主任" → 王主任
            out["contact"], title = inside[0].text, inside[0].title
        else:
            split = split_contact(out["contact"]) if out["contact"] else None
            title = split[1] if split else None
    elif contacts:
        out["contact"] = contacts[0].text
        title = contacts[0].title
    role_span = stated.get("decision_role")
    stated_role = _name_text(p, role_span) if role_span is not None else None
    if stated_role and stated_role.endswith("的"):  # "【角色】技术把关的"
        stated_role = stated_role[:-1]
    if stated_role in _ROLE_SET:
        out["decision_role"] = stated_role
    else:
        out["decision_role"] = decision_role(title, out["department"])

    # --- by kind
    if kind == "visit":
        spans = visit_spans(p, times, today, brands, comp_word)
        nxt = stated["next_action"] if "next_action" in stated else spans.next_action
        # "痛点是维修慢，下周二再约": a stated value ends where an unstated next step begins
        until = None if "next_action" in stated else nxt
        pain = _until(p, stated["pain_points"], until) if "pain_points" in stated else spans.pain_points
        comp = _until(p, stated["competitor"], until) if "competitor" in stated else spans.competitor
        out["pain_points"] = _span_text(p, pain)
        out["competitor"] = _span_text(p, comp)
        out["next_action"] = _span_text(p, nxt)
        due = first_time_in(times, spans.due_clause, today) if nxt == spans.next_action else None
        due = due or first_time_in(times, nxt, today)
        if due is None and nxt is not None:
            due = first_time_in(times, stated.get("due"))
        out["due"] = _iso(due)
        out["items"] = _items_outside_competitor_clauses(p, located, brands) if brands else items
        out["budget"] = _budget(p, markers)
        out["missing"] = [k for k in CORE_ITEMS if out[k] is None]
    elif kind in ("urgent", "itinerary"):
        explicit = first_time_in(times, stated.get("due"))
        # a trip report's day: the first one to come ("今天下午在公司开会，明天一早直接去…")
        coming = next((t for t in times if t.date > today), times[0]) if kind == "itinerary" and times else None
        first = (_delivery_time(norm, times) if kind == "urgent" else coming) or (times[0] if times else None)
        out["due"] = _iso(explicit or (first.date if first else None))
        out["items"] = items or (_loaner(norm) if kind == "urgent" else [])
        out["budget"] = _budget(p, markers)
    elif kind == "competitor":
        if not brands and guessed is not None:
            brands = [guessed]
        out["brand"] = brands[0].text if brands else None
        entities: list[Found] = [*brands, *customers, *departments]
        out["activity"] = _span_text(p, competitor_activity(p, entities))
        if stated.get("brand") is not None:
            out["brand"] = _name_text(p, stated["brand"]) or out["brand"]
        if stated.get("activity") is not None:
            out["activity"] = _span_text(p, stated["activity"]) or out["activity"]
    elif kind == "leave":
        start, end = leave_dates(p, times, today, cal)
        out["start"], out["end"] = _iso(start), _iso(end)
        out["handover"] = handover(p)
    elif kind == "review":
        review = review_fields(p, markers)
        out["target_met"] = review.target_met
        out["reason"] = _span_text(p, review.reason)
        out["remedy"] = _span_text(p, review.remedy)
    else:  # other
        out["items"] = items
    return out


# A date the goods are wanted by: "周日前要装好", "周六前送到", "今晚要" (not "下周一开新病区")
_DELIVERY_AFTER_RE = re.compile(
    r"(?:之前|以前|之内|以内|前|内)|(?:必须|就|一定|务必|得|要|能不能|能否|可不可以|可否|可以|先)?(?:要|到|送|用|装|交)"
)
# "送一台备机过去": a loaner of the product that broke ("心电图机坏了")
_LOANER_RE = re.compile(
    r"(?P<n>[一两二三四五六七八九十\d]{1,3})\s*(?P<unit>台|套|个)(?:备机|备用机|备用的|替换机|周转机)"
)


# what the counted machines do: "两台透析机报警停机，急需工程师" needs an engineer, not two machines
_BROKEN_AFTER_RE = re.compile(
    r"[^,，。;；]{0,3}?(?:报警|停机|故障|坏了|坏掉|罢工|死机|黑屏|出问题|不能用|用不了|开不了机)"
)


def _broken_at(norm: str, at: int, item: dict[str, Any]) -> bool:
    """Whether the count at `at` counts machines that broke (told right after their name), not goods needed."""
    name = str(item["product"])
    found = norm.find(name, at)
    if not 0 <= found - at <= 4 or _BROKEN_AFTER_RE.match(norm, found + len(name)) is None:
        return False
    return norm.find(name, found + len(name)) < 0  # "两台监护仪坏了，急需两台监护仪": the same wanted again


def _loaner(norm: str) -> list[dict[str, Any]]:
    """An urgent need for a loaner when the customer's own machine broke: that product, that many."""
    m = _LOANER_RE.search(norm)
    if m is None:
        return []
    products = [x.group() for x in PRODUCT_RE.finditer(norm, 0, m.start())]
    product = products[-1] if products else str(lexicon().products["loaner"])
    return [{"product": product, "quantity": to_int(m["n"]), "unit": m["unit"]}]


def _delivery_time(norm: str, times: list[TimeMention]) -> TimeMention | None:
    """An urgent need's date: the first one the goods are wanted by, when another date (the event) comes first."""
    for t in times:
        if _DELIVERY_AFTER_RE.match(norm, t.end):
            return t
    return None


_HEARSAY_RE = re.compile(
    r"(?:听说|据说|注意|(?:据|听)?有?(?:客户|同行|朋友|友商|代理商|经销商|同事|人)(?:说|讲|反馈|反映|透露))?\s*[:，,]?\s*"
)


def _opens_with(norm: str, brand: Found | None) -> bool:
    """Whether the message starts with the brand (after 听说…)."""
    if brand is None:
        return False
    lead = _HEARSAY_RE.match(norm)
    return brand.start == (lead.end() if lead else 0)


def _budget(p: Prepared, markers: Any) -> int | None:
    stated = markers.span("budget")
    if stated is not None:
        value = find_budget(p.norm[stated[0] : stated[1]])
        if value is not None:
            return value
    return find_budget(p.norm)


def _items_outside_competitor_clauses(
    p: Prepared, located: list[tuple[int, dict[str, object]]], brands: list[Found]
) -> list[dict[str, object]]:
    """A visit's items, leaving out counts said about a competitor ("迈瑞在科里有6台在用")."""
    if not located:
        return []
    theirs = [(s, e) for s, e in clauses(p.norm) if any(s <= b.start < e for b in brands)]
    return [item for pos, item in located if not any(s <= pos < e for s, e in theirs)]
