"""The Slack fake speaks to the real slack_sdk and slack_bolt as Slack's servers would."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack_signing
from tests.fakes.slack_api import SlackFake

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # SLACK_CLIENT_ID/SECRET in the environment would silently switch bolt to OAuth mode.
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as f:
        yield f


def web_client(fake: SlackFake, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, **kwargs)


# --------------------------------------------------------------------------- Web API


async def test_post_message_is_recorded_and_answered_like_slack(fake: SlackFake) -> None:
    client = web_client(fake)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    resp = await client.chat_postMessage(channel="C0000GENRL", text="hi", blocks=blocks)

    assert resp["ok"] and resp["channel"] == "C0000GENRL"
    assert resp["message"]["text"] == "hi" and resp["message"]["blocks"] == blocks
    [call] = fake.calls("chat.postMessage")
    assert call.http_method == "POST"
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert call.body["blocks"] == blocks  # chat.postMessage travels as JSON
    assert [m.ts for m in fake.posted("C0000GENRL")] == [resp["ts"]]

    second = await client.chat_postMessage(channel="C0000GENRL", text="again")
    assert float(second["ts"]) > float(resp["ts"])


async def test_form_bodies_and_get_queries_are_recorded(fake: SlackFake) -> None:
    client = web_client(fake)
    opened = await client.conversations_open(users="U0000BOB01")
    info = await client.users_info(user="U0000BOB01")  # a GET with a query string

    [open_call] = fake.calls("conversations.open")
    # slack_sdk POSTs conversations.open with its arguments in the query string.
    assert open_call.http_method == "POST" and open_call.query == {"users": "U0000BOB01"}
    assert opened["channel"]["id"] == fake.dm_channel("U0000BOB01")
    [info_call] = fake.calls("users.info")
    assert info_call.http_method == "GET" and info_call.query == {"user": "U0000BOB01"}
    assert info["user"]["id"] == "U0000BOB01"

    # Blocks sent form-encoded arrive as a JSON string; args decodes them.
    await client.api_call(
        "chat.postMessage",
        data={"channel": "U0000BOB01", "text": "dm", "blocks": '[{"type": "divider"}]'},
    )
    call = fake.calls("chat.postMessage")[-1]
    assert call.body["blocks"] == '[{"type": "divider"}]'
    assert call.args["blocks"] == [{"type": "divider"}]
    assert fake.posted(fake.dm_channel("U0000BOB01"))[0].text == "dm"


async def test_usergroups_update_delete_permalink_and_home(fake: SlackFake) -> None:
    client = web_client(fake)
    fake.set_usergroup("S0000MAINT", ["U0000ALICE", "U0000BOB01"])
    members = await client.usergroups_users_list(usergroup="S0000MAINT")
    assert members["users"] == ["U0000ALICE", "U0000BOB01"]
    with pytest.raises(SlackApiError) as e:
        await client.usergroups_users_list(usergroup="S0000NONE0")
    assert e.value.response["error"] == "no_such_subteam"

    posted = await client.chat_postMessage(channel="C0000GENRL", text="v1")
    await client.chat_update(channel="C0000GENRL", ts=posted["ts"], text="v2")
    assert fake.posted("C0000GENRL")[0].text == "v2"
    link = await client.chat_getPermalink(channel="C0000GENRL", message_ts=posted["ts"])
    assert posted["ts"].replace(".", "") in link["permalink"]
    await client.chat_delete(channel="C0000GENRL", ts=posted["ts"])
    assert fake.posted("C0000GENRL") == []
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel="C0000GENRL", ts=posted["ts"], text="v3")
    assert e.value.response["error"] == "message_not_found"

    view = {
        "type": "home",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Hi"}}],
    }
    await client.views_publish(user_id="U0000ALICE", view=view)
    assert fake.home_views["U0000ALICE"]["blocks"] == view["blocks"]

    await client.chat_postEphemeral(channel="C0000GENRL", user="U0000ALICE", text="psst")
    assert [e.text for e in fake.ephemeral_to("U0000ALICE")] == ["psst"]
    assert (await client.api_call("reactions.add", json={"name": "x"}))["ok"]


async def test_slack_limits_and_tokens_are_enforced(fake: SlackFake) -> None:
    client = web_client(fake)
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="C0000GENRL", text="x", blocks=too_many)
    assert e.value.response["error"] == "invalid_blocks"
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C0000GENRL", text="x", blocks=long_section)
    with pytest.raises(SlackApiError) as e:
        await client.api_call("chat.postMessage", json={"channel": "C0000GENRL"})
    assert e.value.response["error"] == "no_text"

    with pytest.raises(SlackApiError) as e:
        await AsyncWebClient(token=APP_TOKEN, base_url=fake.api_url).auth_test()
    assert e.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as e:
        await AsyncWebClient(token="xoxb-other", base_url=fake.api_url).auth_test()
    assert e.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as e:
        await client.apps_connections_open(app_token=BOT_TOKEN)
    assert e.value.response["error"] == "not_allowed_token_type"
    assert fake.posted() == []


async def test_rate_limit_is_retried_after_retry_after(fake: SlackFake) -> None:
    fake.inject_rate_limit("chat.postMessage", retry_after=1, times=1)
    client = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])

    started = time.monotonic()
    resp = await client.chat_postMessage(channel="C0000GENRL", text="hi")

    assert resp["ok"]
    assert time.monotonic() - started >= 1.0  # slack_sdk waited Retry-After seconds
    attempts = fake.calls("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert len(fake.posted()) == 1


async def test_rate_limit_without_a_handler_surfaces_429(fake: SlackFake) -> None:
    fake.inject_rate_limit("chat.postMessage", retry_after=7, times=1)
    with pytest.raises(SlackApiError) as e:
        await web_client(fake).chat_postMessage(channel="C0000GENRL", text="hi")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "7"
    # The fault was used up: the next call goes through.
    assert (await web_client(fake).chat_postMessage(channel="C0000GENRL", text="hi"))["ok"]


async def test_server_errors_and_dropped_connections(fake: SlackFake) -> None:
    fake.inject_server_error("chat.postMessage", times=2)
    quick = FixedValueRetryIntervalCalculator(0.01)
    retry = AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=quick)
    client = web_client(fake, retry_handlers=[retry])
    assert (await client.chat_postMessage(channel="C0000GENRL", text="hi"))["ok"]
    assert [c.status for c in fake.calls("chat.postMessage")] == [500, 500, 200]

    # slack_sdk's default handler retries one dropped connection.
    fake.inject_disconnect("users.info", times=1)
    assert (await web_client(fake).users_info(user="U0000ALICE"))["ok"]
    assert len(fake.calls("users.info")) == 2


async def test_permanent_channel_error(fake: SlackFake) -> None:
    fake.inject_channel_error("C0000GONE1", "channel_not_found")
    client = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler()])
    for _ in range(3):
        with pytest.raises(SlackApiError) as e:
            await client.chat_postMessage(channel="C0000GONE1", text="hi")
        assert e.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="C0000GENRL", text="hi"))["ok"]
    fake.add_channel("C0000ARCH1", "old", is_archived=True)
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="C0000ARCH1", text="hi")
    assert e.value.response["error"] == "is_archived"


async def test_wait_for_returns_value_or_times_out(fake: SlackFake) -> None:
    with pytest.raises(TimeoutError):
        await fake.wait_for(lambda: fake.calls("auth.test"), within=0.05)
    await web_client(fake).auth_test()
    [call] = await fake.wait_for(lambda: fake.calls("auth.test"))
    assert call.ok


# --------------------------------------------------------------------------- bolt over HTTP


def bolt_app(fake: SlackFake) -> AsyncApp:
    app = AsyncApp(signing_secret=fake.signing_secret, client=web_client(fake))

    @app.command("/hello")
    async def hello(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        await ack(f"hello <@{command['user_id']}>")
        await respond(f"later: {command['text']}")

    @app.action("confirm")
    async def confirm(ack: Any, respond: Any, body: dict[str, Any]) -> None:
        await ack()
        await respond(f"pressed {body['actions'][0]['value']} by {body['user']['id']}")

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        view = {"type": "home", "blocks": [{"type": "divider"}]}
        await client.views_publish(user_id=event["user"], view=view)

    return app


@pytest.fixture
async def bolt_url(fake: SlackFake) -> AsyncIterator[str]:
    app = bolt_app(fake)

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/slack/events"
    await runner.cleanup()


async def test_signed_slash_command_acks_and_responds(fake: SlackFake, bolt_url: str) -> None:
    sent = await fake.slash_command(bolt_url, "/hello", "world", user_id="U0000BOB01")

    assert sent.http is not None and sent.http.status == 200
    assert sent.http.text == "hello <@U0000BOB01>"  # bolt acks a bare string as text/plain
    [post] = await fake.wait_for(lambda: fake.responses(sent.response_url), what="respond")
    assert post.text == "later: world"
    assert len(fake.calls("auth.test")) == 1  # bolt authorizes once, lazily

    await fake.slash_command(bolt_url, "/hello", "again")
    await fake.wait_for(lambda: len(fake.responses()) == 2, what="second respond")
    assert len(fake.calls("auth.test")) == 1


@pytest.mark.parametrize("fault", ["forge", "stale"])
async def test_bad_signature_or_stale_timestamp_is_refused(
    fake: SlackFake, bolt_url: str, fault: str
) -> None:
    sent = await fake.slash_command(bolt_url, "/hello", "x", **{fault: True})
    assert sent.http is not None and sent.http.status == 401
    # Nothing ran: no authorization call, nothing posted to the response_url.
    assert fake.calls() == [] and fake.responses() == []


async def test_button_press_reaches_the_action_listener(fake: SlackFake, bolt_url: str) -> None:
    sent = await fake.press_button(bolt_url, "confirm", "42", user_id="U0000BOB01")
    assert sent.http is not None and sent.http.status == 200
    [post] = await fake.wait_for(lambda: fake.responses(sent.response_url), what="respond")
    assert post.text == "pressed 42 by U0000BOB01"


async def test_events_and_url_verification(fake: SlackFake, bolt_url: str) -> None:
    answer = await fake.url_verification(bolt_url, "challenge-123")
    assert answer.status == 200 and answer.json() == {"challenge": "challenge-123"}

    event = slack_signing.app_home_opened_event("U0000BOB01")
    sent = await fake.send_event(bolt_url, event, event_id="Ev0000000001", retry_num=1)
    assert sent.http is not None and sent.http.status == 200
    await fake.wait_for(lambda: "U0000BOB01" in fake.home_views, what="views.publish")


async def test_response_url_accepts_five_posts(fake: SlackFake) -> None:
    url = fake.mint_response_url()
    async with aiohttp.ClientSession() as session:
        statuses = []
        for i in range(6):
            async with session.post(url, json={"text": str(i)}) as resp:
                statuses.append(resp.status)
    assert statuses == [200] * 5 + [404]
    assert [p.text for p in fake.responses(url)] == ["0", "1", "2", "3", "4"]


# --------------------------------------------------------------------------- Socket Mode


async def test_socket_mode_round_trip(fake: SlackFake) -> None:
    handler = AsyncSocketModeHandler(bolt_app(fake), app_token=APP_TOKEN)
    try:
        await handler.connect_async()
        await fake.wait_for(lambda: fake.socket_open, what="connection")
        [open_call] = fake.calls("apps.connections.open")
        assert open_call.token == APP_TOKEN

        sent = await fake.slash_command(None, "/hello", "over ws", user_id="U0000BOB01")
        ack = await fake.ack_for(sent.envelope_id or "")
        assert ack.payload == {"text": "hello <@U0000BOB01>"}
        [post] = await fake.wait_for(lambda: fake.responses(sent.response_url), what="respond")
        assert post.text == "later: over ws"

        pressed = await fake.press_button(None, "confirm", "7")
        assert (await fake.ack_for(pressed.envelope_id or "")).payload is None
        event = slack_signing.app_home_opened_event("U0000CAROL")
        delivered = await fake.send_event(None, event, retry_num=2)
        await fake.ack_for(delivered.envelope_id or "")
        await fake.wait_for(lambda: "U0000CAROL" in fake.home_views, what="views.publish")

        # Slack asks for a reconnect; the client opens a fresh URL and keeps working.
        await fake.ask_to_reconnect()
        await fake.wait_for(lambda: fake.socket_connections == 2, what="reconnect")
        again = await fake.slash_command(None, "/hello", "after")
        assert (await fake.ack_for(again.envelope_id or "")).payload is not None
    finally:
        await handler.close_async()
