"""The waitlist entry a conference the waitlist booked answered: the family told a time opened
up is not then told it joined the line, when that news arrives after.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "waitlist_entry_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )
        batch_op.create_index(
            "ix_upcoming_conference_waitlist_entry_id",
            ["waitlist_entry_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.drop_index("ix_upcoming_conference_waitlist_entry_id")
        batch_op.drop_column("waitlist_entry_id")
