"""the roster's guardian links (who may act for a student and hear about them) and withdrawals

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 15:00:00

Links announced before this version were not kept here: after upgrading, announce them again
(`slc-portfolio reannounce --only guardians`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_guardian_link",
        sa.Column("guardian_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("student_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("guardian_id", "student_id"),
    )
    op.create_index(
        "ix_roster_guardian_link_student_id", "roster_guardian_link", ["student_id"], unique=False
    )
    with op.batch_alter_table("known_student") as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("known_student") as batch_op:
        batch_op.alter_column("active", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("known_student") as batch_op:
        batch_op.drop_column("active")
    op.drop_index("ix_roster_guardian_link_student_id", table_name="roster_guardian_link")
    op.drop_table("roster_guardian_link")
