"""communities created at run time: origin, place, active, left places, own settings, revision

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing community was declared in the config: the defaults say so.
    with op.batch_alter_table("communities") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=16), server_default="config", nullable=False)
        )
        batch.add_column(sa.Column("place_id", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.add_column(sa.Column("left_places", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("own_settings", sa.JSON(), server_default="{}", nullable=False))
        batch.add_column(
            sa.Column("updated_at", bot.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        for name in (
            "revision",
            "updated_at",
            "own_settings",
            "left_places",
            "active",
            "place_id",
            "origin",
        ):
            batch.drop_column(name)
