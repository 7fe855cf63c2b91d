"""a delivery keeps when it is of no use any more (a reminder, once its conference begins), so
the message sent by another channel after it failed is not held past it for quiet hours

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 05:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.database import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("expires_at")
