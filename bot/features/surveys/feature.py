"""Surveys: campaigns with personal tracked links, reminders to those who have not opened them."""

from bot.core.commands import Permission
from bot.features.surveys import links, public
from bot.features.surveys.buttons import on_press
from bot.features.surveys.commands import register_commands
from bot.features.surveys.config import SECTION
from bot.features.surveys.reminders import ACTION, register_kinds
from bot.features.surveys.sync import sync_surveys
from bot.runtime.feature import Feature, Setup


def register(setup: Setup) -> None:
    setup.config_section(SECTION)
    register_commands(setup.commands)
    setup.commands.action(ACTION, on_press, Permission.ANYONE)
    register_kinds(setup.kinds)
    setup.on_start(sync_surveys)
    setup.public_part(public.fill_public)
    setup.routes(links.add_routes)


FEATURE = Feature("surveys", register)
