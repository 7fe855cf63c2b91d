"""events a consumer group set aside until what they need has arrived

Revision ID: runtime_0003
Revises: runtime_0002
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "runtime_0003"
down_revision: str | None = "runtime_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_event",
        sa.Column("consumer", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("waiting_for", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("parked_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("looks", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("unsettled", sa.Integer(), nullable=False),
        sa.Column("next_look_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_index("ix_parked_event_waiting_for", "parked_event", ["waiting_for"], unique=False)
    op.create_index("ix_parked_event_next_look_at", "parked_event", ["next_look_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_parked_event_next_look_at", table_name="parked_event")
    op.drop_index("ix_parked_event_waiting_for", table_name="parked_event")
    op.drop_table("parked_event")
