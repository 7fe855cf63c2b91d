"""the runtime's outbox and inbox, migrated once for every service

Revision ID: runtime_0001
Revises:
Create Date: 2026-12-02 10:00:00

The first revision of the ``runtime`` branch, which every service's migrations run beside their
own. Databases made before the branch existed already hold these tables (their services' own
first migrations created them): the revision then adopts them as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "runtime_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("runtime",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "outbox" not in existing:
        op.create_table(
            "outbox",
            sa.Column(
                "seq",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                sa.Identity(always=False),
                nullable=False,
            ),
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
            sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
            sa.Column("fields", sa.Text(), nullable=False),
            sa.Column("created_at", shared.database.UTCDateTime(timezone=True), nullable=False),
            sa.Column("sent_at", shared.database.UTCDateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("seq"),
            sa.UniqueConstraint("event_id"),
        )
        op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"], unique=False)
    if "inbox" not in existing:
        op.create_table(
            "inbox",
            sa.Column("consumer", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
            sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
            sa.Column("handled_at", shared.database.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("consumer", "event_id"),
        )
        op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbox_handled_at", table_name="inbox")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.drop_table("outbox")
