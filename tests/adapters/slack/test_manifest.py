"""The Slack manifest comes from the registry; config/slack-manifest.yml is kept equal to it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.adapters.slack.manifest import PLACEHOLDER_URL, build_manifest, manifest_yaml, url_problem
from bot.app import build_registries
from bot.cli.main import main
from tests.conftest import make_settings

CHECKED_IN = Path(__file__).resolve().parents[3] / "config" / "slack-manifest.yml"
REGENERATE = (
    "config/slack-manifest.yml is out of date; regenerate it with\n"
    f"  env -i PATH=$PATH COMMUNITYBOT_PUBLIC_URL={PLACEHOLDER_URL} "
    "communitybot slack manifest > config/slack-manifest.yml"
)


def settings(**kw: object):  # type: ignore[no-untyped-def]
    file = kw.pop("file", None)
    return make_settings("sqlite+aiosqlite:///unused.db", file, **kw)  # type: ignore[arg-type]


def test_checked_in_manifest_equals_the_generated_one() -> None:
    registry, _ = build_registries()
    generated = manifest_yaml(settings(public_url=PLACEHOLDER_URL), registry, socket_mode=False)
    assert CHECKED_IN.read_text(encoding="utf-8") == generated, REGENERATE


def test_every_command_group_is_a_slash_command_with_escaping() -> None:
    registry, _ = build_registries()
    data = build_manifest(
        settings(
            public_url="https://bot.example.org/",
            file={"slack": {"commands": {"communitybot": "cb"}}},
        ),
        registry,
        socket_mode=False,
    )
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    expected = {"/cb" if g == "communitybot" else f"/{g}" for g in registry.groups}
    assert set(commands) == expected
    for command in commands.values():
        assert command["should_escape"] is True
        assert command["url"] == "https://bot.example.org/slack/events"
        assert 0 < len(command["description"]) <= 100
    assert "timezone [zone]" in commands["/cb"]["usage_hint"]
    events = data["settings"]["event_subscriptions"]
    assert events["bot_events"] == ["app_home_opened"]
    assert events["request_url"] == data["settings"]["interactivity"]["request_url"]
    assert data["settings"]["socket_mode_enabled"] is False


def test_socket_mode_manifest_has_no_urls() -> None:
    registry, _ = build_registries()
    text = manifest_yaml(settings(), registry, socket_mode=True)
    data = yaml.safe_load(text)
    assert data["settings"]["socket_mode_enabled"] is True
    assert all("url" not in c for c in data["features"]["slash_commands"])
    assert "request_url" not in text


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://bot.example.org", None),
        ("https://203.0.113.9", "private"),  # documentation range: not global
        ("http://bot.example.org", "https"),
        ("https://localhost:3000", "not reachable"),
        ("https://10.0.0.5", "private"),
    ],
)
def test_url_problems(url: str, problem: str | None) -> None:
    found = url_problem(url)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_cli_prints_the_manifest_and_warns_about_a_local_address(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMUNITYBOT_PUBLIC_URL", "http://127.0.0.1:3000")
    assert main(["slack", "manifest"]) == 0
    out, err = capsys.readouterr()
    assert yaml.safe_load(out)["settings"]["interactivity"]["request_url"] == (
        "http://127.0.0.1:3000/slack/events"
    )
    assert "https" in err and "COMMUNITYBOT_PUBLIC_URL" in err

    monkeypatch.setenv("COMMUNITYBOT_PUBLIC_URL", "https://bot.example.org")
    assert main(["slack", "manifest"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["slack", "manifest", "--socket-mode"]) == 0
    out, err = capsys.readouterr()
    assert yaml.safe_load(out)["settings"]["socket_mode_enabled"] is True and err == ""


def test_oauth_manifest_names_the_redirect_url_and_the_uninstall_events(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, _ = build_registries()
    data = build_manifest(
        settings(
            public_url="https://bot.example.org",
            slack_client_id="1.2",
            slack_client_secret="s",
            slack_signing_secret="x",
        ),
        registry,
        socket_mode=False,
    )
    assert data["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]
    assert data["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ]
    # The single-workspace manifest has neither (config/slack-manifest.yml is unchanged).
    single = build_manifest(settings(public_url=PLACEHOLDER_URL), registry, socket_mode=False)
    assert "redirect_urls" not in single["oauth_config"]

    for name, value in {
        "COMMUNITYBOT_PUBLIC_URL": "https://bot.example.org",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "s",
        "SLACK_SIGNING_SECRET": "x",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["slack", "manifest"]) == 0
    out, err = capsys.readouterr()
    assert yaml.safe_load(out)["oauth_config"]["redirect_urls"] == [
        "https://bot.example.org/slack/oauth_redirect"
    ]
    assert err == ""
