"""The `[heroes]` section of the config file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.config import ConfigSection, Section, Settings


class HeroesConfig(Section):
    period: Literal["monthly", "quarterly"] = "monthly"
    # Nominations open only for the first N days of a cycle; None = the whole cycle.
    window_days: int | None = Field(None, ge=1, le=92)
    closing_reminder_days: int = Field(3, ge=0, le=30)


SECTION = ConfigSection("heroes", HeroesConfig)


def heroes_config(settings: Settings) -> HeroesConfig:
    config: HeroesConfig = settings.file.section("heroes")
    return config
