"""Surveys: campaigns with personal tracked links, reminders to those who have not opened them."""

from aiohttp import web

from bot.core.commands import Permission, Registry
from bot.core.services import Services
from bot.features.base import Feature
from bot.features.surveys import links
from bot.features.surveys.buttons import on_press
from bot.features.surveys.commands import register_commands
from bot.features.surveys.reminders import ACTION, register_kinds
from bot.features.surveys.sync import sync_surveys
from bot.scheduling.kinds import KindRegistry


def register(registry: Registry, kinds: KindRegistry) -> None:
    register_commands(registry)
    registry.action(ACTION, on_press, Permission.ANYONE)
    register_kinds(kinds)


def routes(app: web.Application, services: Services) -> None:
    links.add_routes(app, services)


FEATURE = Feature("surveys", register, on_start=sync_surveys, routes=routes)
