"""Config: every problem reported at once, each naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import load_settings
from bot.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


def test_example_config_is_valid() -> None:
    settings = load_settings(str(EXAMPLE), env={})
    assert settings.community.timezone == "America/Los_Angeles"
    assert settings.file.meetings and settings.file.surveys


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[community]
timezone = "Mars/Olympus"
colour = "blue"

[slack]
maintainers = ["not-an-id"]
announce_ping = "everyone"

[discord]
announce_channels = ["general"]

[[meetings]]
id = "Community Meeting"
name = "x"
start = "2026-01-29T09:00"
reminders = ["soon"]
""",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    text = "\n".join(info.value.problems)
    for key in (
        "community.timezone",
        "community.colour",
        "slack.maintainers",
        "slack.announce_ping",
        "discord.announce_channels",
        "meetings.0.id",
        "meetings.0.reminders",
    ):
        assert key in text, (key, text)
    assert len(info.value.problems) >= 7


def test_environment_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            None,
            env={
                "COMMUNITYBOT_HTTP_PORT": "eighty",
                "DISCORD_SHARD_IDS": "a,b",
                "COMMUNITYBOT_PUBLIC_URL": "example.org",
            },
        )
    text = " ".join(info.value.problems)
    assert (
        "COMMUNITYBOT_HTTP_PORT" in text
        and "DISCORD_SHARD_IDS" in text
        and "COMMUNITYBOT_PUBLIC_URL" in text
    )


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(str(tmp_path / "nope.toml"), env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[community\n"), env={})


def test_env_and_defaults() -> None:
    s = load_settings(
        None,
        env={
            "COMMUNITYBOT_DATABASE_URL": "postgresql://u:p@db/x",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s3cret",
        },
    )
    assert s.database_url == "postgresql+asyncpg://u:p@db/x"
    assert s.base_url == "http://127.0.0.1:3000"
    assert s.slack_configured and not s.discord_configured
    assert "s3cret" not in repr(s) and "xoxb-1" not in repr(s)
    assert load_settings(None, env={}).database_url == "sqlite+aiosqlite:///communitybot.db"


def test_incomplete_platform_credentials() -> None:
    s = load_settings(None, env={"SLACK_SIGNING_SECRET": "x"})
    assert any("SLACK_BOT_TOKEN" in p for p in s.platform_problems())
    s = load_settings(
        None, env={"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "y", "SLACK_CLIENT_ID": "1"}
    )
    assert any("OAuth" in p for p in s.platform_problems())
    s = load_settings(
        None, env={"DISCORD_TOKEN": "x", "DISCORD_SHARD_IDS": "0,3", "DISCORD_SHARD_COUNT": "2"}
    )
    assert any("outside" in p for p in s.platform_problems())


OAUTH = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "shh-client", "SLACK_SIGNING_SECRET": "x"}


def test_oauth_installs_are_accepted() -> None:
    s = load_settings(None, env=OAUTH)
    assert s.slack_oauth and s.slack_configured
    assert s.platform_problems() == []
    assert "shh-client" not in repr(s)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "x"}, "SLACK_CLIENT_SECRET is not set"),
        ({"SLACK_CLIENT_SECRET": "s", "SLACK_SIGNING_SECRET": "x"}, "SLACK_CLIENT_ID is not set"),
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, "are both set"),
        ({**OAUTH, "SLACK_APP_TOKEN": "xapp-1"}, "unset SLACK_APP_TOKEN"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, "need SLACK_SIGNING_SECRET"),
    ],
)
def test_contradictory_slack_credentials_get_one_sentence(env: dict[str, str], needle: str) -> None:
    [problem] = load_settings(None, env=env).platform_problems()
    assert needle in problem
    assert problem.count(";") <= 1 and not problem.endswith(".")


@pytest.mark.parametrize(
    "url", ["postgresql://u:hunter2@db:notaport/x", "mysql://u:hunter2@db/x", "no url at all"]
)
def test_bad_database_urls_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={"COMMUNITYBOT_DATABASE_URL": url})
    text = " ".join(info.value.problems)
    assert "COMMUNITYBOT_DATABASE_URL" in text
    assert "hunter2" not in text


def test_renamed_slack_commands_follow_slacks_rules(tmp_path: Path) -> None:
    ok = load_settings(write(tmp_path, '[slack]\ncommands = { survey = "/cb-survey" }\n'), env={})
    assert ok.slack.commands == {"survey": "cb-survey"}
    with pytest.raises(ConfigError, match=r"slack\.commands"):
        load_settings(write(tmp_path, '[slack]\ncommands = { survey = "Survey Now" }\n'), env={})
