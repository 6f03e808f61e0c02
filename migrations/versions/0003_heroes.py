"""heroes: nominations, reviews, hall of fame

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hero_hall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("nominators", sa.Integer(), nullable=False),
        sa.Column("announced_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("announced_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_hero_hall_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_hero_hall_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hero_hall")),
        sa.UniqueConstraint("community_id", "cycle", name=op.f("uq_hero_hall_community_id_cycle")),
    )
    op.create_table(
        "hero_nominations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=False),
        sa.Column("nominee_id", sa.Integer(), nullable=False),
        sa.Column("nominator_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_hero_nominations_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nominator_id"],
            ["members.id"],
            name=op.f("fk_hero_nominations_nominator_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nominee_id"],
            ["members.id"],
            name=op.f("fk_hero_nominations_nominee_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hero_nominations")),
        sa.UniqueConstraint(
            "community_id",
            "cycle",
            "nominee_id",
            "nominator_id",
            name=op.f("uq_hero_nominations_community_id_cycle_nominee_id_nominator_id"),
        ),
    )
    with op.batch_alter_table("hero_nominations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hero_nominations_nominator_updated", ["nominator_id", "updated_at"], unique=False
        )

    op.create_table(
        "hero_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=False),
        sa.Column("nominee_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", bot.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_hero_reviews_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nominee_id"],
            ["members.id"],
            name=op.f("fk_hero_reviews_nominee_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["members.id"],
            name=op.f("fk_hero_reviews_reviewer_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hero_reviews")),
        sa.UniqueConstraint(
            "community_id",
            "cycle",
            "nominee_id",
            name=op.f("uq_hero_reviews_community_id_cycle_nominee_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("hero_reviews")
    with op.batch_alter_table("hero_nominations", schema=None) as batch_op:
        batch_op.drop_index("ix_hero_nominations_nominator_updated")

    op.drop_table("hero_nominations")
    op.drop_table("hero_hall")
