"""known students keep their owner's version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.database

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows kept before versions existed hold version 0: any versioned event replaces them.
    with op.batch_alter_table("known_student") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("as_of")
    with op.batch_alter_table("known_student") as batch_op:
        batch_op.alter_column("version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("known_student") as batch_op:
        batch_op.add_column(
            sa.Column(
                "as_of",
                shared.database.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.drop_column("version")
