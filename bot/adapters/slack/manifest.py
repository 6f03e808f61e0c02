"""The Slack app manifest, generated from the command registry (never listed twice).

`communitybot slack manifest` prints it; config/slack-manifest.yml is the same output for a
placeholder address, kept equal by a test. Slack requires the request URL to be public
https, and Socket Mode apps need no URL at all.

With OAuth installs (SLACK_CLIENT_ID/SECRET set), the manifest also names the redirect URL
Slack sends installers back to, and subscribes to the events that say a workspace removed
the app.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config import Settings
from bot.core.commands import Registry

PLACEHOLDER_URL = "https://communitybot.example.org"
EVENTS_PATH = "/slack/events"
REDIRECT_PATH = "/slack/oauth_redirect"
APP_NAME = "communitybot"
# What the adapter calls: commands, posting (also in public channels it was not invited to),
# opening DMs, reading user groups (maintainers) and channels (the start-up check).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "usergroups:read",
    "users:read",
    "channels:read",
    "groups:read",
)
BOT_EVENTS = ("app_home_opened",)
# With OAuth installs: a workspace uninstalled the app, or revoked its bot token.
INSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")
MAX_DESCRIPTION = 100
MAX_USAGE_HINT = 1000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def usage_hint(registry: Registry, group_name: str) -> str:
    """`help | timezone [zone] | audit [count]`: each subcommand with its arguments."""
    hints = []
    for spec in registry.groups[group_name].specs.values():
        words = list(spec.path)
        for arg in spec.args:
            label = f"<{arg.name}>" if arg.required else f"[{arg.name}]"
            words.append(label)
        hints.append(" ".join(words))
    return _clip(" | ".join(h for h in hints if h), MAX_USAGE_HINT)


def url_problem(base_url: str) -> str | None:
    """Why Slack would refuse this address as a request URL, if it would."""
    parts = urlsplit(base_url)
    if parts.scheme != "https":
        return "Slack only sends requests to https addresses"
    host = parts.hostname or ""
    if host == "localhost" or host.endswith((".local", ".internal", ".localhost")):
        return f"{host} is not reachable from Slack"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return f"{host} is a private address Slack cannot reach"
    return None


def build_manifest(
    settings: Settings, registry: Registry, *, socket_mode: bool, base_url: str | None = None
) -> dict[str, Any]:
    """The manifest as a dict, in the order Slack's own examples use."""
    base = (base_url or settings.base_url).rstrip("/")
    url = base + EVENTS_PATH
    commands = []
    for name, group in registry.groups.items():
        command: dict[str, Any] = {"command": "/" + settings.slack.commands.get(name, name)}
        if not socket_mode:
            command["url"] = url
        command["description"] = _clip(
            group.description[:1].upper() + group.description[1:], MAX_DESCRIPTION
        )
        command["usage_hint"] = usage_hint(registry, name)
        command["should_escape"] = True
        commands.append(command)
    oauth = settings.slack_oauth
    bot_events = [*BOT_EVENTS, *(INSTALL_EVENTS if oauth else ())]
    events: dict[str, Any] = {"bot_events": bot_events}
    oauth_config: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if oauth:
        oauth_config = {"redirect_urls": [base + REDIRECT_PATH], **oauth_config}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        events = {"request_url": url, **events}
        interactivity["request_url"] = url
    community = settings.community.name
    return {
        "display_information": {
            "name": APP_NAME,
            "description": _clip(
                f"Meetings, Community Heroes, surveys and announcements for {community}", 140
            ),
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": False,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": APP_NAME, "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(
    settings: Settings, registry: Registry, *, socket_mode: bool, base_url: str | None = None
) -> str:
    data = build_manifest(settings, registry, socket_mode=socket_mode, base_url=base_url)
    header = (
        "# Slack app manifest for communitybot, generated from the command registry.\n"
        "# Print yours with `communitybot slack manifest [--socket-mode]` and paste it at\n"
        "# https://api.slack.com/apps → Create New App → From an app manifest.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
