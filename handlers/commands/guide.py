"""/帮助: the command list grouped by purpose, or one command's usage and example, from the registry."""

from __future__ import annotations

from bot.dispatch import Context, Reply
from handlers.commands.registry import REGISTRY, Command, Invocation, implements


def grouped() -> list[tuple[str, list[Command]]]:
    """(group title, its top-level commands) in the catalog's order; sub-commands ride on their parent."""
    out = []
    for key, title in REGISTRY.groups.items():
        cmds = [c for c in REGISTRY.top_level if c.group == key]
        if cmds:
            out.append((title, cmds))
    return out


@implements("help")
def help_(inv: Invocation, ctx: Context) -> Reply:
    roles = REGISTRY.roles
    if inv.args:
        cmd = REGISTRY.find(inv.args[0])
        if cmd is None:
            word = inv.args[0].lstrip("/／")
            return ctx.reply("commands/unknown.md.j2", word=word, suggestions=REGISTRY.suggestions(word))
        return ctx.reply("commands/help_command.md.j2", command=cmd, roles=roles)
    return ctx.reply("commands/help.md.j2", groups=grouped(), roles=roles, outsider=ctx.member is None)
