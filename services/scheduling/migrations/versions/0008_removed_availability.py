"""Availability taken back: when, and by whom (the block stays, its times cancelled).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("availability_block", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("removed_at", shared.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("removed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("availability_block", schema=None) as batch_op:
        batch_op.drop_column("removed_by")
        batch_op.drop_column("removed_at")
