"""Settings: the TOML file (COMMUNITYBOT_CONFIG / --config) plus environment variables.

Everything is validated at start and every problem is reported at once, each naming its key.
Secrets come only from the environment and are SecretStr, so they never show in a repr or log.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
)

from bot.core import times
from bot.core.errors import UserError
from bot.core.urls import check_link

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///communitybot.db"
_DURATION = re.compile(r"^\d{1,6}[mhdw]$")
# The key of the one community of the single `[community]` form.
DEFAULT_COMMUNITY_KEY = "default"
# The file's own per-community tables; the features' sections are per community too.
_COMMUNITY_TABLES = ("community", "slack", "discord")


class ConfigError(Exception):
    """Invalid configuration: `problems` lists every one, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_zone(value: str) -> str:
    """A zone name as the commands accept it, written the IANA way (the one resolver)."""
    try:
        return times.zone(value).key
    except UserError as exc:
        raise ValueError(exc.sentence.rstrip(".")) from None


def check_link_value(value: str) -> str:
    """A link as the commands accept it, but for the host name look-up (see core.urls)."""
    try:
        return check_link(value)[0]
    except UserError as exc:
        raise ValueError(exc.sentence.rstrip(".")) from None


def check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"“{value}” is not a duration (a number and m, h, d or w, like 90m)")
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommunityConfig(Section):
    name: str = Field("Our Community", min_length=1, max_length=100)
    timezone: str = "UTC"

    _zone = field_validator("timezone")(check_zone)


class SlackConfig(Section):
    maintainers: list[str] = []
    maintainer_usergroups: list[str] = []
    announce_channels: list[str] = []
    announce_ping: str | None = None
    maintainer_channel: str | None = None
    # Slash command names, canonical name → name in this workspace (e.g. survey = "cb-survey").
    commands: dict[str, str] = {}
    # The workspaces of this community (`[[communities]]` only; `[community]` serves them all).
    team_ids: list[str] = []

    @field_validator("team_ids")
    @classmethod
    def _team_ids(cls, value: list[str]) -> list[str]:
        for tid in value:
            if not re.match(r"^T[A-Z0-9]{2,}$", tid):
                raise ValueError(f"“{tid}” is not a Slack team ID (like T012ABCDEF)")
        return value

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


class DiscordConfig(Section):
    maintainer_roles: list[int] = []
    # Discord user ids of maintainers, beside those holding a maintainer role.
    maintainers: list[int] = []
    # Members with the Manage Server permission are maintainers (a community created from a
    # guild the bot joined has this on: nobody has been named yet).
    manage_server_maintainers: bool = False
    announce_channels: list[int] = []
    announce_ping: int | None = None
    maintainer_channel: int | None = None
    # Register commands in these guilds on `discord sync` (instant) instead of globally.
    guild_ids: list[int] = []
    sync_on_start: bool = False
    # Each active meeting's next occurrence as a Guild Scheduled Event in every guild above.
    scheduled_events: bool = False


class RetentionConfig(Section):
    # Sent, skipped and failed deliveries older than this are pruned; pending ones never are.
    deliveries_days: int = Field(90, ge=1, le=3650)


class DeploymentConfig(Section):
    """What holds for the whole deployment rather than for one community."""

    # A Slack workspace or Discord guild no `[[communities]]` table lists may install the bot
    # and get a community of its own (see bot/runtime/communities.py).
    open_installs: bool = False


class CommunityEntry(Section):
    """One `[[communities]]` table; `file_model` adds the features' sections to it."""

    key: str
    name: str = Field("Our Community", min_length=1, max_length=100)
    timezone: str = "UTC"
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()

    _zone = field_validator("timezone")(check_zone)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        # It is a URL path segment (/c/<key>/calendar.ics), so it stays plain.
        if not re.match(r"^[a-z0-9][a-z0-9-]{0,39}$", value):
            raise ValueError(
                f"“{value}” is not a community key: lower-case letters, digits and -, "
                "at most 40 characters"
            )
        return value


