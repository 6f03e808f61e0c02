"""Property: two communities with the same meeting ids, survey names and member ids, and no
command in one reads or changes anything of the other (through the dispatcher, on SQLite and
PostgreSQL).

Each generated command is typed in one community (from its Slack workspace or its Discord
guild) by one of the same few people; afterwards every row of the other community is as it
was, and the answer names nothing that only the other community holds.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.core.invocation import Actor, Invocation, Place, Platform
from bot.core.plaintext import render
from bot.store.schema import Base
from tests.conftest import make_settings, pg_database
from tests.scenarios.conftest import fake_resolver

KEYS = ("alpha", "beta")
TEAM = {"alpha": "T0ALPHA01", "beta": "T0BETA001"}
GUILD = {"alpha": "920000000000000001", "beta": "920000000000000002"}
ROLE = {"alpha": "900000000000000001", "beta": "900000000000000002"}
# What only one community holds: its meetings are named with it, its surveys link to it.
MARK = {"alpha": "Alphaville", "beta": "Betamax"}
OTHER = {"alpha": "beta", "beta": "alpha"}
# The same people in both: maya is a maintainer of alpha only, mo of beta only, and on
# Discord either may hold either role id (a role of one guild grants nothing in the other).
PEOPLE = {"maya": "UMAYA", "mo": "UMO", "olu": "UOLU"}
MEETING_IDS = ("sync", "demo")
SURVEY_NAMES = ("Pulse", "Annual Survey")

CONFIG: dict[str, Any] = {
    "communities": [
        {
            "key": key,
            "name": f"{MARK[key]} Community",
            "slack": {"team_ids": [TEAM[key]], "maintainers": [maintainer]},
            "discord": {"guild_ids": [int(GUILD[key])], "maintainer_roles": [int(ROLE[key])]},
        }
        for key, maintainer in (("alpha", "UMAYA"), ("beta", "UMO"))
    ]
}


def command(key: str) -> st.SearchStrategy[tuple[str, str]]:
    """(group, text) of a command typed in community `key`: writes and reads."""
    mark = MARK[key]
    meeting = st.sampled_from(MEETING_IDS)
    survey = st.sampled_from(SURVEY_NAMES)
    day = st.integers(min_value=1, max_value=28)
    return st.one_of(
        st.builds(
            lambda m, d: (
                "meeting",
                f'create {m} --name "{mark} {m}" --start "2031-03-{d:02} 09:00 UTC"',
            ),
            meeting,
            day,
        ),
        meeting.map(lambda m: ("meeting", f"cancel {m} --yes")),
        st.builds(lambda m, d: ("meeting", f"skip {m} 2031-03-{d:02}"), meeting, day),
        meeting.map(lambda m: ("meeting", f"agenda {m} {mark} topic")),
        st.just(("meeting", "next")),
        st.just(("meeting", "list")),
        survey.map(
            lambda s: (
                "survey",
                f'add "{s}" https://example.org/{mark.lower()} --closes 2031-12-31',
            )
        ),
        survey.map(lambda s: ("survey", f'close "{s}" --yes')),
        st.just(("survey", "list")),
        st.just(("survey", "stats")),
        st.just(("survey", "mute")),
        st.sampled_from(("Europe/Berlin", "Asia/Tokyo")).map(
            lambda z: ("communitybot", f"timezone {z}")
        ),
        st.just(("communitybot", "audit")),
        st.builds(lambda t: ("announce", f"{mark} news {t} --yes"), st.integers(0, 9)),
    )


STEP = st.sampled_from(KEYS).flatmap(
    lambda key: st.tuples(
        st.just(key),
        st.sampled_from((Platform.SLACK, Platform.DISCORD)),
        st.sampled_from(sorted(PEOPLE)),
        st.frozensets(st.sampled_from(sorted(ROLE.values())), max_size=2),
        command(key),
    )
)


async def snapshot(app: App, community_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of one community, table by table."""
    out = {}
    async with app.db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if "community_id" not in table.c:
                continue
            rows = await session.execute(select(table).where(table.c.community_id == community_id))
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows.all())
    return out


