"""The App Home tab: the next meeting, open surveys and how to nominate, for one person.

Its sections are the ones features registered (`Registry.home_section`): the answers of
read-only commands people would type themselves (`/meeting next`, `/survey`), run through
the dispatcher as that person, so the Home tab and the commands can never disagree, or how
to type a command.
"""

from __future__ import annotations

from typing import Any

from bot.adapters.slack.render import render
from bot.core.invocation import Actor, Invocation, Place, Platform
from bot.core.message import Code, Heading, Message, message, para
from bot.runtime.dispatch import Dispatcher
from bot.runtime.services import Services

VIEW_BLOCKS = 100


async def home_message(
    services: Services, dispatcher: Dispatcher, actor: Actor, team_id: str | None = None
) -> tuple[Message, str | None]:
    """The Home tab's content for `actor`, and their own zone (from the answers run for it)."""
    registry = services.registry
    place = Place(Platform.SLACK, channel_id=None, guild_id=team_id, is_dm=True)
    # The workspace's community names the tab (and answers its sections); one another
    # replica created a moment ago is loaded first.
    await dispatcher.locate(place)
    services = services.for_place(place)
    zone = None
    out = message(Heading(services.settings.community.name))
    for section in registry.home:
        command, _, path = section.command.partition(" ")
        spec = registry.find(command, tuple(path.split()))
        if spec is None:
            continue
        if section.run:
            reply = await dispatcher.handle(Invocation(command, actor, place, text=path))
            zone = zone or reply.zone
            out = out.plus(Heading(section.title), *reply.message.blocks)
            continue
        label = services.command_label(Platform.SLACK, spec.name)
        out = out.plus(
            Heading(section.title),
            para(
                f"{spec.summary[:1].upper()}{spec.summary[1:]}: ",
                Code(f"{label} {section.usage}".rstrip()),
            ),
        )
    help_label = services.command_label(Platform.SLACK, "communitybot help")
    return out.plus(para("Every command, with examples: ", Code(help_label))), zone


async def home_view(
    services: Services, dispatcher: Dispatcher, actor: Actor, team_id: str | None = None
) -> dict[str, Any]:
    """The Home tab view for `actor`, within Slack's 100-block limit."""
    msg, zone = await home_message(services, dispatcher, actor, team_id)
    blocks: list[dict[str, Any]] = []
    for part in render(msg, reader_zone=zone):
        blocks.extend(part.blocks)
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}
