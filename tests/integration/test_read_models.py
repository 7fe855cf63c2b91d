"""Read models keep the newest change whatever order replicas apply the events in, because the
comparison of versions happens in the statement that writes the row."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlmodel import select

from services.scheduling.app import SPEC as SCHEDULING
from services.scheduling.consumers import consumers
from services.scheduling.tables import RosterStudent
from shared.database import create_engine, session_factory
from shared.environment import Environment
from shared.events import CloudEvent, StudentEnrolled
from shared.events.envelope import new_event
from shared.messaging.consumer import Delivery, HandlerContext, Subscription, handle_batch
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
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
