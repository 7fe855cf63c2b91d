"""Announcing the roster again: the event for every site, student, guardian link, school
administrator and class as it is now.

Streams keep about a week of events (``STREAM_RETENTION_HOURS``), so a reader that starts later
(a new service, a rebuilt read model, a district system) never sees the roster being built.
This records, for each row portfolio owns, the state event announcing it with its current
version (``roster_events.announce``) in the outbox. The running service's relay publishes them;
if no portfolio service is running, they wait in the outbox and go out when one starts.

Readers apply roster events only if they are newer than what they hold
(``shared.upsert.upsert_if_newer``): a reader that is up to date changes nothing, so this is
safe at any time, on a live system too. A row changed meanwhile is announced by that change
with a higher version, which wins whatever order the two events arrive in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.roster_events import announce, class_members_of, class_state, staff_names
from services.portfolio.tables import GuardianLink, SchoolClass, Site, StaffMember, Student
from shared.messaging.outbox import record_event
from shared.messaging.unit_of_work import UnitOfWork

Announced = TypeVar("Announced", bound=Site | Student | GuardianLink | StaffMember | SchoolClass)

# In this order: a reader may need a site before its students, and a student before its links.
# Every staff member is announced with the schools they administer, none included (a reader
# that missed the event taking a school back learns it); every class whole, with its teachers
# (and their names) and students, or as removed.
OWNED: dict[
    str, type[Site] | type[Student] | type[GuardianLink] | type[StaffMember] | type[SchoolClass]
] = {
    "sites": Site,
    "students": Student,
    "guardians": GuardianLink,
    "staff": StaffMember,
    "classes": SchoolClass,
}
ENTITIES: tuple[str, ...] = tuple(OWNED)

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class Progress:
    """Rows of one entity announced so far (committed), of those there were when it began."""

    entity: str
    done: int
    total: int
    elapsed_seconds: float

    @property
    def per_second(self) -> float:
        return self.done / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def _ignore(_: Progress) -> None:
    pass


async def reannounce(
    uow: UnitOfWork,
    *,
    only: Collection[str] = ENTITIES,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[Progress], None] = _ignore,
) -> dict[str, int]:
    """Record the event announcing each row of ``only`` as it is now, ``batch_size`` rows per
    transaction; returns how many were announced per entity. ``progress`` is told after each
    transaction commits."""
    if batch_size < 1:
        raise ValueError(f"a batch must hold at least 1 row, not {batch_size}")
    return {
        entity: await _announce_every_row(
            uow, entity, OWNED[entity], batch_size=batch_size, progress=progress
        )
        for entity in in_order(only)
    }


def in_order(names: Collection[str]) -> list[str]:
    """The entities named, in the order they are announced; ``ValueError`` for an unknown one."""
    unknown = [name for name in names if name not in OWNED]
    if unknown or not names:
        problem = f"unknown entity {unknown[0]!r}" if unknown else "no entity named"
        raise ValueError(f"{problem} (choose from {', '.join(ENTITIES)})")
    return [entity for entity in ENTITIES if entity in names]


async def _announce_every_row(
    uow: UnitOfWork,
    entity: str,
    model: type[Announced],
    *,
    batch_size: int,
    progress: Callable[[Progress], None],
) -> int:
    started = time.monotonic()
    async with uow.read() as session:
        total = (await session.exec(select(func.count()).select_from(model))).one()
    done = 0
    after: str | int | None = None
    while True:
        # One transaction per page, read and recorded together: the outbox never holds more
        # than a page's worth of one transaction, and no transaction holds a lock for long.
        async with uow.transaction() as session:
            rows = await _page(session, model, after=after, limit=batch_size)
            classes = [row for row in rows if isinstance(row, SchoolClass)]
            if classes:
                await _announce_classes(session, classes)
            for row in rows:
                if not isinstance(row, SchoolClass):
                    announce(session, row)
        if rows:
            done += len(rows)
            after = rows[-1].id
            progress(Progress(entity, done, total, time.monotonic() - started))
        if len(rows) < batch_size:
            return done


async def _announce_classes(session: AsyncSession, classes: Sequence[SchoolClass]) -> None:
    """A page of classes, each whole: their members and their teachers' names read once for
    the page, not per class."""
    members = await class_members_of(session, [c.id for c in classes if c.active])
    names = await staff_names(
        session, (t for (_, role), ids in members.items() if role == "teacher" for t in ids)
    )
    for school_class in classes:
        record_event(
            session,
            class_state(
                school_class,
                teacher_ids=members.get((school_class.id, "teacher"), ()),
                student_ids=members.get((school_class.id, "student"), ()),
                names=names,
            ),
            subject=school_class.id,
            district=school_class.district,
            site=school_class.site,
        )


async def _page(
    session: AsyncSession, model: type[Announced], *, after: str | int | None, limit: int
) -> Sequence[Announced]:
    """The next ``limit`` rows by primary key after ``after`` (keyset pagination: each page is
    one index range, however far in, and rows added meanwhile never shift a page)."""
    query = select(model).order_by(col(model.id)).limit(limit)
    if after is not None:
        query = query.where(col(model.id) > after)
    return (await session.exec(query)).all()
