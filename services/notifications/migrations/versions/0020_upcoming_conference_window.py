"""The conference window each followed conference belongs to: a window's invitation tells a
family which of their children's conferences in it are booked already (the school may book
before booking opens), instead of asking them to choose a time for every child.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Conferences followed before are not known by window (their events may not have said):
    # their families' invitations ask them to choose a time, as they did.
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("window_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_index(
            "ix_upcoming_conference_window_id", ["window_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.drop_index("ix_upcoming_conference_window_id")
        batch_op.drop_column("window_id")
