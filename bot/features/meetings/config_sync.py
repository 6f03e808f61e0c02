"""`[[meetings]]` from the config file, applied at start: create or update by id, archive the
removed, never touch command-created meetings. Runs under the start-up lock, so replicas
starting together sync once each, one after the other, with the same result."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.meetings.config import MeetingConfig, declared_meetings
from bot.features.meetings.declared import check_schedule
from bot.features.meetings.reminders import plan_meeting, withdraw
from bot.features.meetings.schedule_edit import drop_stray_overrides, schedule_changed
from bot.runtime.services import Services
from bot.store.meetings import (
    DECLARED_FIELDS,
    Meeting,
    MeetingSource,
    MeetingState,
    format_local_start,
    meeting_values,
    meetings_in_state,
)

log = logging.getLogger(__name__)


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


async def sync_declared(services: Services) -> None:
    """The feature's on_start: apply the config, then re-plan every active meeting."""
    now = services.clock()
    async with services.db.session() as session:
        await apply_config(session, services, declared_meetings(services.settings), now)
        for meeting in await meetings_in_state(session, services.community_id, MeetingState.ACTIVE):
            await plan_meeting(session, services, meeting, now)


async def apply_config(
    session: AsyncSession, services: Services, declared: list[MeetingConfig], now: datetime
) -> None:
    existing = {m.key: m for m in await meetings_in_state(session, services.community_id)}
    for cfg in declared:
        values = declared_values(cfg)
        row = existing.get(cfg.id)
        if row is None:
            session.add(
                Meeting(
                    community_id=services.community_id,
                    key=cfg.id,
                    source=MeetingSource.CONFIG,
                    state=MeetingState.ACTIVE,
                    sequence=0,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            log.info("meeting %s created from the config file", cfg.id)
            continue
        before = meeting_values(row)
        changed = before != values
        revived = row.state != MeetingState.ACTIVE or row.source != MeetingSource.CONFIG
        if not changed and not revived:
            continue
        for name in DECLARED_FIELDS:
            setattr(row, name, values[name])
        # A config entry takes over a command-created meeting of the same id: the file wins.
        row.source, row.state = MeetingSource.CONFIG, MeetingState.ACTIVE
        row.sequence += 1
        row.updated_at = now
        if schedule_changed(before, values):
            await drop_stray_overrides(session, row)
            await withdraw(session, row, now, reason="the meeting's schedule changed")
        log.info("meeting %s updated from the config file", cfg.id)
    declared_ids = {cfg.id for cfg in declared}
    for key, row in existing.items():
        if (
            row.source == MeetingSource.CONFIG
            and key not in declared_ids
            and row.state != MeetingState.ARCHIVED
        ):
            row.state = MeetingState.ARCHIVED
            row.sequence += 1
            row.updated_at = now
            await withdraw(session, row, now, reason="the meeting was removed from the config")
            log.info("meeting %s archived: it is no longer in the config file", key)
    await session.flush()
