"""The STOP and START replies each number sent last, by the provider's MessageSid: a reply the
provider hands over again (its retry of a webhook that timed out, say) is answered but not
applied twice, so a STOP sent again after a later START does not opt the number out again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_keywords_heard",
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("message_sids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )


def downgrade() -> None:
    op.drop_table("sms_keywords_heard")
