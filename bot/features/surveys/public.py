"""The surveys' part of the public page: the open surveys with their own public address.

`/survey` hands each member a personal tracked `/s/` link; the page is read by anyone, so
it links the survey itself and counts nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime.public import PublicSurvey, PublicView
from bot.runtime.services import Services
from bot.store import surveys as store


async def fill_public(services: Services, session: AsyncSession, view: PublicView) -> None:
    for survey in await store.open_surveys(session, services.community_id, view.now):
        if survey.closes_at is not None:
            view.changes_by(survey.closes_at)
        view.surveys.append(
            PublicSurvey(name=survey.name, url=survey.url, closes_at=survey.closes_at)
        )
