"""Meetings as the platform's own scheduled events (Discord's Events list).

The neutral half: which events should exist and how to keep them so. For each place (a
Discord guild of `[discord] guild_ids`) and each active meeting, the event for its next
occurrence (or the one in progress) exists with the fields `event_spec` gives. A reconciler
compares that with what the platform lists and with the `meeting_events` rows, and writes
through the `ScheduledEvents` port the Discord adapter implements.

Exactly once: each (meeting, place) row is claimed with a lease before any platform call, so
one replica at a time changes it; the row is cleared of its event id before a create and
given the new id right after, so a create cut short by a crash leaves a row without an id,
and the next pass adopts the event the bot made (same name and start, not listed by any row)
instead of making a second one. Events the bot did not create are never touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
from dataclasses import astuple, dataclass, field, fields
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.invocation import Platform
from bot.core.scheduled_events import (
    DESCRIPTION_MAX,
    LOCATION_MAX,
    NAME_MAX,
    EventsForbidden,
    EventSpec,
    PlatformEvent,
    ScheduledEvents,
)
from bot.features.meetings.lookup import next_to_come, upcoming_or_current
from bot.features.meetings.records import series_of
from bot.features.meetings.recurrence import Occurrence, Series
from bot.runtime.services import Services
from bot.scheduling.notices import NOTICE_KIND
from bot.scheduling.queue import Planned, enqueue
from bot.scheduling.targets import maintainer_target
from bot.store.meeting_events import MeetingEvent, claim_event, event_of, events_in
from bot.store.meetings import Meeting, MeetingState, meetings_in_state, overrides_of

log = logging.getLogger(__name__)

PLATFORM = str(Platform.DISCORD)
LEASE = timedelta(minutes=2)
# A full pass (which also catches hand edits and deletions) this often ...
EVERY = timedelta(minutes=3)
# ... and a cheap look at whether any meeting changed (on any replica) this often, so a
# command shows in the Events list within seconds.
POLL = 5.0
RETRY = timedelta(seconds=30)
# After Discord refused for lack of Manage Events, the place is left alone this long.
BLOCKED_FOR = timedelta(hours=1)


def event_spec(meeting: Meeting, occurrence: Occurrence) -> EventSpec:
    """The event for one occurrence, within Discord's limits.

    The location is the join link, else the register link, else the name; a link too long
    for the location gives way to the next choice and is written out in the description.
    """
    links = [u for u in (meeting.join_url, meeting.register_url) if u]
    location = next((u for u in links if len(u) <= LOCATION_MAX), meeting.name[:LOCATION_MAX])
    lines: list[str] = []
    if meeting.join_url and meeting.join_url != location:
        lines.append(f"Join: {meeting.join_url}")
    if meeting.register_url:
        lines.append(f"Register: {meeting.register_url}")
    if meeting.agenda_url:
        lines.append(f"Agenda: {meeting.agenda_url}")
    # Links are kept whole or left out (a cut URL is a wrong one); the register link first.
    tail = ""
    for line in sorted(lines, key=lambda text: not text.startswith("Register")):
        if len(tail) + len(line) + 1 <= DESCRIPTION_MAX:
            tail = f"{tail}\n{line}" if tail else line
    body = meeting.description.strip()
    room = DESCRIPTION_MAX - len(tail) - (2 if tail else 0)
    if len(body) > room:
        body = body[: max(room - 1, 0)].rstrip() + "…" if room > 1 else ""
    description = "\n\n".join(part for part in (body, tail) if part)
    return EventSpec(
        name=meeting.name[:NAME_MAX],
        start=occurrence.start,
        end=occurrence.end,
        location=location,
        description=description,
    )


def digest(spec: EventSpec) -> str:
    raw = "\x1f".join(str(v) for v in astuple(spec))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def differing(have: EventSpec, want: EventSpec) -> list[str]:
    return [f.name for f in fields(EventSpec) if getattr(have, f.name) != getattr(want, f.name)]


def wanted_occurrence(series: Series, shown: date | None, now: datetime) -> Occurrence | None:
    """The occurrence whose event should exist: the one in progress if its event already
    does (Discord refuses events that start in the past), else the next to come."""
    current = upcoming_or_current(series, now)
    if current is None or current.start > now or current.local_date == shown:
        return current
    return next_to_come(series, now)


async def meetings_signature(services: Services, community_id: int) -> tuple[object, ...]:
    """Changes whenever any meeting changes: every edit, skip, move and cancel bumps its
    sequence and updated_at, and a new meeting changes the count."""
    async with services.db.sessions() as session:
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(Meeting.sequence), 0),
                    func.max(Meeting.updated_at),
                ).where(Meeting.community_id == community_id)
            )
        ).one()
    return tuple(row)


def _settled(
    row: MeetingEvent, pair: tuple[Meeting, Series], listed: dict[str, PlatformEvent], now: datetime
) -> bool:
    have = listed.get(row.event_id) if row.event_id else None
    if have is None or not have.active or row.ends_at is None or row.interested != have.interested:
        return False
    target = wanted_occurrence(pair[1], row.occurrence, now)
    if target is None or target.local_date != row.occurrence:
        return False
    return have.spec == event_spec(pair[0], target)


@dataclass(slots=True)
class _Pass:
    """What one pass over a place knows of the platform's side."""

    listed: dict[str, PlatformEvent]
    listed_at: datetime
    # Events the bot made that no row names: candidates for adopting an interrupted create.
    orphans: list[PlatformEvent] = field(default_factory=list)


