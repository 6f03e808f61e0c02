"""Where a message goes: a channel or a member's direct messages on one platform."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.invocation import Platform


class TargetKind(StrEnum):
    CHANNEL = "channel"
    DM = "dm"


@dataclass(frozen=True, slots=True)
class Target:
    platform: Platform
    kind: TargetKind
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Target:
        platform, kind, ident = text.split(":", 2)
        return cls(Platform(platform), TargetKind(kind), ident)

    @classmethod
    def channel(cls, platform: Platform, ident: str | int) -> Target:
        return cls(platform, TargetKind.CHANNEL, str(ident))

    @classmethod
    def dm(cls, platform: Platform, user_id: str) -> Target:
        return cls(platform, TargetKind.DM, user_id)


CONSOLE_CHANNEL = Target.channel(Platform.CONSOLE, "main")
