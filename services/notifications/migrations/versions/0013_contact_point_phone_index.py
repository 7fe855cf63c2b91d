"""contact points found by phone number: a family's text reply (STOP, START, HELP) looks up the
guardians of the number it came from

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 04:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contact_point_phone", "contact_point", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_contact_point_phone", table_name="contact_point")
