"""Notifications' handlers: a batch costs the same few queries whatever the number of guardians,
and what the service is configured with reaches them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from icalendar import Calendar
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.app import build_app
from services.notifications.consumers import consumers
from services.notifications.environment import NotificationsEnvironment
from services.notifications.reminders import _messages as reminder_messages
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import (
    ConferenceReminder,
    ContactPoint,
    KnownStudent,
    UpcomingConference,
)
from services.notifications.tables import Delivery as SentMessage
from shared.auth import Role
from shared.database import create_engine, session_factory
from shared.events import (
    ClassRegistered,
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceInterpreterChanged,
    ConferenceMoved,
    FamiliesNudged,
    GoalSet,
    GuardianLinked,
    GuardianUnlinked,
    NudgedFamily,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.events.envelope import EventData, new_event, to_stream_fields
from shared.messaging.consumer import Delivery, Outcome, handle_batch, needs
from shared.messaging.tables import InboxEntry, ParkedEvent
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.roster import RosterGuardianLink, RosterSite, link_states
from shared.roster_classes import RosterClassMember, teacher_names
from tests.integration.conftest import serving
from tests.support import auth, eventually


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine, NOTIFICATIONS.migrations)
    yield engine
    await engine.dispose()


def goals(count: int) -> list[Delivery]:
    subscription = consumers.for_stream(GoalSet.stream())
    return [
        Delivery(
            subscription,
            new_event(
                GoalSet(
                    goal_id=f"goal-{n}",
                    student_id=f"s-{n}",
                    title="Read a chapter book on my own",
                    area="reading",
                    set_by=f"s-{n}",
                    guardian_ids=[f"g-{n}-a", f"g-{n}-b"],
                ),
                subject=f"s-{n}",
                district="demo",
                site="conway",
            ),
        )
        for n in range(count)
    ]


async def test_a_batch_of_goals_costs_the_same_queries_for_2_or_200_guardians(
    engine: AsyncEngine,
) -> None:
    uow = UnitOfWork(session_factory(engine))
    async with uow.transaction() as session:
        for n in range(100):
            session.add(
                KnownStudent(
                    id=f"s-{n}", district="demo", site="conway", given_name="Ava", version=1
                )
            )
            for side in "ab":
                session.add(
                    RosterGuardianLink(
                        guardian_id=f"g-{n}-{side}",
                        student_id=f"s-{n}",
                        district="demo",
                        active=True,
                        version=1,
                    )
                )
                session.add(
                    ContactPoint(
                        guardian_id=f"g-{n}-{side}",
                        district="demo",
                        site="conway",
                        display_name="Wei Chen",
                        email=f"g-{n}-{side}@example.org",
                    )
                )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    env = NotificationsEnvironment(settings=NotificationsSettings())
    batches = goals(100)
    sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        small = await handle_batch(uow, group="notifications", batch=batches[:1], env=env)
        few = list(statements)
        statements.clear()
        large = await handle_batch(uow, group="notifications", batch=batches[1:], env=env)
    finally:
        sqlalchemy_event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert small == [Outcome.HANDLED] and large == [Outcome.HANDLED] * 99
    # 1 goal (2 guardians) or 99 goals (198 guardians): the same statements, each once.
    assert sorted(statements) == sorted(few), (few, statements)
    # inbox, schools' zones, students, links, contacts, digest news
    assert statements.count("SELECT") <= 6


def on_sqlite(tmp_path: Path, redis_url: str, **more: Any) -> NotificationsSettings:
    """A notifications service of its own, on a SQLite file in ``tmp_path``."""
    return NotificationsSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'n.db'}",
        redis_url=redis_url,
        consumer_name="r1",
        **more,
    )


async def publish(redis: aioredis.Redis, data: EventData, *, site: str = "conway") -> None:
    event = new_event(data, subject="s-ava", district="demo", site=site)
    await redis.xadd(type(data).stream(), to_stream_fields(event))  # type: ignore[arg-type]


async def test_a_service_built_with_other_settings_renders_with_them(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """NOTIFICATIONS_TIMEZONE reaches the handlers (no module-level settings): a conference
    event that does not name its site's time zone is written in the configured one; one that
    does is written in the site's."""
    settings = on_sqlite(tmp_path, redis_url, timezone="Asia/Tokyo")
    starts = datetime(2030, 12, 9, 23, 0, tzinfo=UTC)
    admin = auth("it-admin", Role.DISTRICT_ADMIN)
    async with serving(build_app(settings), "http://notifications") as http:
        await publish(
            redis_client,
            StudentEnrolled(
                student_id="s-ava", given_name="Ava", family_name="Chen", grade="03", version=1
            ),
        )
        await publish(
            redis_client,
            GuardianLinked(
                guardian_id="g-wei", student_id="s-ava", relationship="father", version=1
            ),
        )

        async def contact_saved() -> httpx.Response:
            return await http.put(
                "/contacts/g-wei",
                json={"site": "conway", "display_name": "Wei Chen", "email": "wei@example.org"},
                headers=admin,
            )

        # The roster reaches notifications as events: until then the guardian is unknown (404).
        contact = await eventually(contact_saved, until=lambda r: r.status_code != 404)
        assert contact.status_code == 200, contact.text
        for booking, timezone in (("b-old", None), ("b-new", "America/New_York")):
            await publish(
                redis_client,
                ConferenceBooked(
                    booking_id=booking,
                    slot_id="slot-1",
                    student_id="s-ava",
                    guardian_id="g-wei",
                    booked_by="g-wei",
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=20),
                    room="Room 4",
                    teacher_id="t-rivera",
                    timezone=timezone,
                ),
            )

        async def mailbox() -> list[dict[str, Any]]:
            response = await http.get("/mailbox", headers=admin)
            return list(response.json())

        messages = await eventually(mailbox, until=lambda found: len(found) == 2)
    bodies = sorted(message["body"] for message in messages)
    # 23:00 UTC is 8:00 the next morning in Tokyo, 6:00 pm the same day in New York.
    assert any("Tuesday, December 10, 2030, 8:00" in body for body in bodies), bodies
    assert any("Monday, December 9, 2030, 6:00" in body for body in bodies), bodies


