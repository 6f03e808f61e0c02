"""The gate in front of bolt on POST /slack/events: signature first, then a defensive parse.

Bolt parses the body before it checks the signature, and a body or header it cannot read
(`payload=%7Bx`, `X-Slack-Request-Timestamp: abc`) becomes a 500 with a traceback. Here the
signature is verified on the raw bytes (slack_sdk's SignatureVerifier, with the timestamp
checked to be a number first), and only a signed request is parsed, into the few shapes the
adapter's listeners read. Anything else is refused with 400 or 401 and a one-line reason, so
bolt only ever sees requests it can handle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

# Slack's timestamps are Unix seconds; anything longer is not one.
_MAX_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Refused:
    """The answer to a request that never reaches bolt; `reason` is for the one log line."""

    status: int
    reason: str


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if isinstance(value, str) and value else None


def check(
    verifier: SignatureVerifier | None, body: bytes, headers: Mapping[str, str]
) -> Refused | None:
    """Why `body` is refused (bad or missing signature, a shape bolt cannot handle), or None."""
    timestamp = _header(headers, "X-Slack-Request-Timestamp")
    signature = _header(headers, "X-Slack-Signature")
    if timestamp is None or signature is None:
        return Refused(401, "no Slack signature")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_DIGITS):
        return Refused(401, "a malformed Slack timestamp")
    try:
        # Slack signs UTF-8 text (SignatureVerifier decodes the body itself, and would raise).
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(400, "a body that is not UTF-8")
    if verifier is None or not verifier.is_valid(text, timestamp, signature):
        return Refused(401, "a wrong or expired Slack signature")
    content_type = _header(headers, "Content-Type") or ""
    # The same rule bolt applies to choose between JSON and a form.
    if content_type.startswith("application/json") or text.startswith("{"):
        return _event(text)
    return _form(text)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested beyond the parser's depth
        return None
    return value if isinstance(value, dict) else None


def _event(text: str) -> Refused | None:
    body = _json_object(text)
    if body is None:
        return Refused(400, "a JSON body that is not an object")
    kind = body.get("type")
    if not isinstance(kind, str):
        return Refused(400, "an event without a type")
    if kind == "url_verification" and not isinstance(body.get("challenge"), str):
        return Refused(400, "a url_verification without a challenge")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return Refused(400, "an event_callback without an event")
    return None


def _form(text: str) -> Refused | None:
    try:
        fields = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    except ValueError:
        return Refused(400, "a form body that does not parse")
    if "payload" in fields:
        return _interaction(fields["payload"])
    if "command" in fields:
        command, user_id = fields["command"], fields.get("user_id", "")
        if not command.startswith("/") or not user_id:
            return Refused(400, "a slash command without a command name or user_id")
        return None
    if fields.get("ssl_check") == "1":
        return None
    return Refused(400, "a form that is neither a command nor an interaction")


def _interaction(raw: str) -> Refused | None:
    payload = _json_object(raw)
    if payload is None:
        return Refused(400, "an interaction payload that is not a JSON object")
    kind = payload.get("type")
    if not isinstance(kind, str):
        return Refused(400, "an interaction without a type")
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        return Refused(400, "an interaction without a user")
    if kind == "block_actions":
        actions = payload.get("actions")
        if (
            not isinstance(actions, list)
            or not actions
            or not isinstance(actions[0], dict)
            or not isinstance(actions[0].get("action_id"), str)
        ):
            return Refused(400, "a block_actions payload without an action")
    return None
