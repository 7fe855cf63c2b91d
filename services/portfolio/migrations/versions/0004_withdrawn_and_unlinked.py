"""students withdrawn and guardians unlinked are kept, inactive

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("student", "guardian_link"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
            )
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("active", server_default=None)


def downgrade() -> None:
    for table in ("guardian_link", "student"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("active")
