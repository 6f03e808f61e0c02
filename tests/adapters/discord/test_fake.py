"""The fake Discord servers, proven with the real discord.py client connecting to them."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord_gateway import (
    DiscordFake,
    FakeChannel,
    FakeMember,
    FakeRole,
    FakeUser,
)
from tests.fakes.discord_payloads import snowflake

MAINTAINERS = FakeRole(id=snowflake(), name="maintainers", permissions=1 << 5)


@pytest.fixture
async def fake() -> AsyncIterator[DiscordFake]:
    async with DiscordFake() as server:
        yield server


@contextlib.asynccontextmanager
async def running(
    fake: DiscordFake, client: discord.Client, setup: Callable[[], Any] | None = None
) -> AsyncIterator[discord.Client]:
    """Log `client` in and keep it connected to the fake for the duration of the block."""
    # The configuration seam the product itself applies from DISCORD_API_URL/GATEWAY_URL.
    old_base, old_gateway = (
        discord.http.Route.BASE,
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    discord.http.Route.BASE = fake.api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        await client.login(fake.token)
        if setup is not None:
            await setup()
        task = asyncio.create_task(client.connect(reconnect=True))
        try:
            await asyncio.wait_for(client.wait_until_ready(), 5)
            yield client
        finally:
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
            old_base,
            old_gateway,
        )


def guild_with_people(fake: DiscordFake) -> tuple[Any, FakeMember, FakeMember, FakeChannel]:
    mo = FakeMember(user=FakeUser(id=snowflake(), username="mo"), roles=[MAINTAINERS.id])
    olu = FakeMember(user=FakeUser(id=snowflake(), username="olu"))
    general = FakeChannel(id=snowflake(), name="general")
    guild = fake.add_guild(roles=[MAINTAINERS], members=[mo, olu], channels=[general])
    return guild, mo, olu, general


def new_client(**kwargs: Any) -> discord.Client:
    kwargs.setdefault("intents", discord.Intents.default())
    return discord.Client(guild_ready_timeout=0, **kwargs)


async def test_ready_and_guild_create_reach_the_client(fake: DiscordFake) -> None:
    guild, mo, _olu, general = guild_with_people(fake)
    intents = discord.Intents.default()
    intents.members = intents.presences = True
    async with running(fake, new_client(intents=intents)) as client:
        await fake.wait_for(lambda: client.get_guild(guild.id))
        seen = client.get_guild(guild.id)
        assert seen is not None
        assert client.user is not None and client.user.id == fake.bot.id
        assert client.application_id == fake.application_id
        assert seen.get_channel(general.id).name == "general"
        member = seen.get_member(mo.id)
        assert member is not None and [r.id for r in member.roles[1:]] == [MAINTAINERS.id]
    (identify,) = fake.identifies()
    assert identify["intents"] == intents.value and "token" not in identify
    # discord.py asks for zlib-stream and decompresses what the fake sends.
    assert fake.connections[0]["query"]["compress"] == "zlib-stream"


async def test_without_presences_intent_a_guild_lists_only_the_bot(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    async with running(fake, new_client()) as client:
        seen = await fake.wait_for(lambda: client.get_guild(guild.id))
        assert seen.get_member(mo.id) is None
        assert seen.get_member(fake.bot.id) is not None
        assert seen.get_role(MAINTAINERS.id) is not None


async def test_app_command_interaction_gets_a_callback(fake: DiscordFake) -> None:
    guild, mo, olu, general = guild_with_people(fake)
    client = new_client()
    tree = app_commands.CommandTree(client)
    seen: list[tuple[int, list[int], str]] = []
    hero = app_commands.Group(name="hero", description="Community Heroes")

    @hero.command(name="nominate", description="Nominate someone")
    async def nominate(
        interaction: discord.Interaction, member: discord.Member, reason: str
    ) -> None:
        roles = [r.id for r in interaction.user.roles if not r.is_default()]  # type: ignore[union-attr]
        seen.append((member.id, roles, reason))
        await interaction.response.send_message(
            f"Thanks for nominating {member.mention}", ephemeral=True
        )

    tree.add_command(hero, guild=discord.Object(guild.id))
    async with running(fake, client, setup=lambda: tree.sync(guild=discord.Object(guild.id))):
        assert fake.guild_commands[guild.id][0]["name"] == "hero"
        iid = await fake.send_interaction(
            "hero nominate",
            user_id=mo.id,
            guild_id=guild.id,
            channel_id=general.id,
            options={"member": olu.id, "reason": "great docs"},
        )
        reply = await fake.wait_for_reply(iid)
    assert seen == [(olu.id, [MAINTAINERS.id], "great docs")]
    assert reply["content"] == f"Thanks for nominating <@{olu.id}>"
    assert reply["flags"] & 64  # ephemeral
    assert fake.interactions[iid].callback_type == 4
    (callback,) = fake.calls("POST", "/interactions/{interaction_id}/{token}/callback")
    assert callback.query == {"with_response": "1"} and callback.status == 200


async def test_defer_then_follow_up_fills_the_thinking_message(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    client = new_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="slow", description="Takes a while")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Asking for a public follow-up does not change the defer's visibility.
        await interaction.followup.send("done", ephemeral=False)
        await interaction.followup.send("and more")

    async with running(fake, client, setup=tree.sync):
        iid = await fake.send_interaction("slow", user_id=mo.id, guild_id=guild.id)
        await fake.wait_for(lambda: len(fake.replies(iid)) == 2)
    first, second = fake.replies(iid)
    assert (first["content"], first["flags"]) == ("done", 64)
    assert (second["content"], second["flags"]) == ("and more", 0)
    assert fake.interactions[iid].callback_type == 5


async def test_button_press_and_modal_round_trip(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    client = new_client()
    tree = app_commands.CommandTree(client)
    pressed: list[int] = []
    submitted: list[str] = []

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Confirm", custom_id="announce:confirm")
        async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
            pressed.append(interaction.user.id)
            await interaction.response.edit_message(content="Posted.", view=None)

    class Text(discord.ui.Modal, title="Announcement"):
        text = discord.ui.TextInput(
            label="Text", style=discord.TextStyle.paragraph, custom_id="text"
        )

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted.append(self.text.value)
            await interaction.response.send_message("Preview", view=Confirm(), ephemeral=True)

    @tree.command(name="announce", description="Announce")
    async def announce(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Text())

    async with running(fake, client, setup=tree.sync):
        opened = await fake.send_interaction("announce", user_id=mo.id, guild_id=guild.id)
        await fake.wait_for_callback(opened)
        submit = await fake.submit_modal(opened, {"text": "line one\nline two"})
        preview = await fake.wait_for_reply(submit)
        assert preview["components"][0]["components"][0]["custom_id"] == "announce:confirm"
        press = await fake.send_component(
            "announce:confirm", message_id=int(preview["id"]), user_id=mo.id
        )
        await fake.wait_for(lambda: fake.messages[int(preview["id"])].edits == 1)
    assert submitted == ["line one\nline two"]
    assert pressed == [mo.id]
    assert fake.interactions[press].callback_type == 7
    assert fake.messages[int(preview["id"])].payload["content"] == "Posted."


async def test_autocomplete_is_answered_with_choices(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    client = new_client()
    tree = app_commands.CommandTree(client)

    async def meetings(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["community", "apac-hours"]
        return [app_commands.Choice(name=n, value=n) for n in names if current in n]

    @tree.command(name="subscribe", description="Subscribe")
    @app_commands.autocomplete(meeting=meetings)
    async def subscribe(interaction: discord.Interaction, meeting: str) -> None:
        await interaction.response.send_message(meeting)

    async with running(fake, client, setup=tree.sync):
        iid = await fake.send_interaction(
            "subscribe",
            user_id=mo.id,
            guild_id=guild.id,
            options={"meeting": "apac"},
            focused="meeting",
        )
        callback = await fake.wait_for_callback(iid)
    assert callback == {
        "type": 8,
        "data": {"choices": [{"name": "apac-hours", "value": "apac-hours"}]},
    }


async def test_rate_limited_calls_are_retried(fake: DiscordFake) -> None:
    guild, mo, _olu, general = guild_with_people(fake)
    fake.rate_limit("POST", "/channels/{channel_id}/messages", count=2, retry_after=0.01)
    fake.rate_limit("POST", "/interactions/{interaction_id}/{token}/callback", retry_after=0.01)
    client = new_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with running(fake, client, setup=tree.sync):
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("hello", allowed_mentions=discord.AllowedMentions.none())
        iid = await fake.send_interaction("ping", user_id=mo.id, guild_id=guild.id)
        await fake.wait_for_reply(iid)
    posts = fake.calls("POST", "/channels/{channel_id}/messages")
    assert [c.status for c in posts] == [429, 429, 200]
    assert posts[-1].json["allowed_mentions"] == {"parse": []}
    assert fake.channel_messages(general.id)[0]["id"] == str(sent.id)
    callbacks = fake.calls("POST", "/interactions/{interaction_id}/{token}/callback")
    assert [c.status for c in callbacks] == [429, 200]


async def test_server_errors_are_retried_and_permanent_errors_raise(fake: DiscordFake) -> None:
    _guild, _mo, olu, general = guild_with_people(fake)
    fake.server_error("POST", f"/channels/{general.id}/messages")
    fake.close_dms(olu.id)
    async with running(fake, new_client()) as client:
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("after a 500")
        with pytest.raises(discord.NotFound) as unknown:
            await client.http.send_message(snowflake(), params=_params("lost"))
        dm = await client.create_dm(discord.Object(olu.id))  # type: ignore[arg-type]
        with pytest.raises(discord.Forbidden) as closed:
            await dm.send("hi")
        fake.missing_access(f"/channels/{general.id}/messages")
        with pytest.raises(discord.Forbidden) as missing:
            await channel.send("again")
    assert unknown.value.code == 10003
    assert closed.value.code == 50007
    assert missing.value.code == 50001
    statuses = [c.status for c in fake.calls("POST", f"/channels/{general.id}/messages")]
    assert statuses == [500, 200, 403]


def _params(content: str) -> Any:
    return discord.http.handle_message_parameters(content=content)


async def test_enforce_nonce_returns_the_first_message(fake: DiscordFake) -> None:
    _guild, _mo, _olu, general = guild_with_people(fake)
    url = f"{fake.api_url}/channels/{general.id}/messages"
    headers = {"Authorization": f"Bot {fake.token}"}
    body = {"content": "once", "nonce": "abc", "enforce_nonce": True}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(url, json=body) as first:
            assert first.headers["Content-Type"] == "application/json"
            one = await first.json()
        async with http.post(url, json=body) as second:
            two = await second.json()
        async with http.post(url, json=body | {"enforce_nonce": False}) as third:
            three = await third.json()
    assert one["id"] == two["id"] != three["id"]
    assert len(fake.channel_messages(general.id)) == 2


async def test_pings_follow_allowed_mentions(fake: DiscordFake) -> None:
    _guild, _mo, olu, general = guild_with_people(fake)
    content = f"<@{olu.id}> <@&{MAINTAINERS.id}> @everyone"
    async with running(fake, new_client()) as client:
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        quiet = await channel.send(content, allowed_mentions=discord.AllowedMentions.none())
        role_only = discord.AllowedMentions(everyone=False, users=False, roles=[MAINTAINERS])
        loud = await channel.send(content, allowed_mentions=role_only)
    assert fake.messages[quiet.id].pings == {"users": [], "roles": [], "everyone": False}
    assert fake.messages[loud.id].pings == {
        "users": [],
        "roles": [MAINTAINERS.id],
        "everyone": False,
    }


async def test_dropped_socket_resumes_and_replays_missed_events(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    client = new_client()
    tree = app_commands.CommandTree(client)
    handled: list[int] = []
    resumed = asyncio.Event()

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    @tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        handled.append(interaction.id)
        await interaction.response.send_message("pong")

    async with running(fake, client, setup=tree.sync):
        assert await fake.drop_connection() == 1
        # Sent while the bot is away: buffered, then replayed on RESUME.
        iid = await fake.send_interaction("ping", user_id=mo.id, guild_id=guild.id)
        await fake.wait_for_reply(iid)
        await asyncio.wait_for(resumed.wait(), 5)
    assert handled == [iid]
    assert len(fake.identifies()) == 1
    (resume,) = fake.resumes()
    assert resume["session_id"] and "token" not in resume
    assert fake.connections[-1]["path"] == "/resume/"


async def test_redelivered_interaction_cannot_be_answered_twice(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    client = new_client()
    tree = app_commands.CommandTree(client)
    errors: list[int | None] = []

    @tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("pong")
        except discord.HTTPException as exc:
            errors.append(exc.code)

    async with running(fake, client, setup=tree.sync):
        iid = await fake.send_interaction("ping", user_id=mo.id, guild_id=guild.id)
        await fake.wait_for_reply(iid)
        again = await fake.send_interaction(
            "ping", user_id=mo.id, guild_id=guild.id, interaction_id=iid
        )
        await fake.wait_for(lambda: errors)
    assert again == iid
    assert errors == [40060]


async def test_late_callback_is_unknown_interaction(fake: DiscordFake) -> None:
    guild, mo, _olu, _general = guild_with_people(fake)
    fake.callback_deadline = 0.0
    client = new_client()
    tree = app_commands.CommandTree(client)
    errors: list[int | None] = []

    @tree.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("pong")
        except discord.NotFound as exc:
            errors.append(exc.code)

    async with running(fake, client, setup=tree.sync):
        await fake.send_interaction("ping", user_id=mo.id, guild_id=guild.id)
        await fake.wait_for(lambda: errors)
    assert errors == [10062]


async def test_shards_split_guilds_and_interactions(fake: DiscordFake) -> None:
    # Guild ids chosen so that (id >> 22) % 2 puts one on each shard.
    even = fake.add_guild(id=(1000 << 22), name="even", channels=[FakeChannel(snowflake(), "a")])
    odd = fake.add_guild(id=(1001 << 22), name="odd", channels=[FakeChannel(snowflake(), "b")])
    member = FakeMember(user=fake.add_user("mo"))
    even.members[member.id] = odd.members[member.id] = member
    got: dict[int, list[int | None]] = {0: [], 1: []}
    clients = []
    for shard in (0, 1):
        client = new_client(shard_id=shard, shard_count=2)

        @client.event
        async def on_interaction(interaction: discord.Interaction, shard: int = shard) -> None:
            got[shard].append(interaction.guild_id)

        clients.append(client)
    async with running(fake, clients[0]) as zero, running(fake, clients[1]) as one:
        assert [g.id for g in zero.guilds] == [even.id]
        assert [g.id for g in one.guilds] == [odd.id]
        fake.global_commands = [{"id": "1", "name": "ping", "type": 1, "description": "Ping"}]
        await fake.send_interaction("ping", user_id=member.id, guild_id=odd.id)
        await fake.send_interaction("ping", user_id=member.id, guild_id=even.id)
        await fake.wait_for(lambda: got[0] and got[1])
    assert got == {0: [even.id], 1: [odd.id]}
    assert sorted(tuple(i["shard"]) for i in fake.identifies()) == [(0, 2), (1, 2)]


async def test_invalid_commands_are_refused_like_discord(fake: DiscordFake) -> None:
    async with running(fake, new_client()) as client:
        too_long = [{"name": "hero", "description": "x" * 101, "type": 1}]
        with pytest.raises(discord.HTTPException) as refused:
            await client.http.bulk_upsert_global_commands(fake.application_id, too_long)
        options = [{"name": f"o{i}", "description": "d", "type": 3} for i in range(26)]
        with pytest.raises(discord.HTTPException):
            await client.http.bulk_upsert_global_commands(
                fake.application_id, [{"name": "big", "description": "d", "options": options}]
            )
    assert refused.value.status == 400 and refused.value.code == 50035
    assert fake.global_commands == []


async def test_multipart_requests_are_recorded_with_their_payload_json(fake: DiscordFake) -> None:
    _guild, _mo, _olu, general = guild_with_people(fake)
    async with running(fake, new_client()) as client:
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("with a file", file=discord.File(io.BytesIO(b"hello"), "notes.txt"))
    (call,) = fake.calls("POST", "/channels/{channel_id}/messages")
    assert call.json["content"] == "with a file"
    assert call.files == ["notes.txt"]


async def test_a_requested_reconnect_resumes_the_session(fake: DiscordFake) -> None:
    guild, _mo, _olu, _general = guild_with_people(fake)
    async with running(fake, new_client()):
        await fake.request_reconnect()
        await fake.wait_for(lambda: len(fake.resumes()) == 1)
        await fake.wait_for(lambda: fake.connected_shards() == [(0, 1)])
    assert len(fake.identifies()) == 1
    assert fake.connections[-1]["path"] == "/resume/"
    assert guild.id in fake.guilds
