"""Issue 16: every hot query is answered from an index, checked with EXPLAIN on both databases.

SQLite: EXPLAIN QUERY PLAN must SEARCH the table (an index lookup), never SCAN it. PostgreSQL
would scan a near-empty table whatever its indexes, so the check runs with sequential scans
disabled and asserts the plan uses an index (were none usable, it would still Seq Scan).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.store.db import Database
from bot.store.migrate import upgrade

NOW = datetime(2026, 12, 1, tzinfo=UTC)

HOT = {
    "due deliveries": (
        "deliveries",
        "SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= :now "
        "ORDER BY next_attempt_at LIMIT 16",
    ),
    "retention": (
        "deliveries",
        "SELECT id FROM deliveries WHERE state IN ('sent', 'skipped', 'failed') "
        "AND updated_at < :now LIMIT 1000",
    ),
    "a subject's deliveries": (
        "deliveries",
        "SELECT id FROM deliveries WHERE kind = 'meeting_reminder' AND subject = 'meeting:1' "
        "AND occurrence = '2026-12-03/1h/20261203T1700Z' AND target = 'slack:channel:C1'",
    ),
    "member lookup": (
        "members",
        "SELECT id FROM members WHERE community_id = 1 AND platform = 'slack' "
        "AND platform_user_id = 'U012ABCDEF'",
    ),
    "the asker and whom they name": (
        "members",
        " UNION ALL ".join(
            f"SELECT id FROM (SELECT id, workspace FROM members WHERE community_id = 1 "
            f"AND platform = 'slack' AND platform_user_id = '{user}' "
            f"AND (workspace = 'T012AB' OR workspace = '') ORDER BY workspace DESC LIMIT 1) {alias}"
            for user, alias in (("U012ABCDEF", "a"), ("U0HERO", "b"))
        ),
    ),
    "next occurrences": (
        "meetings",
        "SELECT id FROM meetings WHERE community_id = 1 AND state = 'active' "
        "AND next_start > :now AND next_stale_at > :now ORDER BY next_start, key LIMIT 10",
    ),
    "meetings in progress or stale": (
        "meetings",
        "SELECT id FROM meetings WHERE community_id = 1 AND state = 'active' "
        "AND (next_stale_at <= :now OR next_start <= :now)",
    ),
    "meetings to catch up": (
        "meetings",
        "SELECT id FROM meetings WHERE state = 'active' "
        "AND (next_stale_at <= :now OR plan_at <= :now) ORDER BY id LIMIT 10",
    ),
    "autocomplete": (
        "meetings",
        "SELECT key FROM meetings WHERE community_id = 1 AND key >= 'wg' AND key < 'wh' "
        "ORDER BY key LIMIT 25",
    ),
    "nominations of a cycle": (
        "hero_nominations",
        "SELECT id FROM hero_nominations WHERE community_id = 1 AND cycle = '2026-12'",
    ),
    "a nominator's recent nominations": (
        "hero_nominations",
        "SELECT id FROM hero_nominations WHERE nominator_id = 7 AND updated_at >= :now",
    ),
    "survey open by token": (
        "survey_links",
        "SELECT id FROM survey_links WHERE token = 'abc'",
    ),
    "a survey's opens": (
        "survey_links",
        "SELECT count(*) FROM survey_links WHERE survey_id = 1 AND member_id = 5",
    ),
    "a member's survey links": (
        "survey_links",
        "SELECT id FROM survey_links WHERE member_id = 5",
    ),
}


@pytest.mark.parametrize("name", list(HOT))
async def test_hot_queries_use_an_index(any_db_url: str, name: str) -> None:
    table, sql = HOT[name]
    db = Database(any_db_url)
    try:
        await upgrade(db)
        async with db.engine.connect() as conn:
            if db.is_sqlite:
                rows = (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), {"now": NOW})).all()
                plan = "\n".join(str(row[-1]) for row in rows)
                assert f"SEARCH {table}" in plan, plan
                assert f"SCAN {table}" not in plan, plan
            else:
                await conn.execute(text("SET enable_seqscan = off"))
                rows = (await conn.execute(text(f"EXPLAIN {sql}"), {"now": NOW})).all()
                plan = "\n".join(str(row[0]) for row in rows)
                assert "Index" in plan, plan
                assert "Seq Scan" not in plan, plan
    finally:
        await db.dispose()
