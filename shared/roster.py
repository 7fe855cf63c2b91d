"""The roster as a reader keeps it: who is linked to which student, and who has left.

Portfolio owns the roster; scheduling and notifications decide from their copy of it who may act
for a student and who hears about them (never from a token's claims alone). The link and its
removal share one version at portfolio, so the copy ends as the newest event says whatever order
``roster.guardian.linked`` and ``roster.guardian.unlinked`` arrive in. A withdrawn student's row
is kept (inactive) with the version of the withdrawal, and so is one whose withdrawal arrives
first; enrolling them again raises the version once more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import JSON, Column, ColumnElement, ScalarSelect, and_, bindparam, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events import (
    AdministratorRegistered,
    CloudEvent,
    GuardianLinked,
    GuardianUnlinked,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.messaging.consumer import EventConsumers, HandlerContext, needs
from shared.messaging.unit_of_work import UnitOfWork
from shared.upsert import upsert_if_newer


class RosterSite(SQLModel, table=True):
    """A reader's copy of the district's schools, kept from ``roster.site.registered`` events."""

    __tablename__ = "roster_site"

    id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    version: int = Field(description="The owner's version of the site applied last.")


def keep_site_copy(consumers: EventConsumers) -> None:
    """Subscribe ``consumers`` to ``roster.site.registered``: the schools, their names and time
    zones, in ``RosterSite``."""

    @consumers.handles_batch(
        SiteRegistered, provides=lambda event: [needs("site", event.data.site_id)]
    )
    async def keep_sites(
        context: HandlerContext[Any], events: Sequence[CloudEvent[SiteRegistered]]
    ) -> None:
        """The schools and their time zones, which their times are written in."""
        await upsert_if_newer(
            context.session,
            RosterSite,
            [
                {
                    "id": event.data.site_id,
                    "district": event.district,
                    "name": event.data.name,
                    "timezone": event.data.timezone,
                    "version": event.data.version,
                }
                for event in events
            ],
        )


async def site_zones(session: AsyncSession, sites: Iterable[str]) -> dict[str, str]:
    """The time zone of each of these schools the copy knows."""
    wanted = sorted(set(sites))
    if not wanted:
        return {}
    rows = await session.exec(
        select(RosterSite.id, RosterSite.timezone).where(col(RosterSite.id).in_(wanted))
    )
    return dict(rows.all())


class RosterAdministrator(SQLModel, table=True):
    """A reader's copy of where each school administrator acts, kept from
    ``roster.administrator.registered``: a site administrator acts only at these schools."""

    __tablename__ = "roster_administrator"

    id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    site_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(description="The owner's version of the administrator applied last.")


def keep_administrator_copy(consumers: EventConsumers) -> None:
    """Subscribe ``consumers`` to ``roster.administrator.registered``, in
    ``RosterAdministrator``."""

    @consumers.handles_batch(AdministratorRegistered)
    async def keep_administrators(
        context: HandlerContext[Any], events: Sequence[CloudEvent[AdministratorRegistered]]
    ) -> None:
        """Where each school administrator acts (their token's ``sites`` only narrow it)."""
        await upsert_if_newer(
            context.session,
            RosterAdministrator,
            [
                {
                    "id": event.data.administrator_id,
                    "district": event.district,
                    "site_ids": sorted(set(event.data.site_ids)),
                    "version": event.data.version,
                }
                for event in events
            ],
        )


_ADMINISTRATORS: Any = RosterAdministrator.__table__  # type: ignore[attr-defined]
# Read on every request of a site administrator.
_ADMINISTERED = select(_ADMINISTRATORS.c.site_ids).where(
    _ADMINISTRATORS.c.id == bindparam("administrator_id"),
    _ADMINISTRATORS.c.district == bindparam("district"),
)


async def administered_sites(
    uow: UnitOfWork, district: str, administrator_id: str
) -> frozenset[str]:
    """The schools the roster makes ``administrator_id`` an administrator of (none: the roster
    does not know them as one), from a reader's copy."""
    async with uow.lookup() as connection:
        held = await connection.execute(
            _ADMINISTERED, {"administrator_id": administrator_id, "district": district}
        )
        return frozenset(held.scalar_one_or_none() or ())


class RosterGuardianLink(SQLModel, table=True):
    """A reader's copy of one guardian's link to one student (active) or its removal."""

    __tablename__ = "roster_guardian_link"

    guardian_id: str = Field(primary_key=True, max_length=64)
    student_id: str = Field(primary_key=True, index=True, max_length=64)
    district: str = Field(max_length=64)
    active: bool = Field(description="Linked now (false: the link was removed).")
    version: int = Field(description="The owner's version of the link applied last.")


def link_needed(guardian_id: str, student_id: str) -> str:
    """What an event about a guardian and a student waits for while their link is unknown."""
    return needs("guardian-link", f"{guardian_id}/{student_id}")


def link_provided(event: CloudEvent[Any]) -> list[str]:
    return [link_needed(event.data.guardian_id, event.data.student_id)]


async def keep_links(
    session: AsyncSession,
    events: Sequence[CloudEvent[GuardianLinked]] | Sequence[CloudEvent[GuardianUnlinked]],
) -> None:
    """Apply linked and unlinked events to the copy, the newest version winning."""
    await upsert_if_newer(
        session,
        RosterGuardianLink,
        [
            {
                "guardian_id": event.data.guardian_id,
                "student_id": event.data.student_id,
                "district": event.district,
                "active": isinstance(event.data, GuardianLinked),
                "version": event.data.version,
            }
            for event in events
        ],
        key=("guardian_id", "student_id"),
    )


STUDENTS_PER_QUERY = 10_000


async def link_states(
    session: AsyncSession, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], bool]:
    """For each (guardian, student) the copy knows: whether they are linked now. Pairs it has
    never heard of are absent (their ``roster.guardian.linked`` may still be on its way)."""
    wanted = set(pairs)
    students = sorted({s for _, s in wanted})
    states: dict[tuple[str, str], bool] = {}
    # (In chunks: both databases refuse a statement with more than 32,766 parameters.)
    for start in range(0, len(students), STUDENTS_PER_QUERY):
        rows = (
            await session.exec(
                select(
                    RosterGuardianLink.guardian_id,
                    RosterGuardianLink.student_id,
                    RosterGuardianLink.active,
                ).where(
                    col(RosterGuardianLink.student_id).in_(
                        students[start : start + STUDENTS_PER_QUERY]
                    )
                )
            )
        ).all()
        states.update({(g, s): active for g, s, active in rows if (g, s) in wanted})
    return states


