"""One role model: a maintainer is a configured Slack user / user group member, a holder of a
configured Discord role or a configured Discord user (or, where `manage_server_maintainers`
is on, as in a community created from a guild, a member with Manage Server), or the person
at a console started with --maintainer."""

from __future__ import annotations

from bot.config import Settings
from bot.core.invocation import Actor, Platform

CONSOLE_MAINTAINER_ROLE = "maintainer"
# In a Discord actor's roles when they hold the Manage Server permission where they typed
# (role ids are numbers, so it cannot be mistaken for one).
MANAGE_SERVER = "manage-server"


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
            discord = settings.discord
            return (
                bool(actor.roles & {str(r) for r in discord.maintainer_roles})
                or actor.user_id in {str(m) for m in discord.maintainers}
                or (discord.manage_server_maintainers and MANAGE_SERVER in actor.roles)
            )
    return False
