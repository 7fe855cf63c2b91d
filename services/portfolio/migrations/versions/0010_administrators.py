"""the schools a staff member administers (a site administrator acts only there), and a
version for announcing it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# OneRoster's administrator roles (services/portfolio/oneroster/records.py, KIND_OF_ROLE).
ADMINISTRATOR_ROLES = ("administrator", "districtAdministrator", "siteAdministrator", "principal")


def upgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("administers", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    # Administrators already on the roster administer the schools they are at (an export's
    # next import makes it exact, role by role).
    staff = sa.table(
        "staff_member",
        sa.column("role", sa.String),
        sa.column("sites", sa.JSON),
        sa.column("administers", sa.JSON),
    )
    op.execute(
        staff.update()
        .where(staff.c.role.in_(ADMINISTRATOR_ROLES))
        .values(administers=staff.c.sites)
    )


def downgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("administers")
