"""The customer directory: canonical names, aliases (市一院 → 市第一人民医院), levels, regions.

Seeded from config.yaml's `customers`; a customer a rep names that the directory does
not know is added as written, level unknown until a leader sets it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.db import session_scope
from bot.models import Customer, CustomerAlias
from bot.parse.text import fix_typos
from bot.settings import CUSTOMER_LEVELS, CustomerEntry


def customer_key(name: str) -> str:
    """The form names are compared in: NFKC (full-width → half-width), no spaces, ASCII lower-cased,
    frequent typos fixed ("市第二人名医院" is 市第二人民医院)."""
    return fix_typos("".join(unicodedata.normalize("NFKC", name).split()).lower())


_GRADE_LEVELS = {"三": "三级", "二": "二级", "一": "一级"}


def customer_level(word: str) -> str | None:
    """A directory level from what a leader writes: the levels themselves, or a grade with its class
    (二甲, 三乙 → the level: only 三甲 is a level of its own), else None."""
    word = word.strip()
    if word in CUSTOMER_LEVELS:
        return word
    if len(word) == 2 and word[0] in _GRADE_LEVELS and word[1] in "甲乙丙":
        return _GRADE_LEVELS[word[0]]
    return None


_LEVEL_AFTER_RE = re.compile(
    r"\s*[（(【\[,，]?\s*(?:是|属于)?(?P<level>三甲|三乙|三级|二甲|二乙|二级|一级|社区|民营|私立)(?:医院)?(?=$|[）)】\],，。;；\s的])"
)
_COMMUNITY_SUFFIXES = ("社区卫生服务中心", "社区卫生服务站", "社区医院")


def level_in_report(text: str, name: str) -> str | None:
    """The level a report gives a hospital it names: right after the name ("博爱医院（民营）",
    "县医院，二甲") or by what it is (城东社区卫生服务中心 → 社区); None when it says none."""
    at = text.find(name)
    if at >= 0:
        m = _LEVEL_AFTER_RE.match(text, at + len(name))
        if m:
            word = m["level"]
            return "民营" if word == "私立" else customer_level(word)
    return "社区" if name.endswith(_COMMUNITY_SUFFIXES) else None


@dataclass(frozen=True)
class Resolved:
    customer: Customer
    created: bool


def find_customer(session: Session, name: str) -> Customer | None:
    key = customer_key(name)
    if not key:
        return None
    alias = session.exec(select(CustomerAlias).where(CustomerAlias.alias == key)).first()
    if alias is not None:
        return session.get(Customer, alias.customer_id)
    return None


def resolve_customer(session: Session, name: str, *, region: str = "", created_by: str | None = None) -> Resolved:
    """The directory's customer for a name as written, adding it when it is new."""
    found = find_customer(session, name)
    if found is not None:
        return Resolved(found, False)
    customer = Customer(name=name.strip(), level=None, region=region, created_by=created_by)
    session.add(customer)
    session.flush()
    session.add(CustomerAlias(alias=customer_key(name), customer_id=customer.id))  # type: ignore[arg-type]
    session.flush()
    return Resolved(customer, True)


def sync_directory(entries: tuple[CustomerEntry, ...], engine: Engine) -> None:
    """config.yaml's customers: canonical name, level, region and aliases, added or updated."""
    if not entries:
        return
    with session_scope(engine) as s:
        for entry in entries:
            customer = find_customer(s, entry.name)
            if customer is None:
                customer = Customer(name=entry.name, level=entry.level, region=entry.region, created_by="config")
                s.add(customer)
                s.flush()
            else:
                customer.name = entry.name
                customer.level = entry.level or customer.level
                customer.region = entry.region or customer.region
                s.add(customer)
            for alias in (entry.name, *entry.aliases):
                key = customer_key(alias)
                row = s.exec(select(CustomerAlias).where(CustomerAlias.alias == key)).first()
                if row is None:
                    s.add(CustomerAlias(alias=key, customer_id=customer.id))  # type: ignore[arg-type]
                elif row.customer_id != customer.id:
                    row.customer_id = customer.id  # type: ignore[assignment]
                    s.add(row)
