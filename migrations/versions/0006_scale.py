"""scale: config hashes, precomputed next occurrences, planning marks, retention index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:30:00

Existing meetings get next_stale_at and plan_at "long ago", so the first start after the
upgrade computes their next occurrence and plans their reminders (in the background, a batch
at a time), and declared_hash empty, so the first config sync compares rows field by field
once and records the hashes without changing anything else.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    when = bot.store.types.UTCDateTime(timezone=True)
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("declared_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("next_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_start", when, nullable=True))
        batch.add_column(sa.Column("next_end", when, nullable=True))
        batch.add_column(sa.Column("next_moved", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("next_stale_at", when, nullable=True))
        batch.add_column(sa.Column("plan_at", when, nullable=True))
    # Bound through the column type, so SQLite gets its own text format of the instant.
    meetings = sa.table(
        "meetings",
        sa.column("next_moved", sa.Boolean()),
        sa.column("next_stale_at", when),
        sa.column("plan_at", when),
    )
    op.execute(meetings.update().values(next_moved=False, next_stale_at=LONG_AGO, plan_at=LONG_AGO))
    # Server defaults stay for pods of the previous release running beside this one during a
    # rolling upgrade: a meeting they create is then caught up by the new pods' background.
    long_ago = (
        "'1970-01-01 00:00:00.000000'"
        if op.get_bind().dialect.name == "sqlite"
        else ("'1970-01-01 00:00:00+00'")
    )
    with op.batch_alter_table("meetings") as batch:
        batch.alter_column(
            "next_moved", existing_type=sa.Boolean(), nullable=False, server_default=sa.false()
        )
        batch.alter_column(
            "next_stale_at", existing_type=when, nullable=False, server_default=sa.text(long_ago)
        )
        batch.alter_column("plan_at", existing_type=when, server_default=sa.text(long_ago))
    op.create_index("ix_meetings_next", "meetings", ["community_id", "state", "next_start"])
    op.create_index("ix_meetings_stale", "meetings", ["state", "next_stale_at"])
    op.create_index("ix_meetings_plan", "meetings", ["state", "plan_at"])
    op.create_index("ix_deliveries_state_updated", "deliveries", ["state", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_state_updated", table_name="deliveries")
    op.drop_index("ix_meetings_plan", table_name="meetings")
    op.drop_index("ix_meetings_stale", table_name="meetings")
    op.drop_index("ix_meetings_next", table_name="meetings")
    with op.batch_alter_table("meetings") as batch:
        for column in (
            "plan_at",
            "next_stale_at",
            "next_moved",
            "next_end",
            "next_start",
            "next_date",
            "declared_hash",
        ):
            batch.drop_column(column)
