"""`communitybot slack manifest [--socket-mode]`: print the Slack app manifest (with the OAuth
redirect URL when SLACK_CLIENT_ID/SECRET are set)."""

from __future__ import annotations

import argparse
import sys

from bot.config import Settings


def main(settings: Settings, args: argparse.Namespace) -> int:
    from bot.adapters.slack.manifest import manifest_yaml, url_problem
    from bot.app import build_registries
    from bot.cli.main import Refusal

    if args.slack_command != "manifest":
        raise Refusal("say which Slack command: `communitybot slack manifest [--socket-mode]`.")
    socket_mode = bool(args.socket_mode) or settings.slack_app_token is not None
    registry, _ = build_registries()
    sys.stdout.write(manifest_yaml(settings, registry, socket_mode=socket_mode))
    if not socket_mode or settings.slack_oauth:
        problem = url_problem(settings.base_url)
        if problem is not None:
            # The manifest is still printed: it is useful to read, and Socket Mode needs no URL.
            print(
                f"communitybot: note: the request URLs use {settings.base_url}, but {problem}; "
                "set COMMUNITYBOT_PUBLIC_URL to the bot's public https address, "
                "or use --socket-mode.",
                file=sys.stderr,
            )
    return 0
