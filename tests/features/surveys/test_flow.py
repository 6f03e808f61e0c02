"""Surveys end to end on the console adapter: tracked links over real HTTP, nudges, buttons.

Time is an explicit clock the App reads and an explicit `now` for run_due; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.core.invocation import MemberRef, Platform
from bot.core.plaintext import render
from bot.store.members import ensure_member
from bot.store.surveys import Survey, SurveyLink
from tests.scenarios.conftest import fake_resolver
from tests.support.clock import Clock
from tests.support.console_bot import ConsoleBot, console_bot

T0 = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
DAY = timedelta(days=1)
URL = "https://example.org/census"
CONFIG: dict[str, Any] = {"community": {"name": "Example", "timezone": "America/Los_Angeles"}}
TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{20,})")
MAINTAINERS = frozenset({"maya"})


class SurveyBot(ConsoleBot):
    """The console bot with what the survey tests look at: posts, links, the tracked URL."""

    async def pressed(self, action_id: str, as_: str) -> str:
        # A survey button is pressed as a member: no maintainer role, whoever presses.
        reply = await self.press(action_id, as_, maintainer=False)
        assert reply.replace
        return render(reply.message)

    def dms(self, name: str) -> list[str]:
        return [text for where, text in self.posts() if where == f"direct message to @{name}"]

    def channel(self) -> list[str]:
        """Survey posts in the channel (other features post there too)."""
        return [
            text
            for where, text in self.posts()
            if where == "#main" and "gathering responses" in text
        ]

    async def token(self, name: str) -> str:
        [token] = TOKEN.findall(await self.say("/survey list", name))
        return token

    async def open(
        self, token: str, *, method: str = "GET", agent: str = "Mozilla/5.0"
    ) -> aiohttp.ClientResponse:
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                method,
                f"http://127.0.0.1:{self.app.http_port}/s/{token}",
                allow_redirects=False,
                headers={"User-Agent": agent},
            ) as response,
        ):
            await response.read()
            return response

    async def links(self) -> dict[str, SurveyLink]:
        """Each member's link (by name) to the only survey."""
        from bot.store.models import Member

        async with self.app.db.sessions() as session:
            rows = await session.execute(
                select(Member.platform_user_id, SurveyLink).join(
                    SurveyLink, SurveyLink.member_id == Member.id
                )
            )
            return {name: link for name, link in rows.all()}

    async def survey_id(self) -> int:
        async with self.app.db.sessions() as session:
            ident = await session.scalar(select(Survey.id))
            assert ident is not None
            return ident


@asynccontextmanager
async def harness(
    db_url: str,
    *,
    http: bool = False,
    config: dict[str, Any] | None = None,
    at: datetime = T0,
    **env: Any,
) -> AsyncIterator[SurveyBot]:
    async with console_bot(
        db_url,
        config or CONFIG,
        clock=Clock(at),
        kind=SurveyBot,
        http=http,
        resolver=fake_resolver,
        bot_options={"maintainers": MAINTAINERS, "zone": False},
        **env,
    ) as bot:
        yield bot


