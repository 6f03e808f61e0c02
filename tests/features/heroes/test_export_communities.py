"""`communitybot export heroes --community <key>`: one community's hall and nominations only,
even where both nominated the same person (the same user id) for the same cycle."""

from __future__ import annotations

import asyncio
import json
import tomllib
from pathlib import Path

import pytest

from bot.app import App
from bot.cli.main import main
from bot.core.invocation import Actor, Invocation, MemberRef, Place, Platform
from tests.conftest import make_settings
from tests.scenarios.conftest import fake_resolver

GUILD = {"alpha": 920000000000000001, "beta": 920000000000000002}
CONFIG = "".join(
    f'[[communities]]\nkey = "{key}"\nname = "{key.title()}"\n'
    f"[communities.discord]\nguild_ids = [{guild}]\n"
    for key, guild in GUILD.items()
)


async def _seed(url: str) -> None:
    app = App(
        make_settings(url, tomllib.loads(CONFIG)),
        http=False,
        timer=False,
        resolver=fake_resolver,
    )
    await app.start()
    try:
        for key, guild in GUILD.items():
            reply = await app.dispatcher.handle(
                Invocation(
                    "hero",
                    Actor(Platform.DISCORD, "700", "olu"),
                    Place(Platform.DISCORD, "1", str(guild)),
                    path=("nominate",),
                    options={
                        "member": MemberRef(Platform.DISCORD, "701", "ana"),
                        "reason": f"for the {key} docs",
                    },
                )
            )
            assert reply.outcome == "ok", reply
    finally:
        await app.stop()


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG)
    asyncio.run(_seed(url))
    monkeypatch.setenv("COMMUNITYBOT_DATABASE_URL", url)
    return config


def test_each_community_exports_its_own(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for key, args in (
        ("alpha", []),
        ("alpha", ["--community", "alpha"]),
        ("beta", ["--community", "beta"]),
    ):
        assert main(["export", "heroes", "--format", "json", "--config", str(seeded), *args]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["community"] == key.title()
        assert [n["reason"] for n in data["nominations"]] == [f"for the {key} docs"]


def test_an_unknown_community_is_refused(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "heroes", "--config", str(seeded), "--community", "gamma"]) != 0
    err = capsys.readouterr().err
    assert "there is no community “gamma” in the config; its communities are alpha, beta" in err


NEW_GUILD = "920000000000000099"


async def _seed_created(url: str) -> None:
    app = App(
        make_settings(url, {"deployment": {"open_installs": True}, **tomllib.loads(CONFIG)}),
        http=False,
        timer=False,
        resolver=fake_resolver,
    )
    await app.start()
    try:
        assert app.services.communities is not None
        await app.services.communities.joined(
            Platform.DISCORD, NEW_GUILD, name="Newcomers", maintainer=None
        )
        reply = await app.dispatcher.handle(
            Invocation(
                "hero",
                Actor(Platform.DISCORD, "700", "olu"),
                Place(Platform.DISCORD, "1", NEW_GUILD),
                path=("nominate",),
                options={"member": MemberRef(Platform.DISCORD, "701", "ana"), "reason": "new"},
            )
        )
        assert reply.outcome == "ok", reply
    finally:
        await app.stop()


def test_a_created_community_exports_by_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    config = tmp_path / "bot.toml"
    config.write_text("[deployment]\nopen_installs = true\n" + CONFIG)
    asyncio.run(_seed_created(url))
    monkeypatch.setenv("COMMUNITYBOT_DATABASE_URL", url)
    key = f"discord-{NEW_GUILD}"
    args = ["export", "heroes", "--format", "json", "--config", str(config)]
    assert main([*args, "--community", key]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["community"] == "Newcomers"
    assert [n["reason"] for n in data["nominations"]] == ["new"]
    assert main([*args, "--community", "discord-1"]) != 0
    assert "no community “discord-1” in the config or created from an install" in (
        capsys.readouterr().err
    )
