"""`communitybot discord sync [--guild ID]`: register the Discord commands over REST."""

from __future__ import annotations

import argparse
import asyncio

import discord

from bot.config import Settings


def main(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_registries
    from bot.cli.main import Refusal

    if args.discord_command != "sync":
        raise Refusal("say which Discord command: `communitybot discord sync [--guild ID]`.")
    if settings.discord_token is None:
        raise Refusal("DISCORD_TOKEN is not set, so there is no Discord application to sync.")
    from bot.adapters.discord.sync import sync_commands

    registry, _ = build_registries()
    try:
        print(asyncio.run(sync_commands(settings, registry, args.guild)))
    except discord.LoginFailure:
        raise Refusal("Discord refused DISCORD_TOKEN; check the bot token.") from None
    except discord.HTTPException as exc:
        raise Refusal(f"Discord refused the commands: {exc.text or exc.status}.") from None
    except (OSError, TimeoutError) as exc:
        raise Refusal(f"could not reach Discord at {settings.discord_api_url}: {exc}.") from None
    return 0
