"""The composition root: builds the bot from Settings and runs or stops it as one unit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from bot import config, metrics
from bot.adapters.web import add_health_routes, add_metrics_route, serve
from bot.config import FileConfig, Settings
from bot.core.commands import Registry
from bot.core.invocation import Platform
from bot.core.ports import Adapter, sending_for
from bot.core.urls import Resolver, UrlChecker, system_resolver
from bot.features import FEATURES
from bot.runtime.channel_access import check_channels
from bot.runtime.communities import REFRESH_EVERY, Communities, Community
from bot.runtime.dispatch import Dispatcher
from bot.runtime.feature import Feature, Setup, assemble
from bot.runtime.services import Services, utc_now
from bot.scheduling import pruning
from bot.scheduling.deliveries import NOTICE_KIND, DeliveryRunner, render_notice
from bot.scheduling.kinds import DeliveryKind, KindRegistry
from bot.scheduling.retention import deliveries_pruner
from bot.scheduling.timer import DeliveryTimer
from bot.store.config_communities import Declared, ensure_communities
from bot.store.db import Database
from bot.store.migrate import upgrade

log = logging.getLogger(__name__)

# A stop (SIGTERM) finishes the work in progress within this many seconds, then goes on
# anyway; with the HTTP server's own shutdown timeout it fits the 40 s the manifests in
# deploy/ give a pod (terminationGracePeriodSeconds).
STOP_GRACE = 20.0
# Each adapter gets at least this long to disconnect, even when the grace is spent.
ADAPTER_STOP_MIN = 2.0


def build(features: Sequence[Feature] = FEATURES) -> Setup:
    """Everything the features registered, plus the scheduler's own maintainer notices."""
    setup = assemble(features)
    setup.kinds.add(DeliveryKind(NOTICE_KIND, render_notice))
    return setup


def build_registries(features: Sequence[Feature] = FEATURES) -> tuple[Registry, KindRegistry]:
    setup = build(features)
    return setup.commands, setup.kinds


