"""Whether a followed conference is a video call: its reminders then name no school.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    # Conferences followed before: scheduling names a video call's room "Online".
    op.execute("UPDATE upcoming_conference SET mode = 'virtual' WHERE room = 'Online'")


def downgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.drop_column("mode")
