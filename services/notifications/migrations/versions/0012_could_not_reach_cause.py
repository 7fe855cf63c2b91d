"""a family on the could-not-reach list keeps the event its message answered
(``cause_event_id``), so that an invitation round's report counts its families whose invitation
could not be written (``reason_kind`` ``not_written``), who have no delivery

Rows listed before: the cause of their delivery; those of invitations never written get the
new kind, and no cause (it was not kept).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "could_not_reach",
        sa.Column("cause_event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    )
    listed = sa.table(
        "could_not_reach",
        sa.column("delivery_id", sa.String),
        sa.column("reason", sa.String),
        sa.column("reason_kind", sa.String),
        sa.column("cause_event_id", sa.String),
    )
    delivery = sa.table("delivery", sa.column("id", sa.String), sa.column("cause_event_id"))
    op.execute(
        listed.update().values(
            cause_event_id=sa.select(delivery.c.cause_event_id)
            .where(delivery.c.id == listed.c.delivery_id)
            .scalar_subquery()
        )
    )
    op.execute(
        listed.update()
        .where(listed.c.reason.startswith("the invitation to book could not be written"))
        .values(reason_kind="not_written")
    )


def downgrade() -> None:
    op.execute("UPDATE could_not_reach SET reason_kind = 'other' WHERE reason_kind = 'not_written'")
    with op.batch_alter_table("could_not_reach") as table:
        table.drop_column("cause_event_id")
