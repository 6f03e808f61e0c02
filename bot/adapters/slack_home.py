"""The App Home tab: the next meeting, open surveys and how to nominate, for one person.

Its sections are the answers of the read-only commands people would type themselves
(`/meeting next`, `/survey`), run through the dispatcher as that person, so the Home tab
and the commands can never disagree. A section appears once its feature is registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.adapters.slack_render import render
from bot.core.invocation import Actor, Invocation, Place, Platform
from bot.core.message import Code, Heading, Message, message, para

if TYPE_CHECKING:
    from bot.adapters.slack import SlackAdapter

# (command, subcommand path, text typed, heading)
SECTIONS = (
    ("meeting", ("next",), "next", "Next meeting"),
    ("survey", ("list",), "list", "Open surveys"),
)
VIEW_BLOCKS = 100


async def home_message(adapter: SlackAdapter, user_id: str) -> Message:
    services = adapter.services
    registry = services.registry
    actor = Actor(Platform.SLACK, user_id, "", await adapter.usergroups.groups_of(user_id))
    place = Place(Platform.SLACK, channel_id=None, is_dm=True)
    out = message(Heading(services.settings.community.name))
    for command, path, text, title in SECTIONS:
        if registry.find(command, path) is None:
            continue
        reply = await adapter.dispatcher.handle(Invocation(command, actor, place, text=text))
        out = out.plus(Heading(title), *reply.message.blocks)
    nominate = registry.find("hero", ("nominate",))
    if nominate is not None:
        label = services.command_label(Platform.SLACK, nominate.name)
        out = out.plus(
            Heading("Nominate a Community Hero"),
            para(
                f"{nominate.summary[:1].upper()}{nominate.summary[1:]}: ",
                Code(label + " @name reason"),
            ),
        )
    help_label = services.command_label(Platform.SLACK, "communitybot help")
    return out.plus(para("Every command, with examples: ", Code(help_label)))


async def home_view(adapter: SlackAdapter, user_id: str) -> dict[str, Any]:
    """The Home tab view for `user_id`, within Slack's 100-block limit."""
    msg = await home_message(adapter, user_id)
    zone = await adapter.dispatcher.zone_of(Actor(Platform.SLACK, user_id))
    blocks: list[dict[str, Any]] = []
    for part in render(msg, reader_zone=zone):
        blocks.extend(part.blocks)
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}
