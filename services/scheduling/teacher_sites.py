"""Where a teacher works, as scheduling knows it: the schools of their classes on the roster,
and those where they hold conference times (given by the school's office, or by them while
they taught there) ending within ``RECENT`` or later. A teacher acts at these schools
(``shared.auth.http`` puts them in a teacher's ``sites``), and a site's administrators act for
the teachers who work there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, union
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduling.tables import Slot
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster_classes import SITES_TAUGHT

# How far back a teacher's conference times make a school theirs (and their feed lists them).
RECENT = timedelta(days=30)

_SLOTS: Any = Slot.__table__  # type: ignore[attr-defined]
# Built once: it is read on every request of a teacher.
_WHERE_THEY_WORK = union(
    SITES_TAUGHT,
    sa_select(_SLOTS.c.site).where(
        _SLOTS.c.teacher_id == bindparam("teacher_id"),
        _SLOTS.c.district == bindparam("district"),
        _SLOTS.c.ends_at > bindparam("since"),
    ),
)


async def sites_of(connection: AsyncConnection, district: str, teacher_id: str) -> frozenset[str]:
    """The schools where the teacher works (above)."""
    found = await connection.execute(
        _WHERE_THEY_WORK,
        {"teacher_id": teacher_id, "district": district, "since": datetime.now(UTC) - RECENT},
    )
    return frozenset(found.scalars())


async def teacher_sites(uow: UnitOfWork, district: str, teacher_id: str) -> frozenset[str]:
    """``sites_of``, in a query of its own (scheduling's ``teacher_sites``)."""
    async with uow.lookup() as connection:
        return await sites_of(connection, district, teacher_id)
