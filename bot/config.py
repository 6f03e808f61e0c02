"""Settings: the TOML file (COMMUNITYBOT_CONFIG / --config) plus environment variables.

Everything is validated at start and every problem is reported at once, each naming its key.
Secrets come only from the environment and are SecretStr, so they never show in a repr or log.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///communitybot.db"
_DURATION = re.compile(r"^\d{1,6}[mhdw]$")
_MEETING_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class ConfigError(Exception):
    """Invalid configuration: `problems` lists every one, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@cache
def _zones() -> frozenset[str]:
    # available_timezones() walks the zoneinfo tree (several ms); a config with a thousand
    # meetings checks a thousand zones.
    return frozenset(available_timezones())


def _check_zone(value: str) -> str:
    if value not in _zones() and value != "UTC":
        raise ValueError(f"“{value}” is not an IANA time zone (like America/Los_Angeles)")
    return value


def _check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"“{value}” is not a duration (a number and m, h, d or w, like 90m)")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommunityConfig(_Section):
    name: str = Field("Our Community", min_length=1, max_length=100)
    timezone: str = "UTC"

    _zone = field_validator("timezone")(_check_zone)


class SlackConfig(_Section):
    maintainers: list[str] = []
    maintainer_usergroups: list[str] = []
    announce_channels: list[str] = []
    announce_ping: str | None = None
    maintainer_channel: str | None = None
    # Slash command names, canonical name → name in this workspace (e.g. survey = "cb-survey").
    commands: dict[str, str] = {}

    @field_validator("maintainers")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        for uid in value:
            if not re.match(r"^[UW][A-Z0-9]{2,}$", uid):
                raise ValueError(f"“{uid}” is not a Slack user ID (like U012ABCDEF)")
        return value

    @field_validator("maintainer_usergroups")
    @classmethod
    def _group_ids(cls, value: list[str]) -> list[str]:
        for gid in value:
            if not re.match(r"^S[A-Z0-9]{2,}$", gid):
                raise ValueError(f"“{gid}” is not a Slack user group ID (like S012ABCDEF)")
        return value

    @field_validator("announce_channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        for cid in value:
            if not re.match(r"^[CGD][A-Z0-9]{2,}$", cid):
                raise ValueError(f"“{cid}” is not a Slack channel ID (like C012ABCDEF)")
        return value

    @field_validator("commands")
    @classmethod
    def _command_names(cls, value: dict[str, str]) -> dict[str, str]:
        for canonical, name in value.items():
            # Slack's rule for slash command names: lower case, at most 32 characters.
            if not re.match(r"^[a-z0-9][a-z0-9_-]{0,31}$", name.removeprefix("/")):
                raise ValueError(
                    f"“{name}” (for /{canonical}) is not a Slack command name: lower-case "
                    "letters, digits, - and _, at most 32 characters"
                )
        return {canonical: name.removeprefix("/") for canonical, name in value.items()}

    @field_validator("announce_ping")
    @classmethod
    def _ping(cls, value: str | None) -> str | None:
        if (
            value is not None
            and value not in ("here", "channel")
            and not re.match(r"^S[A-Z0-9]{2,}$", value)
        ):
            raise ValueError('must be "here", "channel" or a user group ID (like S012ABCDEF)')
        return value


class DiscordConfig(_Section):
    maintainer_roles: list[int] = []
    announce_channels: list[int] = []
    announce_ping: int | None = None
    maintainer_channel: int | None = None
    # Register commands in these guilds on `discord sync` (instant) instead of globally.
    guild_ids: list[int] = []
    sync_on_start: bool = False


class HeroesConfig(_Section):
    period: Literal["monthly", "quarterly"] = "monthly"
    # Nominations open only for the first N days of a cycle; None = the whole cycle.
    window_days: int | None = Field(None, ge=1, le=92)
    closing_reminder_days: int = Field(3, ge=0, le=30)


class MeetingConfig(_Section):
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
    reminders: list[str] = ["7d", "1d", "1h", "0m"]
    agenda_call: str | None = "3d"
    slack_channels: list[str] | None = None
    discord_channels: list[int] | None = None

    _zone = field_validator("timezone")(_check_zone)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _MEETING_ID.match(value):
            raise ValueError("must be lower-case letters, digits and dashes, like community")
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[str]) -> list[str]:
        for item in value:
            _check_duration(item)
        return value

    @field_validator("agenda_call")
    @classmethod
    def _agenda_call(cls, value: str | None) -> str | None:
        return None if value is None else _check_duration(value)

    @model_validator(mode="after")
    def _schedule(self) -> MeetingConfig:
        # The rule, the start on it, the ladder and the links, checked as commands check them.
        from bot.features.meetings.declared import check_link, check_schedule
        from bot.features.meetings.errors import ScheduleError

        try:
            check_schedule(
                start=self.start,
                timezone=self.timezone,
                rrule=self.rrule,
                duration_minutes=self.duration_minutes,
                reminders=self.reminders,
                agenda_call=self.agenda_call,
            )
            for url in (self.join_url, self.register_url, self.agenda_url):
                if url is not None:
                    check_link(url)
        except ScheduleError as exc:  # problems are listed without their own full stop
            raise ValueError(str(exc).rstrip(".")) from None
        return self