async def ava_at_conway(redis: aioredis.Redis) -> None:
    """Conway (named) on the roster, Ava a student there, and her father Wei linked to her."""
    await publish(
        redis,
        SiteRegistered(
            site_id="conway", name="Conway Elementary", timezone="America/Los_Angeles", version=1
        ),
    )
    await publish(
        redis,
        StudentEnrolled(
            student_id="s-ava", given_name="Ava", family_name="Chen", grade="03", version=1
        ),
    )
    await publish(
        redis,
        GuardianLinked(guardian_id="g-wei", student_id="s-ava", relationship="father", version=1),
    )


async def wei_can_be_written_to(http: httpx.AsyncClient) -> None:
    """Wei's email on file, once notifications knows him from the roster (404 until then)."""

    async def contact_saved() -> httpx.Response:
        return await http.put(
            "/contacts/g-wei",
            json={"site": "conway", "display_name": "Wei Chen", "email": "wei@example.org"},
            headers=auth("it-admin", Role.DISTRICT_ADMIN),
        )

    contact = await eventually(contact_saved, until=lambda r: r.status_code != 404)
    assert contact.status_code == 200, contact.text


async def test_a_conference_message_names_its_school_and_teacher_and_so_does_its_calendar(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """The roster's classes name the teacher (``roster.class.registered``): the confirmation
    says where (the room at which school: a family may have children at two) and with whom,
    and its calendar invitation names the teacher, not their id."""
    settings = on_sqlite(tmp_path, redis_url)
    starts = datetime(2030, 12, 9, 23, 0, tzinfo=UTC)
    admin = auth("it-admin", Role.DISTRICT_ADMIN)
    app = build_app(settings)
    async with serving(app, "http://notifications") as http:
        await ava_at_conway(redis_client)
        await publish(
            redis_client,
            ClassRegistered(
                class_id="cls-conway-03",
                title="Grade 3, Room 12",
                teacher_ids=["t-rivera"],
                teacher_names={"t-rivera": "Ana Rivera"},
                student_ids=["s-ava"],
                version=1,
            ),
        )
        await wei_can_be_written_to(http)
        runtime = app.state.runtime

        async def named() -> dict[str, str]:
            async with runtime.uow.read() as session:
                return await teacher_names(session, ["t-rivera"])

        await eventually(named, until=bool)
        async with runtime.uow.read() as session:
            kept = (await session.exec(select(RosterClassMember))).all()
        # Only the teachers: notifications has no use for who is in which class.
        assert [(m.person_id, m.role, m.name) for m in kept] == [
            ("t-rivera", "teacher", "Ana Rivera")
        ]
        await publish(
            redis_client,
            ConferenceBooked(
                booking_id="b-1",
                slot_id="slot-1",
                student_id="s-ava",
                guardian_id="g-wei",
                booked_by="g-wei",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=20),
                room="Room 4",
                teacher_id="t-rivera",
                timezone="America/Los_Angeles",
            ),
        )

        async def mailbox() -> list[dict[str, Any]]:
            return list((await http.get("/mailbox", headers=admin)).json())

        (message,) = await eventually(mailbox, until=lambda found: len(found) == 1)
        await publish(
            redis_client,
            ConferenceMoved(
                booking_id="b-1",
                student_id="s-ava",
                guardian_id="g-wei",
                slot_id="slot-2",
                previous_slot_id="slot-1",
                starts_at=starts + timedelta(hours=1),
                ends_at=starts + timedelta(hours=1, minutes=20),
                previous_starts_at=starts,
                room="Room 9",
                teacher_id="t-rivera",
                timezone="America/Los_Angeles",
                moved_by="g-wei",
                sequence=1,
            ),
        )
        await eventually(mailbox, until=lambda found: len(found) == 2)
        moved = next(m for m in await mailbox() if m["subject"].startswith("New time"))
        assert "  Where: Room 9, Conway Elementary\n  Teacher: Ana Rivera\n" in moved["body"]
        async with runtime.uow.read() as session:
            delivery = (
                await session.exec(
                    select(SentMessage).where(
                        SentMessage.recipient_id == "g-wei",
                        SentMessage.template == "conference_booked",
                    )
                )
            ).one()
    assert "  Where: Room 4, Conway Elementary\n" in message["body"], message["body"]
    assert "  Teacher: Ana Rivera\n" in message["body"], message["body"]
    (event,) = Calendar.from_ical(delivery.calendar).walk("VEVENT")
    assert "Teacher: Ana Rivera" in str(event["DESCRIPTION"])
    assert "t-rivera" not in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == "Room 4, Conway Elementary"


