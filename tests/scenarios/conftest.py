"""The `bot` fixture: one scenario, run once per adapter driver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import CommandSpec
from bot.core.message import Message, para, quote
from bot.runtime.context import Context
from bot.runtime.feature import Feature, Setup
from tests.scenarios.driver import SCENARIO_CONFIG
from tests.scenarios.driver_console import console_driver
from tests.scenarios.driver_discord import DRIVER as discord_driver
from tests.scenarios.driver_slack import DRIVER as slack_driver

# Every scenario runs once per driver: that is how parity between the adapters is proven.
DRIVERS: dict[str, Callable[..., Any]] = {
    "console": console_driver,
    "slack": slack_driver,
    "discord": discord_driver,
}

# Hostnames the scenarios use, as a fake DNS: nothing here ever leaves the machine.
FAKE_DNS = {
    "example.org": ["93.184.215.14"],
    "internal.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
}


async def fake_resolver(host: str) -> list[str]:
    return FAKE_DNS.get(host.lower(), [])


# A command that exists only in tests, to exercise the confirmation flow on every adapter.
ECHO_POSTS: list[str] = []


async def _echo_preview(ctx: Context) -> Message:
    return Message((para("This would echo:"), quote(ctx.args["text"])))


async def _echo(ctx: Context) -> Message:
    ECHO_POSTS.append(ctx.args["text"])
    return Message.text(f"Echoed: {ctx.args['text']}")


def _register_testing(setup: Setup) -> None:
    registry, kinds = setup.commands, setup.kinds
    del kinds
    from bot.core.commands import Arg, ArgType, Permission

    registry.group("testing", "commands that exist only in tests")
    registry.add(
        CommandSpec(
            "testing",
            ("echo",),
            "echo text after a confirmation",
            "/testing echo hello",
            _echo,
            args=(Arg("text", ArgType.TEXT, "what to echo", rest=True),),
            permission=Permission.MAINTAINER,
            confirm=_echo_preview,
        )
    )


TESTING = Feature("testing", _register_testing)


@pytest.fixture(params=sorted(DRIVERS))
async def bot(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    ECHO_POSTS.clear()
    factory = DRIVERS[request.param]
    config = getattr(request, "param_config", None) or SCENARIO_CONFIG
    async with factory(
        tmp_path, config, resolver=fake_resolver, extra_features=(TESTING,)
    ) as driver:
        yield driver
