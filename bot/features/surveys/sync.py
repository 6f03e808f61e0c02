"""[[surveys]] from the config file, created or updated at start: one row per name."""

from __future__ import annotations

from datetime import timedelta

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


async def sync_surveys(services: Services) -> None:
    """Declared surveys are upserted by name; then every live survey's next round is planned.

    A maintainer's /survey close is kept: a restart never reopens a closed survey. A declared
    URL that the URL checker refuses (a private address) makes the config invalid: ConfigError,
    which the CLI turns into one sentence and exit code 2, before anything is written.
    """
    zone = services.settings.community.timezone
    checked: list[tuple[SurveyConfig, str]] = []
    problems: list[str] = []
    for index, declared in enumerate(declared_surveys(services.settings)):
        try:
            checked.append((declared, await services.urls.check(declared.url)))
        except UserError as exc:
            problems.append(f"surveys[{index}].url ({declared.name}): {exc.sentence.rstrip('.')}")
    if problems:
        raise ConfigError(problems)
    async with services.db.session() as session:
        now = services.clock()
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
        await session.flush()
        # The next round of each live survey; posting it plans the members' nudges.
        unposted: list[int] = []
        for survey in await store.live_surveys(session, services.community_id, now):
            await plan_next_round(session, services, survey, now)
            if not channel_targets(services, survey):
                unposted.append(survey.id)
    for survey_id in unposted:  # no channel round to plan them: plan them now
        await plan_nudges(services, survey_id, now)
