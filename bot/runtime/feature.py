"""The one shape of a feature: a name and a `register(setup)` function.

Everything a feature adds to the bot goes through `Setup` in that one function: its command
groups, commands, buttons, argument types and Home sections (into the command registry, from
which help, the Slack manifest, the Slack Home, the Discord tree and autocomplete are
generated), its delivery kinds, its config section, the channels it posts to, its start-up
and background work and its HTTP routes. So a new feature edits no core module, no config
class and no adapter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config import ConfigSection, Settings
from bot.core.commands import Registry
from bot.core.invocation import Platform
from bot.runtime.public import PublicPart
from bot.scheduling.kinds import KindRegistry

if TYPE_CHECKING:
    from aiohttp import web

    from bot.runtime.services import Services

# Start-up work for the communities starting together, each as its own view of the
# services: every configured one at start, a community created at run time alone. One call
# for all of them, so that a thousand communities cost a few queries, not a thousand
# transactions.
StartHook = Callable[[Sequence["Services"]], Awaitable[None]]
# A long-running task, started once the platforms are connected and cancelled at stop.
Background = Callable[["Services"], Awaitable[None]]
RouteAdder = Callable[["web.Application", "Services"], None]
# settings, platform -> (channel id, what the feature uses it for), for the start-up check.
ChannelUses = Callable[[Settings, Platform], Iterable[tuple[str | int, str]]]


@dataclass(slots=True)
class Setup:
    """What the features registered, assembled before the settings are read."""

    commands: Registry = field(default_factory=Registry)
    kinds: KindRegistry = field(default_factory=KindRegistry)
    config: dict[str, ConfigSection] = field(default_factory=dict)
    start_hooks: list[StartHook] = field(default_factory=list)
    route_adders: list[RouteAdder] = field(default_factory=list)
    background_tasks: list[tuple[str, Background]] = field(default_factory=list)
    deployment_tasks: list[tuple[str, Background]] = field(default_factory=list)
    channel_uses: list[ChannelUses] = field(default_factory=list)
    public_parts: list[PublicPart] = field(default_factory=list)

    def config_section(self, section: ConfigSection) -> None:
        if section.name in self.config:
            raise ValueError(f"config section {section.name} registered twice")
        self.config[section.name] = section

    def on_start(self, hook: StartHook) -> None:
        """Run at start for every community at once, under the start-up lock (e.g. syncing
        config-declared meetings); later for each community created at run time."""
        self.start_hooks.append(hook)

    def background(self, name: str, work: Background) -> None:
        """Run `work` for each community (given its view) for the process's life once it has
        started (with the delivery timer), cancelled at stop."""
        self.background_tasks.append((name, work))

    def deployment_background(self, name: str, work: Background) -> None:
        """Like `background`, but one task for the whole deployment, given the deployment's
        services: it serves every community of `services.views()`, read again on each pass.
        For work that would otherwise wake a thousand tasks at once, such as planning a
        thousand communities' meetings."""
        self.deployment_tasks.append((name, work))

    def routes(self, adder: RouteAdder) -> None:
        self.route_adders.append(adder)

    def posts_to(self, uses: ChannelUses) -> None:
        """Channels from the config this feature posts to, checked for access at start."""
        self.channel_uses.append(uses)

    def public_part(self, part: PublicPart) -> None:
        """What this feature adds to the public page (bot/runtime/public.py)."""
        self.public_parts.append(part)


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    register: Callable[[Setup], None]


def assemble(features: Sequence[Feature]) -> Setup:
    setup = Setup()
    for feature in features:
        feature.register(setup)
    return setup
