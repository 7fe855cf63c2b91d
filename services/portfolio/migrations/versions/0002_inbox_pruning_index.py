"""index inbox rows by when they were handled, for pruning

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_handled_at", table_name="inbox")
