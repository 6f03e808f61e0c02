"""POST /slack/events under abuse and faults (issue 15, items 5, 6 and 7), over real HTTP.

Malformed, unsigned and oddly shaped requests get 400/401 and one log line; a replayed
signed request has no second effect; an unreachable or confused Slack Web API does not
stop the bot from answering within Slack's 3 seconds.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import App
from bot.core.invocation import Platform
from bot.logs import setup_logging
from bot.store.models import InboundEvent, Member
from tests.conftest import make_settings
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import SlackFake
from tests.support.meetings_bot import community_meeting, no_dns

BOT_TOKEN = "xoxb-hardening-test"
CONFIG: dict[str, Any] = {
    "community": {"name": "Hardening Community", "timezone": "America/Los_Angeles"},
    "slack": {"maintainers": ["UMAYA"], "announce_channels": ["CANNOUNCE"]},
    "meetings": [community_meeting()],
}
# Without channels to check at start, a bot facing an unreachable Slack starts quickly.
QUIET_CONFIG: dict[str, Any] = {**CONFIG, "slack": {"maintainers": ["UMAYA"]}}


@asynccontextmanager
async def running_bot(
    tmp_path: Path, fake: SlackFake, *, config: dict[str, Any] = CONFIG, api_url: str = ""
) -> AsyncIterator[tuple[App, SlackAdapter, str]]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        config,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=api_url or fake.api_url,
        http_port=0,
    )
    app = App(settings, timer=False, resolver=no_dns)
    await app.start()
    adapter = app.adapters[Platform.SLACK]
    assert isinstance(adapter, SlackAdapter)
    try:
        yield app, adapter, f"http://127.0.0.1:{app.http_port}/slack/events"
    finally:
        await app.stop()


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake(bot_token=BOT_TOKEN) as f:
        yield f


@pytest.fixture
def logs() -> Iterator[Callable[[], str]]:
    """The bot's real log setup (text, INFO), its handler writing to a buffer; call to read."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    setup_logging("INFO", "text", [BOT_TOKEN])
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)

    def read() -> str:
        out = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return out

    try:
        yield read
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


def signed(fake: SlackFake, body: bytes, content_type: str = signing.FORM) -> dict[str, str]:
    return signing.signed_headers(fake.signing_secret, body, content_type)


