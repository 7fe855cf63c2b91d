"""Reminders before each conference, on SQLite and PostgreSQL: scheduling's real events applied
by notifications' handlers, and its real job worker on a clock the test moves. Reminders follow
moves and cancellations, whatever order the events come in; each goes once, whoever runs it and
however often, and they survive a restart. Over HTTP: the school office chooses its reminder
times, and staff see a conference's reminders move with it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.consumers import consumers
from services.notifications.environment import NotificationsEnvironment
from services.notifications.family_links import FamilyLinks
from services.notifications.reminders import (
    SEND_REMINDER,
    TEMPLATE,
    change_site_reminders,
    put_back,
    send_reminder,
)
from services.notifications.sending import jobs
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import (
    ConferenceReminder,
    ContactPoint,
    Delivery,
    UpcomingConference,
)
from shared.auth import Role
from shared.auth.family_links import FamilyLinkIssuer, generate_key_pair
from shared.database import create_engine, session_factory
from shared.events import (
    ClassRegistered,
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceMoved,
    EventData,
    GuardianLinked,
    SiteRegistered,
    StudentEnrolled,
    new_event,
)
from shared.events.envelope import CloudEvent
from shared.jobs.admin import cancel_job, retry_job
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun
from shared.jobs.tables import Job
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.consumer import Delivery as Incoming
from shared.messaging.consumer import Outcome, handle_batch
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from tests.integration.conftest import System, family_with_contact
from tests.integration.test_conference_week import book, guardian, ok, tomorrow_at
from tests.integration.test_jobs import ManualClock
from tests.scheduling_support import open_times
from tests.support import auth, eventually

LA = ZoneInfo("America/Los_Angeles")
TWO_DAYS, TWO_HOURS = timedelta(days=2), timedelta(hours=2)
GUARDIANS = ("g-wei", "g-lin")  # Ava's father (English) and mother (Spanish)
LINK_URL = "http://127.0.0.1:8002/family?link={token}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine, NOTIFICATIONS.migrations)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def env(clock: ManualClock) -> NotificationsEnvironment:
    private_key, _ = generate_key_pair()
    return NotificationsEnvironment(
        settings=NotificationsSettings(reminders=(TWO_DAYS, TWO_HOURS)),
        clock=clock,
        family_links=FamilyLinks(FamilyLinkIssuer(private_key), LINK_URL),
    )


@pytest.fixture
async def uow(engine: AsyncEngine, env: NotificationsEnvironment) -> UnitOfWork:
    """Notifications' database, with Ava, her father and her mother on the roster."""
    uow = UnitOfWork(session_factory(engine))
    await apply(
        uow,
        env,
        StudentEnrolled(
            student_id="s-ava", given_name="Ava", family_name="Chen", grade="03", version=1
        ),
        *[
            GuardianLinked(guardian_id=g, student_id="s-ava", relationship="parent", version=1)
            for g in GUARDIANS
        ],
    )
    async with uow.transaction() as session:
        for guardian_id, language in zip(GUARDIANS, ("en", "es"), strict=True):
            session.add(
                ContactPoint(
                    guardian_id=guardian_id,
                    district="demo",
                    site="conway",
                    display_name=guardian_id,
                    email=f"{guardian_id}@example.org",
                    language=language,
                )
            )
    return uow


async def apply(
    uow: UnitOfWork, env: NotificationsEnvironment, *events: EventData | CloudEvent[EventData]
) -> list[CloudEvent[EventData]]:
    """Hand events to notifications' handlers, one batch each, as the consumer does."""
    handled = []
    for one in events:
        event = (
            one
            if isinstance(one, CloudEvent)
            else new_event(one, subject="s-ava", district="demo", site="conway")
        )
        subscription = consumers.for_stream(type(event.data).stream())
        (outcome,) = await handle_batch(
            uow, group="notifications", batch=[Incoming(subscription, event)], env=env
        )
        assert outcome in (Outcome.HANDLED, Outcome.DUPLICATE), outcome
        handled.append(event)
    return handled


