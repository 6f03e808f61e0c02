"""The communities of one deployment, and which one an invocation belongs to.

The single `[community]` form is one community that every workspace and guild belongs to.
With `[[communities]]` a Slack workspace belongs to the community whose `slack.team_ids`
lists it, a Discord guild to the one whose `discord.guild_ids` lists it, and the console to
the first; anything else belongs to none, and is answered without touching any community.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field

from bot.config import Settings
from bot.core.errors import UserError
from bot.core.invocation import Place, Platform


@dataclass(frozen=True, slots=True)
class Community:
    id: int
    key: str
    # The settings as this community sees them: its own slack, discord and feature sections.
    settings: Settings
    # False for the single `[community]` form, which serves every workspace and guild.
    mapped: bool = False

    @property
    def team_ids(self) -> frozenset[str]:
        return frozenset(self.settings.slack.team_ids)

    @property
    def guild_ids(self) -> frozenset[str]:
        return frozenset(str(g) for g in self.settings.discord.guild_ids)


@dataclass(slots=True)
class Communities:
    items: Sequence[Community]
    _by_key: dict[str, Community] = field(init=False)
    _by_id: dict[int, Community] = field(init=False)
    _by_place: dict[tuple[Platform, str], Community] = field(init=False)
    # Each community's own "settled" facts (Services.settled), so that none leaks across.
    _settled: dict[int, set[Hashable]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("a deployment has at least one community")
        self._by_key = {c.key: c for c in self.items}
        self._by_id = {c.id: c for c in self.items}
        self._by_place = {}
        for c in self.items:
            self._by_place.update({(Platform.SLACK, t): c for t in c.team_ids})
            self._by_place.update({(Platform.DISCORD, g): c for g in c.guild_ids})

    def __iter__(self) -> Iterator[Community]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def default(self) -> Community:
        """The console's community: the single form's one, or the first declared."""
        return self.items[0]

    def by_key(self, key: str) -> Community | None:
        return self._by_key.get(key)

    def by_id(self, community_id: int) -> Community | None:
        return self._by_id.get(community_id)

    def settled_for(self, community_id: int) -> set[Hashable]:
        return self._settled.setdefault(community_id, set())

    def for_place(self, place: Place) -> Community | None:
        """The community `place` belongs to, or None."""
        if not self.default.mapped or place.platform is Platform.CONSOLE:
            return self.default
        if place.guild_id is None:
            return None
        return self._by_place.get((place.platform, place.guild_id))

    def resolve(self, place: Place) -> Community:
        """The community `place` belongs to, or one sentence saying it belongs to none."""
        community = self.for_place(place)
        if community is not None:
            return community
        if place.platform is Platform.DISCORD and place.guild_id is None:
            raise UserError(
                "This bot serves several communities, so use its commands in your "
                "community's server rather than in a direct message."
            )
        where = "workspace" if place.platform is Platform.SLACK else "server"
        raise UserError(f"This {where} is not part of any community this bot serves.")
