"""Families' email over real SMTP (a local aiosmtpd server), on SQLite and PostgreSQL: the MIME a
family receives (text and HTML, their language, a stable Message-ID, the conference's .ics that
calendar apps follow through a move and a cancellation), and what the relay's answers do: 4xx is
tried again, 5xx fails the delivery at once with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from icalendar import Calendar
from sqlalchemy import update
from sqlmodel import col, select

from services.notifications.reminders import SEND_REMINDER
from services.notifications.tables import Delivery
from shared.auth import Role
from shared.jobs.tables import Job
from tests.integration.conftest import (
    System,
    delivery_of,
    family_with_contact,
    roster_reached,
    times_before_any_family,
)
from tests.integration.test_conference_week import LA, book, guardian, ok
from tests.mail_support import BUSY_TIMES, LocalMailServer
from tests.scheduling_support import in_three_days_at, open_times
from tests.support import auth, eventually

ADMIN = auth("it-admin", Role.DISTRICT_ADMIN)


async def family(system: System, *, local: str, language: str) -> tuple[str, str, str]:
    """A family whose guardian's email is ``<local>-<tag>@example.org``; returns (student,
    guardian, address)."""
    address = f"{local}-{uuid.uuid4().hex[:8]}@example.org"
    student, guardian_id = await family_with_contact(
        system,
        given_name="Lucía",
        contact={"display_name": "María", "email": address, "language": language},
    )
    return student, guardian_id, address


def parts(message: EmailMessage) -> dict[str, Any]:
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


async def conference_mail(
    mail_server: LocalMailServer, address: str, count: int = 1
) -> list[EmailMessage]:
    """The emails to ``address`` about a conference (not the invitation that came first)."""
    await eventually(
        lambda: _async(mail_server.to(address)),
        until=lambda found: len([m for m in found if "text/calendar" in parts(m)]) >= count,
        timeout=15,
    )
    return [m for m in mail_server.to(address) if "text/calendar" in parts(m)]


async def _async(value: Any) -> Any:
    return value


def calendar_of(message: EmailMessage) -> Calendar:
    part = parts(message)["text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


async def test_a_booking_moved_and_cancelled_reaches_the_family_with_its_calendar(
    system: System, mail_server: LocalMailServer
) -> None:
    student, guardian_id, address = await family(system, local="maria", language="es")
    headers = guardian(guardian_id)
    first, second = await open_times(
        system.scheduling,
        site="conway",
        starts_at=in_three_days_at(15),
        count=2,
        teacher_id="t-rivera",
    )
    booked = ok(await book(system, headers, first["id"], student), 201)
    (confirmation,) = await conference_mail(mail_server, address)

    assert confirmation["To"] == address
    # No bounce address set: no delivery reports asked for (nobody would receive them).
    assert not [o for o in mail_server.envelopes_to(address)[0].mail_options if "ENVID" in o]
    assert confirmation["Content-Language"] == "es"
    assert confirmation["Subject"].startswith("Confirmad")  # written in Spanish
    found = parts(confirmation)
    assert {"text/plain", "text/html", "text/calendar"} <= set(found)
    assert "Lucía" in found["text/plain"].get_content()
    assert 'lang="es"' in found["text/html"].get_content()
    assert found["text/calendar"].get_param("method") == "REQUEST"

    async def confirmed() -> Delivery | None:
        return await delivery_of(system, guardian_id, "conference_booked")

    delivery = await eventually(confirmed, until=lambda d: d is not None and d.status == "sent")
    assert delivery is not None and delivery.channel == "email"
    assert confirmation["Message-ID"] == f"<delivery-{delivery.id}@district.example>"
    calendar = calendar_of(confirmation)
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    uid = str(event["UID"])
    assert uid == f"booking-{booked['id']}@demo.slc"
    assert int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == datetime.fromisoformat(first["starts_at"])
    # Its title and description in the family's language, as the message is.
    assert str(event["SUMMARY"]) == "Conferencia dirigida por Lucía"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Lucía dirige esta conferencia y muestra su portafolio.")
    assert f"\nDónde:  {first['room']}, Conway Elementary" in description, description
    assert "\nMaestro/a: " in description, description
    # As an invitation by email: from the school's sending address to this family's own (and
    # no one else's, nor the guardian's id), beside the text where Outlook looks for it, and
    # attached as a file too.
    assert str(event["ORGANIZER"]) == "mailto:conferences@district.example"
    assert event["ORGANIZER"].params["CN"] == "Conway Elementary"
    assert str(event["ATTENDEE"]) == f"mailto:{address}"
    assert guardian_id not in calendar.to_ical().decode()
    (invitation,) = [
        part for part in confirmation.walk() if part.get_content_type() == "text/calendar"
    ]
    assert invitation.get_content_disposition() is None
    (alternative,) = [
        part for part in confirmation.walk() if part.get_content_type() == "multipart/alternative"
    ]
    assert invitation in alternative.get_payload()
    (attached,) = [part for part in confirmation.walk() if part.get_filename() == "conference.ics"]
    assert Calendar.from_ical(attached.get_payload(decode=True)) == calendar

    ok(
        await system.scheduling.post(
            f"/bookings/{booked['id']}/move", json={"slot_id": second["id"]}, headers=headers
        )
    )
    moved = (await conference_mail(mail_server, address, 2))[1]
    (event,) = calendar_of(moved).walk("VEVENT")
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, 1)
    assert event.decoded("DTSTART") == datetime.fromisoformat(second["starts_at"])

    # Two days before, the reminder goes: at the new time, which it names, not the old one.
    await reminder_due_now(system, booked["id"], "P2D")
    (reminder,) = await eventually(
        lambda: _async([m for m in mail_server.to(address) if "Recordatorio" in m["Subject"]]),
        until=lambda found: len(found) == 1,
        timeout=15,
    )
    new_time = datetime.fromisoformat(second["starts_at"]).astimezone(LA)
    old_time = datetime.fromisoformat(first["starts_at"]).astimezone(LA)
    text = parts(reminder)["text/plain"].get_content()
    assert new_time.strftime("%H:%M") in reminder["Subject"]
    assert old_time.strftime("%H:%M") not in text
    assert "text/calendar" not in parts(reminder)

    ok(await system.scheduling.delete(f"/bookings/{booked['id']}", headers=headers))
    cancelled = (await conference_mail(mail_server, address, 3))[2]
    calendar = calendar_of(cancelled)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert parts(cancelled)["text/calendar"].get_param("method") == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert (str(event["UID"]), str(event["STATUS"])) == (uid, "CANCELLED")
    # Newer than the move's invitation, should that one reach the calendar after it.
    assert int(event["SEQUENCE"]) == 2
    sent = await conference_mail(mail_server, address, 3)
    assert len({m["Message-ID"] for m in sent}) == 3
    # Cancelled: the two hours' reminder will not go.
    listed = ok(
        await system.notifications.get(f"/conferences/{booked['id']}/reminders", headers=ADMIN)
    )
    statuses = {(r["before"], r["status"]) for r in listed["reminders"]}
    assert {("P2D", "sent"), ("PT2H", "cancelled")} <= statuses
    assert "pending" not in {status for _, status in statuses}


async def reminder_due_now(system: System, booking_id: str, before: str) -> None:
    """The conference's pending ``before`` reminder comes due now."""
    runtime = system.apps["notifications"].state.runtime

    async def brought_forward() -> int:
        listed = ok(
            await system.notifications.get(f"/conferences/{booking_id}/reminders", headers=ADMIN)
        )
        wanted = [
            r for r in listed["reminders"] if r["before"] == before and r["status"] == "pending"
        ]
        if not wanted:
            return 0
        async with runtime.uow.transaction() as session:
            moved = await session.exec(
                update(Job)
                .where(col(Job.kind) == SEND_REMINDER, col(Job.status) == "pending")
                .where(col(Job.payload).contains(wanted[0]["id"]))
                .values(due_at=datetime.now(UTC))
            )
            return int(moved.rowcount)  # type: ignore[attr-defined]

    await eventually(brought_forward, until=lambda moved: moved == 1)
    if runtime.jobs is not None:
        runtime.jobs.nudge()


