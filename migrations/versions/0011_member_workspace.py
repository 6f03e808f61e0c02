"""members.workspace: a Slack member is keyed by their workspace too

Slack documents a user id as unique only within the workspace (team) that holds it, and a
community may span several workspaces (every workspace in the single `[community]` form, the
`slack.team_ids` of a `[[communities]]` entry), so (community, platform, user id) could name
two people. Members gain `workspace` (the Slack team id; '' on Discord and the console, whose
ids are global) in their unique key. Existing rows get '' and are taken over by the first
workspace whose member with that id the bot sees (bot/store/members.py), so nobody's data
moves or splits.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("workspace", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.drop_constraint(
            "uq_members_community_id_platform_platform_user_id", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_members_community_id_platform_workspace_platform_user_id",
            ["community_id", "platform", "workspace", "platform_user_id"],
        )


def downgrade() -> None:
    # Only possible while no two members differ by workspace alone.
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_members_community_id_platform_workspace_platform_user_id", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_members_community_id_platform_platform_user_id",
            ["community_id", "platform", "platform_user_id"],
        )
        batch_op.drop_column("workspace")
