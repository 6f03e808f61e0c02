"""The Slack adapter in a running bot, over real HTTP (and Socket Mode) against the Slack fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import metrics
from bot.adapters.slack.adapter import STILL_WORKING, SlackAdapter, SlackConfigError
from bot.adapters.slack.people import slack_member
from bot.app import App
from bot.core.commands import CommandSpec
from bot.core.invocation import MemberRef, Platform
from bot.core.message import Message, Time, message, para
from bot.core.ports import DeliveryError
from bot.core.targets import Target
from bot.runtime.context import Context
from bot.runtime.feature import Feature, Setup
from bot.store.models import InboundEvent, Member
from tests.conftest import make_settings
from tests.fakes import slack_signing
from tests.fakes.slack_api import SlackFake

BOT_TOKEN = "xoxb-adapter-test"
APP_TOKEN = "xapp-1-adapter-test"
CONFIG: dict[str, Any] = {
    "community": {"name": "Adapter Community", "timezone": "America/Los_Angeles"},
    "slack": {
        "maintainers": ["UMAYA"],
        "maintainer_usergroups": ["SMAINTS"],
        "announce_channels": ["CANNOUNCE"],
        "announce_ping": "here",
    },
}

# A command that takes its time, to exercise the ack budget.
RELEASE = asyncio.Event()


async def _slow(ctx: Context) -> Message:
    await RELEASE.wait()
    return Message.text("slow answer")


def _register_slow(setup: Setup) -> None:
    registry, kinds = setup.commands, setup.kinds
    del kinds
    registry.group("slow", "a command that waits")
    registry.add(CommandSpec("slow", ("wait",), "waits", "/slow wait", _slow, audited=False))


SLOW = Feature("slow", _register_slow)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    fake: SlackFake,
    *,
    config: dict[str, Any] = CONFIG,
    socket_mode: bool = False,
    features: Sequence[Feature] = (),
) -> AsyncIterator[tuple[App, SlackAdapter, str]]:
    env: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_api_url": fake.api_url.rstrip("/"),  # the adapter adds the slash slack_sdk needs
        "http_port": 0,
    }
    if socket_mode:
        env["slack_app_token"] = APP_TOKEN
    else:
        env["slack_signing_secret"] = fake.signing_secret
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", config, **env)
    app = App(settings, timer=False, extra_features=features)
    await app.start()
    adapter = app.adapters[Platform.SLACK]
    assert isinstance(adapter, SlackAdapter)
    try:
        yield app, adapter, f"http://127.0.0.1:{app.http_port}/slack/events"
    finally:
        await app.stop()


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as f:
        f.set_usergroup("SMAINTS", ["URAJ"])
        yield f


@pytest.fixture
async def bot(tmp_path: Path, fake: SlackFake) -> AsyncIterator[tuple[App, SlackAdapter, str]]:
    async with running_bot(tmp_path, fake) as running:
        yield running


async def member_zone(app: App, user_id: str) -> str | None:
    async with app.db.sessions() as session:
        return await session.scalar(
            select(Member.timezone).where(Member.platform_user_id == user_id)
        )


def ack_json(sent: Any) -> dict[str, Any]:
    assert sent.http is not None and sent.http.status == 200, sent.http
    return json.loads(sent.http.text)


# --------------------------------------------------------------------------- commands


async def test_persist_then_ack(bot: tuple[App, SlackAdapter, str], fake: SlackFake) -> None:
    app, _, url = bot
    sent = await fake.slash_command(url, "/communitybot", "timezone Europe/Berlin", user_id="UOLU")
    body = ack_json(sent)
    # The change is in the database by the time the ack arrives: no waiting needed.
    assert await member_zone(app, "UOLU") == "Europe/Berlin"
    assert body["response_type"] == "ephemeral"
    assert "Europe/Berlin" in body["text"]
    assert body["text"].count("<!date^") == 1  # the time is a Slack date token
    assert "Sun" in body["text"] or "CET" in body["text"] or "CEST" in body["text"]


@pytest.mark.parametrize("fault", ["forge", "stale"])
async def test_bad_signature_or_stale_request_writes_nothing(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake, fault: str
) -> None:
    app, _, url = bot
    sent = await fake.slash_command(
        url, "/communitybot", "timezone Europe/Berlin", user_id="UOLU", **{fault: True}
    )
    assert sent.http is not None and sent.http.status == 401
    async with app.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0
        assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 0
    assert fake.responses() == []


async def test_user_text_cannot_ping(bot: tuple[App, SlackAdapter, str], fake: SlackFake) -> None:
    _, _, url = bot
    typed = "&lt;!channel&gt; <!here> <@UMAYA> <!subteam^SMAINTS>"
    body = ack_json(await fake.slash_command(url, "/communitybot", f"timezone {typed}"))
    rendered = body["text"] + json.dumps(body["blocks"])
    for live in ("<!channel>", "<!here>", "<@UMAYA>", "<!subteam^"):
        assert live not in rendered


async def test_refusal_is_ephemeral_and_usergroups_make_maintainers(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    _, _, url = bot
    refused = ack_json(await fake.slash_command(url, "/communitybot", "audit", user_id="UOLU"))
    assert refused["response_type"] == "ephemeral"
    assert refused["text"].startswith("Only maintainers can use")
    # URAJ is a maintainer through the SMAINTS user group; UMAYA by user id.
    for user in ("URAJ", "UMAYA", "URAJ"):
        answer = ack_json(await fake.slash_command(url, "/communitybot", "audit", user_id=user))
        assert not answer["text"].startswith("Only maintainers")
    # The group was listed once, at start, and then served from the cache.
    assert len(fake.calls("usergroups.users.list")) == 1
    audit = ack_json(await fake.slash_command(url, "/communitybot", "audit", user_id="UMAYA"))
    assert "refused" in audit["text"] or "denied" in audit["text"]


async def test_long_answers_follow_through_respond(tmp_path: Path, fake: SlackFake) -> None:
    async def many(ctx: Context) -> Message:
        return message(*[para(f"line {i} " + "x" * 150) for i in range(120)])

    def register(setup: Setup) -> None:
        registry = setup.commands
        registry.group("many", "a long answer")
        registry.add(CommandSpec("many", ("lines",), "long", "/many lines", many, audited=False))

    async with running_bot(tmp_path, fake, features=[Feature("many", register)]) as (
        _,
        adapter,
        url,
    ):
        sent = await fake.slash_command(url, "/many", "lines")
        first = ack_json(sent)
        await adapter.drain()
        rest = [p.body for p in fake.responses(sent.response_url)]
    assert rest, "the remainder follows through the response_url"
    assert len(rest) <= 4  # a response_url takes five posts, the ack is the first answer
    bodies = [first, *rest]
    assert all(len(b["text"]) <= 4000 and len(b["blocks"]) <= 50 for b in bodies)
    joined = "\n".join(block["text"]["text"] for b in bodies for block in b["blocks"])
    assert all(joined.count(f"line {i} ") == 1 for i in range(120))


async def test_slow_command_acks_in_time_and_answers_later(tmp_path: Path, fake: SlackFake) -> None:
    RELEASE.clear()
    async with running_bot(tmp_path, fake, features=[SLOW]) as (_, adapter, url):
        adapter.ack_budget = 0.05
        sent = await fake.slash_command(url, "/slow", "wait")
        assert ack_json(sent)["text"] == STILL_WORKING
        RELEASE.set()
        [post] = await fake.wait_for(lambda: fake.responses(sent.response_url), what="answer")
        assert post.text == "slow answer"


async def test_renamed_command(tmp_path: Path, fake: SlackFake) -> None:
    config = {**CONFIG, "slack": {**CONFIG["slack"], "commands": {"communitybot": "cb"}}}
    async with running_bot(tmp_path, fake, config=config) as (_, _, url):
        body = ack_json(await fake.slash_command(url, "/cb", "help"))
        assert "/cb help" in body["text"] and "/communitybot help" not in body["text"]
        unknown = await fake.slash_command(url, "/communitybot", "help")
        assert unknown.http is not None and unknown.http.status == 404


# --------------------------------------------------------------------------- events


async def test_url_verification(bot: tuple[App, SlackAdapter, str], fake: SlackFake) -> None:
    answer = await fake.url_verification(bot[2], "the-challenge")
    assert answer.status == 200 and answer.json() == {"challenge": "the-challenge"}


async def test_one_event_delivered_four_times_has_one_effect(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    app, adapter, url = bot
    event = slack_signing.app_home_opened_event("UOLU")
    for retry in (None, 1, 2, 3):
        sent = await fake.send_event(url, event, event_id="Ev0DUPLICATE", retry_num=retry)
        assert sent.http is not None and sent.http.status == 200
    await adapter.drain()
    [publish] = fake.calls("views.publish")
    assert publish.ok, publish.response  # the fake validates the view as Slack would
    view = publish.args["view"]
    assert view["type"] == "home"
    text = json.dumps(view)
    assert "Adapter Community" in text and "communitybot help" in text
    if app.services.registry.find("meeting", ("next",)) is not None:
        assert "Next meeting" in text
    if app.services.registry.find("hero", ("nominate",)) is not None:
        assert "/hero nominate" in text
    # A different event id is a new event.
    await fake.send_event(url, event, event_id="Ev0SECOND")
    await adapter.drain()
    assert len(fake.calls("views.publish")) == 2


# --------------------------------------------------------------------------- Socket Mode


async def test_socket_mode_commands_and_buttons(tmp_path: Path, fake: SlackFake) -> None:
    async with running_bot(tmp_path, fake, socket_mode=True) as (app, adapter, url):
        assert adapter.connected and await app.ready()
        [open_call] = fake.calls("apps.connections.open")
        assert open_call.token == APP_TOKEN
        sent = await fake.slash_command(None, "/communitybot", "help", user_id="UOLU")
        ack = await fake.ack_for(sent.envelope_id or "")
        assert ack.payload is not None and "/communitybot help" in ack.payload["text"]
        # No HTTP endpoint in Socket Mode.
        http = await fake.slash_command(url, "/communitybot", "help")
        assert http.http is not None and http.http.status == 404

        pressed = await fake.press_button(None, "confirm:nonexistent", user_id="UMAYA")
        await fake.ack_for(pressed.envelope_id or "")
        await adapter.drain()
        [post] = await fake.wait_for(lambda: fake.responses(pressed.response_url), what="respond")
        assert "expired or was already used" in post.text


async def test_oauth_variables_are_refused(
    tmp_path: Path, fake: SlackFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    with pytest.raises(SlackConfigError, match="OAuth"):
        async with running_bot(tmp_path, fake):
            pass


# --------------------------------------------------------------------------- deliveries


async def test_send_edit_delete(bot: tuple[App, SlackAdapter, str], fake: SlackFake) -> None:
    app, adapter, _ = bot
    ref = await adapter.send(Target.channel(Platform.SLACK, "CANNOUNCE"), Message.text("v1"))
    channel, _, _ = ref.partition("/")
    assert channel == "CANNOUNCE" and [m.text for m in fake.posted("CANNOUNCE")] == ["v1"]
    await adapter.edit(Target.channel(Platform.SLACK, "CANNOUNCE"), ref, Message.text("v2"))
    assert [m.text for m in fake.posted("CANNOUNCE")] == ["v2"]
    await adapter.delete(Target.channel(Platform.SLACK, "CANNOUNCE"), ref)
    assert fake.posted("CANNOUNCE") == []

    # A direct message opens the DM once and writes times in the zone the runner gives (the
    # reader's own; tests/test_scheduler_runner.py checks the runner passes it).
    when = Message.text("Starts ", Time(app.services.clock(), "America/Los_Angeles"))
    await adapter.send(Target.dm(Platform.SLACK, "UANA"), when, zone="Asia/Tokyo")
    await adapter.send(Target.dm(Platform.SLACK, "UANA"), Message.text("again"))
    assert len(fake.calls("conversations.open")) == 1
    dm = fake.posted(fake.dm_channel("UANA"))
    assert "JST" in dm[0].text and dm[1].text == "again"


async def test_announce_ping_only_when_asked(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    _, adapter, _ = bot
    target = Target.channel(Platform.SLACK, "CANNOUNCE")
    await adapter.send(target, message(para("Release <!channel>"), ping=True))
    await adapter.send(target, message(para("Quiet")))
    loud, quiet = fake.posted("CANNOUNCE")
    assert loud.text.startswith("<!here>") and "<!channel>" not in loud.text
    assert "<!" not in quiet.text


def retries(reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "communitybot_platform_retries_total", {"platform": "slack", "reason": reason}
    )
    return value or 0.0


async def test_transient_errors_are_retried_and_counted(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    _, adapter, _ = bot
    target = Target.channel(Platform.SLACK, "CANNOUNCE")
    before = {r: retries(r) for r in ("ratelimited", "server_error", "connection_error")}
    fake.inject_rate_limit("chat.postMessage", retry_after=0, times=1)
    fake.inject_server_error("chat.postMessage", times=1)
    fake.inject_disconnect("chat.postMessage", times=1)
    await adapter.send(target, Message.text("through"))
    statuses = [c.status for c in fake.calls("chat.postMessage")]
    assert statuses == [429, 500, 0, 200]
    assert [m.text for m in fake.posted("CANNOUNCE")] == ["through"]
    for reason in before:
        assert retries(reason) == before[reason] + 1, reason


async def test_long_retry_after_and_permanent_errors_are_not_retried_in_line(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    _, adapter, _ = bot
    fake.inject_rate_limit("chat.postMessage", retry_after=30, times=1)
    with pytest.raises(DeliveryError) as err:
        await adapter.send(Target.channel(Platform.SLACK, "CANNOUNCE"), Message.text("x"))
    assert not err.value.permanent and err.value.retry_after == 30

    for error in ("channel_not_found", "not_in_channel", "is_archived"):
        fake.clear()
        fake.inject_channel_error("CGONE", error)
        with pytest.raises(DeliveryError) as err:
            await adapter.send(Target.channel(Platform.SLACK, "CGONE"), Message.text("x"))
        assert err.value.permanent and err.value.reason == error
        assert len(fake.calls("chat.postMessage")) == 1  # never retried
        fake.clear_faults()


async def test_start_up_channel_check(tmp_path: Path, fake: SlackFake) -> None:
    fake.inject_channel_error("CANNOUNCE", "channel_not_found")
    async with running_bot(tmp_path, fake) as (app, _, _):
        [warning] = app.channel_warnings
        assert "CANNOUNCE" in warning and "invite" in warning


# --------------------------------------------------------------------------- pieces


def test_member_parser() -> None:
    assert slack_member("<@U012ABC>") == MemberRef(Platform.SLACK, "U012ABC", "")
    assert slack_member("<@W012ABC|olu>") == MemberRef(Platform.SLACK, "W012ABC", "olu")
    for bad in ("@olu", "U012ABC", "<@C012ABC>", "<!here>", "<@U012ABC"):
        assert slack_member(bad) is None


async def test_usergroup_cache_expires_and_survives_failures(fake: SlackFake) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.adapters.slack.people import UserGroups

    now = [0.0]
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    groups = UserGroups(client, ["SMAINTS", "SOTHERS"], ttl=60, clock=lambda: now[0])
    fake.set_usergroup("SOTHERS", ["UOLU"])
    assert await groups.groups_of("URAJ") == {"SMAINTS"}
    assert await groups.groups_of("UOLU") == {"SOTHERS"}
    assert len(fake.calls("usergroups.users.list")) == 2  # one per group, then cached

    # Past the expiry the stale answer is served at once and a refresh runs behind it.
    fake.set_usergroup("SMAINTS", ["UANA"])
    now[0] = 61.0
    assert await groups.groups_of("URAJ") == {"SMAINTS"}
    await fake.wait_for(lambda: len(fake.calls("usergroups.users.list")) == 4, what="refresh")
    assert await fake.wait_for(lambda: groups._members["SMAINTS"] == {"UANA"}, what="stored")
    assert await groups.groups_of("URAJ") == frozenset()

    # A failed refresh keeps the last known members instead of demoting everyone.
    fake.inject_error("ratelimited", method="usergroups.users.list", times=2)
    now[0] = 200.0
    await groups.refresh()
    assert await groups.groups_of("UANA") == {"SMAINTS"}
    await groups.close()


async def test_archived_announce_channel_is_reported(tmp_path: Path, fake: SlackFake) -> None:
    fake.add_channel("CANNOUNCE", "announce", is_archived=True)
    async with running_bot(tmp_path, fake) as (app, _, _):
        [warning] = app.channel_warnings
        assert "archived" in warning


async def test_announcement_pings_only_the_configured_target(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    app, adapter, url = bot
    if app.services.registry.find("announce", ("post",)) is None:
        pytest.skip("announcements are not registered")
    # What a Slack client sends when someone types `<!channel>` and `<@UOLU>` as text.
    typed = "--yes --ping Release &lt;!channel&gt; &lt;@UOLU&gt; <!everyone> &amp; more"
    said = ack_json(await fake.slash_command(url, "/announce", typed, user_id="UMAYA"))
    assert said["response_type"] == "ephemeral"
    await app.run_due()
    await adapter.drain()
    [post] = [m for m in fake.posted("CANNOUNCE") if "Release" in m.text]
    rendered = post.text + json.dumps(post.blocks)
    assert post.text.startswith("<!here>")  # announce_ping = "here", asked for with --ping
    for live in ("<!channel>", "<@UOLU>", "<!everyone>"):
        assert live not in rendered
    assert "&lt;!channel&gt;" in post.text and "&amp; more" in post.text


async def test_named_members_get_their_slack_name_and_bots_are_known(
    bot: tuple[App, SlackAdapter, str], fake: SlackFake
) -> None:
    # `<@U…>` carries no name; the adapter asks users.info so the nominee is known by name,
    # and a bot user cannot be nominated.
    app, _, url = bot
    fake.add_user("UANA", "ana", real_name="Ana Lopez")
    fake.add_user("UHELPER", "helperbot", is_bot=True)
    sent = await fake.slash_command(url, "/hero", "nominate <@UANA> for the docs", user_id="UOLU")
    body = ack_json(sent)
    assert "Thank you" in body["text"], body
    sent = await fake.slash_command(url, "/hero", "nominate <@UHELPER> beep", user_id="UOLU")
    assert "bot" in ack_json(sent)["text"].lower()
    async with app.db.sessions() as session:
        names = dict(
            (await session.execute(select(Member.platform_user_id, Member.display_name))).all()
        )
    assert names["UANA"] == "ana"  # the profile's display name, kept for the hall of fame
    assert "UHELPER" not in names  # the refused nomination wrote nothing
    assert len(fake.calls("users.info")) == 2
    await fake.slash_command(url, "/hero", "nominate <@UANA> again, cached", user_id="UMO")
    assert len(fake.calls("users.info")) == 2
