"""Permission is checked before the grammar (issue 15 item 4): someone who may not use a
command hears that, not how to type it; and the check holds for every way it is reached."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.models import AuditEntry
from tests.support.meetings_bot import community_meeting, meeting_bot

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_a_member_hears_only_maintainers_not_the_usage(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        for line in (
            "/meeting create",  # no arguments at all
            "/meeting create sync --nmae x",  # a misspelt option
            '/meeting create sync --name "Sync" --start "not a time"',
            "/meeting cancel",
            "/hero announce",
            "/communitybot audit lots",
        ):
            said = await bot.say(line, as_="olu")
            assert said.startswith("Only maintainers can use /"), (line, said)
        async with bot.app.db.sessions() as session:
            rows = (await session.execute(AuditEntry.__table__.select())).all()
        assert [r.action for r in rows] == [
            "meeting create",
            "meeting create",
            "meeting create",
            "meeting cancel",
            "hero announce",
            "communitybot audit",
        ]
        assert {r.outcome for r in rows} == {"denied"}


async def test_a_maintainer_still_gets_the_usage(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, now=NOW) as bot:
        said = await bot.say("/meeting create sync --nmae x", as_="maya")
        assert "has no option --nmae" in said
        assert "Only maintainers" not in said


async def test_members_still_get_the_grammar_of_their_own_commands(sqlite_url: str) -> None:
    async with meeting_bot(sqlite_url, meetings=[community_meeting()], now=NOW) as bot:
        said = await bot.say("/meeting subscribe", as_="olu")
        assert said.startswith("/meeting subscribe needs <meeting>")