async def test_an_address_the_relay_refuses_fails_at_once_with_its_reason(
    system: System, mail_server: LocalMailServer
) -> None:
    # (The window's opening handled first: no invitation is written to the address.)
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(16))
    student, guardian_id, _ = await family(system, local="nobody", language="en")
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    runtime = system.apps["notifications"].state.runtime

    async def failed() -> Delivery | None:
        return await delivery_of(system, guardian_id, "conference_booked")

    delivery = await eventually(
        failed, until=lambda d: d is not None and d.status == "bounced", timeout=15
    )
    assert delivery is not None and "550" in (delivery.error or "")
    async with runtime.uow.read() as session:
        job = (await session.exec(select(Job).where(Job.key == delivery.id))).one()
    assert job.attempts == 1  # not tried again


async def test_a_busy_relay_is_tried_again_and_the_message_goes_once(
    system: System, mail_server: LocalMailServer
) -> None:
    # (The window's opening handled first: no invitation is written to the address.)
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(17))
    student, guardian_id, address = await family(system, local="busy", language="en")
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    runtime = system.apps["notifications"].state.runtime

    async def job() -> Job | None:
        delivery = await delivery_of(system, guardian_id, "conference_booked")
        if delivery is None:
            return None
        async with runtime.uow.read() as session:
            return (await session.exec(select(Job).where(Job.key == delivery.id))).first()

    for attempt in range(1, BUSY_TIMES + 1):
        waiting = await eventually(
            job,
            until=lambda j, n=attempt: j is not None and j.attempts == n and j.status == "pending",
        )
        assert waiting is not None and "451" in (waiting.last_error or "")
        assert waiting.due_at > datetime.now(UTC) + timedelta(seconds=10)  # backing off
        async with runtime.uow.transaction() as session:  # the backoff, over at once
            await session.exec(
                update(Job).where(col(Job.id) == waiting.id).values(due_at=datetime.now(UTC))
            )
    (message,) = await conference_mail(mail_server, address)
    done = await eventually(job, until=lambda j: j is not None and j.status == "done")
    assert done is not None and done.attempts == BUSY_TIMES + 1
    assert await conference_mail(mail_server, address) == [message]


