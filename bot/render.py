"""The Jinja2 environment over templates/: every sentence the bot writes.

Whatever a template prints is escaped for WeCom unless it is `Trusted` (built by
us, such as a mention): a member's name or a span of their message cannot @ anyone,
open a link, or start a heading or a quote through the bot.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Characters that carry meaning in WeCom markdown or mentions, mapped to full-width twins
# that read the same to a person and mean nothing to WeCom.
_ESCAPES = str.maketrans(
    {
        "<": "＜",
        ">": "＞",
        "@": "＠",
        "*": "＊",
        "#": "＃",
        "[": "［",
        "]": "］",
        "`": "｀",
        "_": "＿",
        "~": "～",
        "|": "｜",
        "&": "＆",
    }
)


class Trusted(str):
    """Text the bot built itself; printed as is."""


def escape(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Trusted):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return str(value).translate(_ESCAPES)


def mention(userid: str) -> Trusted:
    """A markdown mention; userids are checked to be plain before they are trusted."""
    safe = "".join(ch for ch in str(userid) if ch.isalnum() or ch in "-_.")
    return Trusted(f"<@{safe}>") if safe else Trusted("")


class Renderer:
    """Templates for WeCom (member text escaped), or with `plain=True` for a terminal (printed as is)."""

    def __init__(self, tz: ZoneInfo, directory: Path = TEMPLATES, *, plain: bool = False) -> None:
        self.tz = tz
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=False,
            finalize=(lambda v: "" if v is None else v) if plain else escape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.env.filters.update(hm=self._hm, md=self._md, day=self._day, trusted=Trusted)
        # The core items' names live in _core.j2; joining them is a plain function, because a
        # Jinja macro call costs more than the rest of a visit reply.
        core = self.env.get_template("_core.j2").module
        names, sep = dict(core.CORE_LABELS), str(core.LIST_SEP)  # type: ignore[attr-defined]
        self.env.globals.update(mention=mention, labels=lambda items: sep.join(names[i] for i in items))
        self._compiled: dict[str, tuple[Template, dict[str, Any]]] = {}

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def _hm(self, value: datetime) -> Trusted:
        return Trusted(self._local(value).strftime("%H:%M"))

    def _md(self, value: datetime | date | str) -> Trusted:
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        elif isinstance(value, datetime) and value.tzinfo is not None:
            value = self._local(value)
        return Trusted(f"{value.month}月{value.day}日")

    def _day(self, value: datetime | date) -> Trusted:
        return Trusted(
            value.isoformat()[:10]
            if isinstance(value, date) and not isinstance(value, datetime)
            else self._local(value).strftime("%Y-%m-%d")
        )

    def render(self, template: str, /, **context: Any) -> str:
        compiled = self._compiled.get(template)
        if compiled is None:
            tpl = self.env.get_template(template)
            compiled = self._compiled[template] = (tpl, dict(tpl.globals))
        tpl, names = compiled
        # Template.render merges the globals into every context from a ChainMap, which cost more
        # than rendering a visit reply; the merged globals are kept instead (they never change
        # once the environment is built) and the context is handed over as is.
        ctx = tpl.new_context({**names, **context}, shared=True)
        try:
            return str(self.env.concat(tpl.root_render_func(ctx))).strip()
        except Exception:
            self.env.handle_exception()  # re-raised with the template's line, as Template.render does


@lru_cache(maxsize=8)
def renderer_for(tz_name: str) -> Renderer:
    return Renderer(ZoneInfo(tz_name))
