"""[[surveys]] from the config file: synced at every start, one row per name, closes kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import ConfigError
from bot.core.urls import UrlChecker
from bot.store.surveys import Survey
from tests.features.surveys.test_flow import T0, TOKEN, harness
from tests.scenarios.conftest import fake_resolver

SURVEY = {
    "name": "2026 Community Survey",
    "url": "https://example.org/survey",
    "closes": "2026-12-31",
}


def config(*surveys: dict[str, Any]) -> dict[str, Any]:
    return {
        "community": {"name": "Example", "timezone": "America/Los_Angeles"},
        "surveys": list(surveys),
    }


async def count(h: Any) -> int:
    async with h.app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Survey)) or 0)


async def test_declared_survey_is_created_once_and_updated(sqlite_url: str) -> None:
    async with harness(sqlite_url, config=config(SURVEY)) as h:
        listed = await h.say("/survey", "olu")
        assert "2026 Community Survey" in listed and TOKEN.search(listed)
        await h.run_due(T0)
        assert len(h.channel()) == 1
    changed = {**SURVEY, "url": "https://example.org/survey-v2", "closes": "2027-01-31"}
    async with harness(sqlite_url, config=config(changed), at=T0 + timedelta(hours=1)) as h:
        assert await count(h) == 1
        async with h.app.db.sessions() as session:
            survey = await session.scalar(select(Survey))
        assert survey is not None and survey.url == "https://example.org/survey-v2"
        assert survey.closes_at == datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
        await h.run_due(T0 + timedelta(hours=1))
        assert h.channel() == []  # a restart does not post round 0 again


async def test_a_closed_declared_survey_stays_closed_after_a_restart(sqlite_url: str) -> None:
    async with harness(sqlite_url, config=config(SURVEY)) as h:
        assert "Closed" in await h.say('/survey close "2026 Community Survey"', "maya")
    async with harness(sqlite_url, config=config(SURVEY)) as h:
        assert "no open surveys" in await h.say("/survey list", "olu")


async def test_a_survey_that_opens_later_is_listed_from_that_day(sqlite_url: str) -> None:
    later = {**SURVEY, "opens": "2026-12-10"}
    async with harness(sqlite_url, config=config(later)) as h:
        assert "no open surveys" in await h.say("/survey list", "olu")
        opens = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # midnight in Los Angeles
        h.clock.now = opens - timedelta(seconds=1)
        assert "no open surveys" in await h.say("/survey list", "olu")
        h.clock.now = opens
        assert TOKEN.search(await h.say("/survey list", "olu"))
        await h.run_due(opens)
        assert len(h.channel()) == 1


async def test_a_declared_private_url_makes_the_config_invalid(sqlite_url: str) -> None:
    # Issue 15, item 13: refused at start (the CLI says it in one sentence, exit 2), not
    # logged and skipped; and nothing of that config is written.
    bad = {"name": "Internal", "url": "https://internal.example/form"}
    with pytest.raises(ConfigError, match=r"surveys\[0\]\.url \(Internal\): .*private"):
        async with harness(sqlite_url, config=config(bad, SURVEY)):
            pass
    async with harness(sqlite_url, config=config()) as h:
        assert await count(h) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.20.30.40/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "https://internal.example/",
        "https://metadata.example/",
    ],
)
async def test_url_checker_refuses_private_addresses(url: str) -> None:
    from bot.core.errors import UserError

    with pytest.raises(UserError, match="private, loopback or link-local"):
        await UrlChecker(fake_resolver).check(url)


async def test_url_checker_accepts_public_and_unresolvable_hosts() -> None:
    checker = UrlChecker(fake_resolver)
    assert await checker.check(" https://example.org/survey ") == "https://example.org/survey"
    assert await checker.check("https://does-not-resolve.example/x")