async def test_every_guardian_of_the_student_hears_each_in_their_language(
    system: System, mail_server: LocalMailServer
) -> None:
    student, mother, mother_address = await family(system, local="madre", language="es")
    father = f"g-{uuid.uuid4().hex[:8]}"
    father_address = f"father-{father}@example.org"
    linked = await system.portfolio.put(
        f"/roster/students/{student}/guardians/{father}",
        json={"relationship": "father"},
        headers=ADMIN,
    )
    assert linked.status_code == 204, linked.text
    await roster_reached(system, student_id=student, guardian_id=father)
    contact = await system.notifications.put(
        f"/contacts/{father}",
        json={
            "site": "conway",
            "display_name": "Tom",
            "email": father_address,
            "language": "en",
        },
        headers=ADMIN,
    )
    assert contact.status_code == 200, contact.text
    (slot,) = await open_times(
        system.scheduling, site="conway", starts_at=in_three_days_at(18), teacher_id="t-rivera"
    )
    ok(await book(system, guardian(mother), slot["id"], student), 201)

    (to_mother,) = await conference_mail(mail_server, mother_address)
    (to_father,) = await conference_mail(mail_server, father_address)
    assert to_mother["Content-Language"] == "es" and to_father["Content-Language"] == "en"
    assert to_father["Subject"].startswith("Confirmed: Lucía's conference")
    (event,) = calendar_of(to_father).walk("VEVENT")
    assert str(event["UID"]) == str(calendar_of(to_mother).walk("VEVENT")[0]["UID"])
