"""Invitations when a window opens, on SQLite and PostgreSQL: the event asks for a job per
chunk of the site's families, and each job writes its families' invitations (each with its own
link, minted when the job runs) in a transaction of its own. An event handled twice, or a chunk
written twice, invites nobody twice."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, select, update

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.consumers import consumers
from services.notifications.delivery import DELIVER
from services.notifications.environment import NotificationsEnvironment
from services.notifications.family_links import FamilyLinks
from services.notifications.invitations import INVITE, invitations_not_written, invite_families
from services.notifications.reports_api import campaign_reports
from services.notifications.sending import jobs
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import ContactPoint, CouldNotReach, Delivery
from shared.auth import Role
from shared.auth.family_links import FamilyLinkIssuer, generate_key_pair
from shared.database import create_engine, session_factory
from shared.events import (
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceMoved,
    DeliveryFailed,
    EventData,
    GuardianLinked,
    StudentEnrolled,
    StudentWithdrawn,
    WindowOpened,
    new_event,
)
from shared.events.envelope import CloudEvent
from shared.jobs.admin import cancel_job
from shared.jobs.handlers import JobHandlers
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.consumer import Delivery as Incoming
from shared.messaging.consumer import Outcome, handle_batch
from shared.messaging.tables import OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from tests.support import principal

LINK_URL = "http://127.0.0.1:8002/family?link={token}"
# Five guardians at Conway; g-1 has two children there, and g-5's child has left.
CHILDREN = {
    "g-1": ("s-ava", "s-max"),
    "g-2": ("s-ben",),
    "g-3": ("s-cy",),
    "g-4": ("s-dee",),
    "g-5": ("s-eve",),
}
LEFT = "s-eve"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine, NOTIFICATIONS.migrations)
    yield engine
    await engine.dispose()


@pytest.fixture
def env() -> NotificationsEnvironment:
    private_key, _ = generate_key_pair()
    return NotificationsEnvironment(
        settings=NotificationsSettings(invitations_per_job=2),
        family_links=FamilyLinks(FamilyLinkIssuer(private_key), LINK_URL),
    )


async def apply(uow: UnitOfWork, env: NotificationsEnvironment, event: CloudEvent[Any]) -> None:
    subscription = consumers.for_stream(type(event.data).stream())
    (outcome,) = await handle_batch(
        uow, group="notifications", batch=[Incoming(subscription, event)], env=env
    )
    assert outcome in (Outcome.HANDLED, Outcome.DUPLICATE), outcome


def at_conway(data: EventData, subject: str) -> CloudEvent[Any]:
    return new_event(data, subject=subject, district="demo", site="conway")


@pytest.fixture
async def uow(engine: AsyncEngine, env: NotificationsEnvironment) -> UnitOfWork:
    """Notifications' database with Conway's five families on the roster."""
    uow = UnitOfWork(session_factory(engine))
    for guardian_id, children in CHILDREN.items():
        for student_id in children:
            name = student_id.removeprefix("s-").title()
            await apply(
                uow,
                env,
                at_conway(
                    StudentEnrolled(
                        student_id=student_id,
                        given_name=name,
                        family_name="Doe",
                        grade="03",
                        version=1,
                    ),
                    student_id,
                ),
            )
            await apply(
                uow,
                env,
                at_conway(
                    GuardianLinked(
                        guardian_id=guardian_id,
                        student_id=student_id,
                        relationship="parent",
                        version=1,
                    ),
                    student_id,
                ),
            )
    await apply(uow, env, at_conway(StudentWithdrawn(student_id=LEFT, version=2), LEFT))
    async with uow.transaction() as session:
        for guardian_id in CHILDREN:
            session.add(
                ContactPoint(
                    guardian_id=guardian_id,
                    district="demo",
                    site="conway",
                    display_name=guardian_id,
                    email=f"{guardian_id}@example.org",
                    language="es" if guardian_id == "g-2" else "en",
                )
            )
    return uow


def window_opened(**changes: Any) -> CloudEvent[Any]:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "window_id": "w-fall",
        "name": "Fall SLCs at Conway",
        "timezone": "America/Los_Angeles",
        "first_day": date.today() + timedelta(days=10),
        "last_day": date.today() + timedelta(days=12),
        "opens_at": now - timedelta(minutes=1),
        "closes_at": now + timedelta(days=9),
        "change_cutoff_minutes": 60,
        "opened_by": "a-lopez",
    }
    return at_conway(WindowOpened(**{**fields, **changes}), "w-fall")


async def invitation_jobs(uow: UnitOfWork) -> list[Job]:
    async with uow.read() as session:
        query = select(Job).where(Job.kind == INVITE).order_by(col(Job.key))
        return list((await session.exec(query)).all())


async def invitations(uow: UnitOfWork) -> list[Delivery]:
    async with uow.read() as session:
        query = select(Delivery).where(Delivery.template == "conference_invitation")
        return list((await session.exec(query)).all())


async def run_due(*workers: JobWorker) -> None:
    while sum(await asyncio.gather(*(worker.run_due() for worker in workers))):
        pass


INVITE_ATTEMPTS = jobs.for_kind(INVITE).max_attempts


def worker(uow: UnitOfWork, env: NotificationsEnvironment, name: str) -> JobWorker:
    policy = JobPolicy(batch_size=5, concurrency=4, poll_seconds=0.01)
    # Only the invitations: the deliveries stay queued, to be looked at.
    only_invitations: JobHandlers[NotificationsEnvironment] = JobHandlers()
    only_invitations.handles_batch(INVITE, batch_size=1, max_attempts=INVITE_ATTEMPTS)(
        invite_families
    )
    only_invitations.gives_up(INVITE)(invitations_not_written)
    return JobWorker(uow=uow, handlers=only_invitations, env=env, worker_name=name, policy=policy)


async def test_a_window_opening_invites_each_family_once_a_chunk_per_job(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    event = window_opened()
    await apply(uow, env, event)
    await apply(uow, env, event)  # (handled twice: no more jobs)

    asked = await invitation_jobs(uow)
    assert [job.key for job in asked] == [f"{event.id}/{n}" for n in range(2)]
    assert [json.loads(job.payload)["guardian_ids"] for job in asked] == [
        ["g-1", "g-2"],
        ["g-3", "g-4"],
    ], "the guardian of a child who left is not invited"
    assert not any("link=" in job.payload for job in asked), "a link is never kept in a job"
    assert await invitations(uow) == [], "nothing is written before the jobs run"

    await run_due(worker(uow, env, "replica-1"), worker(uow, env, "replica-2"))
    # A chunk written again (a job run twice, after its worker died) writes nothing more.
    async with uow.transaction() as session:
        await enqueue_many(
            session,
            [
                NewJob(
                    kind=INVITE, key=f"{asked[0].key}/again", payload=json.loads(asked[0].payload)
                )
            ],
        )
    await run_due(worker(uow, env, "replica-1"))

    written = await invitations(uow)
    assert Counter(d.recipient_id for d in written) == Counter(["g-1", "g-2", "g-3", "g-4"])
    assert {d.cause_event_id for d in written} == {event.id}, "one campaign: the window's"
    assert all(d.status == "queued" and "link=" in d.body for d in written)
    links = {d.recipient_id: d.body.split("link=")[1].split()[0] for d in written}
    assert len(set(links.values())) == 4, "each family its own link"
    siblings = next(d for d in written if d.recipient_id == "g-1")
    assert "Ava" in siblings.subject and "Max" in siblings.subject
    spanish = next(d for d in written if d.recipient_id == "g-2")
    assert spanish.language == "es"
    async with uow.read() as session:
        deliver_jobs = (await session.exec(select(Job).where(Job.kind != INVITE))).all()
    # Chunks of two families: fewer than a chunk's least, so a job each (``delivery_jobs``).
    assert sorted((job.kind, json.loads(job.payload)["delivery_id"]) for job in deliver_jobs) == (
        sorted((DELIVER, d.id) for d in written)
    )


async def test_a_chunk_written_again_tells_a_family_out_of_reach_once(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    # g-4 has no contact point: its invitation is written failed, the office's list says so,
    # and delivery.failed is said, each once however often its chunk is written.
    async with uow.transaction() as session:
        await session.exec(delete(ContactPoint).where(col(ContactPoint.guardian_id) == "g-4"))
    event = window_opened()
    await apply(uow, env, event)
    await run_due(worker(uow, env, "replica-1"))
    asked = await invitation_jobs(uow)
    async with uow.transaction() as session:
        await enqueue_many(
            session,
            [
                NewJob(kind=INVITE, key=f"{job.key}/again", payload=json.loads(job.payload))
                for job in asked
            ],
        )
    await run_due(worker(uow, env, "replica-1"))

    written = await invitations(uow)
    assert Counter(d.recipient_id for d in written) == Counter(["g-1", "g-2", "g-3", "g-4"])
    (unreached,) = [d for d in written if d.recipient_id == "g-4"]
    assert (
        unreached.status == "failed"
        and unreached.error == "no contact point on file for this guardian"
    )
    async with uow.read() as session:
        listed = (await session.exec(select(CouldNotReach))).all()
        failed = (
            await session.exec(
                select(OutboxMessage.fields).where(
                    col(OutboxMessage.stream) == DeliveryFailed.stream()
                )
            )
        ).all()
    assert [row.guardian_id for row in listed] == ["g-4"]
    assert [json.loads(json.loads(fields)["data"])["delivery_id"] for fields in failed] == [
        unreached.id
    ]


async def test_families_of_a_chunk_given_up_are_on_the_list_and_a_retry_invites_them(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    event = window_opened()
    await apply(uow, env, event)
    first, _ = await invitation_jobs(uow)
    # The first chunk's job (g-1 and g-2) killed its worker in each of its runs.
    expired = datetime.now(UTC) - timedelta(seconds=1)
    async with uow.transaction() as session:
        await session.exec(
            update(Job)
            .where(col(Job.id) == first.id)
            .values(status="running", worker="gone", attempts=INVITE_ATTEMPTS, lease_until=expired)
        )
    await run_due(worker(uow, env, "replica-1"))

    assert [job.status for job in await invitation_jobs(uow)] == ["failed", "done"]
    assert sorted(d.recipient_id for d in await invitations(uow)) == ["g-3", "g-4"]

    async def listed() -> list[tuple[str, str, str, str | None]]:
        async with uow.read() as session:
            rows = (await session.exec(select(CouldNotReach))).all()
        return sorted((r.guardian_id, r.student_id, r.reason, r.template) for r in rows)

    reason = (
        "the invitation to book could not be written (started"
        f" {INVITE_ATTEMPTS} times without finishing: its worker stopped each time)"
    )
    assert await listed() == [
        ("g-1", CHILDREN["g-1"][0], reason, "conference_invitation"),
        ("g-2", CHILDREN["g-2"][0], reason, "conference_invitation"),
    ]

    async def campaign() -> tuple[str, int, int]:
        office = principal(Role.DISTRICT_ADMIN, district="demo")
        (round_,) = await campaign_reports(office, uow, site="conway", limit=20)
        return round_.campaign, round_.counts.total, round_.not_written

    # The window's campaign counts the two invitations written and the two families without.
    assert await campaign() == (event.id, 2, 2)
    # A nudge reaches one of them (off the could-not-reach list): still not invited.
    async with uow.transaction() as session:
        await session.exec(
            update(CouldNotReach)
            .where(col(CouldNotReach.guardian_id) == "g-1")
            .values(resolved_at=datetime.now(UTC))
        )
    assert await campaign() == (event.id, 2, 2)

    # An operator runs the job again (`slc-jobs retry`): the invitations are written.
    async with uow.transaction() as session:
        await session.exec(
            update(Job).where(col(Job.id) == first.id).values(status="pending", attempts=0)
        )
    await run_due(worker(uow, env, "replica-1"))
    assert sorted(d.recipient_id for d in await invitations(uow)) == ["g-1", "g-2", "g-3", "g-4"]
    assert await campaign() == (event.id, 4, 0)


async def test_a_round_whose_every_chunk_an_operator_cancels_is_reported_with_no_message(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    """``slc-jobs cancel`` of every invitation job: the families are listed, the round is a
    campaign with no message written and four families without one."""
    event = window_opened()
    await apply(uow, env, event)
    for job in await invitation_jobs(uow):
        await cancel_job(uow, job.id, handlers=jobs)
    assert await invitations(uow) == []
    async with uow.read() as session:
        rows = (await session.exec(select(CouldNotReach))).all()
    assert {(r.reason_kind, r.cause_event_id) for r in rows} == {("not_written", event.id)}
    assert {r.reason for r in rows} == {
        "the invitation to book was not written: an operator cancelled its job"
    }
    office = principal(Role.SITE_ADMIN, district="demo", sites=frozenset({"conway"}))
    (round_,) = await campaign_reports(office, uow, site=None, limit=20)
    assert (round_.campaign, round_.template, round_.counts.total, round_.not_written) == (
        event.id,
        "conference_invitation",
        0,
        4,
    )


async def test_a_family_with_several_children_is_invited_to_book_early(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    now = datetime.now(UTC)
    event = window_opened(opens_at=now + timedelta(days=2), early_access_at=now + timedelta(days=1))
    # Dee's brother is at MJDS: her family has several children at the district's schools, as
    # scheduling counts them for early access.
    for data in (
        StudentEnrolled(
            student_id="s-dan", given_name="Dan", family_name="Doe", grade="07", version=1
        ),
        GuardianLinked(guardian_id="g-4", student_id="s-dan", relationship="parent", version=1),
    ):
        await apply(uow, env, new_event(data, subject="s-dan", district="demo", site="mjds"))
    await apply(uow, env, event)
    await run_due(worker(uow, env, "replica-1"))

    written = {d.recipient_id: d.body for d in await invitations(uow)}
    early = "Because you have more than one child at our schools, you may book from"
    assert early in written["g-1"], written["g-1"]  # Ava and Max's family
    assert early in written["g-4"], written["g-4"]  # Dee's, her brother at MJDS
    assert "Dan" not in written["g-4"]  # (invited to Conway's conferences: Dee's)
    assert early not in written["g-3"] and "Booking opens" in written["g-3"]


def booked(student_id: str, guardian_id: str, at: datetime, **changes: Any) -> CloudEvent[Any]:
    fields: dict[str, Any] = {
        "booking_id": f"b-{student_id}",
        "slot_id": f"slot-{student_id}",
        "student_id": student_id,
        "guardian_id": guardian_id,
        "booked_by": "a-lopez",
        "booked_via": "staff",
        "starts_at": at,
        "ends_at": at + timedelta(minutes=20),
        "room": "Room 12",
        "teacher_id": "t-rivera",
        "timezone": "America/Los_Angeles",
        "window_id": "w-fall",
    }
    return at_conway(ConferenceBooked(**{**fields, **changes}), student_id)


async def test_children_the_school_booked_before_the_invitation_are_named_with_their_time(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    """The office booked some children before booking opened: their families are told those
    times, and asked to choose one only for their other children; a conference cancelled since,
    or in another window, is not counted as booked."""
    day = datetime.combine(date.today() + timedelta(days=10), datetime.min.time(), UTC)
    ava_at, dee_at, dee_moved_to = (day + timedelta(hours=h) for h in (23, 22, 24))
    events = [
        booked("s-ava", "g-1", ava_at),  # Max, her brother, has no time yet
        booked("s-ben", "g-2", day + timedelta(hours=21)),
        at_conway(
            ConferenceCancelled(
                booking_id="b-s-ben",
                slot_id="slot-s-ben",
                student_id="s-ben",
                guardian_id="g-2",
                starts_at=day + timedelta(hours=21),
                cancelled_by="a-lopez",
                window_id="w-fall",
                sequence=1,
            ),
            "s-ben",
        ),
        booked("s-cy", "g-3", day, window_id="w-spring"),
        booked("s-dee", "g-4", dee_at),
        # (Moved since, by an event that does not name the window: the booking's stays known;
        # the family is told the time it moved to.)
        at_conway(
            ConferenceMoved(
                booking_id="b-s-dee",
                student_id="s-dee",
                guardian_id="g-4",
                teacher_id="t-rivera",
                slot_id="slot-2",
                starts_at=dee_moved_to,
                ends_at=dee_moved_to + timedelta(minutes=20),
                room="Room 12",
                previous_slot_id="slot-s-dee",
                previous_starts_at=dee_at,
                sequence=1,
                moved_by="a-lopez",
                timezone="America/Los_Angeles",
            ),
            "s-dee",
        ),
    ]
    for event in events:
        await apply(uow, env, event)
    await apply(uow, env, window_opened())
    await run_due(worker(uow, env, "replica-1"))

    written = {d.recipient_id: d for d in await invitations(uow)}
    assert set(written) == {"g-1", "g-2", "g-3", "g-4"}, "every family is invited, with its link"
    assert all("link=" in d.body for d in written.values())

    ava_and_max = written["g-1"].body
    assert "Ava's conference is already booked: " in ava_and_max, ava_and_max
    assert "Choose a time for Max here" in ava_and_max
    assert "Ava and Max's student-led conferences" in written["g-1"].subject
    # (Written in the window's zone.)
    assert clock_of(ava_at) in ava_and_max.split("already booked: ")[1].splitlines()[0]

    ben = written["g-2"].body  # (in Spanish; his conference was cancelled)
    assert "ya está reservada" not in ben and "Elija un horario aquí" in ben, ben
    cy = written["g-3"].body  # (booked in another window)
    assert "already booked" not in cy and "Choose a time here" in cy, cy

    dee = written["g-4"].body
    assert "Dee's conference is already booked: " in dee, dee
    assert clock_of(dee_moved_to) in dee.split("already booked: ")[1].splitlines()[0], (
        "the time it moved to"
    )
    assert "Choose a time" not in dee and "You can book now" not in dee
    assert "To see, change or cancel it (this link is just for you" in dee


def clock_of(moment: datetime) -> str:
    """The time of day as an English message writes it at Conway, e.g. "3:00"."""
    local = moment.astimezone(ZoneInfo("America/Los_Angeles"))
    return f"{local.hour % 12 or 12}:{local.minute:02d}"


async def test_a_conference_the_school_booked_that_has_ended_is_said_to_have_been(
    uow: UnitOfWork, env: NotificationsEnvironment
) -> None:
    """Held or missed before booking opened (this service does not hear which): the family is
    not told it is booked, nor asked to choose a time for it (one missed is sent a new time of
    its own)."""
    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    await apply(uow, env, booked("s-cy", "g-3", ended))
    await apply(uow, env, window_opened())
    await run_due(worker(uow, env, "replica-1"))

    cy = next(d.body for d in await invitations(uow) if d.recipient_id == "g-3")
    assert "Cy's conference was on " in cy and clock_of(ended) in cy, cy
    assert "already booked" not in cy and "Choose a time" not in cy
    assert "To see, change or cancel it (this link is just for you" in cy
