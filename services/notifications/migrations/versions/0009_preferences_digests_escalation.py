"""guardians' preferences (channels per kind, opt-outs, quiet hours, digest hour), portfolio
news waiting for the daily digest, deliveries held for quiet hours or standing in for a failed
channel, and the school office's "could not reach" list

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 left the delivery's unique constraint unnamed: PostgreSQL named it itself; on SQLite it
# is found through this naming convention.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_OLD = {"postgresql": "delivery_cause_event_id_recipient_id_template_key"}


def _old_constraint() -> str:
    return _OLD.get(op.get_bind().dialect.name, "uq_delivery_cause_event_id")


def upgrade() -> None:
    with op.batch_alter_table("delivery", naming_convention=_NAMING) as batch:
        batch.add_column(sa.Column("not_before", shared.database.UTCDateTime(timezone=True)))
        batch.add_column(
            sa.Column("critical", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("escalated_from", sqlmodel.sql.sqltypes.AutoString(length=36)))
        batch.drop_constraint(_old_constraint(), type_="unique")
        batch.create_unique_constraint(
            "uq_delivery_once", ["cause_event_id", "recipient_id", "template", "channel"]
        )
    with op.batch_alter_table("delivery") as batch:
        batch.alter_column("critical", server_default=None)
    op.create_table(
        "guardian_preference",
        sa.Column("guardian_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("opted_out", sa.JSON(), nullable=False),
        sa.Column("quiet_from", sa.Time(), nullable=True),
        sa.Column("quiet_until", sa.Time(), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guardian_id"),
    )
    op.create_table(
        "digest_item",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("guardian_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("student_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("cause_event_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("digest_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cause_event_id", "guardian_id"),
    )
    op.create_index("ix_digest_item_guardian_id", "digest_item", ["guardian_id"])
    op.create_index("ix_digest_item_digest_id", "digest_item", ["digest_id"])
    op.create_table(
        "could_not_reach",
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("site", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("guardian_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("student_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", shared.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_index("ix_could_not_reach_site", "could_not_reach", ["site"])
    op.create_index("ix_could_not_reach_guardian_id", "could_not_reach", ["guardian_id"])


def downgrade() -> None:
    op.drop_table("could_not_reach")
    op.drop_table("digest_item")
    op.drop_table("guardian_preference")
    # Lossy: a message sent on two channels (a guardian's choice, or a channel standing in for
    # another) keeps one of its delivery rows, as before.
    op.execute(
        "DELETE FROM delivery WHERE id NOT IN (SELECT MIN(id) FROM delivery"
        " GROUP BY cause_event_id, recipient_id, template)"
    )
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint("uq_delivery_once", type_="unique")
        batch.create_unique_constraint(
            _OLD.get(op.get_bind().dialect.name, "uq_delivery_cause_event_id"),
            ["cause_event_id", "recipient_id", "template"],
        )
        batch.drop_column("escalated_from")
        batch.drop_column("critical")
        batch.drop_column("not_before")
