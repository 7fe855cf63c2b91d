"""(the inbox index, now made by the runtime branch)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:00:00

Kept so databases that applied it still upgrade: the runtime's tables and their indexes are
migrated once, by the ``runtime`` branch in ``shared/messaging/migrations``.
"""

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
