"""The Discord application-command tree, generated from the core registry.

Every registry group becomes a slash command with subcommands (Discord cannot invoke a
command that has subcommands bare, so `/survey` is `/survey list` there) and every argument
and `--option` becomes a typed option named as in CONTRACT: USER for members, STRING with a
max_length, INTEGER with bounds, BOOLEAN for flags, fixed choices only where the values are
fixed in code, and autocomplete (not choices) for meetings, surveys and zones, whose values
change with the data and must not change the synced schema.

A command's free text (a `rest` TEXT argument) is optional on Discord: slash-command strings
cannot hold newlines, so leaving it out opens a form with a multi-line field instead.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import keyword
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import discord
from discord import app_commands

from bot.core.commands import Arg, ArgType, CommandSpec, Registry, ValueType

# Discord's limits on a command's schema.
MAX_NAME = 32
MAX_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_COMMAND_CHARS = 8000
MAX_STRING = 6000

OnCommand = Callable[[discord.Interaction, CommandSpec, dict[str, Any]], Awaitable[None]]
Completer = Callable[[discord.Interaction, ArgType | ValueType, str], Awaitable[list[str]]]

# Bounds for text options whose values are short by nature.
_SHORT = {
    ArgType.WORD: 100,
    ArgType.DATE: 10,
    ArgType.DATETIME: 60,
    ArgType.DURATION: 12,
    ArgType.URL: 2000,
    ArgType.ZONE: 64,
}


def autocompleted(kind: ArgType | ValueType) -> bool:
    """Time zones and the features' own types (meeting ids, survey names) are suggested."""
    return isinstance(kind, ValueType) or kind is ArgType.ZONE


def _describe(text: str) -> str:
    text = " ".join(text.split()) or "…"
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def opens_form(arg: Arg) -> bool:
    """The free text that a form asks for when it is left out of the slash command."""
    return arg.type is ArgType.TEXT and arg.rest


def _annotation(arg: Arg) -> Any:
    match arg.type:
        case ArgType.MEMBER:
            return discord.User
        case ArgType.FLAG:
            return bool
        case ArgType.INT:
            if arg.min_value is None and arg.max_value is None:
                return int
            return app_commands.Range[int, arg.min_value, arg.max_value]
        case ArgType.CHOICE:
            return str
        case ArgType.TEXT:
            return app_commands.Range[str, 1, min(arg.max_length, MAX_STRING)]
    short = arg.type.max_length if isinstance(arg.type, ValueType) else _SHORT.get(arg.type)
    limit = min(arg.max_length, short or MAX_STRING)
    return app_commands.Range[str, 1, limit]


def discord_options(spec: CommandSpec) -> list[tuple[Arg, bool]]:
    """(argument, required on Discord) for each option of `spec`, in the registry's order."""
    out = [(a, a.required and not opens_form(a)) for a in spec.args]
    out += [(o, False) for o in spec.all_options]
    return out


def _param_name(name: str, index: int) -> str:
    """A Python parameter name for an option (discord.py reads options from a signature)."""
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"option_{index}"


def _command(spec: CommandSpec, name: str, on_command: OnCommand, complete: Completer) -> Any:
    options = discord_options(spec)
    # Option names that are not Python identifiers (`--dry-run`) are renamed back for Discord.
    names = {_param_name(a.name, i): a for i, (a, _) in enumerate(options)}
    arg_of = {a.name: p for p, a in names.items()}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await on_command(interaction, spec, {names[p].name: v for p, v in values.items()})

    params = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for arg, required in options:
        params.append(
            inspect.Parameter(
                arg_of[arg.name],
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(arg),
                default=inspect.Parameter.empty if required else None,
            )
        )
    # discord.py reads the options from the callback's signature: build one per spec.
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = name.replace("-", "_")
    fn: Any = app_commands.describe(**{arg_of[a.name]: _describe(a.help) for a, _ in options})(
        callback
    )
    renames = {p: a.name for p, a in names.items() if p != a.name}
    if renames:
        fn = app_commands.rename(**renames)(fn)
    choices = {
        arg_of[a.name]: [app_commands.Choice(name=c, value=c) for c in a.choices[:MAX_CHOICES]]
        for a, _ in options
        if a.type is ArgType.CHOICE and a.choices
    }
    if choices:
        fn = app_commands.choices(**choices)(fn)
    completers = {
        arg_of[a.name]: _completer(a.type, complete) for a, _ in options if autocompleted(a.type)
    }
    if completers:
        fn = app_commands.autocomplete(**completers)(fn)
    return app_commands.Command(name=name, description=_describe(spec.summary), callback=fn)


def _completer(kind: ArgType | ValueType, complete: Completer) -> Any:
    async def suggest(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        values = await complete(interaction, kind, current)
        return [app_commands.Choice(name=v[:100], value=v[:100]) for v in values[:MAX_CHOICES]]

    return suggest


def build_commands(
    registry: Registry, on_command: OnCommand, complete: Completer
) -> list[app_commands.Group]:
    """One top-level group per registry group, with (nested) subcommands."""
    out: list[app_commands.Group] = []
    for group in registry.groups.values():
        top = app_commands.Group(name=group.name, description=_describe(group.description))
        subgroups: dict[str, app_commands.Group] = {}
        for path, spec in group.specs.items():
            if not path:
                continue  # the bare form: Discord spells it with its subcommand word
            parent = top
            for word in path[:-1]:
                if word not in subgroups:
                    subgroups[word] = app_commands.Group(
                        name=word, description=_describe(f"/{group.name} {word} …"), parent=top
                    )
                parent = subgroups[word]
            parent.add_command(_command(spec, path[-1], on_command, complete))
        out.append(top)
    return out


def install(
    tree: app_commands.CommandTree,
    registry: Registry,
    on_command: OnCommand,
    complete: Completer,
) -> None:
    for command in build_commands(registry, on_command, complete):
        tree.add_command(command)


def schema(tree: app_commands.CommandTree) -> list[dict[str, Any]]:
    """The JSON a sync sends for the tree's global commands."""
    return [command.to_dict(tree) for command in tree.get_commands()]


def schema_hash(payload: Iterable[dict[str, Any]]) -> str:
    """A stable hash of a command schema, to sync on start only when it changed."""
    text = json.dumps(list(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def limit_problems(payload: Iterable[dict[str, Any]]) -> list[str]:
    """Where a schema breaks Discord's limits (names, descriptions, counts, total size)."""
    problems: list[str] = []

    def chars(node: dict[str, Any]) -> int:
        total = len(node["name"]) + len(node.get("description", ""))
        for choice in node.get("choices") or []:
            total += len(choice["name"]) + len(str(choice["value"]))
        return total + sum(chars(o) for o in node.get("options") or [])

    def walk(node: dict[str, Any], where: str) -> None:
        name = node["name"]
        if not 1 <= len(name) <= MAX_NAME or name != name.lower():
            problems.append(f"{where}: name {name!r}")
        if not 1 <= len(node.get("description", "")) <= MAX_DESCRIPTION:
            problems.append(f"{where}: description length {len(node.get('description', ''))}")
        options = node.get("options") or []
        if len(options) > MAX_OPTIONS:
            problems.append(f"{where}: {len(options)} options")
        if len(node.get("choices") or []) > MAX_CHOICES:
            problems.append(f"{where}: too many choices")
        for option in options:
            walk(option, f"{where} {option['name']}")

    for command in payload:
        walk(command, "/" + command["name"])
        if chars(command) > MAX_COMMAND_CHARS:
            problems.append(f"/{command['name']}: {chars(command)} characters")
    return problems
