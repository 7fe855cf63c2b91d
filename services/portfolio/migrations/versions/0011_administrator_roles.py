"""the OneRoster 1.2 roles that make a staff member an administrator (a delta may change one in
place)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty until the next bulk roles.csv (a delta adds the roles it names): a school held
    # without a known role stays until a bulk export or a deletion of its role takes it back,
    # as before.
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("administrator_roles", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("administrator_roles")
