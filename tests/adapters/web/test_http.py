"""/healthz, /readyz and /metrics over real HTTP, and the graceful stop of an App in process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Settings
from bot.core.commands import Arg, ArgType, CommandSpec
from bot.core.invocation import Platform
from bot.core.message import Message
from bot.core.plaintext import render
from bot.core.targets import CONSOLE_CHANNEL
from bot.runtime.context import Context
from bot.runtime.drain import RESTARTING
from bot.runtime.feature import Feature, Setup
from bot.scheduling.deliveries import Planned, enqueue
from bot.scheduling.kinds import DeliveryKind, SendContext
from bot.store.models import Delivery, DeliveryState
from tests.conftest import make_settings

# Every family CONTRACT names, as the Prometheus text parser names them (counters lose _total).
CONTRACT_FAMILIES = {
    "communitybot_commands": "counter",
    "communitybot_command_duration_seconds": "histogram",
    "communitybot_deliveries": "counter",
    "communitybot_delivery_lateness_seconds": "histogram",
    "communitybot_platform_requests": "counter",
    "communitybot_platform_retries": "counter",
}


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def fetch_metrics(port: int) -> dict[str, Any]:
    status, content_type, body = await get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    return {f.name: f for f in text_string_to_metric_families(body)}


def sample(families: dict[str, Any], name: str, **labels: str) -> float:
    """The value of one sample (0 when the label set has not been seen yet)."""
    family = families[name.removesuffix("_total").removesuffix("_count")]
    for s in family.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return 0.0


@pytest.fixture
def settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**env: Any) -> Settings:
        return make_settings(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}", {}, http_port=0, **env)

    return build


@pytest.fixture
async def app(settings: Callable[..., Settings]) -> AsyncIterator[App]:
    bot = App(settings(), console_user="olu", timer=False)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def console(app: App) -> ConsoleAdapter:
    adapter = app.adapters[Platform.CONSOLE]
    assert isinstance(adapter, ConsoleAdapter)
    return adapter


async def test_healthz_and_readyz_follow_the_database_and_the_platforms(app: App) -> None:
    base = f"http://127.0.0.1:{app.http_port}"
    assert app.http_port not in (None, 0)
    status, content_type, body = await get(f"{base}/healthz")
    assert (status, content_type) == (200, "application/json; charset=utf-8")
    assert '"ok"' in body
    assert (await get(f"{base}/readyz"))[0] == 200

    await console(app).stop()  # the platform connection drops
    status, _, body = await get(f"{base}/readyz")
    assert status == 503 and "not ready" in body
    assert (await get(f"{base}/healthz"))[0] == 200, "liveness does not depend on platforms"

    await console(app).start()
    assert (await get(f"{base}/readyz"))[0] == 200


async def test_healthz_fails_when_the_database_stops_answering(tmp_path: Path) -> None:
    # A database in a directory that goes away: the engine cannot open it any more.
    folder = tmp_path / "db"
    folder.mkdir()
    bot = App(
        make_settings(f"sqlite+aiosqlite:///{folder / 'ops.db'}", {}, http_port=0),
        console_user="olu",
        timer=False,
    )
    await bot.start()
    try:
        url = f"http://127.0.0.1:{bot.http_port}/healthz"
        assert (await get(url))[0] == 200
        await bot.db.dispose()  # drop pooled connections, as a restarted server would
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        status, _, body = await get(url)
        assert status == 503 and "database unreachable" in body
    finally:
        folder.mkdir()
        await bot.stop()


@pytest.mark.postgres
async def test_healthz_fails_when_postgresql_goes_away(postgres_url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    bot = App(make_settings(postgres_url, {}, http_port=0), console_user="olu", timer=False)
    await bot.start()
    url = make_url(postgres_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    try:
        health = f"http://127.0.0.1:{bot.http_port}/healthz"
        assert (await get(health))[0] == 200
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
            status, _, _ = await get(health)
            assert status == 503
            await conn.execute(f'CREATE DATABASE "{url.database}"')  # for the fixture's drop
        finally:
            await conn.close()
    finally:
        await bot.stop()


async def test_metrics_expose_every_contract_family_and_count_commands(app: App) -> None:
    before = await fetch_metrics(app.http_port or 0)
    for name, kind in CONTRACT_FAMILIES.items():
        assert name in before, f"{name} missing from /metrics"
        assert before[name].type == kind, (name, before[name].type)
    labels = {"command": "communitybot help", "platform": "console", "outcome": "ok"}
    ok_before = sample(before, "communitybot_commands_total", **labels)
    count_before = sample(before, "communitybot_command_duration_seconds_count", platform="console")

    reply = await console(app).say("/communitybot help")
    assert reply.outcome == "ok"
    refused = await console(app).say("/communitybot audit")
    assert refused.outcome == "denied"

    after = await fetch_metrics(app.http_port or 0)
    assert sample(after, "communitybot_commands_total", **labels) == ok_before + 1
    denied = {**labels, "command": "communitybot audit", "outcome": "denied"}
    assert sample(after, "communitybot_commands_total", **denied) >= 1
    assert (
        sample(after, "communitybot_command_duration_seconds_count", platform="console")
        == count_before + 2
    )


async def test_metrics_move_to_their_own_port_when_asked(
    settings: Callable[..., Settings],
) -> None:
    bot = App(settings(metrics_port=0), console_user="olu", timer=False)
    await bot.start()
    try:
        assert bot.metrics_port not in (None, 0, bot.http_port)
        families = await fetch_metrics(bot.metrics_port or 0)
        assert set(CONTRACT_FAMILIES) <= set(families)
        main = f"http://127.0.0.1:{bot.http_port}"
        assert (await get(f"{main}/metrics"))[0] == 404, "metrics left the public listener"
        assert (await get(f"{main}/healthz"))[0] == 200
        assert (await get(f"http://127.0.0.1:{bot.metrics_port}/healthz"))[0] == 404
    finally:
        await bot.stop()


# -- graceful stop --------------------------------------------------------------------------


class Hold:
    """A command and a delivery kind that wait until the test lets them go.

    The command waits in its link's DNS look-up, as a slow resolver makes real commands
    wait; its write comes after, in its own short transaction.
    """

    def __init__(self) -> None:
        self.command_entered = asyncio.Event()
        self.command_release = asyncio.Event()
        self.render_entered = asyncio.Event()
        self.render_release = asyncio.Event()

    async def resolver(self, host: str) -> list[str]:
        if host == "slow.example.org":
            self.command_entered.set()
            await self.command_release.wait()
        return ["93.184.215.14"]

    async def slow_command(self, ctx: Context) -> Message:
        ctx.audit("slow", str(ctx.args["url"]))  # committed only if the command completes
        return Message.text("slow done")

    async def slow_render(self, ctx: SendContext, row: Delivery) -> Message:
        self.render_entered.set()
        await self.render_release.wait()
        return Message.text("held delivery")

    def feature(self) -> Feature:
        def register(setup: Setup) -> None:
            registry, kinds = setup.commands, setup.kinds
            registry.group("opstest", "Operations test commands")
            registry.add(
                CommandSpec(
                    command="opstest",
                    path=("slow",),
                    summary="Wait for the test",
                    example="/opstest slow https://slow.example.org/",
                    handler=self.slow_command,
                    args=(Arg("url", ArgType.URL, "a link"),),
                )
            )
            kinds.add(DeliveryKind("opstest_held", self.slow_render, timedelta(days=1)))

        return Feature("opstest", register)


async def test_stop_finishes_commands_in_progress_and_refuses_new_ones(
    settings: Callable[..., Settings],
) -> None:
    hold = Hold()
    bot = App(
        settings(),
        console_user="olu",
        timer=False,
        resolver=hold.resolver,
        extra_features=(hold.feature(),),
    )
    await bot.start()
    base = f"http://127.0.0.1:{bot.http_port}"
    running = asyncio.create_task(console(bot).say("/opstest slow https://slow.example.org/"))
    await asyncio.wait_for(hold.command_entered.wait(), 5)

    stopping = asyncio.create_task(bot.stop())
    await asyncio.sleep(0)  # stop() closes the gate before its first await
    assert not bot.dispatcher.gate.open
    assert (await get(f"{base}/readyz"))[0] == 503, "not ready while draining"
    assert (await get(f"{base}/healthz"))[0] == 200, "still alive while draining"
    late = await console(bot).say("/communitybot help")
    assert late.outcome == "unavailable" and render(late.message) == RESTARTING
    assert not stopping.done(), "stop waits for the command in progress"

    hold.command_release.set()
    reply = await asyncio.wait_for(running, 5)
    assert reply.outcome == "ok"
    await asyncio.wait_for(stopping, 10)
    # The held command's write was committed.
    again = App(settings(), console_user="maya", console_maintainer=True, http=False, timer=False)
    await again.start()
    try:
        audit = await console(again).say("/communitybot audit")
        assert "slow: https://slow.example.org/" in render(audit.message)
    finally:
        await again.stop()


async def test_stop_releases_claims_of_a_delivery_that_does_not_finish_in_time(
    settings: Callable[..., Settings],
) -> None:
    hold = Hold()
    bot = App(settings(), console_user="olu", timer=True, extra_features=(hold.feature(),))
    await bot.start()
    now = bot.clock()
    async with bot.db.session() as session:
        await enqueue(
            session,
            bot.services.community_id,
            [Planned("opstest_held", "s", "o", CONSOLE_CHANNEL, now - timedelta(seconds=1))],
            now,
        )
    bot.services.wake()
    await asyncio.wait_for(hold.render_entered.wait(), 10)
    row = await _row(bot)
    assert row.state == DeliveryState.CLAIMED and row.claimed_by == bot.runner.worker_id

    loop = asyncio.get_running_loop()
    started = loop.time()
    await bot.stop(grace=0.5)
    assert loop.time() - started < 5, "stop is bounded"
    hold.render_release.set()  # too late: the claim was handed back
    bot.db = type(bot.db)(bot.settings.database_url)
    row = await _row(bot)
    await bot.db.dispose()
    assert row.state == DeliveryState.PENDING
    assert row.claimed_by is None and row.lease_until is None


async def _row(bot: App) -> Delivery:
    async with bot.db.sessions() as session:
        row = await session.scalar(select(Delivery).where(Delivery.kind == "opstest_held"))
    assert row is not None
    return row


def test_a_metrics_port_that_is_not_a_number_is_refused() -> None:
    from bot.app import load_settings
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        load_settings(None, {"COMMUNITYBOT_METRICS_PORT": "metrics"})
    assert refused.value.problems == ["COMMUNITYBOT_METRICS_PORT: “metrics” is not a whole number"]
    assert load_settings(None, {"COMMUNITYBOT_METRICS_PORT": "9100"}).metrics_port == 9100
