"""Announcements: one maintainer post reaching every announce channel on every platform."""

from bot.features.announcements.commands import register_commands
from bot.features.announcements.posts import register_kinds
from bot.runtime.feature import Feature, Setup


def register(setup: Setup) -> None:
    register_commands(setup.commands)
    register_kinds(setup.kinds)


FEATURE = Feature("announcements", register)
