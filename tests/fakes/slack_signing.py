"""What Slack sends to an app: payloads of slash commands, interactivity and events, signed.

Payload builders return the dict Slack would deliver; the same dict travels over HTTP
(form-encoded or JSON, signed with `v0:{ts}:{body}` HMAC-SHA256) or inside a Socket Mode
envelope. Shapes follow Slack's documentation so bolt parses them as it would in production.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0FAKE0001"
TEAM_DOMAIN = "fake-community"
APP_ID = "A0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
BOT_ID = "B0FAKEBOT1"
# Slack's legacy verification token; bolt ignores it, but real payloads carry one.
VERIFICATION_TOKEN = "fake-verification-token"

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_serial = itertools.count(1)


def _next_serial() -> int:
    return next(_serial)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value for this body: v0=HMAC-SHA256(secret, v0:ts:body)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: bytes,
    content_type: str,
    *,
    timestamp: int | None = None,
    forge: bool = False,
    stale: bool = False,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Headers Slack puts on a request; `forge` signs with a wrong secret, `stale` is 10 min old."""
    now = int(time.time()) if timestamp is None else timestamp
    if stale:
        now -= 600
    ts = str(now)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature("not-" + secret if forge else secret, ts, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request as Slack would send it: the raw body and its content type."""

    body: bytes
    content_type: str
    payload: Mapping[str, Any]
    kind: str  # "slash_commands" | "interactive" | "events_api" (the Socket Mode type)


def slash_command_payload(
    command: str,
    text: str = "",
    *,
    user_id: str = "U0000ALICE",
    user_name: str = "alice",
    channel_id: str = "C0000GENRL",
    channel_name: str = "general",
    team_id: str = TEAM_ID,
    response_url: str = "",
    trigger_id: str | None = None,
) -> dict[str, str]:
    """A slash command's fields; every value is a string, as in Slack's form body."""
    n = _next_serial()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command if command.startswith("/") else "/" + command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{n}.{int(time.time())}.fake{n:08x}",
    }


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    user_id: str = "U0000ALICE",
    user_name: str = "alice",
    channel_id: str = "C0000GENRL",
    message_ts: str = "1700000000.000100",
    is_ephemeral: bool = True,
    block_id: str = "actions",
    response_url: str = "",
    team_id: str = TEAM_ID,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for one pressed button."""
    n = _next_serial()
    now = time.time()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": f"{n}.{int(now)}.fake{n:08x}",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "channel"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{now:.6f}",
            }
        ],
    }
    # Slack omits the message for ephemeral containers: the app never stored it.
    if not is_ephemeral:
        payload["message"] = dict(message or {"type": "message", "ts": message_ts, "text": ""})
    return payload


def event_callback_payload(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """An Events API `event_callback` envelope around one event."""
    n = _next_serial()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{n:010d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{n}",
    }


def app_home_opened_event(user_id: str, channel_id: str = "D0000HOME1") -> dict[str, Any]:
    """The `app_home_opened` event for the Home tab."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }


def url_verification_payload(challenge: str) -> dict[str, str]:
    """Slack's handshake when a Request URL is saved in the app settings."""
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def encode_slash_command(payload: Mapping[str, str]) -> Delivery:
    body = urlencode(dict(payload)).encode()
    return Delivery(body=body, content_type=FORM, payload=payload, kind="slash_commands")


def encode_interactive(payload: Mapping[str, Any]) -> Delivery:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return Delivery(body=body, content_type=FORM, payload=payload, kind="interactive")


def encode_event(payload: Mapping[str, Any]) -> Delivery:
    body = json.dumps(payload).encode()
    return Delivery(body=body, content_type=JSON, payload=payload, kind="events_api")


@dataclass(frozen=True, slots=True)
class AppResponse:
    """What the app answered over HTTP (the acknowledgement)."""

    status: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None