class MeetingEvents:
    """Keeps each place's scheduled events true to the meetings (one instance per process)."""

    def __init__(self, services: Services, port: ScheduledEvents) -> None:
        self.services = services
        self.port = port
        self.worker = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock = asyncio.Lock()  # one pass at a time in this process
        self._blocked: dict[str, datetime] = {}
        self.next_end: datetime | None = None

    def places(self) -> list[tuple[int, str]]:
        """(community, place) pairs: each guild of `[discord] guild_ids` and its community."""
        return [
            (self.services.community_id, str(g)) for g in self.services.settings.discord.guild_ids
        ]

    async def reconcile(self, now: datetime) -> bool:
        """One full pass over every place; False if some place could not be done."""
        done = True
        async with self._lock:
            ends: list[datetime] = []
            for community_id, place in self.places():
                until = self._blocked.get(place)
                if until is not None and now < until:
                    continue
                try:
                    ends += await self._place(community_id, place, now)
                except EventsForbidden as exc:
                    await self._forbidden(community_id, place, now, str(exc))
                except Exception:
                    log.exception("keeping the Discord events of guild %s failed", place)
                    done = False
            self.next_end = min(ends, default=None)
        return done

    async def run(self) -> None:
        """Forever: a pass at start, after any meeting changes (on any replica), when an
        occurrence ends, and every EVERY; a pass that failed somewhere goes again after RETRY."""
        seen: tuple[object, ...] | None = None
        next_full = self.services.clock()
        communities = sorted({community for community, _ in self.places()})
        while True:
            try:
                signature = tuple([await meetings_signature(self.services, c) for c in communities])
                now = self.services.clock()
                ended = self.next_end is not None and now >= self.next_end
                if signature != seen or now >= next_full or ended:
                    ok = await self.reconcile(now)
                    seen, next_full = signature, now + (EVERY if ok else RETRY)
            except Exception:
                log.exception("keeping the Discord scheduled events failed; trying again")
            await asyncio.sleep(POLL)

    # -- one place --

    async def _place(self, community_id: int, place: str, now: datetime) -> list[datetime]:
        listed_at = self.services.clock()
        listed = {e.id: e for e in await self.port.list(place)}
        async with self.services.db.sessions() as session:
            meetings = await meetings_in_state(session, community_id, MeetingState.ACTIVE)
            overrides = await overrides_of(session, [m.id for m in meetings])
            rows = await events_in(session, community_id, PLATFORM, place)
        named = {r.event_id for r in rows if r.event_id}
        state = _Pass(
            listed, listed_at, [e for e in listed.values() if e.by_us and e.id not in named]
        )
        series = {m.id: (m, series_of(m, overrides[m.id])) for m in meetings}
        ends: list[datetime] = []
        by_meeting = {r.meeting_id: r for r in rows}
        for meeting_id in sorted({*series, *by_meeting}):
            pair = series.get(meeting_id)
            row = by_meeting.get(meeting_id)
            if row is not None and pair is not None and _settled(row, pair, listed, now):
                # Nothing to write: no claim, no transaction (the common case every pass).
                assert row.ends_at is not None
                ends.append(row.ends_at)
                continue
            try:
                end = await self._one(community_id, place, meeting_id, pair, state, now)
            except EventsForbidden:
                raise
            except Exception:
                log.exception("the Discord event of meeting %s in %s failed", meeting_id, place)
                await self._release(meeting_id, place)
                continue
            if end is not None:
                ends.append(end)
        return ends

    async def _one(
        self,
        community_id: int,
        place: str,
        meeting_id: int,
        pair: tuple[Meeting, Series] | None,
        state: _Pass,
        now: datetime,
    ) -> datetime | None:
        async with self.services.db.session() as session:
            got = await claim_event(
                session, community_id, meeting_id, PLATFORM, place, self.worker, now, now + LEASE
            )
        if not got:
            return None  # another replica is on it
        try:
            async with self.services.db.sessions() as session:
                row = await event_of(session, meeting_id, PLATFORM, place)
            assert row is not None
            return await self._settle(place, row, pair, state, now)
        finally:
            await self._release(meeting_id, place)

    async def _settle(
        self,
        place: str,
        row: MeetingEvent,
        pair: tuple[Meeting, Series] | None,
        state: _Pass,
        now: datetime,
    ) -> datetime | None:
        have = state.listed.get(row.event_id) if row.event_id else None
        if have is not None and not have.active:
            have = None  # completed or cancelled in Discord: as good as gone
        target = wanted_occurrence(pair[1], row.occurrence, now) if pair else None
        if pair is None or target is None:
            # Cancelled, removed from the config, or no occurrence left: the event goes.
            if row.event_id:  # (one already gone is not an error)
                await self.port.delete(place, row.event_id)
                log.info(
                    "deleted Discord event %s in %s: the meeting has no next occurrence",
                    row.event_id,
                    place,
                )
            await self._drop(row)
            return None
        meeting, series = pair
        spec = event_spec(meeting, target)
        interested = None
        if row.event_id is None:
            event_id = await self._adopt_or_create(place, row, target, spec, state)
        elif have is None and row.updated_at >= state.listed_at:
            # Another replica wrote this row after our listing: it is newer than what we saw.
            return row.ends_at
        elif have is None:
            if row.occurrence == target.local_date:
                log.warning(
                    "Discord event %s for %s %s in %s was deleted or ended by hand; recreating it",
                    row.event_id,
                    meeting.key,
                    target.key,
                    place,
                )
            event_id = await self._create(place, row, target, spec)
        elif row.occurrence != target.local_date and (
            (row.occurrence is not None and row.occurrence in series.skips)
            or (row.ends_at is not None and row.ends_at <= now)
        ):
            # That occurrence was skipped or is over: its event goes, the next gets its own.
            await self.port.delete(place, have.id)
            event_id = await self._create(place, row, target, spec)
        else:
            # The same event follows a move or an edit (people who said "Interested" stay).
            event_id = have.id
            interested = have.interested
            # An event in progress keeps its fields: Discord refuses a start in the past.
            if have.spec != spec and target.start > now:
                which = ", ".join(differing(have.spec, spec))
                if row.written == digest(spec):
                    log.warning(
                        "Discord event %s for %s in %s was edited by hand (%s); setting it back",
                        event_id,
                        meeting.key,
                        place,
                        which,
                    )
                await self.port.edit(place, event_id, spec)
        await self._record(row, event_id, target, spec, interested)
        return target.end

    async def _adopt_or_create(
        self, place: str, row: MeetingEvent, target: Occurrence, spec: EventSpec, state: _Pass
    ) -> str:
        found = next(
            (
                e
                for e in state.orphans
                if e.active and (e.spec.name, e.spec.start) == (spec.name, spec.start)
            ),
            None,
        )
        if found is None:
            return await self._create(place, row, target, spec)
        state.orphans.remove(found)
        log.info("adopting Discord event %s in %s (its create was interrupted)", found.id, place)
        if found.spec != spec:
            await self.port.edit(place, found.id, spec)
        return found.id

    async def _create(
        self, place: str, row: MeetingEvent, target: Occurrence, spec: EventSpec
    ) -> str:
        # Forget the old id first: if we die after Discord made the event, the next pass finds
        # a row without an id and adopts the event instead of making another.
        await self._write(row, event_id=None, occurrence=target.local_date, ends_at=target.end)
        event_id = await self.port.create(place, spec)
        log.info("created Discord event %s in %s for %s", event_id, place, target.key)
        return event_id

    async def _record(
        self,
        row: MeetingEvent,
        event_id: str,
        target: Occurrence,
        spec: EventSpec,
        interested: int | None,
    ) -> None:
        await self._write(
            row,
            event_id=event_id,
            occurrence=target.local_date,
            ends_at=target.end,
            written=digest(spec),
            interested=interested,
        )

    async def _write(self, row: MeetingEvent, **values: object) -> None:
        async with self.services.db.session() as session:
            await session.execute(
                update(MeetingEvent)
                .where(MeetingEvent.id == row.id, MeetingEvent.claimed_by == self.worker)
                .values(updated_at=self.services.clock(), **values)
                .execution_options(synchronize_session=False)
            )

    async def _drop(self, row: MeetingEvent) -> None:
        async with self.services.db.session() as session:
            await session.execute(
                delete(MeetingEvent)
                .where(MeetingEvent.id == row.id, MeetingEvent.claimed_by == self.worker)
                .execution_options(synchronize_session=False)
            )

    async def _release(self, meeting_id: int, place: str) -> None:
        async with self.services.db.session() as session:
            await session.execute(
                update(MeetingEvent)
                .where(
                    MeetingEvent.meeting_id == meeting_id,
                    MeetingEvent.platform == PLATFORM,
                    MeetingEvent.place == place,
                    MeetingEvent.claimed_by == self.worker,
                )
                .values(claimed_by=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _forbidden(self, community_id: int, place: str, now: datetime, why: str) -> None:
        """Tell the maintainers once (the notice's unique key is per place), and stop trying
        there for a while rather than failing on every pass."""
        self._blocked[place] = now + BLOCKED_FOR
        log.warning("Discord refused to manage events in guild %s: %s", place, why)
        target = maintainer_target(self.services.settings, Platform.DISCORD)
        if target is None:
            return
        text = (
            f"The bot may not manage events in Discord server {place}, so meetings are not in "
            "its Events list: give the bot's role the Manage Events permission."
        )
        async with self.services.db.session() as session:
            new = await enqueue(
                session,
                community_id,
                [
                    Planned(
                        NOTICE_KIND,
                        f"scheduled-events:{place}",
                        "forbidden",
                        target,
                        now,
                        {"text": text},
                    )
                ],
                now,
            )
        if new:
            self.services.wake()


async def interested_in(
    services: Services,
    session: AsyncSession,
    meeting_id: int,
    place: str | None,
    occurrence: date,
) -> int | None:
    """How many said "Interested" in the meeting's event for `occurrence` in `place`, as last
    seen by the reconciler (read from the database: never a call to Discord)."""
    if place is None or services.scheduled_events is None:
        return None
    row = await event_of(session, meeting_id, PLATFORM, place)
    if row is None or row.occurrence != occurrence or not row.event_id:
        return None
    return row.interested


async def keep_events(services: Services) -> None:
    """The background task: nothing at all unless `[discord] scheduled_events` is on."""
    if services.scheduled_events is None:
        return
    await MeetingEvents(services, services.scheduled_events).run()
