"""Announcements: one maintainer post reaching every announce channel on every platform."""

from bot.core.commands import Registry
from bot.features.announcements.commands import register_commands
from bot.features.announcements.posts import register_kinds
from bot.features.base import Feature
from bot.scheduling.kinds import KindRegistry


def register(registry: Registry, kinds: KindRegistry) -> None:
    register_commands(registry)
    register_kinds(kinds)


FEATURE = Feature("announcements", register)
