"""the kind of reason a family could not be reached is kept with it (``reason_kind``), as the
sending code names it, instead of being read back from the reason's English words

Rows written after this migration by replicas still running the code before it get `other`:
upgrade every notifications replica together (as a release does).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rows listed before: their kind, by the words their reasons were written with until now
# (the first found wins: a returned email's reason quotes the remote server's own words).
_WORDS = (
    ("mail server returned it", "returned"),
    ("no contact point", "no_contact"),
    ("no email address on file", "no_contact"),
    ("refused the address", "address_refused"),
    ("not an address", "address_refused"),
    ("not a phone number", "number_refused"),
    ("carrier did not deliver", "not_delivered"),
    ("refused the message", "message_refused"),
    ("service configured", "no_channel"),
)


def upgrade() -> None:
    op.add_column(
        "could_not_reach",
        sa.Column(
            "reason_kind",
            sqlmodel.sql.sqltypes.AutoString(length=32),
            nullable=False,
            server_default="other",
        ),
    )
    table = sa.table("could_not_reach", sa.column("reason", sa.String), sa.column("reason_kind"))
    op.execute(
        table.update().values(
            reason_kind=sa.case(
                *(
                    (sa.func.lower(table.c.reason).contains(words, autoescape=True), kind)
                    for words, kind in _WORDS
                ),
                else_="other",
            )
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("could_not_reach") as table:
        table.drop_column("reason_kind")
