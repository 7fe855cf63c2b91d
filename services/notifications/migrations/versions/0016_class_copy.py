"""The teachers' names: a copy of the classes from roster.class.registered / removed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_class",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("roster_class", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_class_site"), ["site"], unique=False)
    op.create_table(
        "roster_class_member",
        sa.Column("class_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("class_id", "person_id", "role"),
    )
    with op.batch_alter_table("roster_class_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roster_class_member_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("roster_class_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_class_member_person_id"))
    op.drop_table("roster_class_member")
    with op.batch_alter_table("roster_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_class_site"))
    op.drop_table("roster_class")
