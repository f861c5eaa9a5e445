"""The command registry: every slash command declared once, in templates/commands/catalog.yaml.

A declaration holds the names (Chinese first, English aliases), who may run it, its purpose
group and what /帮助 shows (summary, usage, example). The implementation is bound to it by key
with `@implements(key)`. The dispatcher, the role check and the help text read the same
`Command`, so they cannot drift: `@implements` refuses a key that is not declared and
`Registry.check()` (at import of handlers.commands) a declaration left unimplemented.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from bot.dispatch import Context, Reply
from bot.render import TEMPLATES

CATALOG = TEMPLATES / "commands" / "catalog.yaml"
PREFIXES = ("/", "／")
ROLE_RANK = {"public": 0, "rep": 1, "leader": 2, "admin": 3}

# Separators between arguments: ASCII and full-width spaces, the commas people type, and a colon
# ("/客户：市一院") unless it sits between two digits, as in a time (10:30).
_SEPARATORS = re.compile(r"(?:[\s\u3000\u2005\xa0,，、;；]|(?<!\d)[:：]|[:：](?!\d))+")


class Usage(Exception):  # noqa: N818  (control flow, not an error)
    """The arguments do not fit the command: answer with its usage and example, store nothing."""


@dataclass(frozen=True)
class Invocation:
    """One use of a command: the command, the name it was called by, and what followed."""

    command: Command
    name: str
    text: str  # everything after the name (and the sub-command word), as written
    args: tuple[str, ...]  # `text` split on spaces and commas


Run = Callable[[Invocation, Context], Reply | None]


@dataclass
class Command:
    key: str
    names: tuple[str, ...]
    role: str
    group: str
    summary: str
    usage: str
    example: str
    parent: str | None = None
    words: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    run: Run | None = None
    subcommands: list[Command] = field(default_factory=list)
    label: str = ""  # how it is typed after "/": "客户", "客户 添加"

    @property
    def name(self) -> str:
        return self.names[0]

    def allows(self, role: str | None) -> bool:
        """Admins may run everything, leaders what reps may; `public` needs no roster entry."""
        need = ROLE_RANK[self.role]
        if need == 0:
            return True
        return role is not None and ROLE_RANK.get(role, 0) >= need


def normalise(text: str) -> str:
    """Full-width letters and digits to half-width, for matching names and numbers."""
    return unicodedata.normalize("NFKC", text)


def _strip_separators(text: str) -> str:
    """`text` without the separators it starts with."""
    m = _SEPARATORS.match(text)
    return text[m.end() :] if m else text


def split_args(text: str) -> tuple[str, ...]:
    return tuple(a for a in _SEPARATORS.split(text.strip()) if a)


@dataclass
class Lookup:
    """What the text after "/" names: a command (maybe a sub-command), or nothing known."""

    word: str
    invocation: Invocation | None


class Registry:
    def __init__(self, catalog: dict[str, Any]) -> None:
        self.groups: dict[str, str] = dict(catalog.get("groups") or {})
        self.roles: dict[str, str] = dict(catalog.get("roles") or {})
        self.values: dict[str, Any] = {k: v for k, v in catalog.items() if k not in ("commands", "groups", "roles")}
        self.commands: list[Command] = []
        self.by_key: dict[str, Command] = {}
        known = {"key", "names", "role", "group", "summary", "usage", "example", "parent", "words"}
        for entry in catalog.get("commands") or []:
            cmd = Command(
                key=str(entry["key"]),
                names=tuple(str(n) for n in entry.get("names") or ()),
                role=str(entry["role"]),
                group=str(entry["group"]),
                summary=str(entry["summary"]),
                usage=str(entry["usage"]),
                example=str(entry["example"]),
                parent=entry.get("parent"),
                words=tuple(str(w) for w in entry.get("words") or ()),
                extra={k: v for k, v in entry.items() if k not in known},
            )
            if cmd.key in self.by_key:
                raise ValueError(f"command {cmd.key!r} declared twice")
            if cmd.role not in ROLE_RANK:
                raise ValueError(f"command {cmd.key!r}: unknown role {cmd.role!r}")
            if cmd.group not in self.groups:
                raise ValueError(f"command {cmd.key!r}: unknown group {cmd.group!r}")
            self.by_key[cmd.key] = cmd
            self.commands.append(cmd)
        for cmd in self.commands:
            if cmd.parent is not None:
                if not cmd.words:
                    raise ValueError(f"sub-command {cmd.key!r} has no words")
                parent = self.by_key[cmd.parent]
                parent.subcommands.append(cmd)
                cmd.label = f"{parent.name} {cmd.words[0]}"
            elif not cmd.names:
                raise ValueError(f"command {cmd.key!r} has no names")
            else:
                cmd.label = cmd.name
        self.by_name: dict[str, Command] = {}
        for cmd in self.top_level:
            for name in cmd.names:
                key = normalise(name).lower()
                if key in self.by_name:
                    raise ValueError(f"command name {name!r} used twice")
                self.by_name[key] = cmd

    @classmethod
    def load(cls, path: Path = CATALOG) -> Registry:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    @property
    def top_level(self) -> list[Command]:
        return [c for c in self.commands if c.parent is None]

    @cached_property
    def _prefix_names(self) -> list[str]:
        """Non-ASCII names, longest first: "/客户市一院" is "/客户 市一院"."""
        return sorted((n for n in self.by_name if not n.isascii()), key=len, reverse=True)

    def implements(self, key: str) -> Callable[[Run], Run]:
        """Bind the function that runs the declared command `key`."""

        def bind(run: Run) -> Run:
            cmd = self.by_key.get(key)
            if cmd is None:
                raise ValueError(f"@implements({key!r}): no such command in {CATALOG.name}")
            if cmd.run is not None:
                raise ValueError(f"command {key!r} implemented twice")
            cmd.run = run
            return run

        return bind

    def check(self) -> None:
        missing = [c.key for c in self.commands if c.run is None]
        if missing:
            raise ValueError(f"commands declared but not implemented: {', '.join(missing)}")

    # ------------------------------------------------------------------ reading a message
    def lookup(self, body: str) -> Lookup:
        """`body` is the text after the "/" prefix."""
        body = body.strip()
        parts = _SEPARATORS.split(body, maxsplit=1)
        head, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        cmd = self.by_name.get(normalise(head).lower())
        name = head
        if cmd is None:
            folded = normalise(head).lower()
            for known in self._prefix_names:
                if folded.startswith(known):
                    # the rest as written ("/拜访客户：市一院" keeps its colon), separators after the name dropped
                    cmd, name = self.by_name[known], head[: len(known)]
                    rest = _strip_separators(body[len(known) :])
                    break
        if cmd is None:
            return Lookup(head, None)
        cmd, rest = self._sub(cmd, rest)
        return Lookup(head, Invocation(cmd, name, rest.strip(), split_args(rest)))

    def _sub(self, cmd: Command, rest: str) -> tuple[Command, str]:
        if not cmd.subcommands or not rest:
            return cmd, rest
        parts = _SEPARATORS.split(rest.strip(), maxsplit=1)
        word = normalise(parts[0]).lower()
        for sub in cmd.subcommands:
            for w in sub.words:
                w_key = normalise(w).lower()
                if word == w_key:
                    return sub, parts[1] if len(parts) > 1 else ""
                if not w_key.isascii() and word.startswith(w_key):  # "/客户添加…" and "/客户 添加市三院…"
                    return sub, _strip_separators(rest.strip()[len(w) :])
        return cmd, rest

    def suggestions(self, word: str, n: int = 3) -> list[str]:
        """The closest command names (and aliases) to a word that is none, best first, one per command."""
        folded = normalise(word).lower()
        if not folded:
            return []
        out: list[str] = []
        seen: set[str] = set()
        for match in get_close_matches(folded, list(self.by_name), n=n * 3, cutoff=0.5):
            cmd = self.by_name[match]
            if cmd.key not in seen:
                seen.add(cmd.key)
                out.append(match)
            if len(out) == n:
                break
        return out

    def find(self, word: str) -> Command | None:
        """A command by one of its names, for /帮助 客户."""
        return self.by_name.get(normalise(word.lstrip("/／")).lower())


REGISTRY = Registry.load()
implements = REGISTRY.implements
