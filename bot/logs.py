"""Logging: readable text by default, JSON lines with COMMUNITYBOT_LOG_FORMAT=json.

Every record passes a redaction filter holding the secrets of this process, so a token that
ends up in a message or a traceback is printed as [redacted]; so are the tokens of members'
personal links (/s/<token>, /me/<token>) and Slack response_urls, at every level. Uncaught
exceptions (in the main thread, other threads, and warnings) are routed through logging
too, so their tracebacks pass the same filter instead of going to stderr raw.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# Secrets of known shapes are redacted even when this process was not told them (say, a
# token pasted into a config file or leaking from another variable).
_TOKEN_SHAPES = re.compile(
    r"\b(?:xox[abposre]-[A-Za-z0-9-]{8,}"  # Slack bot/user/config tokens
    r"|xapp-[A-Za-z0-9-]{8,}"  # Slack app-level (Socket Mode) tokens
    r"|[MNO][A-Za-z0-9_-]{23,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,})"  # Discord bot tokens
)
# The password of any URL written user:password@host.
_URL_PASSWORD = re.compile(r"(?P<pre>://[^:/@\s]+:)[^@\s]+(?=@)")
# Capability URLs: whoever holds one acts as its owner. A member's tracked survey link
# (/s/<token>) and data link (/me/<token>), and a Slack response_url (it posts as the bot
# for 30 minutes). Bolt's DEBUG "Responding with ... body" line carries all of them.
_URL_TOKENS = re.compile(
    r"(?P<pre>/(?:s|me)/)[A-Za-z0-9_-]{16,}"
    r"|(?P<hook>hooks\.slack\.com/(?:commands|actions)/)[^\s\"'|>\\]+"
)
# Below this length a "secret" would redact ordinary words; such secrets are still caught
# by the shapes above where they have one.
MIN_SECRET_LENGTH = 6


def _redact_url_token(match: re.Match[str]) -> str:
    return (match.group("pre") or match.group("hook")) + REDACTED


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        variants = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                # A password also appears URL-encoded, inside the database URL.
                variants |= {secret, quote(secret, safe=""), quote_plus(secret)}
        self.secrets = sorted(variants, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _TOKEN_SHAPES.sub(REDACTED, text)
        text = _URL_TOKENS.sub(_redact_url_token, text)
        return _URL_PASSWORD.sub(rf"\g<pre>{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.scrub(message), None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and error (a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["error"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("communitybot").critical("uncaught exception", exc_info=(kind, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    logging.getLogger("communitybot").critical(
        "uncaught exception in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def setup_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Tracebacks that would otherwise print to stderr directly pass the filter as well.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    logging.captureWarnings(True)
    # Library chatter at INFO drowns our own lines.
    for noisy in ("apscheduler", "aiohttp.access", "discord.gateway", "slack_bolt", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
