"""A neutral rich message that each adapter renders (and escapes) its own way.

User-supplied text only ever travels as `Text`/`Quote` content; adapters escape it so it can
never form a live mention. The only deliberate pings are a `Mention` of a known member and a
message-level `ping`, which adapters map to the configured announce_ping target alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.core.invocation import MemberRef


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    text: str


@dataclass(frozen=True, slots=True)
class Code:
    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    member: MemberRef


@dataclass(frozen=True, slots=True)
class Time:
    """An instant each reader should see in their own zone.

    `zone` is the fallback zone (a meeting's or the community's) used where the platform cannot
    localise and the reader has set none.
    """

    at: datetime
    zone: str = "UTC"
    relative: bool = False

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Time needs an aware datetime")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    label: str = ""


Inline = Text | Strong | Code | Mention | Time | Link


def _inlines(parts: Iterable[Inline | str]) -> tuple[Inline, ...]:
    return tuple(Text(p) if isinstance(p, str) else p for p in parts)


@dataclass(frozen=True, slots=True)
class Paragraph:
    parts: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Heading:
    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    """Someone else's words (a nomination reason, an announcement body), shown as quoted."""

    parts: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


Block = Paragraph | Heading | Quote | Bullets


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    """A button; pressing it comes back to the core as a Press with this `action_id`."""

    action_id: str
    label: str
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True, slots=True)
class Message:
    blocks: tuple[Block, ...] = ()
    actions: tuple[Button, ...] = ()
    ping: bool = field(default=False)

    @classmethod
    def text(cls, *parts: Inline | str) -> Message:
        return cls((Paragraph(_inlines(parts)),))

    def plus(self, *blocks: Block, actions: Iterable[Button] = ()) -> Message:
        return Message(self.blocks + tuple(blocks), self.actions + tuple(actions), self.ping)


def para(*parts: Inline | str) -> Paragraph:
    return Paragraph(_inlines(parts))


def quote(*parts: Inline | str) -> Quote:
    return Quote(_inlines(parts))


def bullets(items: Iterable[Iterable[Inline | str]]) -> Bullets:
    return Bullets(tuple(_inlines(item) for item in items))


def message(*blocks: Block, actions: Iterable[Button] = (), ping: bool = False) -> Message:
    return Message(tuple(blocks), tuple(actions), ping)