async def test_a_video_call_names_no_school_in_its_messages_reminders_or_cancellation(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """A video call's room ("Online") is not at the school: neither its confirmation, nor its
    reminders, nor its cancellation's calendar name the school as where to go."""
    settings = on_sqlite(tmp_path, redis_url)
    starts = datetime(2030, 12, 9, 23, 0, tzinfo=UTC)
    app = build_app(settings)
    async with serving(app, "http://notifications") as http:
        await ava_at_conway(redis_client)
        await wei_can_be_written_to(http)
        runtime = app.state.runtime

        async def known_site() -> bool:
            async with runtime.uow.read() as session:
                return await session.get(RosterSite, "conway") is not None

        await eventually(known_site, until=bool)
        call = {
            "booking_id": "b-video",
            "slot_id": "slot-1",
            "student_id": "s-ava",
            "guardian_id": "g-wei",
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=20),
            "room": "Online",
            "teacher_id": "t-rivera",
            "timezone": "America/Los_Angeles",
        }
        await publish(redis_client, ConferenceBooked(**call, booked_by="g-wei", mode="virtual"))

        async def written() -> list[SentMessage]:
            async with runtime.uow.read() as session:
                return list(
                    (
                        await session.exec(
                            select(SentMessage).where(SentMessage.recipient_id == "g-wei")
                        )
                    ).all()
                )

        (booked,) = await eventually(written, until=lambda found: len(found) == 1)
        assert "  Where: a video call (join it from your family's page)\n" in booked.body, (
            booked.body
        )
        assert "Online" not in booked.body  # (scheduling's placeholder room, in English)
        async with runtime.uow.read() as session:
            conference = await session.get(UpcomingConference, "b-video")
            assert conference is not None and conference.mode == "virtual"
            reminder = (
                await session.exec(
                    select(ConferenceReminder).where(ConferenceReminder.conference_id == "b-video")
                )
            ).first()
            assert reminder is not None
            assert runtime.env is not None
            reminders = await reminder_messages(runtime.env, session, reminder, conference)
        assert reminders and all(message.virtual for message in reminders)

        await publish(
            redis_client,
            ConferenceCancelled(
                **{k: v for k, v in call.items() if k != "timezone"},
                cancelled_by="g-wei",
                mode="virtual",
                sequence=1,
            ),
        )
        found = await eventually(written, until=lambda found: len(found) == 2)
        (cancelled,) = [m for m in found if m.template == "conference_cancelled"]
    (event,) = Calendar.from_ical(cancelled.calendar).walk("VEVENT")
    assert str(event["LOCATION"]) == "Online"


