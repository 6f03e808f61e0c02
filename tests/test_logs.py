"""Logs: readable text by default, JSON lines on request, and never a secret — tracebacks too."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, setup_logging

SLACK_TOKEN = "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOpQrStUvWx"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APP_TOKEN = "xapp-1-A0000000000-1111111111111-abcdef0123456789"
DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
DB_PASSWORD = "s3cr3t/p@ss"
SECRETS = (SLACK_TOKEN, SIGNING_SECRET, APP_TOKEN, DISCORD_TOKEN, DB_PASSWORD)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


def leak_everything(log: logging.Logger) -> None:
    """Every way a secret reaches a log line: message, arguments, exception, traceback, URL."""
    log.info("starting with token %s and secret %s", SLACK_TOKEN, SIGNING_SECRET)
    log.warning("socket mode with %s, discord %s", APP_TOKEN, DISCORD_TOKEN)
    log.info("database postgresql+asyncpg://bot:s3cr3t%2Fp%40ss@db:5432/bot")
    log.info("raw password %s", DB_PASSWORD)
    try:
        token = SLACK_TOKEN  # a local a traceback formatter could show
        raise RuntimeError(f"auth.test failed for {token} (signing {SIGNING_SECRET})")
    except RuntimeError:
        log.exception("connecting to Slack failed")
    try:
        raise ValueError(f"cannot connect to postgresql://bot:{DB_PASSWORD}@db/bot")
    except ValueError:
        log.error("database", exc_info=True, stack_info=True)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:8]}… leaked"
    assert "s3cr3t" not in text, "the password leaked in some encoding"
    assert "AbCdEfGhIjKlMnOpQrStUvWx" not in text


def test_text_logs_are_readable_and_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", "text", SECRETS)
    leak_everything(logging.getLogger("bot.test"))
    err = capsys.readouterr().err
    assert_clean(err)
    first = err.splitlines()[0]
    # "2026-11-26 14:00:00,123 INFO    bot.test: starting with token [redacted] …"
    assert " INFO    bot.test: starting with token [redacted] and secret [redacted]" in first
    assert "Traceback (most recent call last)" in err, "tracebacks still show, redacted"
    assert f"RuntimeError: auth.test failed for {REDACTED} (signing {REDACTED})" in err
    assert f"postgresql+asyncpg://bot:{REDACTED}@db:5432/bot" in err
    assert "Stack (most recent call last)" in err


def test_json_logs_are_one_object_per_line_and_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", "json", SECRETS)
    leak_everything(logging.getLogger("bot.test"))
    err = capsys.readouterr().err
    assert_clean(err)
    records = [json.loads(line) for line in err.splitlines()]
    assert len(records) == 6
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert records[0]["level"] == "info" and records[0]["logger"] == "bot.test"
    assert records[0]["time"].endswith("+00:00")
    failed = records[4]
    assert failed["message"] == "connecting to Slack failed"
    assert "Traceback" in failed["error"] and REDACTED in failed["error"]
    assert "stack" in records[5]


def test_secrets_of_known_shapes_are_redacted_even_when_not_declared(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", "text", [])
    leak_everything(logging.getLogger("bot.test"))
    err = capsys.readouterr().err
    for secret in (SLACK_TOKEN, APP_TOKEN, DISCORD_TOKEN):
        assert secret not in err
    assert "bot:[redacted]@db" in err


def test_uncaught_exceptions_and_warnings_pass_the_filter(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", "json", SECRETS)
    try:
        raise RuntimeError(f"boom {SLACK_TOKEN}")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)

    def crash() -> None:
        raise RuntimeError(f"thread boom {DISCORD_TOKEN}")

    thread = threading.Thread(target=crash, name="worker")
    thread.start()
    thread.join()
    import warnings

    warnings.warn(f"deprecated use of {APP_TOKEN}", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert_clean(err)
    records = [json.loads(line) for line in err.splitlines()]
    assert [r["level"] for r in records] == ["critical", "critical", "warning"]
    assert "RuntimeError: boom [redacted]" in records[0]["error"]
    assert "thread worker" in records[1]["message"]


def test_log_level_hides_debug(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", SECRETS)
    logging.getLogger("bot.test").debug("chatter")
    logging.getLogger("apscheduler.scheduler").info("library chatter")
    assert capsys.readouterr().err == ""
