"""The Discord command schema: within Discord's limits, registered by `communitybot discord sync`
over REST only, and re-synced on start only when it changed."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands

from bot.adapters.discord.tree import (
    MAX_DESCRIPTION,
    install,
    limit_problems,
    opens_form,
    schema,
)
from bot.app import App, build_registries
from bot.core.commands import Arg, ArgType, CommandSpec, Registry
from bot.core.invocation import Platform
from bot.runtime.feature import Feature, Setup
from tests.conftest import make_settings
from tests.fakes.discord_gateway import DiscordFake
from tests.scenarios.conftest import fake_resolver

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


async def _unused(*_: Any) -> Any:
    raise AssertionError("not run")


def real_schema() -> tuple[Registry, list[dict[str, Any]]]:
    registry, _ = build_registries()
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    install(tree, registry, _unused, _unused)
    return registry, schema(tree)


@pytest.fixture
async def fake() -> AsyncIterator[DiscordFake]:
    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with DiscordFake() as server:
        yield server
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


def _leaves(node: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], dict]:
    subs = [o for o in node.get("options") or [] if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if not subs:
        return {path: node}
    out: dict[tuple[str, ...], dict] = {}
    for sub in subs:
        out |= _leaves(sub, (*path, sub["name"]))
    return out


def test_every_registered_command_fits_discords_limits_and_contract_names() -> None:
    registry, payload = real_schema()
    assert payload, "the registry registers commands"
    assert limit_problems(payload) == []
    leaves = {(c["name"], *p): leaf for c in payload for p, leaf in _leaves(c).items()}
    for spec in registry.specs():
        path = spec.path or registry.groups[spec.command].default
        assert path, f"/{spec.name} has no Discord spelling"
        leaf = leaves[(spec.command, *path)]
        options = {o["name"]: o for o in leaf.get("options") or []}
        # Every argument and --option is an option of the same name (CONTRACT).
        assert set(options) == {a.name for a in (*spec.args, *spec.all_options)}
        for arg in (*spec.args, *spec.all_options):
            option = options[arg.name]
            assert len(option["description"]) <= MAX_DESCRIPTION
            expected = {ArgType.MEMBER: 6, ArgType.FLAG: 5, ArgType.INT: 4}.get(arg.type, 3)
            assert option["type"] == expected, (spec.name, arg.name)
            if option["type"] == 3 and arg.type is not ArgType.CHOICE:
                assert 1 <= option["max_length"] <= 6000
            if arg.type is ArgType.CHOICE:
                assert [c["value"] for c in option["choices"]] == list(arg.choices)
            required = arg in spec.args and arg.required and not opens_form(arg)
            assert option.get("required", False) is required


def test_limit_problems_names_what_discord_would_refuse() -> None:
    too_many = [{"name": f"o{i}", "description": "d", "type": 3} for i in range(26)]
    wordy = [{"name": f"o{i}", "description": "d" * 100, "type": 3} for i in range(25)]
    payload = [
        {"name": "x" * 33, "description": "ok"},
        {"name": "Caps", "description": "d" * 101},
        {"name": "wide", "description": "d", "options": too_many},
        {
            "name": "huge",
            "description": "d",
            "options": [
                {"name": f"s{i}", "description": "d" * 100, "type": 1, "options": wordy}
                for i in range(4)
            ],
        },
    ]
    problems = limit_problems(payload)
    assert any("/xxxx" in p and "name" in p for p in problems)
    assert any("/Caps" in p and "name" in p for p in problems)
    assert any("/Caps" in p and "description" in p for p in problems)
    assert any("/wide" in p and "26 options" in p for p in problems)
    assert any("/huge" in p and "characters" in p for p in problems)


def test_long_descriptions_are_cut_to_fit() -> None:
    registry = Registry()
    registry.group("long", "g" * 300)
    registry.add(
        CommandSpec(
            "long",
            ("cmd",),
            "s" * 300,
            "/long cmd",
            _unused,
            args=(Arg("thing", ArgType.WORD, "h" * 300),),
        )
    )
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    install(tree, registry, _unused, _unused)
    assert limit_problems(schema(tree)) == []


async def test_cli_sync_registers_over_rest_without_the_gateway(
    fake: DiscordFake, tmp_path: Path
) -> None:
    guild = fake.add_guild()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "COMMUNITYBOT_"))}
    env |= {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_URL": fake.api_url,
        "COMMUNITYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "discord",
        "sync",
        "--guild",
        str(guild.id),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    _, payload = real_schema()
    assert (
        out.decode().strip() == f"Registered {len(payload)} Discord commands in guild {guild.id}."
    )
    assert [c["name"] for c in fake.guild_commands[guild.id]] == [c["name"] for c in payload]
    assert fake.global_commands == []
    assert fake.connections == []  # REST only: no gateway session was opened

    env["DISCORD_TOKEN"] = "wrong"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "discord", "sync", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert (
        err.decode().strip() == "communitybot: Discord refused DISCORD_TOKEN; check the bot token."
    )


def _extra(name: str) -> Feature:
    def register(setup: Setup) -> None:
        registry, kinds = setup.commands, setup.kinds
        del kinds
        registry.group(name, f"{name} commands")
        registry.add(CommandSpec(name, ("go",), "go", f"/{name} go", _unused))

    return Feature(name, register)


async def test_sync_on_start_only_when_the_schema_changed(
    fake: DiscordFake, tmp_path: Path
) -> None:
    file = {"discord": {"sync_on_start": True}}
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        file,
        discord_token=fake.token,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )

    async def start_and_stop(*features: Feature) -> None:
        app = App(
            settings, http=False, timer=False, resolver=fake_resolver, extra_features=features
        )
        await app.start()
        assert app.adapters[Platform.DISCORD].connected
        await app.stop()

    puts = lambda: len(fake.calls("PUT", "/applications/{application_id}/commands"))  # noqa: E731
    await start_and_stop()
    assert puts() == 1
    await start_and_stop()
    assert puts() == 1  # unchanged: no re-registration
    await start_and_stop(_extra("newthing"))
    assert puts() == 2
    assert "newthing" in [c["name"] for c in fake.global_commands]
    # The adapter applied DISCORD_API_URL / DISCORD_GATEWAY_URL.
    applied = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    assert applied == (fake.api_url, yarl.URL(fake.gateway_url))


async def test_sync_on_start_into_the_configured_guilds(fake: DiscordFake, tmp_path: Path) -> None:
    guild = fake.add_guild()
    file = {"discord": {"sync_on_start": True, "guild_ids": [guild.id]}}
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        file,
        discord_token=fake.token,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
    )
    app = App(settings, http=False, timer=False, resolver=fake_resolver)
    await app.start()
    await app.stop()
    _, payload = real_schema()
    assert [c["name"] for c in fake.guild_commands[guild.id]] == [c["name"] for c in payload]
    assert fake.global_commands == []
