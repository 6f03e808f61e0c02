"""[[surveys]] from the config file, created or updated at start: one row per name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ConfigError
from bot.core import times
from bot.core.errors import UserError
from bot.features.surveys.config import SurveyConfig, declared_surveys
from bot.features.surveys.plan import channel_targets, plan_next_round, plan_nudges
from bot.runtime.services import Services
from bot.store import surveys as store
from bot.store.surveys import Survey, survey_key


def _minutes(duration: str) -> int:
    return int(times.parse_duration(duration).total_seconds() // 60)


async def sync_surveys(views: Sequence[Services]) -> None:
    """Each community's declared surveys are upserted by name; then every live survey's next
    round is planned. One transaction for all the communities starting together.

    A maintainer's /survey close is kept: a restart never reopens a closed survey. A declared
    URL that the URL checker refuses (a private address) makes the config invalid: ConfigError,
    which the CLI turns into one sentence and exit code 2, before anything is written.
    """
    if not views:
        return
    checked: list[list[tuple[SurveyConfig, str]]] = []
    problems: list[str] = []
    for view in views:
        checked.append([])
        for index, declared in enumerate(declared_surveys(view.settings)):
            try:
                checked[-1].append((declared, await view.urls.check(declared.url)))
            except UserError as exc:
                why = exc.sentence.rstrip(".")
                problems.append(f"surveys[{index}].url ({declared.name}): {why}")
    if problems:
        raise ConfigError(problems)
    by_id = {view.community_id: view for view in views}
    now = views[0].clock()
    async with views[0].db.session() as session:
        for view, declared in zip(views, checked, strict=True):
            await _upsert(session, view, declared, now)
        await session.flush()
        # The next round of each live survey; posting it plans the members' nudges.
        unposted: list[tuple[Services, int]] = []
        for survey in await store.live_surveys(session, by_id, now):
            view = by_id[survey.community_id]
            await plan_next_round(session, view, survey, now)
            if not channel_targets(view, survey):
                unposted.append((view, survey.id))
    for view, survey_id in unposted:  # no channel round to plan them: plan them now
        await plan_nudges(view, survey_id, now)


async def _upsert(
    session: AsyncSession,
    services: Services,
    checked: list[tuple[SurveyConfig, str]],
    now: datetime,
) -> None:
    zone = services.settings.community.timezone
    for declared, url in checked:
        values = {
            "name": " ".join(declared.name.split()),
            "url": url,
            "opens_at": (
                times.end_of_day(declared.opens - timedelta(days=1), zone)
                if declared.opens
                else None
            ),
            "closes_at": times.end_of_day(declared.closes, zone) if declared.closes else None,
            "remind_every_minutes": _minutes(declared.remind_every),
            "max_nudges": declared.max_nudges,
            "from_config": True,
            "updated_at": now,
        }
        survey = await store.by_name(session, services.community_id, declared.name)
        if survey is None:
            session.add(
                Survey(
                    community_id=services.community_id,
                    key=survey_key(declared.name),
                    channels=[],
                    created_at=now,
                    **values,
                )
            )
        else:
            for column, value in values.items():
                setattr(survey, column, value)
