"""Property tests: arbitrary input never raises out of dispatch; rejected input writes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import App
from bot.core.invocation import Actor, Invocation, Place, Platform
from bot.runtime.permissions import CONSOLE_MAINTAINER_ROLE
from bot.store.schema import Base
from tests.conftest import make_settings
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import SCENARIO_CONFIG

WORDS = [
    "help",
    "timezone",
    "audit",
    "list",
    "post",
    "add",
    "next",
    "nominate",
    "agenda",
    "--yes",
    "--public",
    "--at",
    "--",
    "@olu",
    "<@U1>",
    '"',
    "“",
    "—at",
    "2026-12-01",
    "09:00",
    "Europe/Berlin",
    "https://example.org",
    "http://10.0.0.1",
    "-5",
    "9999999999",
]


async def _counts(app: App) -> dict[str, int]:
    out = {}
    async with app.db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            out[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
    return out


def test_arbitrary_input_never_raises_and_rejections_write_nothing(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    app = App(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", SCENARIO_CONFIG),
        console_user="olu",
        http=False,
        timer=False,
        resolver=fake_resolver,
    )
    loop.run_until_complete(app.start())
    groups = sorted(app.registry.groups)
    text = st.one_of(
        st.text(max_size=120),
        st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(groups), text, st.booleans())
    def check(group: str, body: str, maintainer: bool) -> None:
        actor = Actor(
            Platform.CONSOLE,
            "olu",
            "olu",
            frozenset({CONSOLE_MAINTAINER_ROLE}) if maintainer else frozenset(),
        )
        inv = Invocation(group, actor, Place(Platform.CONSOLE, "main"), text=body)

        async def run() -> None:
            before = await _counts(app)
            reply = await app.dispatcher.handle(inv)
            assert reply.outcome != "error", (group, body, reply)
            if reply.outcome in ("rejected", "denied"):
                after = await _counts(app)
                if reply.outcome == "denied":  # refusals are audited, and nothing else changes
                    after["audit_log"] -= 1
                    after["members"] = before["members"]
                    after["persons"] = before["persons"]
                assert after == before, (group, body, reply)

        loop.run_until_complete(run())

    try:
        check()
    finally:
        loop.run_until_complete(app.stop())
        loop.close()