def booked(starts_at: datetime, booking_id: str = "b-1") -> ConferenceBooked:
    return ConferenceBooked(
        booking_id=booking_id,
        slot_id=f"slot-{booking_id}",
        student_id="s-ava",
        guardian_id="g-wei",
        booked_by="g-wei",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        room="Room 4",
        teacher_id="t-rivera",
        interpreter_language="zh",
        timezone="America/Los_Angeles",
    )


def moved(starts_at: datetime, *, sequence: int, room: str = "Library") -> ConferenceMoved:
    return ConferenceMoved(
        booking_id="b-1",
        student_id="s-ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
        slot_id=f"slot-{sequence}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        room=room,
        previous_slot_id="slot-b-1",
        previous_starts_at=starts_at - timedelta(days=1),
        sequence=sequence,
        moved_by="g-wei",
        timezone="America/Los_Angeles",
    )


def cancelled(starts_at: datetime, *, sequence: int) -> ConferenceCancelled:
    return ConferenceCancelled(
        booking_id="b-1",
        slot_id="slot-b-1",
        student_id="s-ava",
        guardian_id="g-wei",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        cancelled_by="g-wei",
        sequence=sequence,
        timezone="America/Los_Angeles",
    )


def worker(uow: UnitOfWork, env: NotificationsEnvironment, name: str = "replica-1") -> JobWorker:
    policy = JobPolicy(batch_size=5, concurrency=4, poll_seconds=0.01)
    return JobWorker(uow=uow, handlers=jobs, env=env, worker_name=name, policy=policy)


async def run_due(*workers: JobWorker) -> None:
    """Run every job due now (on the test's clock), the workers side by side, until none is."""
    while sum(await asyncio.gather(*(w.run_due() for w in workers))):
        pass


async def reminders(uow: UnitOfWork, conference_id: str = "b-1") -> list[ConferenceReminder]:
    async with uow.read() as session:
        query = (
            select(ConferenceReminder)
            .where(ConferenceReminder.conference_id == conference_id)
            .order_by(col(ConferenceReminder.round), col(ConferenceReminder.due_at))
        )
        return list((await session.exec(query)).all())


async def reminder_jobs(uow: UnitOfWork) -> dict[str, Job]:
    async with uow.read() as session:
        found = await session.exec(select(Job).where(Job.kind == SEND_REMINDER))
        return {json.loads(job.payload)["reminder_id"]: job for job in found.all()}


async def dies_in_every_run(uow: UnitOfWork, job_id: str, clock: ManualClock) -> None:
    """The job's worker stopped in each of its 5 runs: the next worker to look gives it up."""
    async with uow.transaction() as session:
        await session.exec(
            update(Job)
            .where(col(Job.id) == job_id)
            .values(status="running", worker="gone", attempts=5, lease_until=clock.now())
        )


async def job_of(uow: UnitOfWork, job_id: str) -> Job:
    async with uow.read() as session:
        found = await session.get(Job, job_id)
    assert found is not None
    return found


async def reminded(uow: UnitOfWork) -> list[Delivery]:
    """The reminders written to the family."""
    async with uow.read() as session:
        found = await session.exec(
            select(Delivery).where(Delivery.template == TEMPLATE).order_by(col(Delivery.id))
        )
        return list(found.all())


def day(moment: datetime, language: str = "en") -> str:
    """How a message writes the day of ``moment`` at Conway."""
    return format_date(moment.astimezone(LA), "full", locale=language)


def in_a_week(clock: ManualClock) -> datetime:
    return (clock.now() + timedelta(days=7)).replace(microsecond=0)


