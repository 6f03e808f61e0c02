"""`[[meetings]]` from the config file, applied at start: create or update by id, archive the
removed, never touch command-created meetings. Each row keeps the hash of the entry last
applied, so a restart with nothing changed reads a few columns and writes nothing. Runs
under the start-up lock, so replicas starting together sync once each, one after the other,
with the same result."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.background import catch_up, of_communities
from bot.features.meetings.config import MeetingConfig, declared_meetings
from bot.features.meetings.declared import check_schedule
from bot.features.meetings.reminders import withdraw
from bot.features.meetings.schedule_edit import drop_stray_overrides, schedule_changed
from bot.runtime.services import Services
from bot.store.meetings import (
    DECLARED_FIELDS,
    LONG_AGO,
    Meeting,
    MeetingSource,
    MeetingState,
    format_local_start,
    meeting_values,
)

log = logging.getLogger(__name__)

# A community's stored meetings as apply_config compares them: key → (community_id, id, key,
# declared_hash, state, source).
Briefs = Mapping[str, Row[Any]]


def declared_values(cfg: MeetingConfig) -> dict[str, Any]:
    """A config entry as the row's declared columns, canonical (so unchanged means equal)."""
    series = check_schedule(
        start=cfg.start,
        timezone=cfg.timezone,
        rrule=cfg.rrule,
        duration_minutes=cfg.duration_minutes,
        reminders=cfg.reminders,
        agenda_call=cfg.agenda_call,
    )
    return {
        "name": cfg.name,
        "description": cfg.description,
        "rrule": series.rrule,
        "local_start": format_local_start(series.local_start),
        "timezone": series.zone,
        "duration_minutes": cfg.duration_minutes,
        "join_url": cfg.join_url,
        "register_url": cfg.register_url,
        "agenda_url": cfg.agenda_url,
        "reminders": list(cfg.reminders),
        "agenda_call": cfg.agenda_call,
        "slack_channels": None if cfg.slack_channels is None else list(cfg.slack_channels),
        "discord_channels": (
            None if cfg.discord_channels is None else [str(c) for c in cfg.discord_channels]
        ),
    }


# Meetings planned before start goes on (those a config change touched, say); the rest is
# left to the background (background.keep_up), so start never waits for a thousand meetings.
START_BATCH = 50
# Part of every hash: bump it when declared_values() changes what it makes of an entry.
HASH_VERSION = "1"


def declared_hash(cfg: MeetingConfig) -> str:
    """A digest of the config entry as written: equal hashes mean nothing to apply."""
    text = f"{HASH_VERSION}:{cfg.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()


async def sync_declared(views: Sequence[Services]) -> None:
    """The feature's on_start: apply each community's config, then plan what is due (a
    bounded batch for all of them together). One transaction and one read of the stored rows
    for every community, so a restart of a thousand communities is a few queries."""
    if not views:
        return
    now = views[0].clock()
    async with views[0].db.session() as session:
        stored = await stored_briefs(session, [v.community_id for v in views])
        for view in views:
            declared = declared_meetings(view.settings)
            await apply_config(session, view, declared, now, stored.get(view.community_id, {}))
    await catch_up(views, now, limit=START_BATCH)


async def stored_briefs(session: AsyncSession, community_ids: list[int]) -> dict[int, Briefs]:
    """What apply_config compares with, for each of these communities: key → brief row."""
    rows = await session.execute(
        select(
            Meeting.community_id,
            Meeting.id,
            Meeting.key,
            Meeting.declared_hash,
            Meeting.state,
            Meeting.source,
        ).where(of_communities(community_ids))
    )
    found: dict[int, dict[str, Row[Any]]] = {}
    for row in rows.all():
        found.setdefault(row.community_id, {})[row.key] = row
    return found


async def apply_config(
    session: AsyncSession,
    services: Services,
    declared: list[MeetingConfig],
    now: datetime,
    stored: Briefs,
) -> None:
    """Create, update or archive only what differs from the rows (compared by hash);
    `stored` is the community's rows as `stored_briefs` read them."""
    for cfg in declared:
        digest = declared_hash(cfg)
        brief = stored.get(cfg.id)
        if (
            brief is not None
            and brief.declared_hash == digest
            and brief.state == MeetingState.ACTIVE
            and brief.source == MeetingSource.CONFIG
        ):
            continue  # unchanged: not even read
        values = declared_values(cfg)
        if brief is None:
            session.add(
                Meeting(
                    community_id=services.community_id,
                    key=cfg.id,
                    source=MeetingSource.CONFIG,
                    state=MeetingState.ACTIVE,
                    sequence=0,
                    created_at=now,
                    updated_at=now,
                    declared_hash=digest,
                    **values,
                )
            )
            log.info("meeting %s created from the config file", cfg.id)
            continue
        row = await session.get(Meeting, brief.id)
        assert row is not None
        row.declared_hash = digest
        before = meeting_values(row)
        changed = before != values
        revived = row.state != MeetingState.ACTIVE or row.source != MeetingSource.CONFIG
        if not changed and not revived:
            continue  # the same entry written differently (or the first start after 0006)
        for name in DECLARED_FIELDS:
            setattr(row, name, values[name])
        # A config entry takes over a command-created meeting of the same id: the file wins.
        row.source, row.state = MeetingSource.CONFIG, MeetingState.ACTIVE
        row.sequence += 1
        row.updated_at = now
        # Planned (with its next occurrence) by catch_up, at start or in the background.
        row.plan_at = row.next_stale_at = LONG_AGO
        if schedule_changed(before, values):
            await drop_stray_overrides(session, row)
            await withdraw(session, row, now, reason="the meeting's schedule changed")
        log.info("meeting %s updated from the config file", cfg.id)
    declared_ids = {cfg.id for cfg in declared}
    for key, brief in stored.items():
        if (
            brief.source == MeetingSource.CONFIG
            and key not in declared_ids
            and brief.state != MeetingState.ARCHIVED
        ):
            row = await session.get(Meeting, brief.id)
            assert row is not None
            row.state = MeetingState.ARCHIVED
            row.sequence += 1
            row.updated_at = now
            row.plan_at = row.next_date = row.next_start = row.next_end = None
            await withdraw(session, row, now, reason="the meeting was removed from the config")
            log.info("meeting %s archived: it is no longer in the config file", key)
    await session.flush()