async def test_an_interpreter_asked_for_and_given_up_is_told_and_reminded(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """An interpreter asked for after the booking, then given up: the family is told each time,
    with the calendar's SEQUENCE raised, and the conference's reminders name the interpreter it
    has now (or none)."""
    settings = on_sqlite(tmp_path, redis_url)
    starts = datetime(2030, 12, 9, 23, 0, tzinfo=UTC)
    app = build_app(settings)
    async with serving(app, "http://notifications") as http:
        await ava_at_conway(redis_client)
        await wei_can_be_written_to(http)
        runtime = app.state.runtime
        conference = {
            "booking_id": "b-interpreter",
            "slot_id": "slot-1",
            "student_id": "s-ava",
            "guardian_id": "g-wei",
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=20),
            "room": "Room 4",
            "teacher_id": "t-rivera",
            "timezone": "America/Los_Angeles",
        }
        await publish(redis_client, ConferenceBooked(**conference, booked_by="g-wei"))

        async def written() -> list[SentMessage]:
            async with runtime.uow.read() as session:
                return list(
                    (
                        await session.exec(
                            select(SentMessage).where(SentMessage.recipient_id == "g-wei")
                        )
                    ).all()
                )

        async def interpreter_known() -> str | None:
            async with runtime.uow.read() as session:
                row = await session.get(UpcomingConference, "b-interpreter")
                assert row is not None
                return row.interpreter_language

        (booked,) = await eventually(written, until=lambda found: len(found) == 1)
        assert "Interpreter" not in booked.body
        assert await interpreter_known() is None

        await publish(
            redis_client,
            ConferenceInterpreterChanged(
                **conference, sequence=1, changed_by="g-wei", interpreter_language="es"
            ),
        )
        found = await eventually(written, until=lambda found: len(found) == 2)
        (asked,) = [m for m in found if m.template == "conference_interpreter_changed"]
        assert asked.subject == "Interpreter: Spanish at Ava's conference"
        assert "an interpreter in Spanish will be at Ava's student-led conference" in asked.body
        assert "  Interpreter: Spanish\n" in asked.body
        assert asked.calendar is not None
        (event,) = Calendar.from_ical(asked.calendar).walk("VEVENT")
        assert int(event["SEQUENCE"]) == 1
        assert await interpreter_known() == "es"

        await publish(
            redis_client,
            ConferenceInterpreterChanged(
                **conference,
                sequence=2,
                changed_by="a-office",
                by_school=True,
                interpreter_language=None,
                previous_interpreter_language="es",
            ),
        )
        found = await eventually(written, until=lambda found: len(found) == 3)
        (given_up,) = [
            m for m in found if m.template == "conference_interpreter_changed" and m.id != asked.id
        ]
        assert given_up.subject == "No interpreter at Ava's conference"
        assert "The school has changed Ava's student-led conference: it will have no" in (
            given_up.body
        )
        assert "Interpreter:" not in given_up.body and "Spanish" not in given_up.body
        assert given_up.calendar is not None
        (event,) = Calendar.from_ical(given_up.calendar).walk("VEVENT")
        assert int(event["SEQUENCE"]) == 2
        assert await interpreter_known() is None
        async with runtime.uow.read() as session:
            row = await session.get(UpcomingConference, "b-interpreter")
            assert row is not None and row.interpreter_named_at == 2
            reminder = (
                await session.exec(
                    select(ConferenceReminder).where(
                        ConferenceReminder.conference_id == "b-interpreter"
                    )
                )
            ).first()
            assert reminder is not None
            assert runtime.env is not None
            reminders = await reminder_messages(runtime.env, session, reminder, row)
        assert reminders and all(m.values["interpreter"] is None for m in reminders)


