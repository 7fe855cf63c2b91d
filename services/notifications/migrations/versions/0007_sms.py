"""text messages: the provider's id on a delivery (its receipts name it), and the numbers that
replied STOP

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(
            sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.create_index("ix_delivery_provider_id", ["provider_id"])
    op.create_table(
        "sms_opt_out",
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("keyword", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opted_out_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_out")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_index("ix_delivery_provider_id")
        batch.drop_column("provider_id")