class FileConfig(Section):
    """The file's own sections; the features' sections are added by `file_model`."""

    community: CommunityConfig = CommunityConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    retention: RetentionConfig = RetentionConfig()
    deployment: DeploymentConfig = DeploymentConfig()
    # Several communities in one deployment, instead of the sections above (and the features').
    communities: list[CommunityEntry] = []

    def section(self, name: str) -> Any:
        """A feature's section by name (a model, or a list of them for `[[name]]` tables)."""
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class ConfigSection:
    """A section a feature adds to the file: `[name]`, or `[[name]]` tables when `many`."""

    name: str
    model: type[BaseModel]
    many: bool = False
    # Problems across the whole section (such as an id declared twice), as sentences.
    check: Callable[[Any], list[str]] | None = None


@cache
def file_model(sections: tuple[ConfigSection, ...]) -> type[FileConfig]:
    """FileConfig with the features' sections added."""
    fields: dict[str, Any] = {}
    for s in sections:
        fields[s.name] = (list[s.model], []) if s.many else (s.model, s.model())  # type: ignore[call-arg]
    # Every feature section is per community: a `[[communities]]` table holds its own.
    entry = create_model("CommunityEntry", __base__=CommunityEntry, **fields)
    return create_model("FileConfig", __base__=FileConfig, communities=(list[entry], []), **fields)


@dataclass(frozen=True, slots=True)
class OwnSettings:
    """What the maintainers of a community created from an install set by command (the
    config file owns these for the communities it declares). Ids are the platform's own."""

    announce_channels: tuple[str, ...] = ()
    maintainers: tuple[str, ...] = ()
    # The public page (`/c/<key>/`): off until its maintainers turn it on.
    public_page: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "announce_channels": list(self.announce_channels),
            "maintainers": list(self.maintainers),
            "public_page": self.public_page,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> OwnSettings:
        data = data or {}
        return cls(
            tuple(str(c) for c in data.get("announce_channels", ())),
            tuple(str(m) for m in data.get("maintainers", ())),
            bool(data.get("public_page", False)),
        )