def _linked_now(student: Any) -> ColumnElement[bool]:
    return and_(col(RosterGuardianLink.student_id) == student, col(RosterGuardianLink.active))


async def linked_guardians(session: AsyncSession, student_id: str) -> set[str]:
    """The guardians linked to the student now."""
    return set(
        (
            await session.exec(
                select(RosterGuardianLink.guardian_id).where(_linked_now(student_id))
            )
        ).all()
    )


async def guardians_of(session: AsyncSession, students: Iterable[str]) -> dict[str, set[str]]:
    """``linked_guardians`` of many students at once (by student; those with none are absent)."""
    wanted = sorted(set(students))
    found: dict[str, set[str]] = {}
    for start in range(0, len(wanted), STUDENTS_PER_QUERY):
        rows = (
            await session.exec(
                select(RosterGuardianLink.guardian_id, RosterGuardianLink.student_id).where(
                    col(RosterGuardianLink.student_id).in_(
                        wanted[start : start + STUDENTS_PER_QUERY]
                    ),
                    col(RosterGuardianLink.active),
                )
            )
        ).all()
        for guardian_id, student_id in rows:
            found.setdefault(student_id, set()).add(guardian_id)
    return found


def linked_guardians_listed(student: Any) -> ScalarSelect[Any]:
    """``linked_guardians`` as a subquery (correlated when ``student`` is a column), to read with
    other facts in one statement: the ids comma-separated, or NULL (``ids_listed`` reads it)."""
    return (
        select(func.aggregate_strings(col(RosterGuardianLink.guardian_id), ","))
        .where(_linked_now(student))
        .scalar_subquery()
    )


def ids_listed(listed: str | None) -> frozenset[str]:
    """The ids a ``..._listed`` subquery read (ids never hold a comma: ``ID_PATTERN``)."""
    return frozenset(listed.split(",")) if listed else frozenset()


