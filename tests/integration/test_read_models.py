"""Read models keep the newest change whatever order replicas apply the events in, because the
comparison of versions happens in the statement that writes the row."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlmodel import select

from services.scheduling.app import SPEC as SCHEDULING
from services.scheduling.consumers import consumers
from services.scheduling.tables import RosterStudent
from shared.database import create_engine, session_factory
from shared.environment import Environment
from shared.events import (
    CloudEvent,
    EventData,
    GuardianLinked,
    GuardianUnlinked,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.events.envelope import new_event
from shared.messaging.consumer import (
    Delivery,
    HandlerContext,
    Outcome,
    Subscription,
    handle_batch,
)
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.roster import link_states
from tests.support import environment

STUDENTS, VERSIONS = 40, 6


def change(student: int, version: int) -> CloudEvent[StudentEnrolled]:
    data = StudentEnrolled(
        student_id=f"s-{student}",
        given_name=f"name v{version}",
        family_name="Chen",
        grade="03",
        version=version,
    )
    return new_event(data, subject=data.student_id, district="demo", site="conway")


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[UnitOfWork, UnitOfWork]]:
    """Two replicas of scheduling: each its own engine (connections) on one database."""
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade_to_head(engines[0], SCHEDULING.migrations)
    yield UnitOfWork(session_factory(engines[0])), UnitOfWork(session_factory(engines[1]))
    for engine in engines:
        await engine.dispose()


async def apply(uow: UnitOfWork, event: CloudEvent[StudentEnrolled], *, linger: float) -> None:
    """Apply one event with scheduling's own handler, lingering ``linger`` seconds before the
    commit (so that another replica's transaction overlaps this one)."""
    keep = consumers.for_stream(StudentEnrolled.stream())

    async def keep_then_linger(
        context: HandlerContext[Environment], batch: Sequence[CloudEvent[StudentEnrolled]]
    ) -> None:
        await keep.apply(context, batch)
        await asyncio.sleep(linger)

    slow = Subscription(StudentEnrolled, keep_then_linger, batched=True)
    await handle_batch(uow, group="scheduling", batch=[Delivery(slow, event)], env=environment())


async def apply_one_by_one(
    uow: UnitOfWork, events: list[CloudEvent[StudentEnrolled]], rng: random.Random
) -> None:
    for event in events:
        await apply(uow, event, linger=rng.random() * 0.01)


async def test_an_older_change_that_began_first_and_commits_last_does_not_win(
    replicas: tuple[UnitOfWork, UnitOfWork],
) -> None:
    """The race the old read-then-compare lost on PostgreSQL: the older change reads the row,
    the newer one commits meanwhile, then the older one commits."""
    slow, fast = replicas
    for student in range(10):
        await apply(fast, change(student, 1), linger=0)
        older = asyncio.create_task(apply(slow, change(student, 2), linger=0.15))
        await asyncio.sleep(0.05)  # the older one is under way...
        await apply(fast, change(student, 3), linger=0)  # ...when the newer one commits
        await older
    async with slow.read() as session:
        rows = (await session.exec(select(RosterStudent))).all()
    assert {(row.version, row.given_name) for row in rows} == {(3, "name v3")}


async def test_two_replicas_interleaving_older_and_newer_changes_keep_the_newest(
    replicas: tuple[UnitOfWork, UnitOfWork],
) -> None:
    rng = random.Random(20261202)
    changes = [change(s, v) for s in range(STUDENTS) for v in range(1, VERSIONS + 1)]
    rng.shuffle(changes)
    # Each replica gets about half, in an order of its own; both apply at once.
    halves: tuple[list[CloudEvent[StudentEnrolled]], list[CloudEvent[StudentEnrolled]]] = ([], [])
    for event in changes:
        halves[rng.randrange(2)].append(event)

    await asyncio.gather(
        *(apply_one_by_one(uow, half, rng) for uow, half in zip(replicas, halves, strict=True))
    )

    async with replicas[0].read() as session:
        rows = (await session.exec(select(RosterStudent))).all()
    assert len(rows) == STUDENTS
    assert {(row.version, row.given_name) for row in rows} == {(VERSIONS, f"name v{VERSIONS}")}


async def test_a_batch_holding_several_changes_of_one_entity_keeps_the_newest(
    replicas: tuple[UnitOfWork, UnitOfWork],
) -> None:
    uow, _ = replicas
    subscription = consumers.for_stream(StudentEnrolled.stream())
    newest_first = [change(1, v) for v in (3, 5, 4, 1)]
    await handle_batch(
        uow,
        group="scheduling",
        batch=[Delivery(subscription, event) for event in newest_first],
        env=environment(),
    )
    older = change(1, 2)
    await handle_batch(
        uow, group="scheduling", batch=[Delivery(subscription, older)], env=environment()
    )
    async with uow.read() as session:
        [row] = (await session.exec(select(RosterStudent))).all()
    assert (row.version, row.given_name) == (5, "name v5")


# --- the roster copy: links, their removal and withdrawals, in any order ------------------------


def roster_event(data: EventData) -> CloudEvent[Any]:
    return new_event(data, subject="s-1", district="demo", site="conway")


async def apply_in_order(uow: UnitOfWork, events: Sequence[CloudEvent[Any]]) -> None:
    """Each event in a batch of its own, in the order given, with scheduling's handlers."""
    for event in events:
        subscription = consumers.for_stream(type(event.data).stream())
        outcome = await handle_batch(
            uow, group="scheduling", batch=[Delivery(subscription, event)], env=environment()
        )
        assert outcome == [Outcome.HANDLED], outcome


async def copy_of(uow: UnitOfWork) -> tuple[bool | None, tuple[str, bool] | None]:
    """(the link g-1/s-1 is active, (the student's name, active))."""
    async with uow.read() as session:
        states = await link_states(session, [("g-1", "s-1")])
        student = await session.get(RosterStudent, "s-1")
    return (
        states.get(("g-1", "s-1")),
        None if student is None else (student.given_name, student.active),
    )


async def test_a_removed_link_that_overtakes_its_link_stays_removed(
    replicas: tuple[UnitOfWork, UnitOfWork],
) -> None:
    uow, _ = replicas
    linked = roster_event(
        GuardianLinked(guardian_id="g-1", student_id="s-1", relationship="mother", version=1)
    )
    unlinked = roster_event(GuardianUnlinked(guardian_id="g-1", student_id="s-1", version=2))
    relinked = roster_event(
        GuardianLinked(guardian_id="g-1", student_id="s-1", relationship="mother", version=3)
    )

    await apply_in_order(uow, [unlinked, linked])
    assert (await copy_of(uow))[0] is False
    late_copy = roster_event(GuardianUnlinked(guardian_id="g-1", student_id="s-1", version=2))
    await apply_in_order(uow, [relinked, late_copy])
    assert (await copy_of(uow))[0] is True


async def test_a_withdrawal_that_overtakes_the_enrolment_keeps_the_student_out(
    replicas: tuple[UnitOfWork, UnitOfWork],
) -> None:
    """A reader that starts after a student left (the roster announced again) or a withdrawal
    that arrives first: the student is known and inactive, and the older enrolment arriving
    later does not make them active; enrolling them again (a newer version) does."""
    uow, _ = replicas
    withdrawn = roster_event(StudentWithdrawn(student_id="s-1", version=3))

    await apply_in_order(uow, [withdrawn, change(1, 2)])
    assert (await copy_of(uow))[1] == ("", False)
    await apply_in_order(uow, [change(1, 4)])
    assert (await copy_of(uow))[1] == ("name v4", True)
    await apply_in_order(uow, [roster_event(StudentWithdrawn(student_id="s-1", version=5))])
    assert (await copy_of(uow))[1] == ("name v4", False)  # the name is kept