class SurveyConfig(_Section):
    name: str = Field(min_length=1, max_length=100)
    url: str
    opens: date | None = None
    closes: date | None = None
    remind_every: str = "7d"
    max_nudges: int = Field(2, ge=0, le=10)

    _every = field_validator("remind_every")(_check_duration)


class RetentionConfig(_Section):
    # Sent, skipped and failed deliveries older than this are pruned; pending ones never are.
    deliveries_days: int = Field(90, ge=1, le=3650)


class FileConfig(_Section):
    community: CommunityConfig = CommunityConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    heroes: HeroesConfig = HeroesConfig()
    meetings: list[MeetingConfig] = []
    surveys: list[SurveyConfig] = []
    retention: RetentionConfig = RetentionConfig()


class Settings(BaseModel):
    """The file config plus the environment. Build with `load_settings`."""

    model_config = ConfigDict(frozen=True)

    file: FileConfig = FileConfig()
    config_path: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    http_host: str = "127.0.0.1"
    http_port: int = 3000
    public_url: str = ""
    metrics_port: int | None = None
    # How long a delivery claim lasts: a crashed replica's claims are retried after this.
    delivery_lease_seconds: float = 120.0
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    discord_token: SecretStr | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str | None = None
    discord_shard_ids: list[int] | None = None
    discord_shard_count: int | None = None

    @property
    def community(self) -> CommunityConfig:
        return self.file.community

    @property
    def slack(self) -> SlackConfig:
        return self.file.slack

    @property
    def discord(self) -> DiscordConfig:
        return self.file.discord

    @property
    def base_url(self) -> str:
        """The address people reach the HTTP server at, without a trailing slash."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def slack_configured(self) -> bool:
        return any((self.slack_bot_token, self.slack_signing_secret, self.slack_app_token))

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None

    def platform_problems(self) -> list[str]:
        """Incomplete platform credentials, as sentences for `run` to refuse with."""
        problems = []
        if self.slack_configured:
            if self.slack_bot_token is None:
                problems.append("SLACK_BOT_TOKEN is not set, but other SLACK_* variables are")
            if self.slack_signing_secret is None and self.slack_app_token is None:
                problems.append(
                    "Slack needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)"
                )
        if self.slack_client_id or self.slack_client_secret:
            problems.append(
                "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are set, but multi-workspace (OAuth) installs "
                "are not supported yet; unset them and use SLACK_BOT_TOKEN"
            )
        if (self.discord_shard_ids is None) != (self.discord_shard_count is None):
            problems.append("DISCORD_SHARD_IDS and DISCORD_SHARD_COUNT must be set together")
        elif self.discord_shard_ids is not None and self.discord_shard_count is not None:
            bad = [s for s in self.discord_shard_ids if not 0 <= s < self.discord_shard_count]
            if bad:
                problems.append(f"DISCORD_SHARD_IDS {bad} are outside 0..DISCORD_SHARD_COUNT-1")
        return problems


def _format_error(err: Mapping[str, Any], prefix: str = "") -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "is not a known key (see config/example.toml)"
    return f"{prefix}{loc}: {msg}"


def parse_file_config(data: Mapping[str, Any]) -> FileConfig:
    try:
        cfg = FileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_format_error(e) for e in exc.errors()]) from None
    ids = [m.id for m in cfg.meetings]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    names = [s.name.lower() for s in cfg.surveys]
    problems = [f"meetings: id “{d}” is declared twice" for d in dupes]
    problems += [
        f"surveys: “{n}” is declared twice"
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    if problems:
        raise ConfigError(problems)
    return cfg


def _env_int(env: Mapping[str, str], key: str, problems: list[str]) -> int | None:
    raw = env.get(key)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        problems.append(f"{key}: “{raw}” is not a whole number")
        return None


def database_url_from(raw: str) -> str:
    """Plain postgresql:// URLs mean asyncpg; plain sqlite:// means aiosqlite."""
    for plain, asyncio_url in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if raw.startswith(plain):
            return asyncio_url + raw[len(plain) :]
    return raw