async def guardian_sites(
    session: AsyncSession,
    students: type[SQLModel],
    guardian_id: str,
    *,
    only: Iterable[str] = (),
) -> set[str]:
    """The sites where students the roster links to the guardian are enrolled (of ``only``,
    if it names any), from a reader's student copy ``students``; none: the roster does not know
    the guardian."""
    table: Any = students.__table__  # type: ignore[attr-defined]
    query = (
        select(table.c.site)
        .join(RosterGuardianLink, col(RosterGuardianLink.student_id) == table.c.id)
        .where(
            RosterGuardianLink.guardian_id == guardian_id,
            col(RosterGuardianLink.active),
            table.c.active,
        )
    )
    if named := sorted(only):
        query = query.where(table.c.id.in_(named))
    return set((await session.exec(query)).all())


async def withdraw(
    session: AsyncSession,
    model: type[SQLModel],
    events: Sequence[CloudEvent[StudentWithdrawn]],
) -> None:
    """Mark each student withdrawn in ``model`` (a reader's student copy with ``active`` and
    ``version``) if the event is newer than the copy.

    A student the copy has never seen (a reader that starts after the withdrawal, or a
    withdrawal that overtook its enrolment) is written as an inactive row with the withdrawal's
    version and no name: an enrolment older than the withdrawal cannot make them active, a newer
    one (enrolled again) replaces the row whole.
    """
    await upsert_if_newer(
        session,
        model,
        [
            {
                "id": event.data.student_id,
                "district": event.district,
                "site": event.site,
                "given_name": "",
                "active": False,
                "version": event.data.version,
            }
            for event in events
        ],
        replacing=("active",),
    )


class RosterRemovals(Protocol):
    """What a service does once the roster copy has withdrawn students or removed links."""

    async def __call__(
        self, session: AsyncSession, *, students: set[str], links: set[tuple[str, str]]
    ) -> None: ...


def keep_roster_copy(
    consumers: EventConsumers,
    students: type[SQLModel],
    *,
    after_removals: RosterRemovals | None = None,
) -> None:
    """Subscribe ``consumers`` to the roster events a reader's copy is kept from: students
    enrolled and withdrawn (in ``students``: ``id``, ``district``, ``site``, ``given_name``,
    ``active``, ``version``), and guardian links and their removal. ``after_removals`` is
    called, in the same transaction, with the students the events withdrew and the (guardian,
    student) links they removed, once the copy says so (an older event changes nothing)."""

    @consumers.handles_batch(
        StudentEnrolled, provides=lambda event: [needs("student", event.data.student_id)]
    )
    async def keep_students(
        context: HandlerContext[Any], events: Sequence[CloudEvent[StudentEnrolled]]
    ) -> None:
        """The students, their school and the name families know them by."""
        await upsert_if_newer(
            context.session,
            students,
            [
                {
                    "id": event.data.student_id,
                    "district": event.district,
                    "site": event.site,
                    "given_name": event.data.given_name,
                    "active": True,
                    "version": event.data.version,
                }
                for event in events
            ],
        )

    @consumers.handles_batch(StudentWithdrawn)
    async def keep_withdrawals(
        context: HandlerContext[Any], events: Sequence[CloudEvent[StudentWithdrawn]]
    ) -> None:
        """A withdrawn student is not booked for and nobody hears about them."""
        await withdraw(context.session, students, events)
        if after_removals is not None:
            await after_removals(
                context.session, students={event.data.student_id for event in events}, links=set()
            )

    @consumers.handles_batch(GuardianLinked, provides=link_provided)
    async def keep_guardian_links(
        context: HandlerContext[Any], events: Sequence[CloudEvent[GuardianLinked]]
    ) -> None:
        """Who may act for a student, and who hears about them, comes from these links."""
        await keep_links(context.session, events)

    @consumers.handles_batch(GuardianUnlinked, provides=link_provided)
    async def keep_guardian_unlinks(
        context: HandlerContext[Any], events: Sequence[CloudEvent[GuardianUnlinked]]
    ) -> None:
        """An unlinked guardian no longer acts for the student nor hears about them."""
        await keep_links(context.session, events)
        if after_removals is not None:
            pairs = {(event.data.guardian_id, event.data.student_id) for event in events}
            states = await link_states(context.session, pairs)
            await after_removals(
                context.session,
                students=set(),
                links={pair for pair in pairs if states.get(pair) is False},
            )
