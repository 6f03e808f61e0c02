"""deliveries: the unique key names the community

A delivery is unique by (kind, subject, occurrence, target). Two communities can post to the
same target: a Slack Connect channel shared by two workspaces of different communities, or
one person's direct messages. Where the subject does not carry a row id of the community's
own (the Heroes' calendar posts, subject "heroes"), the second community's post would have
been taken for the first's and never sent. The key gains `community_id` (last, so the
index still serves the look-ups by kind and subject).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("kind", "subject", "occurrence", "target")
# Last, so that the index keeps serving the look-ups by kind and subject it served before.
NEW = (*OLD, "community_id")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_kind_subject_occurrence_target", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_kind_subject_occurrence_target_community_id", list(NEW)
        )


def downgrade() -> None:
    # Only possible while no two communities hold the same post to the same target.
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(
            "uq_deliveries_kind_subject_occurrence_target_community_id", type_="unique"
        )
        batch.create_unique_constraint("uq_deliveries_kind_subject_occurrence_target", list(OLD))