def form_payload(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(command: str, text: str, **fields: Any) -> bytes:
    return signing.encode_slash_command(signing.slash_command_payload(command, text, **fields)).body


# --------------------------------------------------------------------------- item 5

FORM = {"Content-Type": signing.FORM}


def _cases(fake: SlackFake) -> list[tuple[str, bytes, dict[str, str], int]]:
    no_user = {
        k: v
        for k, v in signing.slash_command_payload("/communitybot", "help").items()
        if k != "user_id"
    }
    no_action = signing.block_actions_payload("confirm:x")
    no_action["actions"] = []
    bad_event = signing.event_callback_payload({"type": "app_home_opened"})
    bad_event["event"] = "app_home_opened"
    cases: list[tuple[str, bytes, dict[str, str], int]] = [
        ("unsigned, not JSON", b"payload=%7Bx", FORM, 401),
        (
            "timestamp abc",
            b"payload=%7Bx",
            {**FORM, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
            401,
        ),
        (
            "timestamp too long",
            b"command=%2Fx",
            {**FORM, "X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=00"},
            401,
        ),
        (
            "forged",
            b"command=%2Fx",
            signing.signed_headers("wrong", b"command=%2Fx", signing.FORM),
            401,
        ),
        (
            "stale",
            b"command=%2Fx",
            signing.signed_headers(fake.signing_secret, b"command=%2Fx", signing.FORM, stale=True),
            401,
        ),
        ("signed, not JSON", b"payload=%7Bx", signed(fake, b"payload=%7Bx"), 400),
        (
            "signed, a list",
            b"payload=%5B1%2C2%2C3%5D",
            signed(fake, b"payload=%5B1%2C2%2C3%5D"),
            400,
        ),
        ("block_actions without actions", form_payload(no_action), {}, 400),
        ("command without user_id", signing.encode_slash_command(no_user).body, {}, 400),
        ("not UTF-8", b"command=\xff\xfe", signed(fake, b"command=\xff\xfe"), 400),
        ("JSON list", b"[1]", signed(fake, b"[1]", signing.JSON), 400),
        ("event not an object", json.dumps(bad_event).encode(), {"json": ""}, 400),
        ("neither command nor payload", b"a=b", signed(fake, b"a=b"), 400),
    ]
    out = []
    for name, body, headers, status in cases:
        if headers == {}:
            headers = signed(fake, body)
        elif headers == {"json": ""}:
            headers = signed(fake, body, signing.JSON)
        out.append((name, body, headers, status))
    return out


async def test_malformed_requests_get_400_or_401_and_one_log_line(
    tmp_path: Path, fake: SlackFake, logs: Callable[[], str]
) -> None:
    async with running_bot(tmp_path, fake) as (app, _, url):
        logs()
        for name, body, headers, status in _cases(fake):
            answered, _ = await post(url, body, headers)
            out = logs()
            assert answered == status, (name, answered)
            assert len(out.splitlines()) <= 1, (name, out)
            assert "Traceback" not in out and " 500" not in out, (name, out)
        # Nothing was written, nothing was answered through Slack.
        async with app.db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 0
        assert fake.responses() == []
        # And a good request still works.
        sent = await fake.slash_command(url, "/communitybot", "help")
        assert sent.http is not None and sent.http.status == 200
        assert "/communitybot help" in sent.http.text


# --------------------------------------------------------------------------- item 6


async def agenda_items(fake: SlackFake, url: str) -> int:
    """How many agenda items `/meeting next` lists as "Replayed topic"."""
    sent = await fake.slash_command(url, "/meeting", "next")
    assert sent.http is not None and sent.http.status == 200
    blocks = json.loads(sent.http.text)["blocks"]
    return sum(json.dumps(b).count(". Replayed topic") for b in blocks)


async def test_a_replayed_command_is_answered_200_and_has_no_second_effect(
    tmp_path: Path, fake: SlackFake, logs: Callable[[], str]
) -> None:
    async with running_bot(tmp_path, fake) as (app, adapter, url):
        announce = command_body(
            "/announce", "REPLAY --yes", user_id="UMAYA", response_url=fake.mint_response_url()
        )
        agenda = command_body(
            "/meeting",
            "agenda add community Replayed topic",
            user_id="UOLU",
            response_url=fake.mint_response_url(),
        )
        t0 = int(time.time())
        for body in (announce, agenda):
            headers = signing.signed_headers(fake.signing_secret, body, signing.FORM, timestamp=t0)
            first = await post(url, body, headers)
            logs()
            again = await post(url, body, headers)
            assert first[0] == 200 and first[1], first
            # The replay's signature was recorded in the command's own transaction: it is
            # answered, privately, and does nothing.
            assert again[0] == 200 and "Already handled." in again[1], again
            assert '"response_type": "ephemeral"' in again[1]
            out = logs()
            assert len(out.splitlines()) == 1 and "already handled" in out, out
        await app.run_due()
        await adapter.drain()
        assert len([m for m in fake.posted("CANNOUNCE") if "REPLAY" in m.text]) == 1
        assert await agenda_items(fake, url) == 1

        # The same command typed again a second later is a new request (a new signature).
        for ts in (t0 - 1, t0 - 2):
            headers = signing.signed_headers(
                fake.signing_secret, agenda, signing.FORM, timestamp=ts
            )
            status, text = await post(url, agenda, headers)
            assert status == 200 and "Added as item" in text, text
        assert await agenda_items(fake, url) == 3


async def test_a_replayed_button_press_has_no_second_effect(
    tmp_path: Path, fake: SlackFake
) -> None:
    async with running_bot(tmp_path, fake) as (app, adapter, url):
        preview = await fake.slash_command(url, "/announce", "PRESSED", user_id="UMAYA")
        assert preview.http is not None and preview.http.status == 200
        confirm = next(
            e["action_id"]
            for b in json.loads(preview.http.text)["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"].startswith("confirm:")
        )
        press = signing.block_actions_payload(
            confirm, confirm, user_id="UMAYA", response_url=fake.mint_response_url()
        )
        body = signing.encode_interactive(press).body
        headers = signed(fake, body)
        assert (await post(url, body, headers))[0] == 200
        assert (await post(url, body, headers))[0] == 200
        await adapter.drain()
        await app.run_due()
        await adapter.drain()
        assert len([m for m in fake.posted("CANNOUNCE") if "PRESSED" in m.text]) == 1
        # The first press did the work; the replay is only told, privately, that it was used.
        first, *again = [r.body["text"] for r in fake.responses(press["response_url"])]
        assert "is on its way" in first
        assert all("already used" in text for text in again), again


async def test_retried_events_still_deduplicate_by_event_id(
    tmp_path: Path, fake: SlackFake
) -> None:
    async with running_bot(tmp_path, fake) as (_, adapter, url):
        event = signing.app_home_opened_event("UOLU")
        for retry in (None, 1, 2):
            sent = await fake.send_event(url, event, event_id="Ev0RETRIED", retry_num=retry)
            assert sent.http is not None and sent.http.status == 200
        await adapter.drain()
        assert len(fake.calls("views.publish")) == 1


# --------------------------------------------------------------------------- item 7


def closed_port_url() -> str:
    """A Web API base on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


async def test_unreachable_slack_api_still_answers_within_the_ack_budget(
    tmp_path: Path, fake: SlackFake, logs: Callable[[], str]
) -> None:
    async with running_bot(tmp_path, fake, config=QUIET_CONFIG, api_url=closed_port_url()) as (
        _,
        _,
        url,
    ):
        logs()
        for command, text, user, expect in (
            ("/meeting", "next", "UOLU", "Community Meeting"),
            ("/hero", "nominate <@UANA> for the docs", "UOLU", "Thank you"),
            ("/communitybot", "timezone Europe/Berlin", "UOLU", "Europe/Berlin"),
        ):
            started = time.monotonic()
            sent = await fake.slash_command(url, command, text, user_id=user)
            took = time.monotonic() - started
            assert sent.http is not None and sent.http.status == 200, (command, sent.http)
            assert took < 3.0, (command, took)
            assert expect in sent.http.text, (command, sent.http.text)
        out = logs()
        assert "Traceback" not in out, out
        assert "bolt" not in out, out  # no middleware or listener error


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (405, "text/html", "<html><body><h1>405 Not Allowed</h1></body></html>"),
        (200, "text/plain", "Method Not Allowed"),
        (200, "application/json", "{not json"),
    ],
)
async def test_users_info_that_is_not_json_degrades_to_no_display_name(
    tmp_path: Path,
    fake: SlackFake,
    logs: Callable[[], str],
    status: int,
    content_type: str,
    body: str,
) -> None:
    async with running_bot(tmp_path, fake) as (app, _, url):
        fake.inject_non_json(
            "users.info", status=status, content_type=content_type, body=body, times=None
        )
        logs()
        nominated = await fake.slash_command(
            url, "/hero", "nominate <@UANA> for the docs", user_id="UOLU"
        )
        announced = await fake.slash_command(
            url, "/announce", "Thanks <@UANA> --yes", user_id="UMAYA"
        )
        for sent in (nominated, announced):
            assert sent.http is not None and sent.http.status == 200, sent.http
        assert "Thank you" in nominated.http.text  # type: ignore[union-attr]
        out = logs()
        assert "Traceback" not in out and "has no attribute" not in out, out
        assert fake.calls("users.info"), "the lookup was tried"
        async with app.db.sessions() as session:
            name = await session.scalar(
                select(Member.display_name).where(Member.platform_user_id == "UANA")
            )
        assert name in ("", None, "UANA")  # no display name: Slack's answer was unreadable
