"""The conference window of each round of messages to many families (a window's invitations, a
nudge to book), which the office's report of the rounds names. Rounds started before it name
none.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_round",
        sa.Column("cause_event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("window_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("cause_event_id"),
    )


def downgrade() -> None:
    op.drop_table("message_round")