async def test_a_booking_plans_its_reminders_due_before_it(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    found = await reminders(uow)
    assert [(r.before_minutes, r.due_at, r.status) for r in found] == [
        (2 * 24 * 60, starts - TWO_DAYS, "pending"),
        (120, starts - TWO_HOURS, "pending"),
    ]
    queued = await reminder_jobs(uow)
    assert {(queued[r.id].status, queued[r.id].due_at) for r in found} == {
        ("pending", starts - TWO_DAYS),
        ("pending", starts - TWO_HOURS),
    }

    # Booked a day ahead: the two-day reminder's time has passed; it is skipped, with no job.
    soon = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    await apply(uow, env, booked(soon, booking_id="b-2"))
    late, timely = await reminders(uow, "b-2")
    assert (late.status, timely.status, timely.due_at) == ("skipped", "pending", soon - TWO_HOURS)
    assert late.id not in await reminder_jobs(uow)

    # Nothing goes before its time.
    clock.at = starts - TWO_DAYS - timedelta(minutes=1)
    await run_due(worker(uow, env))
    assert await reminded(uow) == []


async def test_a_moved_conference_is_reminded_at_its_new_time_with_its_new_time(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    first = in_a_week(clock)
    later = first + timedelta(days=1, hours=1)
    await apply(
        uow,
        env,
        new_event(
            SiteRegistered(
                site_id="conway",
                name="Conway Elementary",
                timezone="America/Los_Angeles",
                version=1,
            ),
            subject="conway",
            district="demo",
            site="conway",
        ),
        new_event(
            ClassRegistered(
                class_id="cls-conway-03",
                title="Grade 3",
                teacher_ids=["t-rivera"],
                teacher_names={"t-rivera": "Ana Rivera"},
                student_ids=["s-ava"],
                version=1,
            ),
            subject="cls-conway-03",
            district="demo",
            site="conway",
        ),
        booked(first),
        moved(later, sequence=1, room="Library"),
    )
    replica = worker(uow, env)

    # The old time's reminders are cancelled with their jobs; nothing goes then, even from a
    # job that was already running when the move came (and so was not cancelled).
    old_two_days, old_two_hours, two_days, two_hours = await reminders(uow)
    assert (old_two_days.status, old_two_hours.status) == ("cancelled", "cancelled")
    queued = await reminder_jobs(uow)
    assert queued[old_two_days.id].status == queued[old_two_hours.id].status == "cancelled"
    async with uow.transaction() as session:
        stale = col(Job.id) == queued[old_two_days.id].id
        await session.exec(update(Job).where(stale).values(status="pending", finished_at=None))
    clock.at = first - TWO_DAYS + timedelta(minutes=1)
    await run_due(replica)
    assert await reminded(uow) == []
    assert (await reminders(uow))[0].status == "cancelled"
    assert (two_days.due_at, two_hours.due_at) == (later - TWO_DAYS, later - TWO_HOURS)

    # Two days before the new time, each guardian is reminded of it, in their language, with a
    # link of their own that works until the conference ends.
    clock.at = later - TWO_DAYS
    await run_due(replica)
    messages = {m.recipient_id: m for m in await reminded(uow)}
    assert set(messages) == set(GUARDIANS)
    father, mother = messages["g-wei"], messages["g-lin"]
    assert (father.language, mother.language) == ("en", "es")
    assert day(later) in father.subject + father.body
    assert day(later, "es") in mother.subject + mother.body
    assert day(first) not in father.body
    # Where (the room at its school) and with whom (the teacher the roster's class names).
    assert "Where: Library, Conway Elementary\n" in father.body, father.body
    assert "Teacher: Ana Rivera\n" in father.body, father.body
    # (In Spanish "Dónde:" is padded to line up with "Cuándo:" above it.)
    assert "Dónde:  Library, Conway Elementary\n" in mother.body, mother.body
    assert "Maestro/a: Ana Rivera\n" in mother.body, mother.body
    # The interpreter asked for, named in each guardian's language.
    assert "Interpreter: Chinese" in father.body
    assert "Intérprete: chino" in mother.body, mother.body
    links = [m.body.split("link=")[1].split()[0] for m in (father, mother)]
    assert len(set(links)) == 2  # a link is one guardian's
    assert {m.cause_event_id for m in messages.values()} == {two_days.id}
    assert [r.status for r in await reminders(uow)][2:] == ["sent", "pending"]

    clock.at = later - TWO_HOURS
    await run_due(replica)
    assert Counter(m.cause_event_id for m in await reminded(uow)) == {
        two_days.id: 2,
        two_hours.id: 2,
    }


async def test_a_cancelled_conference_sends_no_reminder(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts), moved(starts, sequence=1))
    await apply(uow, env, cancelled(starts, sequence=1))
    assert {r.status for r in await reminders(uow)} == {"cancelled"}
    assert {job.status for job in (await reminder_jobs(uow)).values()} == {"cancelled"}
    clock.at = starts - timedelta(minutes=30)
    await run_due(worker(uow, env))
    assert await reminded(uow) == []


async def test_events_twice_or_out_of_order_leave_the_reminders_of_the_newest(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    first = in_a_week(clock)
    second, third = first + timedelta(days=1), first + timedelta(days=2)
    # The second move first, then the booking, then the first move; the booking redelivered
    # (the same event) and published again (a new event saying the same).
    (move_2,) = await apply(uow, env, moved(third, sequence=2))
    (booking,) = await apply(uow, env, booked(first))
    await apply(uow, env, moved(second, sequence=1), booking, booked(first), move_2)
    pending = [r for r in await reminders(uow) if r.status == "pending"]
    assert [r.due_at for r in pending] == [third - TWO_DAYS, third - TWO_HOURS]
    assert len({r.round for r in await reminders(uow)}) == 1  # planned once: nothing else changed

    clock.at = third - timedelta(minutes=1)
    await run_due(worker(uow, env))
    messages = await reminded(uow)
    assert Counter(m.recipient_id for m in messages) == {"g-wei": 2, "g-lin": 2}
    assert all(day(third) in m.body for m in messages if m.language == "en")

    # A cancellation that overtook its booking: no reminder is ever planned.
    cancellation = cancelled(first, sequence=0).model_copy(update={"booking_id": "b-9"})
    await apply(uow, env, cancellation, booked(first, booking_id="b-9"))
    assert await reminders(uow, "b-9") == []


async def written(uow: UnitOfWork, template: str) -> list[Delivery]:
    async with uow.read() as session:
        found = await session.exec(
            select(Delivery).where(Delivery.template == template).order_by(col(Delivery.id))
        )
        return list(found.all())


async def test_the_family_is_told_only_of_news_whatever_order_the_events_come_in(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """A move overtaken by a later one, a booking by its first move, a move by the
    cancellation: the family is told of none of them (an older time told last, or "new time"
    after "cancelled", would mislead it)."""
    first = in_a_week(clock)
    second, third = first + timedelta(days=1), first + timedelta(days=2)
    (move_2,) = await apply(uow, env, moved(third, sequence=2))
    await apply(uow, env, booked(first), moved(second, sequence=1))
    told_moved = await written(uow, "conference_moved")
    assert {(m.recipient_id, m.cause_event_id) for m in told_moved} == {
        ("g-wei", move_2.id),
        ("g-lin", move_2.id),
    }
    assert await written(uow, "conference_booked") == []

    (cancellation,) = await apply(uow, env, cancelled(third, sequence=2))
    await apply(uow, env, moved(first + timedelta(days=3), sequence=3))
    assert len(await written(uow, "conference_moved")) == 2
    told_cancelled = await written(uow, "conference_cancelled")
    assert {m.cause_event_id for m in told_cancelled} == {cancellation.id}


async def test_a_move_handled_after_its_old_time_passed_is_critical_if_the_new_one_is_near(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """Handled late (a redelivery): the old time has passed, the new one is within the hour;
    the message cannot wait for quiet hours."""
    soon = (clock.now() + timedelta(minutes=40)).replace(microsecond=0)
    await apply(uow, env, booked(clock.now() + timedelta(days=7)))
    late = moved(soon, sequence=1).model_copy(
        update={"previous_starts_at": clock.now() - timedelta(minutes=5)}
    )
    await apply(uow, env, late)
    told = await written(uow, "conference_moved")
    assert told and all(m.critical for m in told)


async def test_a_reminder_job_run_again_writes_nothing_more(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    clock.at = starts - TWO_HOURS
    replica = worker(uow, env)
    await run_due(replica)
    sent = await reminded(uow)
    assert len(sent) == 4
    # An operator runs the jobs again (`slc-jobs retry`): they find their reminders sent.
    async with uow.transaction() as session:
        await session.exec(
            update(Job)
            .where(col(Job.kind) == SEND_REMINDER)
            .values(status="pending", due_at=starts - TWO_HOURS)
        )
    await run_due(replica)
    assert [m.id for m in await reminded(uow)] == [m.id for m in sent]
    assert replica.outcomes[(SEND_REMINDER, "done")] == 4


async def test_a_reminder_that_comes_due_after_the_conference_began_is_skipped(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    clock.at = starts + timedelta(minutes=5)  # every worker was down until after it began
    await run_due(worker(uow, env))
    assert await reminded(uow) == []
    assert {r.status for r in await reminders(uow)} == {"skipped"}


async def test_a_reminder_whose_job_is_given_up_is_failed_not_pending_for_ever(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    early, late = await reminders(uow)
    # The two days' reminder killed its worker in each of its runs.
    await dies_in_every_run(uow, (await reminder_jobs(uow))[early.id].id, clock)
    clock.at = starts - TWO_DAYS + timedelta(minutes=1)
    await run_due(worker(uow, env))
    assert {r.id: r.status for r in await reminders(uow)} == {
        early.id: "failed",
        late.id: "pending",
    }
    assert await reminded(uow) == []

    clock.at = starts - TWO_HOURS
    await run_due(worker(uow, env))
    assert {r.id: r.status for r in await reminders(uow)} == {early.id: "failed", late.id: "sent"}
    assert len(await reminded(uow)) == 2  # each guardian, the later one only

    # An operator runs the failed job again (`slc-jobs retry`): the reminder goes after all.
    async with uow.transaction() as session:
        await session.exec(
            update(Job)
            .where(col(Job.id) == (await reminder_jobs(uow))[early.id].id)
            .values(status="pending", attempts=0, due_at=clock.now(), finished_at=None)
        )
    await run_due(worker(uow, env))
    assert {r.id: r.status for r in await reminders(uow)} == {early.id: "sent", late.id: "sent"}
    assert len(await reminded(uow)) == 4


async def test_a_reminder_whose_job_an_operator_cancels_is_cancelled_and_put_back_for_its_time(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """``slc-jobs cancel`` of a reminder's job records the reminder ``cancelled``; ``slc-jobs
    retry`` puts it back for its own time (not at once), shown ``pending`` meanwhile, and it
    goes then."""
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    early, late = await reminders(uow)
    late_job = (await reminder_jobs(uow))[late.id]

    await cancel_job(uow, late_job.id, handlers=jobs)
    assert {r.id: r.status for r in await reminders(uow)} == {
        early.id: "pending",
        late.id: "cancelled",
    }
    async with uow.read() as session:
        conference = await session.get(UpcomingConference, "b-1")
        assert conference is not None
        assert await put_back(session, conference, await reminders(uow)) == set()

    again = await retry_job(uow, late_job.id)
    assert (again.status, again.due_at) == ("pending", late_job.due_at)  # its time, not now
    async with uow.read() as session:
        assert await put_back(session, conference, await reminders(uow)) == {late.id}

    clock.at = starts - TWO_DAYS + timedelta(minutes=1)
    await run_due(worker(uow, env))
    assert {r.id: r.status for r in await reminders(uow)} == {
        early.id: "sent",
        late.id: "cancelled",  # (its job waits for its time)
    }
    clock.at = starts - TWO_HOURS
    await run_due(worker(uow, env))
    assert {r.id: r.status for r in await reminders(uow)} == {early.id: "sent", late.id: "sent"}
    assert len(await reminded(uow)) == 4


async def test_a_reminder_put_back_then_given_up_or_cancelled_again_says_so(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """Each time its job is given up, the reminder of the conference's current round says how:
    cancelled by an operator, put back, then failed when its worker died in every run."""
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    _, late = await reminders(uow)
    late_job = (await reminder_jobs(uow))[late.id]

    await cancel_job(uow, late_job.id, handlers=jobs)
    await retry_job(uow, late_job.id)
    await dies_in_every_run(uow, late_job.id, clock)
    clock.at = starts - TWO_HOURS + timedelta(minutes=1)
    await run_due(worker(uow, env))
    assert {r.id: r.status for r in await reminders(uow)}[late.id] == "failed"
    await retry_job(uow, late_job.id)
    await cancel_job(uow, late_job.id, handlers=jobs)
    assert {r.id: r.status for r in await reminders(uow)}[late.id] == "cancelled"


async def test_a_replaced_rounds_reminder_whose_job_is_given_up_stays_cancelled(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """The conference moved (round 2): the first round's reminders were cancelled with their
    jobs. One of those jobs put back by an operator and given up again leaves its reminder as
    the move left it, not ``failed``: it was never to be sent."""
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    _, late = await reminders(uow)
    late_job = (await reminder_jobs(uow))[late.id]
    await apply(uow, env, moved(starts + timedelta(days=1), sequence=1))
    await retry_job(uow, late_job.id)
    await dies_in_every_run(uow, late_job.id, clock)
    clock.at = starts - TWO_HOURS + timedelta(minutes=1)
    await run_due(worker(uow, env))
    assert (await job_of(uow, late_job.id)).status == "failed"
    assert {r.id: r.status for r in await reminders(uow)}[late.id] == "cancelled"


async def test_reminders_wait_in_the_database_for_a_replica_started_later(
    database_url: str, uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    engine: AsyncEngine = uow.sessions.kw["bind"]
    await engine.dispose()  # the service stops: nothing of it is left in memory

    restarted = create_engine(database_url)
    try:
        again = UnitOfWork(session_factory(restarted))
        later_env = NotificationsEnvironment(settings=env.settings, clock=clock)
        clock.at = starts - TWO_HOURS
        await run_due(worker(again, later_env, name="replica-2"))
        assert Counter(m.recipient_id for m in await reminded(again)) == {"g-wei": 2, "g-lin": 2}
    finally:
        await restarted.dispose()


async def test_two_replicas_racing_write_each_reminder_once(
    database_url: str, uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    starts = in_a_week(clock)
    bookings = [f"b-{n}" for n in range(30)]
    await apply(
        uow, env, *[booked(starts + timedelta(minutes=20 * n), b) for n, b in enumerate(bookings)]
    )
    clock.at = starts - TWO_HOURS - timedelta(minutes=1)  # every two-day reminder is due
    engines = [create_engine(database_url) for _ in range(2)]
    replicas = [
        worker(UnitOfWork(session_factory(engine)), env, name=f"replica-{n}")
        for n, engine in enumerate(engines)
    ]
    try:
        await run_due(*replicas)
    finally:
        for engine in engines:
            await engine.dispose()
    messages = await reminded(uow)
    assert len(messages) == len(bookings) * len(GUARDIANS)
    assert set(Counter((m.cause_event_id, m.recipient_id) for m in messages).values()) == {1}
    ran = [r.outcomes[(SEND_REMINDER, "done")] for r in replicas]
    assert sum(ran) == len(bookings)
    if engines[0].dialect.name == "postgresql":
        assert all(ran), ran  # (they did run side by side)


async def test_a_move_racing_its_reminder_either_sends_it_or_cancels_it(
    database_url: str, uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """The job and the move commit in either order: the reminder is sent for the old time (and
    the new time's is planned), or cancelled and nothing is written; never both."""
    base = clock.now()
    engine = create_engine(database_url)
    replica = worker(UnitOfWork(session_factory(engine)), env)
    outcomes: Counter[str] = Counter()
    try:
        for n in range(8):
            booking, starts = f"b-race-{n}", in_a_week(clock)
            await apply(uow, env, booked(starts, booking))
            clock.at = starts - TWO_HOURS + timedelta(minutes=1)  # its two-hour reminder is due
            later = starts + timedelta(days=1)
            move = moved(later, sequence=1).model_copy(update={"booking_id": booking})
            await asyncio.gather(replica.run_due(), apply(uow, env, move))
            await run_due(replica)
            old, *_, new = [r for r in await reminders(uow, booking) if r.before_minutes == 120]
            written = [m for m in await reminded(uow) if m.cause_event_id == old.id]
            assert (old.status, len(written)) in (("sent", 2), ("cancelled", 0)), old.status
            assert (new.status, new.due_at) == ("pending", later - TWO_HOURS)
            outcomes[old.status] += 1
            clock.at = base  # the next booking is made a week ahead of now again
    finally:
        await engine.dispose()
    assert sum(outcomes.values()) == 8, outcomes


async def test_a_reminder_running_while_its_school_changes_its_times_is_not_sent(
    uow: UnitOfWork, env: NotificationsEnvironment, clock: ManualClock
) -> None:
    """A reminder's job already running when the school's change of reminder times takes its
    conference (a move or a cancellation takes it the same way): the job waits for the change
    on the conference's row, then finds the round replaced and sends nothing, though a
    cancelled reminder can be put back (``UNSENT``)."""
    starts = in_a_week(clock)
    await apply(uow, env, booked(starts))
    clock.at = starts - TWO_HOURS + timedelta(minutes=1)  # both reminders are due
    go = asyncio.Event()
    held: JobHandlers[NotificationsEnvironment] = JobHandlers()

    @held.handles(SEND_REMINDER, max_attempts=5)
    async def when_told(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
        await go.wait()  # claimed, running: the school's change comes now
        await send_reminder(context, job)

    policy = JobPolicy(batch_size=5, concurrency=4, poll_seconds=0.01)
    replica = JobWorker(uow=uow, handlers=held, env=env, worker_name="replica-1", policy=policy)
    running = asyncio.create_task(replica.run_due())
    await asyncio.sleep(0.3)
    async with uow.transaction() as session:
        await change_site_reminders(
            session,
            district="demo",
            site="conway",
            before=(timedelta(hours=3),),
            changed_by="a-conway",
            now=clock.now(),
        )
        go.set()
        await asyncio.sleep(0.5)
        assert not running.done()  # the jobs wait for the school's change
    assert await running == 2
    assert {r.status for r in await reminders(uow) if r.round == 1} == {"cancelled"}
    assert await reminded(uow) == []


# --- Over HTTP -------------------------------------------------------------------------------

CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
OTHER_TEACHER = auth("t-other", Role.TEACHER, sites=("conway",))


@pytest.mark.usefixtures("offices")  # (the school offices they sign in as)
async def test_the_office_chooses_reminder_times_and_staff_see_them_follow_the_conference(
    system: System,
) -> None:
    student, guardian_id = await family_with_contact(
        system, given_name="Ava", contact={"display_name": "Wei", "email": "wei@example.org"}
    )
    http = system.notifications
    default = ok(await http.get("/sites/conway/reminders", headers=CONWAY_ADMIN))
    assert (default["before"], default["chosen_by"]) == (["P2D", "PT2H"], None)
    chosen = ok(
        await http.put(
            "/sites/conway/reminders", json={"before": ["PT2H", "P1D"]}, headers=CONWAY_ADMIN
        )
    )
    assert (chosen["before"], chosen["chosen_by"]) == (["P1D", "PT2H"], "a-conway")
    assert ok(await http.get("/sites/conway/reminders", headers=CONWAY_ADMIN))["before"] == [
        "P1D",
        "PT2H",
    ]

    first, second = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), count=2, teacher_id="t-rivera"
    )
    booking = ok(await book(system, guardian(guardian_id), first["id"], student), 201)
    path = f"/conferences/{booking['id']}/reminders"

    async def listed() -> list[tuple[str, str, str]]:
        response = await http.get(path, headers=TEACHER)
        if response.status_code == 404:
            return []  # the booking has not reached notifications yet
        return [(r["before"], r["due_at"], r["status"]) for r in ok(response)["reminders"]]

    def due(slot: dict[str, str], before: timedelta) -> str:
        return (datetime.fromisoformat(slot["starts_at"]) - before).astimezone(UTC).isoformat()

    day, two_hours = timedelta(days=1), timedelta(hours=2)
    expected = [("P1D", due(first, day), "pending"), ("PT2H", due(first, two_hours), "pending")]
    assert [(b, _iso(d), s) for b, d, s in await eventually(listed, until=bool)] == expected

    ok(
        await system.scheduling.post(
            f"/bookings/{booking['id']}/move",
            json={"slot_id": second["id"]},
            headers=guardian(guardian_id),
        )
    )
    moved_to = [("P1D", due(second, day), "pending"), ("PT2H", due(second, two_hours), "pending")]
    found = await eventually(listed, until=lambda found: len(found) == 4)
    assert [(b, _iso(d), s) for b, d, s in found] == [
        *moved_to,
        ("P1D", due(first, day), "cancelled"),
        ("PT2H", due(first, two_hours), "cancelled"),
    ]

    # The office changes its times: the reminders not yet sent follow.
    changed = ok(
        await http.put("/sites/conway/reminders", json={"before": ["PT3H"]}, headers=CONWAY_ADMIN)
    )
    assert changed["conferences_planned_anew"] == 1
    found = await listed()
    assert [(b, _iso(d), s) for b, d, s in found[:1]] == [
        ("PT3H", due(second, timedelta(hours=3)), "pending")
    ]
    assert {s for _, _, s in found[1:]} == {"cancelled"}

    # An operator cancels its job (``slc-jobs cancel``), then puts it back: it is shown
    # cancelled, then pending for its time again.
    uow = system.apps["notifications"].state.runtime.uow
    async with uow.read() as session:
        (three_hours,) = (
            await session.exec(
                select(Job).where(Job.kind == SEND_REMINDER, Job.status == "pending")
            )
        ).all()
    await cancel_job(uow, three_hours.id, handlers=jobs)
    assert [s for _, _, s in (await listed())[:1]] == ["cancelled"]
    await retry_job(uow, three_hours.id)
    assert (await listed())[:1] == found[:1]

    ok(await system.scheduling.delete(f"/bookings/{booking['id']}", headers=guardian(guardian_id)))
    await eventually(listed, until=lambda found: {s for _, _, s in found} == {"cancelled"})

    # Who may see and change what.
    assert (await http.get(path, headers=CONWAY_ADMIN)).status_code == 200
    assert (await http.get(path, headers=OTHER_TEACHER)).status_code == 404
    assert (await http.get(path, headers=MJDS_ADMIN)).status_code == 404
    assert (await http.get(path, headers=guardian(guardian_id))).status_code == 403
    one_day = {"before": ["P1D"]}
    put = await http.put("/sites/conway/reminders", json=one_day, headers=TEACHER)
    assert put.status_code == 403
    put = await http.put("/sites/conway/reminders", json=one_day, headers=MJDS_ADMIN)
    assert put.status_code == 404
    unknown = await http.get("/sites/nowhere/reminders", headers=auth("it", Role.DISTRICT_ADMIN))
    assert unknown.status_code == 404


@pytest.mark.usefixtures("offices")  # (the school offices they sign in as)
async def test_reminder_times_beyond_the_limits_are_422_with_the_reason(system: System) -> None:
    await family_with_contact(
        system, given_name="Ava", contact={"display_name": "Wei", "email": "wei@example.org"}
    )
    for before, reason in [
        (["P1D", "P2D", "P3D", "P4D", "P5D", "P6D"], "at most 5"),
        (["PT4M"], "PT4M before the conference is not between PT5M (5 minutes) and P14D"),
        (["P15D"], "P15D before the conference is not between"),
        (["P15D"], '"type":"reminders_range"'),  # (the kind, for callers to act on)
        (["P1D", "PT24H"], "P1D is given twice"),
        (["P1D", "PT24H"], '"type":"reminders_twice"'),
        (["P1M"], "string_pattern_mismatch"),
        (["PT"], "is not an ISO 8601 duration"),
        ("P2D", "list_type"),
    ]:
        response = await system.notifications.put(
            "/sites/conway/reminders", json={"before": before}, headers=CONWAY_ADMIN
        )
        assert response.status_code == 422, response.text
        assert reason in response.text, response.text
    still = ok(await system.notifications.get("/sites/conway/reminders", headers=CONWAY_ADMIN))
    assert still["chosen_by"] is None


def _iso(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()