async def test_nudges_go_only_to_known_members_who_have_not_opened_or_opted_out(
    any_db_url: str,
) -> None:
    async with harness(any_db_url, http=True) as h:
        said = await h.say(f"/survey add Census {URL} --closes 2026-12-31", "maya")
        assert "Added the survey" in said
        for name in ("olu", "ana", "raj", "lin"):
            await h.say("/communitybot timezone", name)  # now the bot knows them
        async with h.app.db.session() as session:  # someone only ever mentioned, never acting
            await ensure_member(
                session, h.app.services.community_id, MemberRef(Platform.CONSOLE, "zed"), T0
            )
        await h.say("/survey mute", "ana")
        assert (await h.open(await h.token("olu"))).status == 302

        await h.run_due(T0)
        assert len(h.channel()) == 1  # round 0
        survey = await h.survey_id()
        for step in range(1, 9):  # half a week at a time, to past the close
            await h.run_due(T0 + step * 3.5 * DAY)
            if step == 1:
                raj_nudge = h.dms("raj")[0]
                assert "Census" in raj_nudge and TOKEN.search(raj_nudge)
                await h.pressed(f"survey:no:{survey}", "raj")

        assert len(h.dms("maya")) == 2 and len(h.dms("lin")) == 2  # max_nudges, no more
        assert len(h.dms("raj")) == 1  # not interested
        assert h.dms("olu") == [] and h.dms("ana") == [] and h.dms("zed") == []
        # Each nudge carries that member's own link.
        maya_tokens = {TOKEN.findall(t)[0] for t in h.dms("maya")}
        lin_tokens = {TOKEN.findall(t)[0] for t in h.dms("lin")}
        assert len(maya_tokens) == len(lin_tokens) == 1 and maya_tokens != lin_tokens

        # Weekly rounds until the close: 1, 8, 15, 22 and 29 December.
        assert len(h.channel()) == 5
        stats = await h.say("/survey stats Census", "maya")
        assert "reached 4, opened 1" in stats and "opt-outs 2" in stats, stats


async def test_closing_day_ends_at_midnight_in_the_community_zone(sqlite_url: str) -> None:
    async with harness(sqlite_url) as h:
        await h.say(f"/survey add Census {URL} --closes 2026-12-31", "maya")
        # The end of 31 December in Los Angeles is 08:00 UTC on 1 January.
        end = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
        h.clock.now = end - timedelta(seconds=1)
        assert TOKEN.search(await h.say("/survey list", "olu"))
        h.clock.now = end
        assert "no open surveys" in await h.say("/survey list", "olu")
        assert "already closed" in await h.say("/survey close Census", "maya")


async def test_remind_me_later_and_done(sqlite_url: str) -> None:
    async with harness(sqlite_url) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        await h.say("/communitybot timezone", "lin")  # known from now on
        await h.run_due(T0)  # round 0 plans the nudges of everyone known by then
        survey = await h.survey_id()
        await h.run_due(T0 + 3.5 * DAY)
        assert len(h.dms("lin")) == 1 and len(h.dms("maya")) == 1
        later = await h.pressed(f"survey:later:{survey}", "lin")
        assert "I'll remind you about Census on Mon 7 Dec 2026, 21:00 PST" in later, later
        await h.pressed(f"survey:done:{survey}", "maya")
        await h.run_due(T0 + 6.5 * DAY - timedelta(minutes=1))
        assert len(h.dms("lin")) == 1
        await h.run_due(T0 + 6.5 * DAY)
        assert len(h.dms("lin")) == 2  # the reminder asked for
        for step in range(3, 8):
            await h.run_due(T0 + step * 3.5 * DAY)
        assert len(h.dms("lin")) == 2  # it counted toward the two allowed
        assert len(h.dms("maya")) == 1  # done
        last = await h.pressed(f"survey:later:{survey}", "lin")
        assert "That was my last reminder" in last
        stats = await h.say("/survey stats", "maya")
        assert "1 said they took it" in stats and "3 personal reminders sent" in stats, stats


async def test_mute_is_honoured_for_nudges_already_planned(sqlite_url: str) -> None:
    async with harness(sqlite_url) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        await h.say("/survey list", "lin")  # plans lin's nudges
        await h.say("/survey mute", "lin")
        for step in range(1, 6):
            await h.run_due(T0 + step * 3.5 * DAY)
        assert h.dms("lin") == [] and len(h.dms("maya")) == 2
        await h.say("/survey unmute", "lin")
        await h.say("/survey close Census", "maya")
        for step in range(6, 9):
            await h.run_due(T0 + step * 3.5 * DAY)
        assert h.dms("lin") == []  # closed: nothing more for anyone


