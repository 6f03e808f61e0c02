"""The communities of one deployment, and which one an invocation belongs to.

The single `[community]` form is one community that every workspace and guild belongs to.
With `[[communities]]` a Slack workspace belongs to the community whose `slack.team_ids`
lists it, a Discord guild to the one whose `discord.guild_ids` lists it, and the console to
the first; anything else belongs to none, and is answered without touching any community.

With `[deployment] open_installs`, a workspace that installs the bot or a guild the bot joins
without a community in the config gets one of its own (`joined`), kept in the database
(bot/store/communities.py) and in memory here. Lookups stay dictionary reads: another
replica's new community is loaded on the first miss for its place (`locate`), and changes to
any community (its settings, its leaving) on the periodic `refresh`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.config import OwnSettings, Settings
from bot.core.errors import UserError
from bot.core.invocation import Place, Platform
from bot.store import communities as store
from bot.store.db import Database
from bot.store.models import Community as CommunityRow
from bot.store.models import CommunityOrigin

# How long "no community here" is remembered for a place, so that a workspace nobody serves
# does not cost a query per request; another replica's install is seen after this at most.
MISS_TTL = timedelta(seconds=10)
# How often each replica reloads the communities another one changed.
REFRESH_EVERY = timedelta(seconds=30)

UNSERVED = "not sent: open_installs is off, so this community is not served"

OnCreated = Callable[["Community"], Awaitable[None]]
OnLeft = Callable[["Community"], Awaitable[None]]


def valid_user_id(platform: Platform, user_id: str) -> bool:
    """Whether `user_id` is written as `platform` writes member ids."""
    if platform is Platform.SLACK:
        return re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id) is not None
    return re.fullmatch(r"[0-9]{1,20}", user_id) is not None


def left_reason(platform: Platform) -> str:
    where = "workspace" if platform is Platform.SLACK else "server"
    return f"not sent: the bot was removed from this {where}"


@dataclass(frozen=True, slots=True)
class Community:
    id: int
    key: str
    # The settings as this community sees them: its own slack, discord and feature sections.
    settings: Settings
    # False for the single `[community]` form, which serves every workspace and guild.
    mapped: bool = False
    origin: CommunityOrigin = CommunityOrigin.CONFIG
    # The team or guild a created community was made for.
    place_id: str | None = None
    # False once a created community's workspace uninstalled the bot (or its guild removed it).
    active: bool = True
    # Places ("slack:T012…") the bot was removed from, for a config community.
    left_places: frozenset[str] = frozenset()
    # What a created community's maintainers set by command.
    own: OwnSettings = field(default_factory=OwnSettings)

    @property
    def created(self) -> bool:
        """Created from an install rather than declared in the config (which owns it)."""
        return self.origin is not CommunityOrigin.CONFIG

    @property
    def team_ids(self) -> frozenset[str]:
        return frozenset(self.settings.slack.team_ids)

    @property
    def guild_ids(self) -> frozenset[str]:
        return frozenset(str(g) for g in self.settings.discord.guild_ids)


class Communities:
    """Every community of the deployment, by key, id and place.

    Built from the config at start (with the created ones the database holds, `load`); with
    `db` and `base` it can also create and retire communities as installs come and go.
    """

    def __init__(
        self,
        items: Sequence[Community],
        *,
        db: Database | None = None,
        base: Settings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not items:
            raise ValueError("a deployment has at least one community")
        self._default = items[0]
        self.db = db
        # The deployment's settings: what a created community's settings start from.
        self.base = base
        self.clock = clock
        self._by_key: dict[str, Community] = {}
        self._by_id: dict[int, Community] = {}
        self._by_place: dict[tuple[Platform, str], Community] = {}
        self._misses: dict[tuple[Platform, str], datetime] = {}
        # Each community's own "settled" facts (Services.settled), so that none leaks across.
        self._settled: dict[int, set[Hashable]] = {}
        # Created communities in the database while open_installs is off: nothing is sent.
        self._unserved: set[int] = set()
        # Each row's `revision` as last read, so a refresh rebuilds only what changed.
        self._seen: dict[int, int] = {}
        self._active = 0  # how many are served (len() is read on every page request)
        # Set by the App: run a new community's start hooks and background work, or stop it.
        self.on_created: OnCreated | None = None
        self.on_left: OnLeft | None = None
        for c in items:
            self._put(c)

    # -- reading (the hot path: dictionary reads only) --

    def __iter__(self) -> Iterator[Community]:
        """The communities served now (not those whose workspace or guild has left)."""
        return (c for c in self._by_key.values() if c.active)

    def __len__(self) -> int:
        return self._active

    @property
    def default(self) -> Community:
        """The console's community: the single form's one, or the first declared."""
        return self._default

    @property
    def open_installs(self) -> bool:
        return self.base is not None and self.db is not None and self.base.open_installs

    def by_key(self, key: str) -> Community | None:
        community = self._by_key.get(key)
        return community if community is not None and community.active else None

    def by_id(self, community_id: int) -> Community | None:
        """Any community, left ones included (their rows are still rendered and failed)."""
        return self._by_id.get(community_id)

    def settled_for(self, community_id: int) -> set[Hashable]:
        return self._settled.setdefault(community_id, set())

    def for_place(self, place: Place) -> Community | None:
        """The community `place` belongs to, or None."""
        if not self._default.mapped or place.platform is Platform.CONSOLE:
            return self._default
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

    def sends_stopped(self, community_id: int, platform: Platform) -> str | None:
        """Why nothing more is sent for this community on `platform`, or None."""
        community = self._by_id.get(community_id)
        if community is None:
            # (An id unknown otherwise may be another replica's install not yet seen here.)
            return UNSERVED if community_id in self._unserved else None
        return self.sends_stopped_for(community, platform)

    def sends_stopped_for(self, community: Community, platform: Platform) -> str | None:
        if community.created and not community.active:
            return left_reason(platform)
        if community.left_places and self._all_left(community, platform):
            return left_reason(platform)
        return None

    # -- installs come and go --

    async def locate(self, place: Place) -> Community | None:
        """`for_place`, loading from the database a community another replica created."""
        found = self.for_place(place)
        if found is not None or not self.open_installs or place.guild_id is None:
            return found
        if place.platform not in (Platform.SLACK, Platform.DISCORD):
            return None
        where = (place.platform, place.guild_id)
        now = self.clock()
        if self._misses.get(where, now) > now:
            return None
        assert self.db is not None
        async with self.db.sessions() as session:
            row = await store.by_key(
                session, store.created_key(CommunityOrigin(place.platform.value), place.guild_id)
            )
        if row is None or not row.active:
            self._misses[where] = now + MISS_TTL
            return None
        return await self._adopt(row)

    async def joined(
        self, platform: Platform, place_id: str, *, name: str, maintainer: str | None
    ) -> Community | None:
        """A workspace installed the bot, or the bot joined a guild: the community it serves.

        Its config community if one lists it; else, with `open_installs`, a community of its
        own (`slack-<team_id>` / `discord-<guild_id>`, `maintainer` one of its maintainers,
        its public page off), new or as it was when it left; else None (not served).
        """
        if platform not in (Platform.SLACK, Platform.DISCORD):
            raise ValueError(f"{platform} has no installs")
        if maintainer is not None and not valid_user_id(platform, maintainer):
            raise ValueError(f"{maintainer!r} is not a {platform} user id")
        place = store.place_name(platform.value, place_id)
        # The single form serves every workspace and guild.
        known = self._by_place.get((platform, place_id)) if self._default.mapped else self._default
        if known is not None and not known.created:
            if place in known.left_places and self.db is not None:
                async with self.db.session() as session:
                    await store.rejoin_place(session, known.id, place, self.clock())
                known = self._put(replace(known, left_places=known.left_places - {place}))
            return known
        if known is not None and (maintainer is None or maintainer in known.own.maintainers):
            return known
        config = self._config_owner(platform, place_id)
        if config is not None:
            return config
        if not self.open_installs:
            return None
        assert self.db is not None
        async with self.db.session() as session:
            row = await store.join(
                session, CommunityOrigin(platform.value), place_id, name, maintainer, self.clock()
            )
        self._misses.pop((platform, place_id), None)
        return await self._adopt(row)

    async def left(self, platform: Platform, place_id: str) -> Community | None:
        """The bot was uninstalled from a workspace or removed from a guild.

        A created community is marked left; a config community stays, but its sends on
        that platform stop when this was its only place there. Either way its pending
        deliveries there fail with the reason, and are not retried. Returns the community
        (None when the place was none's).
        """
        community = self.for_place(Place(platform, guild_id=place_id))
        if community is None:
            community = self._config_owner(platform, place_id)
        if community is None and self.open_installs:
            community = await self.locate(Place(platform, guild_id=place_id))
        if community is None:
            return None
        place = store.place_name(platform.value, place_id)
        now = self.clock()
        if community.created:
            updated = replace(community, active=False)
        else:
            updated = replace(community, left_places=community.left_places | {place})
        if self.db is not None:
            async with self.db.session() as session:
                await store.leave(
                    session,
                    community.id,
                    place,
                    now,
                    whole=updated.created,
                    # The community's other workspaces or guilds there still get theirs.
                    fail=self.sends_stopped_for(updated, platform),
                )
        self._put(updated)
        if updated.created and self.on_left is not None:
            await self.on_left(updated)
        return updated

    def serve_own(self, community_id: int, own: OwnSettings) -> Community | None:
        """Serve what a created community's maintainers set (stored by the caller)."""
        community = self._by_id.get(community_id)
        if community is None or not community.created:
            return None
        return self._put(self._rebuilt(community, own))

    async def load(self) -> None:
        """Read the created communities at start (the config ones are already here); they
        are served only while `open_installs` is on (their rows stay when it is turned off)."""
        if self.db is None or self.base is None:
            return
        async with self.db.sessions() as session:
            rows = await store.everyone(session)
        for row in rows:
            self._seen[row.id] = row.revision
            if row.origin == CommunityOrigin.CONFIG:
                continue
            if self.open_installs:
                self._put(self._from_row(row))
            else:
                self._unserved.add(row.id)

    async def refresh(self) -> list[Community]:
        """Reload what other replicas changed (a row whose `revision` differs from the one
        read before); returns the communities that became active here, whose background
        work has been started."""
        if self.db is None or self.base is None:
            return []
        at = self.clock()
        # Misses that ran out go, so the map holds only what is still being remembered.
        self._misses = {where: until for where, until in self._misses.items() if until > at}
        async with self.db.sessions() as session:
            # Ids and revisions first: most refreshes find nothing changed and read no row.
            changed = [
                row_id
                for row_id, revision in (await store.revisions(session)).items()
                if self._seen.get(row_id) != revision
            ]
            rows = await store.by_ids(session, changed)
        started = []
        for row in rows:
            self._seen[row.id] = row.revision
            before = self._by_id.get(row.id)
            if row.origin == CommunityOrigin.CONFIG:
                if before is not None:
                    self._put(replace(before, left_places=frozenset(row.left_places or [])))
                continue
            if not self.open_installs:
                continue
            now = self._put(self._from_row(row))
            if now.active and (before is None or not before.active):
                started.append(now)
                if self.on_created is not None:
                    await self.on_created(now)
            elif before is not None and before.active and not now.active and self.on_left:
                await self.on_left(now)
        return started

    # -- inside --

    def _put(self, community: Community) -> Community:
        before = self._by_id.get(community.id)
        if before is not None:
            for p in self._places(before):
                if self._by_place.get(p) is before:
                    del self._by_place[p]
        self._active += int(community.active) - int(before is not None and before.active)
        self._by_key[community.key] = community
        self._by_id[community.id] = community
        if community.id == self._default.id:
            self._default = community
        if community.active:
            for p in self._places(community):
                self._by_place[p] = community
                self._misses.pop(p, None)
        return community

    @staticmethod
    def _places(c: Community) -> list[tuple[Platform, str]]:
        return [
            *((Platform.SLACK, t) for t in c.team_ids),
            *((Platform.DISCORD, g) for g in c.guild_ids),
        ]

    def _config_owner(self, platform: Platform, place_id: str) -> Community | None:
        for c in self._by_key.values():
            if not c.created and (platform, place_id) in self._places(c):
                return c
        return None

    @staticmethod
    def _all_left(community: Community, platform: Platform) -> bool:
        """Whether every place the community has on `platform` was left.

        The single form lists none: there its one Slack workspace (one token) leaving stops
        Slack, but the bot may be in several guilds, and a post to a guild it left fails on
        its own (permanently, so without retries)."""
        if not community.mapped and platform is Platform.DISCORD:
            return False
        ids = community.team_ids if platform is Platform.SLACK else community.guild_ids
        mine = {f"{platform.value}:{i}" for i in ids}
        left = {p for p in community.left_places if p.startswith(f"{platform.value}:")}
        return bool(left) and left >= mine

    def _rebuilt(self, community: Community, own: OwnSettings) -> Community:
        assert self.base is not None and community.place_id is not None
        settings = self.base.created(
            community.origin.value, community.place_id, community.settings.community.name, own
        )
        return replace(community, settings=settings, own=own)

    def _from_row(self, row: CommunityRow) -> Community:
        assert self.base is not None and row.place_id is not None
        own = OwnSettings.from_json(row.own_settings)
        origin = CommunityOrigin(row.origin)
        return Community(
            row.id,
            row.key,
            self.base.created(origin.value, row.place_id, row.name, own),
            mapped=True,
            origin=origin,
            place_id=row.place_id,
            active=row.active,
            own=own,
        )

    async def _adopt(self, row: CommunityRow) -> Community:
        """A created community read or written just now, served from here on."""
        before = self._by_id.get(row.id)
        community = self._put(self._from_row(row))
        if community.active and (before is None or not before.active) and self.on_created:
            await self.on_created(community)
        return community
