"""The CLI as an operator uses it: real subprocesses, real stdin, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(
    args: list[str],
    cwd: Path,
    *,
    stdin: str = "",
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "COMMUNITYBOT_"))
    }
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        text=True,
        capture_output=True,
        env=base,
        timeout=timeout,
    )


def test_console_piped_stdin(tmp_path: Path) -> None:
    result = cli(
        ["console", "--user", "olu"],
        tmp_path,
        stdin=(
            "/communitybot help\n"
            "/communitybot timezone Europe/Berlin\n"
            "\n"
            "/communitybot audit\n"
            "not a command\n"
            "/communitybot timezone Nowhere/Land\n"
        ),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "/communitybot help" in out and "/communitybot audit" in out
    assert "Your time zone is now Europe/Berlin" in out
    assert "Only maintainers can use /communitybot audit." in out
    assert "Commands start with /" in out
    assert "“Nowhere/Land” is not an IANA time zone" in out
    assert (tmp_path / "communitybot.db").exists(), (
        "the default database is communitybot.db in the cwd"
    )
    assert "Traceback" not in result.stderr


def test_console_state_survives_restarts_and_maintainer_flag(tmp_path: Path) -> None:
    cli(["console", "--user", "olu"], tmp_path, stdin="/communitybot timezone Asia/Kolkata\n")
    result = cli(
        ["console", "--user", "olu", "--maintainer"],
        tmp_path,
        stdin="/communitybot timezone\n/communitybot audit 5\n",
    )
    assert "Your time zone is Asia/Kolkata." in result.stdout
    assert "Only maintainers" not in result.stdout


def test_config_option_before_or_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[community]\nname = "Piped"\ntimezone = "Europe/Berlin"\n')
    result = cli(["console", "--config", str(config)], tmp_path, stdin="/communitybot timezone\n")
    assert result.returncode == 0
    assert "Europe/Berlin" in result.stdout
    result = cli(["--config", str(config), "console"], tmp_path, stdin="/communitybot timezone\n")
    assert "Europe/Berlin" in result.stdout


@pytest.mark.parametrize(
    ("env", "config", "needle"),
    [
        ({}, None, "no platform credentials are set"),
        ({"SLACK_SIGNING_SECRET": "x"}, None, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, None, "SLACK_SIGNING_SECRET"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_APP_TOKEN": "xapp-1",
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "s",
            },
            None,
            "OAuth",
        ),
        ({"DISCORD_TOKEN": "t", "DISCORD_SHARD_IDS": "0"}, None, "must be set together"),
        (
            {"DISCORD_TOKEN": "t"},
            "[community]\ntimezone = 'Nowhere'\n[discord]\nmaintainer_roles = ['x']\n",
            "community.timezone",
        ),
    ],
)
def test_run_refuses_with_one_sentence(
    tmp_path: Path, env: dict[str, str], config: str | None, needle: str
) -> None:
    args = ["run"]
    if config is not None:
        path = tmp_path / "c.toml"
        path.write_text(config)
        args += ["--config", str(path)]
    result = cli(args, tmp_path, env=env)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    if "console" in needle or not env:
        assert "communitybot console" in result.stderr


def test_run_refuses_a_newer_schema(tmp_path: Path) -> None:
    import sqlite3

    assert cli(["db", "upgrade"], tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "communitybot.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    result = cli(["run"], tmp_path, env={"DISCORD_TOKEN": "t"})
    assert result.returncode == 2
    assert "newer than this communitybot knows" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli(["console"], tmp_path, stdin="/communitybot help\n")
    assert result.returncode == 2 and "newer" in result.stderr


def test_version_and_help(tmp_path: Path) -> None:
    version = cli(["--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("communitybot ")
    helptext = cli(["--help"], tmp_path)
    for word in ("run", "console", "db", "slack", "discord", "export"):
        assert word in helptext.stdout


def test_db_upgrade(tmp_path: Path) -> None:
    result = cli(
        ["db", "upgrade"],
        tmp_path,
        env={"COMMUNITYBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    assert result.returncode == 0, result.stderr
    assert "revision" in result.stdout
    assert (tmp_path / "x.db").exists()
