"""Issue 15, items 8, 9, 11, 13: the CLI's refusals name their real cause, in one sentence.

Real `communitybot` processes (tests/test_cli.py's `cli`), real SQLite files and, when
COMMUNITYBOT_TEST_POSTGRES_URL is set, a real PostgreSQL server.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import ConfigError, parse_file_config
from bot.store.db import Database
from bot.store.migrate import upgrade
from tests.cli.test_cli import cli
from tests.conftest import PG_ENV

# `run` needs a platform; this one is never reached (port 1 refuses at once).
OFFLINE_DISCORD = {"DISCORD_TOKEN": "t", "DISCORD_API_URL": "http://127.0.0.1:1/api/v10"}


def one_sentence(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("communitybot:")]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], result.stderr


def command(name: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = {"run": ["run"], "console": ["console"], "db upgrade": ["db", "upgrade"]}[name]
    extra = OFFLINE_DISCORD if name == "run" else {}
    return cli(args, tmp_path, env={**extra, **env}, stdin="/communitybot help\n")


def test_a_closed_stdout_stops_export_quietly(tmp_path: Path) -> None:
    # `communitybot export heroes --format json | head -c 10`, with the reader gone first.
    assert cli(["db", "upgrade"], tmp_path).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "export", "heroes", "--format", "json"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0
    assert result.stderr == "", "no 'cannot reach the database: Broken pipe'"


def test_a_port_in_use_is_named_as_such(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(
            ["run"], tmp_path, env={**OFFLINE_DISCORD, "COMMUNITYBOT_HTTP_PORT": str(port)}
        )
    one_sentence(result, f"port {port} on 127.0.0.1 is already in use")
    assert "database" not in result.stderr.splitlines()[-1]
    assert "COMMUNITYBOT_HTTP_PORT" in result.stderr


@pytest.mark.parametrize("name", ["run", "console", "db upgrade"])
@pytest.mark.parametrize(
    ("where", "needle"),
    [
        ("missing/bot.db", "the directory {tmp}/missing does not exist"),
        ("/sys/bot.db", "the directory /sys is not writable"),  # read-only even for root
        ("junk.db", "cannot open the SQLite database {tmp}/junk.db: file is not a database"),
        (".", "is a directory, not a file"),
    ],
)
def test_a_sqlite_database_that_cannot_be_opened_is_one_sentence(
    tmp_path: Path, name: str, where: str, needle: str
) -> None:
    (tmp_path / "junk.db").write_text("not a database\n" * 100)
    path = Path(where) if where.startswith("/") else tmp_path / where
    if where == ".":
        path = tmp_path
    env = {"COMMUNITYBOT_DATABASE_URL": f"sqlite:///{path}"}
    one_sentence(command(name, tmp_path, env), needle.format(tmp=tmp_path))


@pytest.mark.postgres
@pytest.mark.parametrize("name", ["run", "console", "db upgrade"])
def test_a_postgresql_database_that_does_not_exist_is_one_sentence(
    tmp_path: Path, name: str
) -> None:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    missing = f"nope_{uuid.uuid4().hex[:8]}"
    url = make_url(base).set(database=missing).render_as_string(hide_password=False)
    one_sentence(
        command(name, tmp_path, {"COMMUNITYBOT_DATABASE_URL": url}),
        f'the PostgreSQL database {missing} on 127.0.0.1:5432: database "{missing}" does not exist',
    )


async def test_the_sqlite_file_and_its_wal_are_created_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "private.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
        # While a connection is open, the -wal and -shm files exist beside it.
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            files = sorted(os.scandir(tmp_path), key=lambda e: e.name)
            assert {p.name for p in files} >= {"private.db", "private.db-wal", "private.db-shm"}
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    finally:
        await db.dispose()


def test_the_console_creates_its_default_database_0600(tmp_path: Path) -> None:
    result = cli(["console"], tmp_path, stdin="/communitybot help\n")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "communitybot.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["run", "console"])
def test_a_private_survey_url_refuses_to_start(tmp_path: Path, name: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[community]\nname = "X"\ntimezone = "UTC"\n'
        '[[surveys]]\nname = "Internal"\nurl = "http://10.1.2.3/form"\n',
        encoding="utf-8",
    )
    result = command(name, tmp_path, {"COMMUNITYBOT_CONFIG": str(config)})
    # A literal private address is refused when the file is read, as meeting links are.
    one_sentence(result, "the configuration is invalid: surveys.0.url: 10.1.2.3 is a private")
    assert "private" in result.stderr


def test_config_problems_read_as_sentences() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_file_config({"community": {"nmae": "x"}})
    assert caught.value.problems == ["community.nmae is not a known key (see config/example.toml)"]