def _invocation(
    key: str, platform: Platform, who: str, roles: frozenset[str], group: str, text: str
) -> Invocation:
    if platform is Platform.SLACK:
        actor = Actor(platform, PEOPLE[who], who)
        place = Place(platform, "CGENERAL", TEAM[key])
    else:
        # Discord ids are numbers; the same person keeps the same id in both guilds.
        actor = Actor(platform, str(700 + sorted(PEOPLE).index(who)), who, roles)
        place = Place(platform, "930000000000000001", GUILD[key])
    return Invocation(group, actor, place, text=text)


@asynccontextmanager
async def _sqlite(tmp_path: Path) -> Any:
    yield f"sqlite+aiosqlite:///{tmp_path / 'iso.db'}"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_no_command_in_one_community_reads_or_changes_the_other(
    database: str, tmp_path: Path
) -> None:
    loop = asyncio.new_event_loop()
    db: AbstractAsyncContextManager[str] = (
        _sqlite(tmp_path) if database == "sqlite" else pg_database()
    )
    try:
        url = loop.run_until_complete(db.__aenter__())
    except BaseException:
        loop.close()
        raise
    app = App(
        make_settings(url, CONFIG),
        console_user="olu",
        http=False,
        timer=False,
        resolver=fake_resolver,
    )
    loop.run_until_complete(app.start())
    assert app.services.communities is not None
    ids = {c.key: c.id for c in app.services.communities}
    outcomes: set[str] = set()
    # Both start with the same meeting id and survey name, so the generated commands meet
    # them in both: alpha's by Slack, beta's by Discord; and maya is refused in beta.
    seed = [
        (key, platform, who, frozenset({ROLE[key]}), (group, text.format(mark=MARK[key])))
        for key, platform, who in (
            ("alpha", Platform.SLACK, "maya"),
            ("beta", Platform.DISCORD, "mo"),
        )
        for group, text in (
            ("meeting", 'create sync --name "{mark} sync" --start "2031-03-05 09:00 UTC"'),
            ("survey", 'add "Pulse" https://example.org/{mark} --closes 2031-12-31'),
        )
    ] + [("beta", Platform.SLACK, "maya", frozenset(), ("meeting", "cancel sync --yes"))]

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(STEP, min_size=1, max_size=6))
    def check(steps: list[Any]) -> None:
        run_steps(steps)

    def run_steps(steps: list[Any]) -> None:
        async def run() -> None:
            for key, platform, who, roles, (group, text) in steps:
                other = OTHER[key]
                before = await snapshot(app, ids[other])
                inv = _invocation(key, platform, who, roles, group, text)
                reply = await app.dispatcher.handle(inv)
                assert reply.outcome != "error", (key, group, text, reply)
                outcomes.add(reply.outcome)
                assert await snapshot(app, ids[other]) == before, (key, group, text)
                shown = render(reply.message)
                assert MARK[other] not in shown and MARK[other].lower() not in shown, (
                    key,
                    group,
                    text,
                    shown,
                )

        loop.run_until_complete(run())

    try:
        run_steps(seed)  # the seed runs first, through the same checks
        assert outcomes == {"ok", "denied"}, outcomes
        check()
        # The run did both: commands went through, and commands were refused.
        assert {"ok", "denied"} <= outcomes, outcomes

        # Both communities hold a meeting by the same id, each its own.
        async def meetings() -> dict[str, set[str]]:
            from bot.store.meetings import Meeting

            async with app.db.sessions() as session:
                rows = await session.execute(
                    select(Meeting.community_id, Meeting.key, Meeting.name)
                )
                found: dict[str, set[str]] = {k: set() for k in KEYS}
                for cid, mkey, name in rows.all():
                    community = next(k for k, v in ids.items() if v == cid)
                    assert name.startswith(MARK[community]), (community, mkey, name)
                    found[community].add(mkey)
                return found

        held = loop.run_until_complete(meetings())
        assert held["alpha"] and held["beta"], held
    finally:
        loop.run_until_complete(app.stop())
        loop.run_until_complete(db.__aexit__(None, None, None))
        loop.close()