def community_file(file: FileConfig, entry: CommunityEntry) -> FileConfig:
    """The file as one `[[communities]]` table sees it: its own sections where the single
    form has the top-level ones, so features read their section the same way in both."""
    own = {
        name: getattr(entry, name)
        for name in type(entry).model_fields
        if name not in ("key", "name", "timezone")
    }
    # Constructed, not validated: the entry's sections were checked when the file was read,
    # and checking them again (every meeting's schedule) is most of the cost at a thousand
    # communities.
    return type(file).model_construct(
        community=CommunityConfig(name=entry.name, timezone=entry.timezone),
        retention=file.retention,
        deployment=file.deployment,
        **own,
    )


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

    def per_community(self) -> list[tuple[str, Settings]]:
        """Each community's key and settings (its own sections in place of the top-level
        ones); the single `[community]` form is one community, `default`, with these."""
        if not self.file.communities:
            return [(DEFAULT_COMMUNITY_KEY, self)]
        return [
            (c.key, self.model_copy(update={"file": community_file(self.file, c)}))
            for c in self.file.communities
        ]

    def created(self, platform: str, place_id: str, name: str, own: OwnSettings) -> Settings:
        """The settings of a community created from an install (`platform` "slack" or
        "discord", `place_id` its team or guild id): every feature section at its default,
        the workspace's or guild's name, UTC, and what its maintainers set (`own`), so
        features read them exactly as they read a `[[communities]]` table's."""
        file = type(self.file)
        if platform == "slack":
            slack = SlackConfig(
                team_ids=[place_id],
                announce_channels=list(own.announce_channels),
                maintainers=list(own.maintainers),
            )
            discord = DiscordConfig()
        else:
            slack = SlackConfig()
            discord = DiscordConfig(
                guild_ids=[int(place_id)],
                announce_channels=[int(c) for c in own.announce_channels],
                maintainers=[int(m) for m in own.maintainers],
                manage_server_maintainers=True,
            )
        extra: dict[str, Any] = {}
        if "web" in file.model_fields:  # the public page's section, when that feature is in
            extra["web"] = {"public_page": own.public_page}
        own_file = file.model_validate(
            {
                "community": {"name": name.strip()[:100] or place_id, "timezone": "UTC"},
                "retention": self.file.retention,
                "deployment": self.file.deployment,
                "slack": slack,
                "discord": discord,
                **extra,
            }
        )
        return self.model_copy(update={"file": own_file})

    @property
    def open_installs(self) -> bool:
        return self.file.deployment.open_installs

    @property
    def discord_guild_ids(self) -> list[int]:
        """Every community's Discord guilds, in file order: where commands are synced (none,
        meaning globally, with open_installs: a guild that joins later needs them too)."""
        if self.open_installs:
            return []
        return list(
            dict.fromkeys(g for _key, s in self.per_community() for g in s.discord.guild_ids)
        )

    def discord_anywhere(self, flag: Literal["sync_on_start", "scheduled_events"]) -> bool:
        """Whether any community turned this `discord` switch on."""
        return any(getattr(s.discord, flag) for _key, s in self.per_community())

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
        return any(
            (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_app_token,
                self.slack_client_id,
                self.slack_client_secret,
            )
        )

    @property
    def slack_oauth(self) -> bool:
        """Distribution to many workspaces: each installs the app through Slack's OAuth flow
        and gets its own bot token (SLACK_CLIENT_ID/SECRET instead of SLACK_BOT_TOKEN)."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def discord_configured(self) -> bool:
        return self.discord_token is not None

    def platform_problems(self) -> list[str]:
        """Incomplete or contradictory platform credentials, as sentences for `run`."""
        problems = []
        if self.slack_configured:
            problems += self._slack_problems()
        if (self.discord_shard_ids is None) != (self.discord_shard_count is None):
            problems.append("DISCORD_SHARD_IDS and DISCORD_SHARD_COUNT must be set together")
        elif self.discord_shard_ids is not None and self.discord_shard_count is not None:
            bad = [s for s in self.discord_shard_ids if not 0 <= s < self.discord_shard_count]
            if bad:
                problems.append(f"DISCORD_SHARD_IDS {bad} are outside 0..DISCORD_SHARD_COUNT-1")
        return problems

    def _slack_problems(self) -> list[str]:
        """One workspace (SLACK_BOT_TOKEN) or many (SLACK_CLIENT_ID/SECRET), never both."""
        oauth = self.slack_client_id is not None or self.slack_client_secret is not None
        if oauth and self.slack_bot_token is not None:
            return [
                "SLACK_BOT_TOKEN (one workspace) and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth "
                "installs) are both set; unset the client credentials to serve one workspace, "
                "or the bot token to let workspaces install the app"
            ]
        if oauth and not self.slack_oauth:
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            return [f"{missing} is not set; OAuth installs need both client credentials"]
        if oauth and self.slack_app_token is not None:
            return [
                "SLACK_APP_TOKEN (Socket Mode) cannot serve OAuth installs, which need Slack "
                "to reach the bot over HTTP; unset SLACK_APP_TOKEN"
            ]
        if oauth and self.slack_signing_secret is None:
            return ["OAuth installs need SLACK_SIGNING_SECRET to check Slack's requests"]
        problems = []
        if not oauth and self.slack_bot_token is None:
            problems.append("SLACK_BOT_TOKEN is not set, but other SLACK_* variables are")
        if self.slack_signing_secret is None and self.slack_app_token is None:
            problems.append(
                "Slack needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)"
            )
        return problems


def _format_error(err: Mapping[str, Any], prefix: str = "") -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    # `communities[1].slack.team_ids`: the community's place in the file, then its key.
    loc = re.sub(r"^communities\.(\d+)", r"communities[\1]", loc)
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "is not a known key (see config/example.toml)"
    return _subject(f"{prefix}{loc}", msg)


def _subject(key: str, msg: str) -> str:
    """`key is …` / `key must …` read as a sentence; other messages follow a colon."""
    if msg.startswith(("is ", "must ", "are ")):
        return f"{key} {msg}"
    return f"{key}: {msg}"


def parse_file_config(
    data: Mapping[str, Any], sections: Sequence[ConfigSection] = ()
) -> FileConfig:
    try:
        cfg = file_model(tuple(sections)).model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_format_error(e) for e in exc.errors()]) from None
    problems = []
    if cfg.communities:
        problems += _communities_problems(data, cfg, sections)
    elif cfg.deployment.open_installs:
        # The single form serves every workspace and guild already: there is nothing to create.
        problems.append(
            "deployment.open_installs: the single [community] form serves every workspace and "
            "guild as one community, so nothing is created for an install; declare "
            "[[communities]] instead, or remove open_installs"
        )
    for s in sections:
        if s.check is None:
            continue
        problems += [f"{s.name}: {p}" for p in s.check(cfg.section(s.name))]
        for i, entry in enumerate(cfg.communities):
            problems += [f"communities[{i}].{s.name}: {p}" for p in s.check(getattr(entry, s.name))]
    if problems:
        raise ConfigError(problems)
    return cfg


def _communities_problems(
    data: Mapping[str, Any], cfg: FileConfig, sections: Sequence[ConfigSection]
) -> list[str]:
    """What `[[communities]]` must hold across its tables: distinct keys, and each workspace
    and guild in one community only; the single form's tables may not stand beside it."""
    problems = [
        f"{name}: with [[communities]] each community has its own {name} table "
        f"([communities.{name}]); move it there"
        for name in (*_COMMUNITY_TABLES, *(s.name for s in sections))
        if name in data
    ]
    owners: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(cfg.communities):
        if entry.slack.commands:
            # The names are the Slack app's (its manifest), one set for every workspace.
            problems.append(
                f"communities[{i}].slack.commands: renamed Slack commands are not supported "
                "with [[communities]] yet"
            )
        ids = [
            ("key", entry.key),
            *(("slack.team_ids", t) for t in entry.slack.team_ids),
            *(("discord.guild_ids", str(g)) for g in entry.discord.guild_ids),
        ]
        for what, value in ids:
            first = owners.setdefault((what, value), i)
            if first != i:
                problems.append(
                    f"communities[{i}].{what}: “{value}” is already in communities[{first}]"
                )
    return problems


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