async def test_a_change_that_overtook_another_tells_the_family_of_both(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """A conference's events travel on different streams: a change may reach this service
    before the one made earlier. The later change's message then says what the earlier one
    changed, since the earlier one's own message is not sent (it is no longer news): a school's
    move overtaken by an interpreter asked for says the time changed; an interpreter given up,
    overtaken by a move, is told by the move."""
    settings = on_sqlite(tmp_path, redis_url)
    starts = datetime(2030, 12, 9, 23, 0, tzinfo=UTC)
    later = starts + timedelta(hours=1)
    app = build_app(settings)
    async with serving(app, "http://notifications") as http:
        await ava_at_conway(redis_client)
        await wei_can_be_written_to(http)
        runtime = app.state.runtime

        def conference(booking_id: str, at: datetime) -> dict[str, Any]:
            return {
                "booking_id": booking_id,
                "student_id": "s-ava",
                "guardian_id": "g-wei",
                "starts_at": at,
                "ends_at": at + timedelta(minutes=20),
                "room": "Room 4",
                "teacher_id": "t-rivera",
                "timezone": "America/Los_Angeles",
            }

        async def told(booking_id: str, count: int) -> list[SentMessage]:
            async def written() -> list[SentMessage]:
                async with runtime.uow.read() as session:
                    query = select(SentMessage).where(
                        col(SentMessage.calendar).contains(booking_id)
                    )
                    return list((await session.exec(query)).all())

            return await eventually(written, until=lambda found: len(found) >= count)

        async def handled(kind: type[EventData], count: int) -> None:
            async def entries() -> int:
                async with runtime.uow.read() as session:
                    query = select(InboxEntry).where(InboxEntry.event_type == kind.event_type())
                    return len((await session.exec(query)).all())

            await eventually(entries, until=lambda found: found >= count)

        def moved(booking_id: str, **more: Any) -> ConferenceMoved:
            return ConferenceMoved(
                **conference(booking_id, later),
                slot_id="slot-2",
                previous_slot_id="slot-1",
                previous_starts_at=starts,
                moved_by="a-office",
                by_school=True,
                reason="Room flooded",
                **more,
            )

        # The school moves the time (SEQUENCE 1), then books an interpreter (2); the second
        # arrives first.
        await publish(
            redis_client,
            ConferenceBooked(**conference("b-one", starts), slot_id="slot-1", booked_by="g-wei"),
        )
        await told("b-one", 1)
        await publish(
            redis_client,
            ConferenceInterpreterChanged(
                **conference("b-one", later),
                slot_id="slot-2",
                sequence=2,
                changed_by="a-office",
                by_school=True,
                interpreter_language="es",
            ),
        )
        found = await told("b-one", 2)
        (asked,) = [m for m in found if m.template == "conference_interpreter_changed"]
        assert "  (Its time has changed too: it was Monday, December 9, 2030, 3:00" in (
            asked.body
        ), asked.body
        await publish(redis_client, moved("b-one", sequence=1, interpreter_language=None))
        await handled(ConferenceMoved, 1)  # (the move, no longer news, sends nothing)
        assert [m.template for m in await told("b-one", 2)] == [
            "conference_booked",
            "conference_interpreter_changed",
        ]

        assert not asked.critical  # (neither time is today)
        # The same, from a time an hour from now: the message bringing the news of the move
        # away from it cannot wait (critical: past quiet hours and opt-outs).
        soon = datetime.now(UTC) + timedelta(hours=1)
        await publish(
            redis_client,
            ConferenceBooked(**conference("b-soon", soon), slot_id="slot-1", booked_by="g-wei"),
        )
        await told("b-soon", 1)
        await publish(
            redis_client,
            ConferenceInterpreterChanged(
                **conference("b-soon", later),
                slot_id="slot-2",
                sequence=2,
                changed_by="a-office",
                by_school=True,
                interpreter_language="es",
            ),
        )
        urgent = [
            m for m in await told("b-soon", 2) if m.template == "conference_interpreter_changed"
        ]
        assert [m.critical for m in urgent] == [True]

        # Booked with an interpreter; the family gives it up (SEQUENCE 1), then the school moves
        # the time (2); the move arrives first.
        await publish(
            redis_client,
            ConferenceBooked(
                **conference("b-two", starts),
                slot_id="slot-1",
                booked_by="g-wei",
                interpreter_language="es",
            ),
        )
        await told("b-two", 1)
        await publish(redis_client, moved("b-two", sequence=2, interpreter_language=None))
        found = await told("b-two", 2)
        (move,) = [m for m in found if m.template == "conference_moved"]
        assert "  Interpreter: none any more (it was Spanish)\n" in move.body, move.body
        await publish(
            redis_client,
            ConferenceInterpreterChanged(
                **conference("b-two", starts),
                slot_id="slot-1",
                sequence=1,
                changed_by="g-wei",
                interpreter_language=None,
                previous_interpreter_language="es",
            ),
        )
        await handled(ConferenceInterpreterChanged, 3)
        assert len(await told("b-two", 2)) == 2


async def test_a_reminder_to_book_waits_for_a_child_not_on_the_roster_yet(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """A guardian reminded for two children, the first of whom has left the school and the
    second not yet reached this service's roster: the reminder waits for the second, and names
    them alone (it is not addressed to the child who left, and so dropped)."""
    settings = on_sqlite(tmp_path, redis_url)
    app = build_app(settings)
    async with serving(app, "http://notifications") as http:
        await ava_at_conway(redis_client)
        await wei_can_be_written_to(http)
        await publish(redis_client, StudentWithdrawn(student_id="s-ava", version=2))
        runtime = app.state.runtime

        async def ava_left() -> bool:
            async with runtime.uow.read() as session:
                ava = await session.get(KnownStudent, "s-ava")
                return ava is not None and not ava.active

        await eventually(ava_left, until=bool)
        now = datetime.now(UTC)
        await publish(
            redis_client,
            FamiliesNudged(
                nudge_id="n-1",
                window_id="w-1",
                nudged_by="a-lopez",
                families=[
                    NudgedFamily(student_id="s-ava", guardian_ids=["g-wei"]),
                    NudgedFamily(student_id="s-ben", guardian_ids=["g-wei"]),
                ],
                closes_at=now + timedelta(days=5),
                timezone="America/Los_Angeles",
            ),
        )

        async def waiting() -> list[str]:
            async with runtime.uow.read() as session:
                parked = (await session.exec(select(ParkedEvent))).all()
                return [event.waiting_for for event in parked]

        assert await eventually(waiting, until=bool) == [needs("student", "s-ben")]
        await publish(
            redis_client,
            StudentEnrolled(
                student_id="s-ben", given_name="Ben", family_name="Chen", grade="01", version=1
            ),
        )
        await publish(
            redis_client,
            GuardianLinked(
                guardian_id="g-wei", student_id="s-ben", relationship="father", version=1
            ),
        )

        async def reminded() -> list[SentMessage]:
            async with runtime.uow.read() as session:
                query = select(SentMessage).where(SentMessage.template == "booking_reminder")
                return list((await session.exec(query)).all())

        (reminder,) = await eventually(reminded, until=bool)
    assert (reminder.recipient_id, reminder.student_id) == ("g-wei", "s-ben")
    assert reminder.subject == "Reminder: choose a time for Ben's conference", reminder.subject
    assert "Ava" not in reminder.body


async def test_a_reminder_to_book_names_only_the_children_still_the_guardians(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """A guardian nudged for two children, the first of whom the roster has since unlinked
    from them: the reminder is about the second alone (not addressed to the first, and so
    dropped, nor naming a child who is no longer theirs)."""
    settings = on_sqlite(tmp_path, redis_url)
    app = build_app(settings)
    async with serving(app, "http://notifications") as http:
        await ava_at_conway(redis_client)
        await wei_can_be_written_to(http)
        await publish(
            redis_client,
            StudentEnrolled(
                student_id="s-ben", given_name="Ben", family_name="Chen", grade="01", version=1
            ),
        )
        await publish(
            redis_client,
            GuardianLinked(
                guardian_id="g-wei", student_id="s-ben", relationship="father", version=1
            ),
        )
        await publish(
            redis_client, GuardianUnlinked(guardian_id="g-wei", student_id="s-ava", version=2)
        )
        runtime = app.state.runtime

        async def links_known() -> dict[tuple[str, str], bool]:
            async with runtime.uow.read() as session:
                return await link_states(session, {("g-wei", "s-ava"), ("g-wei", "s-ben")})

        await eventually(
            links_known,
            until=lambda found: found == {("g-wei", "s-ava"): False, ("g-wei", "s-ben"): True},
        )
        await publish(
            redis_client,
            FamiliesNudged(
                nudge_id="n-1",
                window_id="w-1",
                nudged_by="a-lopez",
                families=[
                    NudgedFamily(student_id="s-ava", guardian_ids=["g-wei"]),
                    NudgedFamily(student_id="s-ben", guardian_ids=["g-wei"]),
                ],
                closes_at=datetime.now(UTC) + timedelta(days=5),
                timezone="America/Los_Angeles",
            ),
        )

        async def reminded() -> list[SentMessage]:
            async with runtime.uow.read() as session:
                query = select(SentMessage).where(SentMessage.template == "booking_reminder")
                return list((await session.exec(query)).all())

        (reminder,) = await eventually(reminded, until=bool)
    assert (reminder.recipient_id, reminder.student_id) == ("g-wei", "s-ben")
    assert reminder.subject == "Reminder: choose a time for Ben's conference", reminder.subject
    assert "Ava" not in reminder.body


async def test_moves_in_one_batch_each_say_what_changed_since_the_one_before(
    engine: AsyncEngine,
) -> None:
    """Two moves of one conference handled in one batch (a consumer catching up): the first
    says the interpreter is no more, the second does not say it again."""
    uow = UnitOfWork(session_factory(engine))
    starts = datetime(2030, 12, 9, 23, 0, tzinfo=UTC)
    async with uow.transaction() as session:
        session.add(
            KnownStudent(id="s-ava", district="demo", site="conway", given_name="Ava", version=1)
        )
        session.add(
            RosterGuardianLink(
                guardian_id="g-wei", student_id="s-ava", district="demo", active=True, version=1
            )
        )
        session.add(
            ContactPoint(
                guardian_id="g-wei",
                district="demo",
                site="conway",
                display_name="Wei Chen",
                email="wei@example.org",
            )
        )
    booked = ConferenceBooked(
        booking_id="b-1",
        slot_id="slot-1",
        student_id="s-ava",
        guardian_id="g-wei",
        booked_by="g-wei",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=20),
        room="Room 4",
        teacher_id="t-rivera",
        interpreter_language="es",
    )
    env = NotificationsEnvironment(settings=NotificationsSettings())

    def delivery(data: EventData) -> Delivery:
        event = new_event(data, subject="s-ava", district="demo", site="conway")
        return Delivery(consumers.for_stream(type(data).stream()), event)

    assert await handle_batch(uow, group="notifications", batch=[delivery(booked)], env=env) == [
        Outcome.HANDLED
    ]
    moves = [
        ConferenceMoved(
            booking_id="b-1",
            student_id="s-ava",
            guardian_id="g-wei",
            teacher_id="t-rivera",
            slot_id=f"slot-{n + 1}",
            starts_at=starts + timedelta(hours=n),
            ends_at=starts + timedelta(hours=n, minutes=20),
            room="Room 4",
            previous_slot_id=f"slot-{n}",
            previous_starts_at=starts + timedelta(hours=n - 1),
            sequence=n,
            moved_by="g-wei",
            interpreter_language=None,
        )
        for n in (1, 2)
    ]
    batch = [delivery(move) for move in moves]
    handled = await handle_batch(uow, group="notifications", batch=batch, env=env)
    assert handled == [Outcome.HANDLED] * 2
    async with uow.read() as session:
        query = select(SentMessage).where(SentMessage.template == "conference_moved")
        bodies = {m.cause_event_id: m.body for m in (await session.exec(query)).all()}
    first, second = (bodies[one.event.id] for one in batch)
    assert "  Interpreter: none any more (it was Spanish)\n" in first, first
    assert "Interpreter" not in second, second
