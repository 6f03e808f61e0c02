"""Announcements over time, on the console platform, on SQLite and PostgreSQL.

The app's clock is a value the test sets; deliveries go out only through `app.run_due(now)`.
What the console adapter printed is what a channel received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.scheduling import claims
from bot.store.announcements import Announcement
from bot.store.models import Delivery, DeliveryState
from tests.scenarios.conftest import fake_resolver
from tests.support.clock import Clock
from tests.support.console_bot import ConsoleBot, console_bot

CONFIG = {"community": {"name": "Example", "timezone": "America/Los_Angeles"}}
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Bot(ConsoleBot):
    """The console bot typing as maya, a maintainer: what the announcement tests look at."""

    async def rows(self, kind: str | None = None) -> list[Delivery]:
        async with self.app.db.sessions() as session:
            # Other features have deliveries of their own (a Hero call for nominations…).
            query = select(Delivery).where(Delivery.kind.like("announcement%"))
            if kind:
                query = query.where(Delivery.kind == kind)
            query = query.order_by(Delivery.id)
            return list((await session.scalars(query)).all())

    async def announcement(self, ident: int) -> Announcement:
        async with self.app.db.sessions() as session:
            found = await session.get(Announcement, ident)
            assert found is not None
            return found


def maya_bot(db_url: str, clock: Clock) -> AbstractAsyncContextManager[Bot]:
    return console_bot(
        db_url,
        CONFIG,
        clock=clock,
        kind=Bot,
        user="maya",
        console_maintainer=True,
        resolver=fake_resolver,
        bot_options={"maintainers": frozenset({"maya"})},
    )


@pytest.fixture
async def bot(any_db_url: str, clock: Clock) -> AsyncIterator[Bot]:
    clock.now = START
    async with maya_bot(any_db_url, clock) as b:
        yield b


def _posts(printed: str, *texts: str) -> list[str]:
    """Bodies of channel posts that are one of `texts` (not other features' posts), in order."""
    chunks = printed.split("[#main]\n")[1:]
    bodies = [c.split("\n[#")[0].strip() for c in chunks]
    return [b for b in bodies if b in texts]


async def test_scheduled_in_the_askers_zone_goes_out_at_its_time_once(bot: Bot) -> None:
    await bot.say("/communitybot timezone Europe/Berlin")
    said = await bot.say('/announce --yes --at "2026-12-01 09:00" Release day')
    assert "scheduled for Tue 1 Dec 2026, 09:00 CET (08:00 UTC)" in said
    due = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert [r.due_at for r in await bot.rows()] == [due]

    await bot.run_due(due - timedelta(seconds=1))
    assert _posts(bot.printed(), "Release day") == []
    await bot.run_due(due)
    assert _posts(bot.printed(), "Release day") == ["Release day"]
    await bot.run_due(due + timedelta(days=1))
    assert _posts(bot.printed(), "Release day") == ["Release day"]


async def test_without_a_zone_of_their_own_the_communitys_is_used(bot: Bot) -> None:
    await bot.say('/announce --yes --at "2026-12-01 09:00" West coast morning')
    [row] = await bot.rows()
    assert row.due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 09:00 PST
    await bot.say('/announce --yes --at "2026-12-01 09:00 Asia/Tokyo" Tokyo morning')
    assert (await bot.rows())[1].due_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


async def test_preview_names_the_time_and_the_ping(bot: Bot) -> None:
    said = await bot.say('/announce --ping --at "2026-12-01 09:00 UTC" Big news')
    assert "This will be posted to 1 announce channel (1 on console) at" in said
    assert "Tue 1 Dec 2026, 01:00 PST (09:00 UTC)" in said
    assert "pings the configured announce_ping target" in said
    assert "> Big news" in said
    assert await bot.rows() == []  # a preview writes no delivery


async def test_edit_before_it_goes_out_just_changes_what_goes_out(bot: Bot) -> None:
    await bot.say('/announce --yes --at "2026-11-27 10:00 UTC" Draft words')
    said = await bot.say("/announce edit 1 Final words")
    assert "it will go out with the new text" in said
    assert await bot.rows("announcement_edit") == []
    await bot.run_due(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    assert _posts(bot.printed(), "Draft words", "Final words") == ["Final words"]
    assert "edited" not in bot.printed()


async def test_edit_and_delete_act_on_the_recorded_message_ref(bot: Bot) -> None:
    await bot.say("/announce --yes First words")
    await bot.run_due(START)
    [post] = await bot.rows("announcement")
    assert post.state == DeliveryState.SENT and post.message_ref

    await bot.say("/announce edit 1 Second words")
    await bot.say("/announce edit 1 Third words")
    await bot.run_due(START + timedelta(seconds=1))
    # Two edits queued; the older finds a newer version and skips, the newer edits once.
    edits = await bot.rows("announcement_edit")
    assert [e.state for e in edits] == [DeliveryState.SKIPPED, DeliveryState.SENT]
    assert bot.printed().count(f"edited {post.message_ref[:8]}]\nThird words") == 1
    assert "Second words" not in bot.printed()

    await bot.say("/announce delete 1")
    await bot.run_due(START + timedelta(seconds=2))
    assert f"message {post.message_ref[:8]} deleted" in bot.printed()
    [removal] = await bot.rows("announcement_delete")
    assert removal.state == DeliveryState.SENT
    assert (await bot.announcement(1)).state == "deleted"


async def test_an_edit_waits_for_a_copy_that_is_still_being_sent(bot: Bot) -> None:
    await bot.say("/announce --yes Old words")
    # Another replica claims the post and dies before recording it.
    [taken] = await claims.claim(
        bot.app.db,
        worker="crashed-replica",
        platforms=["console"],
        kinds=["announcement"],
        now=START,
        lease=timedelta(minutes=2),
        limit=10,
    )
    refused = await bot.say("/announce cancel 1")
    assert "already gone out" in refused  # it may be out: cancel must not pretend otherwise
    said = await bot.say("/announce edit 1 New words")
    assert "1 posted copy is being edited" in said

    await bot.run_due(START + timedelta(seconds=1))
    [edit] = await bot.rows("announcement_edit")
    assert edit.state == DeliveryState.PENDING and "still being posted" in (edit.last_error or "")
    assert _posts(bot.printed(), "Old words", "New words") == []

    # The lease runs out: this replica sends the post, with the words as they are now ...
    await bot.run_due(taken.lease_until + timedelta(seconds=1))  # type: ignore[operator]
    assert _posts(bot.printed(), "Old words", "New words") == ["New words"]
    # ... and the waiting edit, once it comes round, changes that same message.
    await bot.run_due(START + timedelta(minutes=10))
    [post] = await bot.rows("announcement")
    [edit] = await bot.rows("announcement_edit")
    assert post.state == edit.state == DeliveryState.SENT
    assert edit.message_ref == post.message_ref
    assert _posts(bot.printed(), "Old words", "New words") == ["New words"]


async def test_delete_stops_copies_that_have_not_gone_out(bot: Bot) -> None:
    await bot.say("/announce --yes Both ways")
    await bot.run_due(START)
    # A second copy still waiting (as after a 429) must never appear after the delete.
    post = (await bot.rows("announcement"))[0]
    async with bot.app.db.session() as session:
        session.add(
            Delivery(
                community_id=post.community_id,
                kind=post.kind,
                subject=post.subject,
                occurrence=post.occurrence,
                target="console:channel:other",
                platform="console",
                due_at=START,
                state=DeliveryState.PENDING,
                attempts=1,
                next_attempt_at=START + timedelta(minutes=1),
                payload={},
                created_at=START,
                updated_at=START,
            )
        )
    said = await bot.say("/announce delete 1")
    assert "being removed from 1 channel; 1 unsent copy will not go out" in said
    await bot.run_due(START + timedelta(minutes=5))
    states = {r.target: r.state for r in await bot.rows("announcement")}
    assert states == {
        "console:channel:main": DeliveryState.SENT,
        "console:channel:other": DeliveryState.SKIPPED,
    }
    assert "[#other]" not in bot.printed()


async def test_edits_and_deletes_survive_a_restart(any_db_url: str) -> None:
    clock = Clock(START)
    async with maya_bot(any_db_url, clock) as first:
        await first.say("/announce --yes Before restart")
        await first.run_due(START)
        await first.say("/announce edit 1 After restart")
        ref = (await first.rows("announcement"))[0].message_ref
        assert ref
    # The process stopped before sending the edit; the next one picks it up from the table.
    async with maya_bot(any_db_url, clock) as second:
        await second.run_due(START + timedelta(seconds=5))
        assert f"edited {ref[:8]}]\nAfter restart" in second.printed()
        await second.say("/announce delete 1")
    async with maya_bot(any_db_url, clock) as third:
        await third.run_due(START + timedelta(seconds=10))
        assert f"message {ref[:8]} deleted" in third.printed()


async def test_list_shows_scheduled_and_posted_with_ids_and_outcomes(bot: Bot) -> None:
    await bot.say("/announce --yes Posted one")
    await bot.run_due(START)
    await bot.say('/announce --yes --ping --at "2026-11-30 18:00 UTC" Later one')
    await bot.say('/announce --yes --at "2026-11-29 18:00 UTC" Called off')
    await bot.say("/announce cancel 3")
    listed = await bot.say("/announce list")
    lines = [ln for ln in listed.splitlines() if ln.strip().startswith("•")]
    # Newest first by creation (#3 was made last though #2 is due later).
    assert lines[0].startswith("  • #3 — cancelled")
    assert lines[1].startswith("  • #2 — scheduled for Mon 30 Nov 2026, 10:00 PST (18:00 UTC)")
    assert "(pings)" in lines[1]
    assert lines[2].startswith("  • #1 — posted to 1 of 1 — by maya: Posted one")


async def test_members_are_refused_and_nothing_is_written(bot: Bot) -> None:
    for line in (
        "/announce --yes member words",
        "/announce list",
        "/announce edit 1 x",
        "/announce delete 1",
        "/announce cancel 1",
    ):
        said = await bot.say(line, maintainer=False)
        assert said.startswith("Only maintainers can use"), said
    assert await bot.rows() == []
    audit = await bot.say("/communitybot audit 10")
    assert audit.count("refused: not a maintainer") == 5


def _audit_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip().startswith("•")]


async def test_audit_says_who_did_what_where_and_when(bot: Bot) -> None:
    await bot.say("/announce --yes --ping Audited words")
    await bot.run_due(START)
    bot.clock.now = START + timedelta(hours=1)
    await bot.say("/announce edit 1 Audited, edited")
    await bot.say("/announce delete 1")
    lines = _audit_lines(await bot.say("/communitybot audit 3"))
    assert lines[0] == (
        "  • Thu 26 Nov 2026, 05:00 PST (13:00 UTC) — maya (console) /announce delete: "
        "#1: Audited, edited in main"
    )
    assert "/announce edit: #1 (version 2): Audited, edited" in lines[1]
    assert "04:00 PST" in lines[2]
    assert "/announce: #1 now, with ping to 1 channel: Audited words" in lines[2]


async def test_nothing_to_delete_when_no_copy_went_out(bot: Bot) -> None:
    await bot.say("/announce --yes Never arrived")
    async with bot.app.db.session() as session:  # as after a permanent failure (channel gone)
        post = (
            await session.scalars(select(Delivery).where(Delivery.kind == "announcement"))
        ).one()
        post.state, post.last_error = DeliveryState.FAILED, "channel_not_found"
    said = await bot.say("/announce delete 1")
    assert said == "No copy of announcement #1 went out, so there is nothing to delete."
    assert await bot.rows("announcement_delete") == []
    listed = await bot.say("/announce list")
    assert "posted to 0 of 1, 1 failed (channel_not_found)" in listed


async def test_a_cancelled_announcement_never_goes_out(bot: Bot) -> None:
    said = await bot.say('/announce --yes --at "2026-11-29 18:00 UTC" Called off')
    assert "Cancel it with /announce cancel 1" in said
    assert "is cancelled" in await bot.say("/announce cancel 1")
    await bot.run_due(datetime(2026, 11, 29, 18, 0, tzinfo=UTC))
    await bot.run_due(datetime(2026, 12, 5, tzinfo=UTC))
    assert _posts(bot.printed(), "Called off") == []
    [row] = await bot.rows("announcement")
    assert row.state == DeliveryState.SKIPPED and row.last_error == "cancelled"
    assert "was cancelled; there is nothing to edit" in await bot.say("/announce edit 1 again")