def load_settings(
    config_path: str | None = None,
    env: Mapping[str, str] | None = None,
    sections: Sequence[ConfigSection] = (),
) -> Settings:
    """Read the TOML file and the environment; raise ConfigError listing every problem.

    `sections` are the features' own (the composition root passes them all)."""
    env = os.environ if env is None else env
    path = config_path or env.get("COMMUNITYBOT_CONFIG") or None
    problems: list[str] = []
    file_cfg = file_model(tuple(sections))()
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"config file {path} does not exist"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path} is not valid TOML: {exc}"]) from None
        try:
            file_cfg = parse_file_config(data, sections)
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
            problems.append("DISCORD_SHARD_IDS must be comma-separated whole numbers, like 0,1")
    port = _env_int(env, "COMMUNITYBOT_HTTP_PORT", problems)
    metrics_port = _env_int(env, "COMMUNITYBOT_METRICS_PORT", problems)
    shard_count = _env_int(env, "DISCORD_SHARD_COUNT", problems)
    public_url = env.get("COMMUNITYBOT_PUBLIC_URL", "")
    if public_url and not re.match(r"^https?://[^/\s]+", public_url):
        problems.append("COMMUNITYBOT_PUBLIC_URL must start with http:// or https://")
    lease = env.get("COMMUNITYBOT_DELIVERY_LEASE_SECONDS") or "120"
    try:
        lease_seconds = float(lease)
        if not 2 <= lease_seconds <= 3600:
            raise ValueError
    except ValueError:
        problems.append(
            "COMMUNITYBOT_DELIVERY_LEASE_SECONDS must be a number of seconds, 2 to 3600"
        )
        lease_seconds = 120.0
    database_url = database_url_from(env.get("COMMUNITYBOT_DATABASE_URL") or DEFAULT_DATABASE_URL)
    problem = database_url_problem(database_url)
    if problem:
        problems.append(_subject("COMMUNITYBOT_DATABASE_URL", problem))
    log_format = env.get("COMMUNITYBOT_LOG_FORMAT", "text")
    if log_format not in ("text", "json"):
        problems.append('COMMUNITYBOT_LOG_FORMAT must be "text" or "json"')
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
