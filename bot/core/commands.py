"""The one command registry: every adapter, the help text and the manifests come from here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.message import Message
    from bot.core.replies import Reply

# Handlers take the runtime's Context (and completers its Services); the core only names them,
# so it stays below the layer that owns a transaction.
Context = Any
Services = Any


class ArgType(StrEnum):
    TEXT = "text"  # free text; when `rest`, takes the remainder of the line
    WORD = "word"  # one token (a name, an id)
    INT = "int"
    MEMBER = "member"
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # YYYY-MM-DD HH:MM [Zone]
    DURATION = "duration"  # 90m, 1d
    URL = "url"
    CHOICE = "choice"
    ZONE = "zone"
    FLAG = "flag"  # options only: present or not


class Permission(StrEnum):
    ANYONE = "anyone"
    MAINTAINER = "maintainer"


class Visibility(StrEnum):
    PRIVATE = "private"  # to the asker alone; --public may share it when the spec allows
    PUBLIC = "public"  # in the channel


@dataclass(frozen=True, slots=True)
class ValueType:
    """An argument type a feature adds (a meeting id, a survey's name): typed text → value.

    `parse` raises UserError with the sentence for the asker. Suggestions as people type
    (Discord autocomplete) are registered with `Registry.completer`.
    """

    name: str
    parse: Callable[[str], Any]
    max_length: int = 100

    def __str__(self) -> str:
        return self.name


# Discord caps option strings at 6,000 characters; we bound every text argument far below.
DEFAULT_TEXT_MAX = 2000


@dataclass(frozen=True, slots=True)
class Arg:
    """A positional argument, or (in `options`) a `--name value` / `--flag` option."""

    name: str
    type: ArgType | ValueType
    help: str
    required: bool = True
    rest: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = DEFAULT_TEXT_MAX
    min_value: int | None = None
    max_value: int | None = None


Handler = Callable[[Context], Awaitable["Reply | Message"]]
Preview = Callable[[Context], Awaitable["Message"]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One invocable command: `/hero nominate`, `/meeting agenda add`, `/survey list`."""

    command: str
    path: tuple[str, ...]
    summary: str
    example: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    options: tuple[Arg, ...] = ()
    permission: Permission = Permission.ANYONE
    visibility: Visibility = Visibility.PRIVATE
    allow_public: bool = False
    confirm: Preview | None = None
    # Maintainer commands that change something are written to the audit log.
    audited: bool = True
    # Answers from the database without changing it (help, next, list): it runs in a read
    # snapshot and opens no write transaction, so it never waits for (or holds) the write
    # lock. Its handler must not write.
    read_only: bool = False
    # Answers from what the process holds (the help): no database at all. Its handler must not
    # use ctx.session, and ctx.member is an unsaved stand-in with no zone.
    reads_nothing: bool = False

    @property
    def name(self) -> str:
        return " ".join((self.command, *self.path))

    @property
    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for a in self.args:
            label = f"<{a.name}>" if a.type is not ArgType.TEXT or not a.rest else f"<{a.name}…>"
            parts.append(label if a.required else f"[{label}]")
        for o in self.options:
            parts.append(f"[--{o.name}]" if o.type is ArgType.FLAG else f"[--{o.name} …]")
        return " ".join(parts)

    def option(self, name: str) -> Arg | None:
        return next((o for o in self.all_options if o.name == name), None)

    @property
    def all_options(self) -> tuple[Arg, ...]:
        # `--yes` is accepted by every command (CONTRACT, quality rules), so scripts and
        # habits can always pass it; it does nothing where there is nothing to confirm.
        yes_help = "skip the confirmation step" if self.confirm else "nothing to confirm here"
        extra = [Arg("yes", ArgType.FLAG, yes_help, required=False)]
        if self.allow_public:
            extra.append(Arg("public", ArgType.FLAG, "share the answer in the channel", False))
        return self.options + tuple(extra)


@dataclass(slots=True)
class CommandGroup:
    """A top-level slash command (`/meeting`) and its subcommands.

    `default` names the subcommand used when the text begins with no subcommand word
    (`/survey` lists, `/announce <text>` posts); Discord needs the explicit form.
    """

    name: str
    description: str
    default: tuple[str, ...] | None = None
    specs: dict[tuple[str, ...], CommandSpec] = field(default_factory=dict)
    # option_names() as of how many specs there were (specs are only ever added).
    _options: tuple[int, frozenset[str], frozenset[str]] = field(
        default=(-1, frozenset(), frozenset()), init=False, repr=False, compare=False
    )

    def words(self) -> set[str]:
        return {path[0] for path in self.specs if path}

    def option_names(self) -> tuple[frozenset[str], frozenset[str]]:
        """Every option name of the group's subcommands, and those that take a value. Parsing
        needs them for every command typed; worked out once, not per command."""
        if self._options[0] != len(self.specs):
            options = [o for spec in self.specs.values() for o in spec.all_options]
            self._options = (
                len(self.specs),
                frozenset(o.name for o in options),
                frozenset(o.name for o in options if o.type is not ArgType.FLAG),
            )
        return self._options[1], self._options[2]


@dataclass(frozen=True, slots=True)
class HomeSection:
    """A part of a member's home page (Slack's App Home), in registration order.

    With `run`, the answer of the read-only command `command` run as the reader (so the page
    and the command never disagree); without, how to type it: its summary and
    `/command usage`.
    """

    title: str
    command: str
    run: bool = True
    usage: str = ""


class Registry:
    """Command groups and button-action handlers, registered by features at start."""

    def __init__(self) -> None:
        self.home: list[HomeSection] = []
        self.groups: dict[str, CommandGroup] = {}
        self.actions: dict[str, ActionSpec] = {}
        self.completers: dict[ArgType | ValueType, Completer] = {}

    def group(self, name: str, description: str, default: tuple[str, ...] | None = None) -> None:
        if name in self.groups:
            raise ValueError(f"command group {name} registered twice")
        self.groups[name] = CommandGroup(name, description, default)

    def add(self, spec: CommandSpec) -> CommandSpec:
        group = self.groups[spec.command]
        if spec.path in group.specs:
            raise ValueError(f"/{spec.name} registered twice")
        if spec.reads_nothing and not (spec.read_only and spec.confirm is None):
            raise ValueError(
                f"/{spec.name}: a command that reads nothing is read-only, unconfirmed"
            )
        rests = [a for a in spec.args if a.rest]
        if rests and spec.args[-1] is not rests[0]:
            raise ValueError(f"/{spec.name}: only the last argument may take the rest")
        group.specs[spec.path] = spec
        return spec

    def action(self, prefix: str, handler: ActionHandler, permission: Permission) -> None:
        """Buttons whose action id starts with `prefix:` are routed to `handler`."""
        if prefix in self.actions:
            raise ValueError(f"action {prefix} registered twice")
        self.actions[prefix] = ActionSpec(prefix, handler, permission)

    def completer(self, kind: ArgType | ValueType, suggest: Completer) -> None:
        """Suggestions for arguments of `kind` as people type them (Discord autocomplete)."""
        self.completers[kind] = suggest

    def home_section(self, section: HomeSection) -> None:
        self.home.append(section)

    def specs(self) -> Iterator[CommandSpec]:
        for group in self.groups.values():
            yield from group.specs.values()

    def find(self, command: str, path: tuple[str, ...]) -> CommandSpec | None:
        group = self.groups.get(command)
        return group.specs.get(path) if group else None


ActionHandler = Callable[[Context, str], Awaitable["Reply | Message"]]
# (services, what was typed so far) -> values to offer, best first.
Completer = Callable[[Services, str], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    prefix: str
    handler: ActionHandler
    permission: Permission
