"""`communitybot`: run, console, db upgrade, slack manifest, discord sync, export.

Kept light at import time (platform libraries load only inside the commands) so that
`communitybot --help` answers fast; bench/cli_help.py measures it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import os
import signal
import sys
from collections.abc import Callable, Sequence

from bot import __version__

EXIT_REFUSED = 2


class Refusal(Exception):
    """A reason not to start: printed as one sentence, exit code 2."""


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS keeps a value given before the subcommand from being reset by the subparser.
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="TOML config file (default: $COMMUNITYBOT_CONFIG)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="communitybot",
        description="One community bot for Slack, Discord and the console.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"communitybot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", parents=[common], help="start every platform whose credentials are set")
    console = sub.add_parser("console", parents=[common], help="talk to the bot in this terminal")
    console.add_argument("--user", default=None, help="who you are (default: your login name)")
    console.add_argument("--maintainer", action="store_true", help="act as a maintainer")
    db = sub.add_parser("db", parents=[common], help="database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", parents=[common], help="apply migrations")
    slack = sub.add_parser("slack", parents=[common], help="Slack commands")
    slack_sub = slack.add_subparsers(dest="slack_command", metavar="SLACK_COMMAND")
    manifest = slack_sub.add_parser(
        "manifest", parents=[common], help="print the Slack app manifest"
    )
    manifest.add_argument("--socket-mode", action="store_true", help="a manifest for Socket Mode")
    discord = sub.add_parser("discord", parents=[common], help="Discord commands")
    discord_sub = discord.add_subparsers(dest="discord_command", metavar="DISCORD_COMMAND")
    sync = discord_sub.add_parser("sync", parents=[common], help="register the Discord commands")
    sync.add_argument("--guild", type=int, default=None, help="register in this guild only")
    export = sub.add_parser("export", parents=[common], help="export data")
    export_sub = export.add_subparsers(dest="export_what", metavar="WHAT")
    heroes = export_sub.add_parser("heroes", parents=[common], help="the Hero hall and nominations")
    heroes.add_argument("--format", choices=("csv", "json"), default="csv")
    heroes.add_argument(
        "--community", default=None, help="the community's key (default: the first configured)"
    )
    return parser


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bot.app import load_settings
    from bot.config import ConfigError

    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise Refusal(f"the configuration is invalid: {'; '.join(exc.problems)}.") from None


def _setup_logging(settings) -> None:  # type: ignore[no-untyped-def]
    from bot.logs import setup_logging

    secrets = [
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_secret,
            settings.discord_token,
        )
        if s is not None
    ]
    from sqlalchemy.engine import make_url

    password = make_url(settings.database_url).password
    if password:
        secrets.append(str(password))
    setup_logging(settings.log_level, settings.log_format, secrets)


async def _guard_start(coro, database_url: str):  # type: ignore[no-untyped-def]
    """Await `coro`; a failure with a cause the operator can fix becomes one sentence."""
    try:
        return await coro
    except Exception as exc:
        from bot.cli.refusals import explain

        sentence = explain(exc, database_url)
        if sentence is None:
            raise
        raise Refusal(f"{sentence}.") from None


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.slack_configured and not settings.discord_configured:
        raise Refusal(
            "no platform credentials are set (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or "
            "SLACK_APP_TOKEN, or DISCORD_TOKEN); to try the bot without them, "
            "run `communitybot console`."
        )
    problems = settings.platform_problems()
    if problems:
        raise Refusal(f"{'; '.join(problems)}.")
    _setup_logging(settings)
    import logging

    from bot.app import App

    log = logging.getLogger("bot.run")

    async def main() -> None:
        app = App(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # A signal during start (a platform can take a minute to connect) stops it too.
        starting = asyncio.create_task(_guard_start(app.start(), settings.database_url))
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()
                # Everything loaded at start lives as long as the process: moving it out of
                # the collector's generations keeps full collections (tail latency) short.
                gc.collect()
                gc.freeze()
                log.info("communitybot is running")
                await stopped
            else:
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
            log.info("stopping: finishing work in progress")
        finally:
            stopped.cancel()
            await app.stop()
        log.info("stopped")

    asyncio.run(main())
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.slack_configured or settings.discord_configured:
        # The console never sends for Slack or Discord, whatever the environment holds.
        settings = settings.model_copy(
            update={
                "slack_bot_token": None,
                "slack_signing_secret": None,
                "slack_app_token": None,
                "discord_token": None,
            }
        )
    _setup_logging(
        settings.model_copy(
            update={"log_level": os.environ.get("COMMUNITYBOT_LOG_LEVEL", "WARNING")}
        )
    )
    from bot.adapters.console import ConsoleAdapter
    from bot.app import App
    from bot.core.invocation import Platform

    user = args.user or _login_name()

    async def main() -> None:
        app = App(settings, console_user=user, console_maintainer=args.maintainer, http=False)
        try:
            await _guard_start(app.start(), settings.database_url)
            console = app.adapters[Platform.CONSOLE]
            assert isinstance(console, ConsoleAdapter)
            await console.run()
            # Deliver what the last commands made due (e.g. an announcement) before leaving.
            await app.run_due()
        finally:
            await app.stop()

    asyncio.run(main())
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "you"


def cmd_db(args: argparse.Namespace) -> int:
    if args.db_command != "upgrade":
        raise Refusal("say which database command: `communitybot db upgrade`.")
    settings = _settings(args)
    from bot.store.db import Database
    from bot.store.migrate import current_revision, upgrade

    async def main() -> str | None:
        db = Database(settings.database_url)
        try:
            await _guard_start(upgrade(db), settings.database_url)
            return await _guard_start(current_revision(db), settings.database_url)
        finally:
            await db.dispose()

    print(f"database schema at revision {asyncio.run(main())}")
    return 0


def _delegate(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        settings = _settings(args)
        return int(getattr(importlib.import_module(module), func)(settings, args))

    return run


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "console": cmd_console,
    "db": cmd_db,
    "slack": _delegate("bot.cli.slack", "main"),
    "discord": _delegate("bot.cli.discord", "main"),
    "export": _delegate("bot.cli.export", "main"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except Refusal as exc:
        print(f"communitybot: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_gone()


def _reader_gone() -> int:
    """stdout was closed by its reader (`… | head`): stop quietly, as other CLIs do."""
    # Python would complain while flushing stdout at exit; point it at /dev/null instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
