"""family links the school replaced, refused here too (a copy from
scheduling.family_link.reissued)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "family_link_revocation",
        sa.Column("guardian_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("revoked_before", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("guardian_id"),
    )


def downgrade() -> None:
    op.drop_table("family_link_revocation")