def database_url_problem(url: str) -> str | None:
    """Why `url` is not a database URL the bot can use (never echoing its password), or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a malformed port raises here
    except (ArgumentError, ValueError):
        return "is not a database URL (like sqlite+aiosqlite:///communitybot.db)"
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        return (
            f"the driver “{parsed.drivername}” is not supported; use sqlite+aiosqlite:// "
            "or postgresql+asyncpg:// (plain sqlite:// and postgresql:// work too)"
        )
    return None


def load_settings(config_path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file and the environment; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    path = config_path or env.get("COMMUNITYBOT_CONFIG") or None
    problems: list[str] = []
    file_cfg = FileConfig()
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"config file {path} does not exist"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path} is not valid TOML: {exc}"]) from None
        try:
            file_cfg = parse_file_config(data)
        except ConfigError as exc:
            problems.extend(exc.problems)

    def secret(key: str) -> SecretStr | None:
        value = env.get(key)
        return SecretStr(value) if value else None

    shard_ids: list[int] | None = None
    if env.get("DISCORD_SHARD_IDS"):
        try:
            shard_ids = [int(x) for x in env["DISCORD_SHARD_IDS"].replace(" ", "").split(",") if x]
        except ValueError:
            problems.append("DISCORD_SHARD_IDS: must be comma-separated whole numbers, like 0,1")
    port = _env_int(env, "COMMUNITYBOT_HTTP_PORT", problems)
    metrics_port = _env_int(env, "COMMUNITYBOT_METRICS_PORT", problems)
    shard_count = _env_int(env, "DISCORD_SHARD_COUNT", problems)
    public_url = env.get("COMMUNITYBOT_PUBLIC_URL", "")
    if public_url and not re.match(r"^https?://[^/\s]+", public_url):
        problems.append("COMMUNITYBOT_PUBLIC_URL: must start with http:// or https://")
    lease = env.get("COMMUNITYBOT_DELIVERY_LEASE_SECONDS") or "120"
    try:
        lease_seconds = float(lease)
        if not 2 <= lease_seconds <= 3600:
            raise ValueError
    except ValueError:
        problems.append(
            "COMMUNITYBOT_DELIVERY_LEASE_SECONDS: must be a number of seconds, 2 to 3600"
        )
        lease_seconds = 120.0
    database_url = database_url_from(env.get("COMMUNITYBOT_DATABASE_URL") or DEFAULT_DATABASE_URL)
    problem = database_url_problem(database_url)
    if problem:
        problems.append(f"COMMUNITYBOT_DATABASE_URL: {problem}")
    log_format = env.get("COMMUNITYBOT_LOG_FORMAT", "text")
    if log_format not in ("text", "json"):
        problems.append('COMMUNITYBOT_LOG_FORMAT: must be "text" or "json"')
        log_format = "text"
    if problems:
        raise ConfigError(problems)
    return Settings(
        file=file_cfg,
        config_path=path,
        database_url=database_url,
        http_host=env.get("COMMUNITYBOT_HTTP_HOST") or "127.0.0.1",
        http_port=3000 if port is None else port,
        public_url=public_url,
        metrics_port=metrics_port,
        delivery_lease_seconds=lease_seconds,
        log_format=log_format,  # type: ignore[arg-type]
        log_level=env.get("COMMUNITYBOT_LOG_LEVEL", "INFO").upper(),
        slack_bot_token=secret("SLACK_BOT_TOKEN"),
        slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
        slack_app_token=secret("SLACK_APP_TOKEN"),
        slack_client_id=env.get("SLACK_CLIENT_ID") or None,
        slack_client_secret=secret("SLACK_CLIENT_SECRET"),
        slack_api_url=env.get("SLACK_API_URL") or "https://slack.com/api/",
        discord_token=secret("DISCORD_TOKEN"),
        discord_api_url=(env.get("DISCORD_API_URL") or "https://discord.com/api/v10").rstrip("/"),
        discord_gateway_url=env.get("DISCORD_GATEWAY_URL") or None,
        discord_shard_ids=shard_ids,
        discord_shard_count=shard_count,
    )
