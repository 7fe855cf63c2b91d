"""reminders before each conference: the conferences as notifications knows them, their
reminders, and each school's reminder times

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sqlmodel.sql.sqltypes.AutoString(length=64)


def upgrade() -> None:
    op.create_table(
        "upcoming_conference",
        sa.Column("id", _ID, nullable=False),
        sa.Column("district", _ID, nullable=False),
        sa.Column("site", _ID, nullable=False),
        sa.Column("student_id", _ID, nullable=False),
        sa.Column("guardian_id", _ID, nullable=False),
        sa.Column("teacher_id", _ID, nullable=True),
        sa.Column("starts_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", shared.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("room", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("timezone", _ID, nullable=True),
        sa.Column(
            "interpreter_language", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True
        ),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("updated_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_upcoming_conference_site", "upcoming_conference", ["site"])
    op.create_table(
        "conference_reminder",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("conference_id", _ID, nullable=False),
        sa.Column("district", _ID, nullable=False),
        sa.Column("site", _ID, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("before_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sent_at", shared.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_conference_reminder_conference_id", "conference_reminder", ["conference_id"]
    )
    op.create_table(
        "site_reminder_policy",
        sa.Column("site", _ID, nullable=False),
        sa.Column("district", _ID, nullable=False),
        sa.Column("before", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("updated_by", _ID, nullable=False),
        sa.Column("updated_at", shared.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site"),
    )


def downgrade() -> None:
    op.drop_table("site_reminder_policy")
    op.drop_index("ix_conference_reminder_conference_id", table_name="conference_reminder")
    op.drop_table("conference_reminder")
    op.drop_index("ix_upcoming_conference_site", table_name="upcoming_conference")
    op.drop_table("upcoming_conference")
