"""Which change of a followed conference last said its interpreter: a move names it too, since
a family may move without the interpreter, and the newest change that names it wins.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 13:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interpreter_named_at", sa.Integer(), nullable=True))
    # Conferences followed before: only a booking (SEQUENCE 0) named an interpreter.
    op.execute(
        "UPDATE upcoming_conference SET interpreter_named_at = 0"
        " WHERE interpreter_language IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("upcoming_conference", schema=None) as batch_op:
        batch_op.drop_column("interpreter_named_at")
