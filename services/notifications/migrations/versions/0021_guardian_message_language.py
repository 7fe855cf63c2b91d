"""The language a family chose for the school's messages (on its preferences page): written in
it instead of the language the school has on file for them.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guardian_preference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("guardian_preference", schema=None) as batch_op:
        batch_op.drop_column("language")
