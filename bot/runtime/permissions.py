"""One role model: a maintainer is a configured Slack user / user group member, a holder of a
configured Discord role, or the person at a console started with --maintainer."""

from __future__ import annotations

from bot.config import Settings
from bot.core.invocation import Actor, Platform

CONSOLE_MAINTAINER_ROLE = "maintainer"


def is_maintainer(actor: Actor, settings: Settings) -> bool:
    if actor.is_bot:
        return False
    match actor.platform:
        case Platform.CONSOLE:
            return CONSOLE_MAINTAINER_ROLE in actor.roles
        case Platform.SLACK:
            return actor.user_id in settings.slack.maintainers or bool(
                actor.roles & set(settings.slack.maintainer_usergroups)
            )
        case Platform.DISCORD:
            return bool(actor.roles & {str(r) for r in settings.discord.maintainer_roles})
    return False
