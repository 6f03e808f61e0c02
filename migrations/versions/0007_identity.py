"""identity: link codes, wrong-code attempts, export tokens; when a person set their zone

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, bot.store.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(_at("timezone_set_at", nullable=True))
    op.create_table(
        "identity_link_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_identity_link_codes_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_identity_link_codes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_identity_link_codes")),
    )
    op.create_index(op.f("ix_identity_link_codes_member_id"), "identity_link_codes", ["member_id"])
    op.create_index(
        op.f("ix_identity_link_codes_expires_at"), "identity_link_codes", ["expires_at"]
    )
    op.create_table(
        "identity_link_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_identity_link_failures_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_identity_link_failures_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_link_failures")),
    )
    op.create_index(
        "ix_identity_link_failures_member_at", "identity_link_failures", ["member_id", "at"]
    )
    op.create_index(op.f("ix_identity_link_failures_at"), "identity_link_failures", ["at"])
    op.create_table(
        "identity_export_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        _at("created_at"),
        _at("expires_at"),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_identity_export_tokens_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_identity_export_tokens_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_identity_export_tokens_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_identity_export_tokens")),
    )
    op.create_index(
        op.f("ix_identity_export_tokens_person_id"), "identity_export_tokens", ["person_id"]
    )
    op.create_index(
        op.f("ix_identity_export_tokens_expires_at"), "identity_export_tokens", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("identity_export_tokens")
    op.drop_table("identity_link_failures")
    op.drop_table("identity_link_codes")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("timezone_set_at")
