"""`communitybot export heroes --format csv|json`: the hall of fame and every nomination.

Anonymous nominations are exported without their nominator, as everywhere else. In CSV each
row is a `hero` (a hall entry) or a `nomination`; cells that a spreadsheet would run as a
formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from bot.store.db import Database
from bot.store.members import DEFAULT_COMMUNITY_KEY

EXIT_REFUSED = 2
CSV_COLUMNS = (
    "record",
    "cycle",
    "member",
    "member_platform",
    "member_id",
    "by",
    "by_platform",
    "by_id",
    "anonymous",
    "text",
    "review",
    "at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(at: datetime) -> str:
    return at.isoformat()


async def collect(db: Database, key: str = DEFAULT_COMMUNITY_KEY) -> dict[str, Any]:
    """One community's export as plain data: {"community", "heroes", "nominations"}."""
    from bot.store import heroes as store
    from bot.store.models import Community

    async with db.sessions() as session:
        community = await session.scalar(select(Community).where(Community.key == key))
        if community is None:
            return {"community": None, "heroes": [], "nominations": []}
        entries = await store.hall(session, community.id)
        rows = await store.all_nominations(session, community.id)
        reviews: dict[str, dict[int, str]] = {}
        for cycle in {r.nomination.cycle for r in rows}:
            reviews[cycle] = await store.reviews_in(session, community.id, cycle)
    heroes = [
        {
            "cycle": e.cycle,
            "display_name": e.display_name,
            "platform": e.platform,
            "platform_user_id": e.platform_user_id,
            "citation": e.citation,
            "message": e.message,
            "nominators": e.nominators,
            "announced_at": _iso(e.announced_at),
            "announced_by": e.announced_by,
        }
        for e in sorted(entries, key=lambda e: e.cycle)
    ]
    nominations = []
    for r in rows:
        n, anonymous = r.nomination, r.nomination.anonymous
        nominations.append(
            {
                "cycle": n.cycle,
                "nominee": r.nominee.display_name or r.nominee.platform_user_id,
                "nominee_platform": r.nominee.platform,
                "nominee_id": r.nominee.platform_user_id,
                "nominator": None
                if anonymous
                else (r.nominator.display_name or r.nominator.platform_user_id),
                "nominator_platform": None if anonymous else r.nominator.platform,
                "nominator_id": None if anonymous else r.nominator.platform_user_id,
                "anonymous": anonymous,
                "reason": n.reason,
                "review": reviews.get(n.cycle, {}).get(n.nominee_id),
                "nominated_at": _iso(n.created_at),
                "updated_at": _iso(n.updated_at),
            }
        )
    return {"community": community.name, "heroes": heroes, "nominations": nominations}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(data: dict[str, Any], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for h in data["heroes"]:
        writer.writerow(
            _cell(v)
            for v in (
                "hero",
                h["cycle"],
                h["display_name"],
                h["platform"],
                h["platform_user_id"],
                h["announced_by"],
                "",
                "",
                "",
                h["citation"],
                "",
                h["announced_at"],
            )
        )
    for n in data["nominations"]:
        writer.writerow(
            _cell(v)
            for v in (
                "nomination",
                n["cycle"],
                n["nominee"],
                n["nominee_platform"],
                n["nominee_id"],
                n["nominator"],
                n["nominator_platform"],
                n["nominator_id"],
                n["anonymous"],
                n["reason"],
                n["review"],
                n["updated_at"],
            )
        )


def write_json(data: dict[str, Any], out: TextIO) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2)
    out.write("\n")


async def export(
    settings: Settings, fmt: str, out: TextIO, key: str = DEFAULT_COMMUNITY_KEY
) -> None:
    db = Database(settings.database_url)
    try:
        data = await collect(db, key)
    finally:
        await db.dispose()
    (write_json if fmt == "json" else write_csv)(data, out)


async def _stored(settings: Settings, key: str) -> bool:
    from bot.store.communities import by_key

    db = Database(settings.database_url)
    try:
        async with db.sessions() as session:
            return await by_key(session, key) is not None
    except (DBAPIError, OSError):  # not migrated, or unreachable: then it is not there
        return False
    finally:
        await db.dispose()


def main(settings: Settings, args: argparse.Namespace) -> int:
    if getattr(args, "export_what", None) != "heroes":
        print("communitybot: say what to export: `communitybot export heroes`.", file=sys.stderr)
        return EXIT_REFUSED
    keys = [key for key, _ in settings.per_community()]
    key = getattr(args, "community", None) or keys[0]
    # A community created from an install (open_installs) is in the database, not the file.
    created = settings.open_installs and key.startswith(("slack-", "discord-"))
    if key not in keys and not (created and asyncio.run(_stored(settings, key))):
        print(
            f"communitybot: there is no community “{key}” in the config"
            f"{' or created from an install' if settings.open_installs else ''}; "
            f"its communities are {', '.join(keys)}.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    try:
        asyncio.run(export(settings, getattr(args, "format", "csv"), sys.stdout, key))
    except DBAPIError as exc:
        print(
            f"communitybot: cannot read the Hero tables ({type(exc.orig).__name__}); "
            "run `communitybot db upgrade` first.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except BrokenPipeError:
        raise  # the reader of stdout went away (`| head`); the CLI stops quietly
    except OSError as exc:
        print(f"communitybot: cannot reach the database: {exc}.", file=sys.stderr)
        return EXIT_REFUSED
    return 0
