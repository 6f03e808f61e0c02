"""The Discord adapter on a real discord.py client against the fake Discord.

Probe commands (registered only here) make the timing and visibility paths observable:
a handler that waits on an event shows the defer path without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot import metrics
from bot.app import App
from bot.core.commands import Arg, ArgType, CommandSpec, Permission, Visibility
from bot.core.errors import UserError
from bot.core.invocation import MemberRef, Platform
from bot.core.message import Button, Mention, Message, bullets, para, quote
from bot.core.ports import DeliveryError
from bot.core.replies import Reply
from bot.core.targets import Target
from bot.features.meetings.ids import MEETING_ID
from bot.runtime.context import Context
from bot.runtime.feature import Feature, Setup
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake, FakeChannel
from tests.fakes.discord_payloads import FLAG_EPHEMERAL
from tests.scenarios.conftest import fake_resolver
from tests.scenarios.driver import SCENARIO_CONFIG
from tests.scenarios.driver_discord import (
    GENERAL_ID,
    GUILD_ID,
    DiscordDriver,
    discord_driver,
)

ANNOUNCE = SCENARIO_CONFIG["discord"]["announce_channels"][0]
PING_ROLE = SCENARIO_CONFIG["discord"]["announce_ping"]
CALLBACK = "/interactions/{interaction_id}/{token}/callback"


class Probe:
    """State the probe commands share with the test."""

    def __init__(self) -> None:
        self.counted: list[str] = []
        self.said: list[str] = []
        self.gate = asyncio.Event()


PROBE = Probe()


async def _count(ctx: Context) -> Message:
    PROBE.counted.append(ctx.actor.user_id)
    return Message.text(f"counted {len(PROBE.counted)}")


async def _wait(ctx: Context) -> Message:
    await PROBE.gate.wait()
    return Message.text("waited")


async def _fail_late(ctx: Context) -> Message:
    await PROBE.gate.wait()
    raise UserError("That went wrong, politely.")


async def _say(ctx: Context) -> Message:
    PROBE.said.append(ctx.args["text"])
    return Message((para("You said:"), quote(ctx.args["text"])))


async def _meet(ctx: Context) -> Message:
    return Message.text(f"meeting {ctx.args['meeting']}")


async def _act(ctx: Context, rest: str) -> Reply:
    if rest == "slow":
        await PROBE.gate.wait()
    return Reply(Message.text(f"acted on {rest}"), replace=True)


async def _buttons(ctx: Context) -> Message:
    return Message.text("Pick").plus(
        actions=[Button("probe-act:42", "Act"), Button("probe-act:slow", "Slow")]
    )


async def _long(ctx: Context) -> Message:
    rows = [[f"line {i} ", "word " * 40] for i in range(60)]
    return Message((para("Many:"), bullets(rows))).plus(actions=[Button("probe-act:1", "Act")])


async def _opts(ctx: Context) -> Message:
    return Message.text(f"dry-run={ctx.args['dry-run']} from={ctx.args['from']}")


async def _meetings(services: Any, typed: str) -> list[str]:
    return [m for m in ("community", "apac-hours", "contributors") if typed in m]


def _register(setup: Setup) -> None:
    registry = setup.commands
    registry.group("probe", "commands that exist only in Discord adapter tests")
    text = Arg("text", ArgType.TEXT, "what to say", rest=True)
    specs = [
        CommandSpec("probe", ("count",), "count", "/probe count", _count),
        CommandSpec("probe", ("wait",), "wait", "/probe wait", _wait, allow_public=True),
        CommandSpec(
            "probe", ("fail",), "fail", "/probe fail", _fail_late, visibility=Visibility.PUBLIC
        ),
        CommandSpec("probe", ("say",), "say", "/probe say hi", _say, args=(text,)),
        CommandSpec(
            "probe",
            ("meet",),
            "meet",
            "/probe meet community",
            _meet,
            args=(Arg("meeting", MEETING_ID, "which meeting"),),
        ),
        CommandSpec("probe", ("buttons",), "buttons", "/probe buttons", _buttons),
        CommandSpec("probe", ("long",), "long", "/probe long", _long),
        CommandSpec(
            "probe",
            ("opts",),
            "options whose names are not Python names",
            "/probe opts --dry-run --from x",
            _opts,
            options=(
                Arg("dry-run", ArgType.FLAG, "only pretend", required=False),
                Arg("from", ArgType.WORD, "where from", required=False),
            ),
        ),
    ]
    for spec in specs:
        registry.add(spec)
    registry.action("probe-act", _act, Permission.MAINTAINER)
    registry.completer(MEETING_ID, _meetings)


PROBE_FEATURE = Feature("probe", _register)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[DiscordDriver]:
    global PROBE
    PROBE = Probe()
    async with discord_driver(
        tmp_path, SCENARIO_CONFIG, resolver=fake_resolver, extra_features=(PROBE_FEATURE,)
    ) as driver:
        yield driver


async def command(
    bot: DiscordDriver, name: str, as_: str = "olu", iid: int | None = None, **options: Any
) -> int:
    return await bot.fake.send_interaction(
        name,
        user_id=bot.person(as_),
        guild_id=GUILD_ID,
        channel_id=GENERAL_ID,
        options=options,
        interaction_id=iid,
    )


async def test_quick_answer_is_the_callback_itself(bot: DiscordDriver) -> None:
    iid = await command(bot, "probe count")
    reply = await bot.fake.wait_for_reply(iid)
    assert reply["content"] == "counted 1"
    assert reply["flags"] & FLAG_EPHEMERAL
    record = bot.fake.interactions[iid]
    assert record.callback_type == 4
    assert record.callback["data"]["allowed_mentions"] == {"parse": [], "users": [], "roles": []}


async def test_slow_work_defers_with_the_commands_visibility(bot: DiscordDriver) -> None:
    bot.adapter.respond_within = 0.05
    for options, ephemeral in (({}, True), ({"public": True}, False)):
        PROBE.gate.clear()
        iid = await command(bot, "probe wait", **options)
        callback = await bot.fake.wait_for_callback(iid)
        assert callback["type"] == 5
        assert bool(callback.get("data", {}).get("flags", 0) & FLAG_EPHEMERAL) is ephemeral
        assert bot.fake.replies(iid) == []  # still "thinking"
        PROBE.gate.set()
        reply = await bot.fake.wait_for_reply(iid)
        assert reply["content"] == "waited"
        assert bool(reply["flags"] & FLAG_EPHEMERAL) is ephemeral


async def test_an_error_after_a_public_defer_is_private(bot: DiscordDriver) -> None:
    bot.adapter.respond_within = 0.05
    iid = await command(bot, "probe fail")
    await bot.fake.wait_for_callback(iid)
    PROBE.gate.set()
    reply = await bot.fake.wait_for_reply(iid)
    assert reply["content"] == "That went wrong, politely."
    assert reply["flags"] & FLAG_EPHEMERAL
    record = bot.fake.interactions[iid]
    assert bot.fake.messages[record.original_id or 0].deleted  # the public "thinking" one


async def test_redelivered_interaction_has_one_effect(bot: DiscordDriver) -> None:
    iid = await command(bot, "probe count")
    await bot.fake.wait_for_reply(iid)
    await command(bot, "probe count", iid=iid)  # Discord resends the same id
    await bot.fake.wait_for(
        lambda: (
            len(bot.fake.calls("POST", f"/interactions/{iid}/{{token}}/callback")) == 2
            and not bot.adapter.busy
        )
    )
    assert PROBE.counted == [str(bot.person("olu"))]


async def test_resume_after_a_dropped_socket_doubles_nothing(bot: DiscordDriver) -> None:
    first = await command(bot, "probe count")
    await bot.fake.wait_for_reply(first)
    await bot.fake.drop_connection()
    second = await command(bot, "probe count")  # while away: replayed on RESUME
    await bot.fake.wait_for_reply(second)
    await bot.fake.wait_for(lambda: bot.adapter.connected)
    assert len(PROBE.counted) == 2
    assert len(bot.fake.identifies()) == 1 and len(bot.fake.resumes()) == 1


async def test_left_out_free_text_opens_a_multi_line_form(bot: DiscordDriver) -> None:
    iid = await command(bot, "probe say")
    callback = await bot.fake.wait_for_callback(iid)
    assert callback["type"] == 9
    (row,) = callback["data"]["components"]
    field = row["components"][0] if row["type"] == 1 else row["component"]
    assert field["custom_id"] == "text" and field["style"] == 2  # paragraph
    submitted = await bot.fake.submit_modal(iid, {"text": "line one\nline two <@1> @everyone"})
    reply = await bot.fake.wait_for_reply(submitted)
    assert PROBE.said == ["line one\nline two <@1> @everyone"]
    assert bot.fake.messages[int(reply["id"])].pings == {
        "users": [],
        "roles": [],
        "everyone": False,
    }
    assert reply["content"].startswith("You said:\n\n> line one\n> line two")


async def test_autocomplete_offers_the_features_suggestions(bot: DiscordDriver) -> None:
    iid = await bot.fake.send_interaction(
        "probe meet",
        user_id=bot.person("olu"),
        guild_id=GUILD_ID,
        options={"meeting": "co"},
        focused="meeting",
    )
    callback = await bot.fake.wait_for_callback(iid)
    assert callback["type"] == 8
    assert [c["value"] for c in callback["data"]["choices"]] == ["community", "contributors"]
    # The schema carries autocomplete, not choices: data can change without a re-sync.
    (probe,) = [c for c in bot.fake.global_commands if c["name"] == "probe"]
    (meet,) = [o for o in probe["options"] if o["name"] == "meet"]
    assert meet["options"][0]["autocomplete"] is True and "choices" not in meet["options"][0]


async def test_button_presses_recheck_maintainer_roles(bot: DiscordDriver) -> None:
    said = await bot.say("/probe buttons", as_="maya")
    refused = await bot.press(said, "Act", as_="olu")
    assert refused.text.startswith("Only maintainers")
    maya = bot.fake.guilds[GUILD_ID].members[bot.person("maya")]
    roles, maya.roles = maya.roles, []  # the role is taken away after the answer was shown
    refused = await bot.press(said, "Act", as_="maya")
    assert refused.text.startswith("Only maintainers")
    maya.roles = roles
    done = await bot.press(said, "Act", as_="maya")
    assert done.text == "acted on 42"


async def test_deliveries_ping_only_what_they_allow(bot: DiscordDriver) -> None:
    olu = MemberRef(Platform.DISCORD, str(bot.person("olu")), "olu")
    channel = Target.channel(Platform.DISCORD, ANNOUNCE)
    quiet = Message.text("Hero: ", Mention(olu), " @everyone")
    ref = await bot.adapter.send(channel, quiet, nonce="d1a0")
    loud = Message((para("Release day"),), ping=True)
    ref2 = await bot.adapter.send(channel, loud, nonce="d2a0")
    posts = bot.fake.calls("POST", "/channels/{channel_id}/messages")
    assert [p.json["nonce"] for p in posts] == ["d1a0", "d2a0"]
    assert all(p.json["enforce_nonce"] for p in posts)
    assert bot.fake.messages[int(ref)].pings == {
        "users": [int(olu.user_id)],
        "roles": [],
        "everyone": False,
    }
    assert bot.fake.messages[int(ref2)].pings == {
        "users": [],
        "roles": [PING_ROLE],
        "everyone": False,
    }
    # A retried delivery with the same nonce is the same message.
    again = await bot.adapter.send(channel, quiet, nonce="d1a0")
    assert again == ref


async def test_long_deliveries_are_split_and_edited_and_deleted(bot: DiscordDriver) -> None:
    channel = Target.channel(Platform.DISCORD, ANNOUNCE)
    long = Message(tuple(para(f"paragraph {i} " + "x" * 300) for i in range(12)))
    ref = await bot.adapter.send(channel, long, nonce="d3a0")
    ids = [int(i) for i in ref.split(",")]
    assert len(ids) == 2
    assert len({bot.fake.messages[i].payload["nonce"] for i in ids}) == 2
    await bot.adapter.edit(channel, ref, Message.text("short now"))
    assert bot.fake.messages[ids[0]].payload["content"] == "short now"
    assert bot.fake.messages[ids[1]].deleted
    await bot.adapter.delete(channel, ref)
    assert bot.fake.messages[ids[0]].deleted


async def test_direct_messages_and_permanent_failures(bot: DiscordDriver) -> None:
    ana = bot.person("ana")
    ref = await bot.adapter.send(Target.dm(Platform.DISCORD, str(ana)), Message.text("hi"))
    assert bot.fake.messages[int(ref)].payload["channel_id"] == str(bot.fake.dm_channels[ana])
    bot.fake.close_dms(ana)
    with pytest.raises(DeliveryError) as closed:
        await bot.adapter.send(Target.dm(Platform.DISCORD, str(ana)), Message.text("hi"))
    assert closed.value.permanent and "50007" in closed.value.reason
    with pytest.raises(DeliveryError) as gone:
        await bot.adapter.send(Target.channel(Platform.DISCORD, 1234), Message.text("hi"))
    assert gone.value.permanent and "10003" in gone.value.reason


async def test_rate_limits_are_honoured_counted_or_handed_back(bot: DiscordDriver) -> None:
    channel = Target.channel(Platform.DISCORD, ANNOUNCE)
    before = metrics.PLATFORM_RETRIES.labels("discord", "ratelimited")._value.get()
    bot.fake.rate_limit("POST", "/channels/{channel_id}/messages", count=1, retry_after=0.01)
    await bot.adapter.send(channel, Message.text("after one 429"))
    after = metrics.PLATFORM_RETRIES.labels("discord", "ratelimited")._value.get()
    assert after == before + 1
    # A long wait is not slept through while holding a delivery: it comes back to be retried.
    bot.fake.rate_limit("POST", "/channels/{channel_id}/messages", count=1, retry_after=120)
    with pytest.raises(DeliveryError) as limited:
        await bot.adapter.send(channel, Message.text("later"))
    assert not limited.value.permanent and limited.value.retry_after == 120


async def test_start_warns_about_channels_the_bot_cannot_post_in(tmp_path: Path) -> None:
    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    ok, muted, gone = 810000000000000001, 810000000000000002, 810000000000000003
    config = {"discord": {"announce_channels": [ok, muted], "maintainer_channel": gone}}
    async with DiscordFake() as fake:
        fake.add_guild(channels=[FakeChannel(ok, "ok"), FakeChannel(muted, "muted")])
        fake.deny_send(muted)
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            config,
            discord_token=fake.token,
            discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url,
        )
        app = App(settings, http=False, timer=False, resolver=fake_resolver)
        await app.start()
        try:
            warnings = app.channel_warnings
        finally:
            await app.stop()
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old
    assert len(warnings) == 2
    assert f"channel {muted} (announce channel): the bot may not send messages" in warnings[0]
    assert f"channel {gone} (maintainer channel): no such channel" in warnings[1]


async def test_an_unrecoverable_close_takes_readiness_down_and_is_retried(
    bot: DiscordDriver, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 15, item 8: where discord.py gives up, the adapter logs in again with backoff.
    assert bot.adapter.connected
    await bot.fake.drop_connection(code=4004)  # "authentication failed": discord.py gives up
    await bot.fake.wait_for(lambda: not bot.adapter.connected)
    assert await bot.app.ready() is False
    await bot.fake.wait_for(lambda: "closed the connection with code 4004; retrying" in caplog.text)
    await bot.fake.wait_for(lambda: bot.adapter.connected, within=15)
    assert await bot.app.ready() is True


async def test_a_slow_press_is_deferred_then_replaces_the_message(bot: DiscordDriver) -> None:
    said = await bot.say("/probe buttons", as_="maya")
    bot.adapter.respond_within = 0.05
    press = await bot.fake.send_component(
        said.button("Slow"), message_id=said.message_id, user_id=bot.person("maya")
    )
    callback = await bot.fake.wait_for_callback(press)
    assert callback["type"] == 6  # acknowledged, nothing visible changes yet
    PROBE.gate.set()
    pressed = bot.fake.messages[said.message_id]
    await bot.fake.wait_for(lambda: pressed.payload["content"] == "acted on slow")
    assert pressed.payload["components"] == []  # the buttons went with the replaced answer


async def test_meetings_and_surveys_autocomplete_from_the_data(tmp_path: Path) -> None:
    config = {
        **SCENARIO_CONFIG,
        "meetings": [
            {
                "id": "community",
                "name": "Community Meeting",
                "rrule": "FREQ=MONTHLY;BYDAY=-1TH",
                "start": "2026-01-29T09:00",
                "timezone": "America/Los_Angeles",
            },
            {"id": "apac-hours", "name": "APAC hours", "start": "2026-12-03T10:00"},
        ],
        "surveys": [
            {
                "name": "2026 Community Survey",
                "url": "https://example.org/s",
                "closes": "2099-12-31",
            }
        ],
    }
    async with discord_driver(tmp_path, config, resolver=fake_resolver) as driver:

        async def suggest(command: str, option: str, typed: str) -> list[str]:
            iid = await driver.fake.send_interaction(
                command,
                user_id=driver.person("olu"),
                guild_id=GUILD_ID,
                options={option: typed},
                focused=option,
            )
            callback = await driver.fake.wait_for_callback(iid)
            assert callback["type"] == 8
            return [c["value"] for c in callback["data"]["choices"]]

        assert await suggest("meeting subscribe", "meeting", "apac") == ["apac-hours"]
        assert "community" in await suggest("meeting subscribe", "meeting", "")
        assert await suggest("survey stats", "name", "commun") == ["2026 Community Survey"]


async def test_option_names_that_are_not_python_names_keep_their_names(bot: DiscordDriver) -> None:
    (probe,) = [c for c in bot.fake.global_commands if c["name"] == "probe"]
    (opts,) = [o for o in probe["options"] if o["name"] == "opts"]
    # (`yes` is an option of every command: CONTRACT, quality rules.)
    assert [o["name"] for o in opts["options"]] == ["dry-run", "from", "yes"]
    said = await bot.say("/probe opts --dry-run --from mars", as_="olu")
    assert said.text == "dry-run=True from=mars"


async def test_a_long_answer_comes_as_embeds_in_as_few_messages_as_discord_takes(
    bot: DiscordDriver,
) -> None:
    iid = await command(bot, "probe long")
    await bot.fake.wait_for(lambda: bot.fake.interactions[iid].callback and not bot.adapter.busy)
    replies = bot.fake.replies(iid)
    # About 12,600 characters: more than one message's 6,000 characters of embeds, and far
    # fewer messages than the seven that 2,000 characters of content each would take.
    assert len(replies) == 3
    for reply in replies:
        assert reply["flags"] & FLAG_EPHEMERAL and not reply["content"]
        assert 1 <= len(reply["embeds"]) <= 10
        sizes = [
            len(e.get("title") or "") + len(e.get("description") or "") for e in reply["embeds"]
        ]
        assert sum(sizes) <= 6000 and max(sizes) <= 4096
    assert [bool(r["components"]) for r in replies] == [False] * (len(replies) - 1) + [True]
    text = "\n".join(e["description"] for r in replies for e in r["embeds"])
    assert all(f"line {i} " in text for i in range(60))


async def test_stop_finishes_the_answer_in_flight_and_turns_new_commands_away(
    bot: DiscordDriver,
) -> None:
    bot.adapter.respond_within = 0.05
    slow = await command(bot, "probe wait")
    await bot.fake.wait_for_callback(slow)  # deferred, the handler still working
    stopping = asyncio.create_task(bot.app.stop())
    await bot.fake.wait_for(lambda: bot.app.stopping)
    late = await command(bot, "probe count")
    assert (await bot.fake.wait_for_reply(late))["content"].startswith("I'm restarting")
    PROBE.gate.set()
    assert (await bot.fake.wait_for_reply(slow))["content"] == "waited"
    await asyncio.wait_for(stopping, 10)
    assert PROBE.counted == []


async def test_commands_work_in_direct_messages_without_maintainer_rights(
    bot: DiscordDriver,
) -> None:
    maya = bot.person("maya")
    iid = await bot.fake.send_interaction("communitybot timezone", user_id=maya)  # no guild
    reply = await bot.fake.wait_for_reply(iid)
    assert "have not set a time zone" in reply["content"]
    # Roles exist only in a guild: in a DM even a maintainer is just a member.
    audit = await bot.fake.send_interaction("communitybot audit", user_id=maya)
    assert (await bot.fake.wait_for_reply(audit))["content"].startswith("Only maintainers")