def load_settings(config_path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """The settings, with the config sections of every feature."""
    return config.load_settings(config_path, env, tuple(build().config.values()))


def parse_file_config(data: Mapping[str, Any]) -> FileConfig:
    """The config file's contents checked against every feature's section."""
    return config.parse_file_config(data, tuple(build().config.values()))


class App:
    """One bot process: database, registry, dispatcher, adapters, timer and HTTP server.

    `platforms` says which adapters this process runs; the console is one of them for
    `communitybot console`, and tests start whichever they need.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        console_user: str | None = None,
        console_maintainer: bool = False,
        http: bool = True,
        resolver: Resolver = system_resolver,
        clock: Any = utc_now,
        timer: bool = True,
        extra_features: Sequence[Feature] = (),
    ) -> None:
        self.settings = settings
        self.console_user = console_user
        self.console_maintainer = console_maintainer
        self.http = http
        self.resolver = resolver
        self.clock = clock
        self.use_timer = timer
        self.db = Database(settings.database_url)
        # Tests add features of their own (e.g. a command that exists only to test confirmation).
        self.features = (*FEATURES, *extra_features)
        self.setup = build(self.features)
        self.registry, self.kinds = self.setup.commands, self.setup.kinds
        self.adapters: dict[Platform, Adapter] = {}
        self.web = web.Application()
        self.http_port: int | None = None
        self.metrics_port: int | None = None
        self.stopping = False
        self.channel_warnings: list[str] = []
        self._runners: list[web.AppRunner] = []
        self._background: list[asyncio.Task[None]] = []
        # Each community's background tasks, to cancel when it leaves.
        self._by_community: dict[int, list[asyncio.Task[None]]] = {}
        # True once the communities' background work runs (start with the timer).
        self._serving = False
        self.services: Services
        self.dispatcher: Dispatcher
        self.runner: DeliveryRunner
        self.timer: DeliveryTimer | None = None
        self._background: list[asyncio.Task[None]] = []

    @property
    def platforms(self) -> frozenset[Platform]:
        wanted = set()
        if self.console_user is not None:
            wanted.add(Platform.CONSOLE)
        if self.settings.slack_configured:
            wanted.add(Platform.SLACK)
        if self.settings.discord_configured:
            wanted.add(Platform.DISCORD)
        return frozenset(wanted)

    async def prepare(self) -> None:
        """Migrate, sync config, build the services; no network connections to platforms yet."""
        await upgrade(self.db)
        async with self.db.migration_lock():
            communities = await self._communities()
            self.services = Services(
                settings=self.settings,
                db=self.db,
                registry=self.registry,
                kinds=self.kinds,
                community_id=communities.default.id,
                platforms=self.platforms,
                urls=UrlChecker(self.resolver),
                clock=self.clock,
                communities=communities,
            )
            await self.start_community_work(communities)
        communities.on_created = self._community_created
        communities.on_left = self._community_left
        self.dispatcher = Dispatcher(self.services)
        self._build_adapters()
        self.runner = DeliveryRunner(self.services, self.adapters)
        if self.use_timer:
            self.timer = DeliveryTimer(self.runner, self.clock)
            self.services.wake = self.timer.wake
        for add_routes in self.setup.route_adders:
            add_routes(self.web, self.services)
        add_health_routes(self.web, self.db.ping, self.readiness, self.db.writes_failing)
        if self.settings.metrics_port is None:
            add_metrics_route(self.web)

    async def _communities(self) -> Communities:
        """The configured communities, each created or updated by its key, then those
        created from installs that the database holds."""
        mapped = bool(self.settings.file.communities)
        each = self.settings.per_community()
        declared = [Declared(k, s.community.name, s.community.timezone) for k, s in each]
        async with self.db.session() as session:
            stored = await ensure_communities(session, declared, self.clock())
        communities = Communities(
            [
                Community(
                    stored[key].id,
                    key,
                    s,
                    mapped=mapped,
                    left_places=stored[key].left_places,
                )
                for key, s in each
            ],
            db=self.db,
            base=self.settings,
            clock=self.clock,
        )
        await communities.load()
        return communities

    async def start_community_work(self, communities: Iterable[Community]) -> None:
        """Every feature's start-up work for these communities (every configured one at
        start; one created at run time alone): each hook once, with all their views, so a
        thousand communities are a few queries per feature rather than a thousand sessions.
        Runs under the start-up lock (`Database.migration_lock`)."""
        views = [self.services.for_community(c) for c in communities]
        for hook in self.setup.start_hooks:
            await hook(views)

    async def _community_created(self, community: Community) -> None:
        """A community created (or back) at run time gets what a start gives every one:
        its start hooks now, its background work once the bot runs."""
        async with self.db.migration_lock():
            await self.start_community_work([community])
        if self._serving:
            self._start_background(community)

    async def _community_left(self, community: Community) -> None:
        for task in self._by_community.pop(community.id, []):
            task.cancel()
        log.info("community %s left: nothing more is sent for it", community.key)

    def _start_background(self, community: Community) -> None:
        view = self.services.for_community(community)
        tasks = self._by_community.setdefault(community.id, [])
        for name, work in self.setup.background_tasks:
            task = asyncio.create_task(work(view), name=f"{name} ({community.key})")
            tasks.append(task)
            self._background.append(task)

    async def refresh_communities(self) -> None:
        """What other replicas changed in the communities (installs, settings, leaving)."""
        if self.services.communities is not None:
            await self.services.communities.refresh()

    def _build_adapters(self) -> None:
        if self.console_user is not None:
            from bot.adapters.console import ConsoleAdapter

            self.adapters[Platform.CONSOLE] = ConsoleAdapter(
                self.dispatcher, user=self.console_user, maintainer=self.console_maintainer
            )
        if self.settings.slack_configured:
            from bot.adapters.slack.adapter import SlackAdapter

            self.adapters[Platform.SLACK] = SlackAdapter(self.services, self.dispatcher, self.web)
        if self.settings.discord_configured:
            from bot.adapters.discord.adapter import DiscordAdapter

            adapter = DiscordAdapter(self.services, self.dispatcher, self.web)
            self.adapters[Platform.DISCORD] = adapter
            if self.settings.discord_anywhere("scheduled_events"):
                from bot.adapters.discord.events import DiscordEvents

                self.services.scheduled_events = DiscordEvents(lambda: adapter.client)
        for platform, each in self.adapters.items():
            # Read at each scrape; a stopped adapter reads 0.
            metrics.PLATFORM_UP.labels(platform.value).set_function(
                lambda a=each: 1.0 if a.connected and not self.stopping else 0.0
            )

    async def ready(self) -> bool:
        """/readyz: the database answers and at least one platform can serve."""
        return (await self.readiness())[0]

    async def readiness(self) -> tuple[bool, Mapping[str, object]]:
        """Ready, and each platform's state: one platform down (Discord's gateway in an
        outage) must not stop the others' commands from being routed here."""
        platforms = {
            p.value: "stopping" if self.stopping else "up" if a.connected else "down"
            for p, a in self.adapters.items()
        }
        database = "ok" if await self.db.ping() else "unreachable"
        ok = not self.stopping and database == "ok" and "up" in platforms.values()
        return ok, {"database": database, "platforms": platforms}

    async def start(self) -> None:
        await self.prepare()
        if self.http:
            runner, self.http_port = await serve(
                self.web, self.settings.http_host, self.settings.http_port
            )
            self._runners.append(runner)
            log.info("HTTP on %s:%s", self.settings.http_host, self.http_port)
            if self.settings.metrics_port is not None:
                metrics_app = web.Application()
                add_metrics_route(metrics_app)
                runner, self.metrics_port = await serve(
                    metrics_app,
                    self.settings.http_host,
                    self.settings.metrics_port,
                    port_setting="COMMUNITYBOT_METRICS_PORT",
                )
                self._runners.append(runner)
                log.info("metrics on %s:%s", self.settings.http_host, self.metrics_port)
        for adapter in self.adapters.values():
            await adapter.start()
        self.channel_warnings = []
        for community in self.services.communities or ():
            with sending_for(community.id):
                self.channel_warnings += await check_channels(
                    community.settings, self.adapters, self.setup.channel_uses
                )
        if self.timer is not None:
            self.timer.start()
            # Rows that would only grow (seen event ids, expired confirmations, deliveries
            # finished [retention] deliveries_days ago) are pruned
            # on the same scheduler (bot/scheduling/pruning.py).
            pruning.schedule(
                self.timer.scheduler,
                self.db,
                self.clock,
                (
                    *pruning.PRUNERS,
                    deliveries_pruner(self.settings.file.retention.deliveries_days),
                ),
            )
            self.timer.scheduler.add_job(
                self.refresh_communities,
                "interval",
                seconds=REFRESH_EVERY.total_seconds(),
                id="communities refresh",
                coalesce=True,
                max_instances=1,
            )
            self._serving = True
            for name, work in self.setup.deployment_tasks:
                self._background.append(asyncio.create_task(work(self.services), name=name))
            for community in list(self.services.communities or ()):
                self._start_background(community)

    async def run_due(self, now: datetime | None = None) -> int:
        return await self.runner.run_due(now or self.clock())

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop taking commands, finish work in progress, release delivery claims, disconnect.

        Bounded by `grace` seconds (plus the HTTP server's own shutdown timeout); safe to call
        on an App whose start failed part-way.
        """
        self.stopping = True  # /readyz answers 503 from here on
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace

        def left() -> float:
            return max(deadline - loop.time(), 0.1)

        if hasattr(self, "dispatcher"):
            # New commands get "restarting"; those already running finish and answer.
            gate = self.dispatcher.gate
            gate.close()
            try:
                await asyncio.wait_for(gate.idle(), left())
            except TimeoutError:
                log.warning("%d command(s) still running at stop", gate.in_progress)
        self._serving = False
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.timer is not None:
            try:
                await asyncio.wait_for(self.timer.stop(), left())
            except TimeoutError:
                log.warning("a delivery run was still going at stop; its claims are released")
        if hasattr(self, "runner"):
            try:
                released = await self.runner.release_claims(self.clock())
                if released:
                    log.info("released %d delivery claim(s) for other replicas", released)
            except Exception:
                log.exception("could not release delivery claims; their leases will expire")
        for adapter in self.adapters.values():
            try:
                await asyncio.wait_for(adapter.stop(), max(left(), ADAPTER_STOP_MIN))
            except Exception:
                log.exception("stopping %s failed", adapter.platform)
        for runner in self._runners:
            await runner.cleanup()
        await self.db.dispose()
