"""The `[[surveys]]` tables of the config file."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from bot.config import ConfigSection, Section, Settings, check_duration, check_link_value


class SurveyConfig(Section):
    name: str = Field(min_length=1, max_length=100)
    url: str
    opens: date | None = None
    closes: date | None = None
    remind_every: str = "7d"
    max_nudges: int = Field(2, ge=0, le=10)

    _every = field_validator("remind_every")(check_duration)
    _url = field_validator("url")(check_link_value)


def _duplicates(surveys: list[SurveyConfig]) -> list[str]:
    names = [s.name.lower() for s in surveys]
    return [f"“{n}” is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]


SECTION = ConfigSection("surveys", SurveyConfig, many=True, check=_duplicates)


def declared_surveys(settings: Settings) -> list[SurveyConfig]:
    surveys: list[SurveyConfig] = settings.file.section("surveys")
    return surveys