async def test_open_counts_once_per_member(any_db_url: str) -> None:
    async with harness(any_db_url, http=True) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        olu, ana = await h.token("olu"), await h.token("ana")
        first = await h.open(olu)
        assert first.status == 302 and first.headers["Location"] == URL
        assert first.headers["Cache-Control"] == "no-store"
        assert first.headers["Referrer-Policy"] == "no-referrer"
        h.clock.now = T0 + DAY
        assert (await h.open(olu)).status == 302  # again: still redirected, not counted
        await h.open(ana)
        links = await h.links()
        assert links["olu"].opened_at == T0 and links["ana"].opened_at == T0 + DAY
        assert "maya" not in links or links["maya"].opened_at is None
        assert "opened 2" in await h.say("/survey stats Census", "maya")


async def test_simultaneous_first_opens_count_once(any_db_url: str) -> None:
    async with harness(any_db_url, http=True) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        token = await h.token("olu")
        responses = await asyncio.gather(*(h.open(token) for _ in range(8)))
        assert {r.status for r in responses} == {302}
        assert "reached 1, opened 1" in await h.say("/survey stats Census", "maya")


async def test_link_previews_do_not_count_as_opens(sqlite_url: str) -> None:
    async with harness(sqlite_url, http=True) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        token = await h.token("olu")
        assert (await h.open(token, method="HEAD")).status == 302
        preview = await h.open(
            token, agent="Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
        )
        assert preview.status == 302
        assert (await h.open(token, agent="Mozilla/5.0 (compatible; Discordbot/2.0)")).status == 302
        assert (await h.links())["olu"].opened_at is None
        await h.open(token)
        assert (await h.links())["olu"].opened_at == T0


async def test_unknown_tokens_get_a_bare_404(sqlite_url: str) -> None:
    async with harness(sqlite_url, http=True) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        token = await h.token("olu")
        bodies = set()
        for bad in (
            "A" * 32,  # well-formed, never issued
            token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character off
            token[:10],  # too short
            "..%2F..%2Fetc",
        ):
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"http://127.0.0.1:{h.app.http_port}/s/{bad}", allow_redirects=False
                ) as response,
            ):
                assert response.status == 404, bad
                assert "Location" not in response.headers
                bodies.add(await response.text())
        assert len(bodies) == 1 and URL not in bodies.pop()
        assert (await h.links())["olu"].opened_at is None


async def test_autocomplete_offers_open_surveys_first(sqlite_url: str) -> None:
    from bot.features.surveys.commands import suggest_surveys

    async with harness(sqlite_url) as h:
        for name in ("Census", "Contributor Census", "Tooling"):
            await h.say(f'/survey add "{name}" {URL}', "maya")
        await h.say("/survey close Census", "maya")
        services = h.app.services
        assert await suggest_surveys(services, "") == ["Tooling", "Contributor Census", "Census"]
        assert await suggest_surveys(services, "cen") == ["Census", "Contributor Census"]
        assert await suggest_surveys(services, "TOOL") == ["Tooling"]


async def test_members_known_later_are_planned_at_the_next_round(sqlite_url: str) -> None:
    async with harness(sqlite_url) as h:
        await h.say(f"/survey add Census {URL}", "maya")
        await h.run_due(T0)
        h.clock.now = T0 + DAY
        await h.say("/communitybot timezone", "lin")  # known only now
        await h.run_due(T0 + 3.5 * DAY)
        assert h.dms("lin") == [] and len(h.dms("maya")) == 1
        await h.run_due(T0 + 7 * DAY)  # round 1 plans lin's nudges
        await h.run_due(T0 + 10.5 * DAY)
        assert len(h.dms("lin")) == 1 and len(h.dms("maya")) == 2


async def test_links_are_on_the_public_url(sqlite_url: str) -> None:
    async with harness(sqlite_url, public_url="https://bot.example.org/") as h:
        await h.say(f"/survey add Census {URL}", "maya")
        listed = await h.say("/survey list", "olu")
        link = r"https://bot\.example\.org/s/[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])"
        assert re.search(link, listed), listed
