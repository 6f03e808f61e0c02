"""The `[[meetings]]` tables of the config file: meetings declared by the maintainers."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from bot.config import (
    ConfigSection,
    Section,
    Settings,
    check_duration,
    check_link_value,
    check_zone,
)
from bot.core.invocation import Platform
from bot.features.meetings.declared import check_schedule
from bot.features.meetings.errors import ScheduleError
from bot.features.meetings.ids import ID_RULE, is_meeting_id


class MeetingConfig(Section):
    id: str
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    rrule: str | None = None
    start: str
    timezone: str = "UTC"
    duration_minutes: int = Field(60, ge=1, le=24 * 60)
    join_url: str | None = None
    register_url: str | None = None
    agenda_url: str | None = None
    reminders: list[str] = Field(default_factory=lambda: ["7d", "1d", "1h", "0m"])
    agenda_call: str | None = "3d"
    slack_channels: list[str] | None = None
    discord_channels: list[int] | None = None
    # False keeps the meeting off the public page and the public calendar feed.
    public: bool = True

    _zone = field_validator("timezone")(check_zone)
    _links = field_validator("join_url", "register_url", "agenda_url")(
        lambda v: None if v is None else check_link_value(v)
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not is_meeting_id(value):
            raise ValueError(f"must be {ID_RULE}")
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[str]) -> list[str]:
        for item in value:
            check_duration(item)
        return value

    @field_validator("agenda_call")
    @classmethod
    def _agenda_call(cls, value: str | None) -> str | None:
        return None if value is None else check_duration(value)

    @model_validator(mode="after")
    def _schedule(self) -> MeetingConfig:
        # The rule, the start on it and the ladder, checked as commands check them.
        try:
            check_schedule(
                start=self.start,
                timezone=self.timezone,
                rrule=self.rrule,
                duration_minutes=self.duration_minutes,
                reminders=self.reminders,
                agenda_call=self.agenda_call,
            )
        except ScheduleError as exc:  # problems are listed without their own full stop
            raise ValueError(str(exc).rstrip(".")) from None
        return self


def _duplicates(meetings: list[MeetingConfig]) -> list[str]:
    ids = [m.id for m in meetings]
    return [f"id “{d}” is declared twice" for d in sorted({i for i in ids if ids.count(i) > 1})]


SECTION = ConfigSection("meetings", MeetingConfig, many=True, check=_duplicates)


def declared_meetings(settings: Settings) -> list[MeetingConfig]:
    meetings: list[MeetingConfig] = settings.file.section("meetings")
    return meetings


def private_keys(settings: Settings) -> frozenset[str]:
    """Ids of declared meetings with `public = false`: left off the page and the feed."""
    return frozenset(m.id for m in declared_meetings(settings) if not m.public)


def channel_uses(settings: Settings, platform: Platform) -> list[tuple[str | int, str]]:
    """The channels declared meetings post their reminders to, for the start-up check."""
    uses: list[tuple[str | int, str]] = []
    for meeting in declared_meetings(settings):
        own: list[str] | list[int] | None = None
        if platform is Platform.SLACK:
            own = meeting.slack_channels
        elif platform is Platform.DISCORD:
            own = meeting.discord_channels
        uses += [(channel, f"reminders of meeting {meeting.id}") for channel in own or []]
    return uses
