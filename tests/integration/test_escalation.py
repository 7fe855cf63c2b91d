"""Never silently undelivered, on SQLite and PostgreSQL, through a real SMTP server that refuses
``nobody-`` mailboxes (550): an email that fails for good goes by text to the same family; a
family no channel reaches lands on the office's "could not reach" list with the reason and
leaves it once their address is corrected; a critical message not confirmed delivered goes by
the other channel too; the delivery reports count all of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import select

from services.notifications.escalation import escalate
from services.notifications.tables import ContactPoint, Delivery, GuardianPreference
from shared.auth import Role
from tests.integration.conftest import (
    System,
    digests_due_now,
    enroll,
    family_with_contact,
    times_before_any_family,
)
from tests.integration.test_conference_week import book, guardian, ok
from tests.integration.test_family_links_across_services import message, open_window, two_families
from tests.notifications_support import queued_message
from tests.scheduling_support import in_three_days_at
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

OFFICE = auth("office-conway", Role.SITE_ADMIN, sites=("conway",))
ADMIN = auth("it-admin", Role.DISTRICT_ADMIN)


def bouncing() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@example.org"


async def settled(system: System, guardian_id: str, until: Any) -> list[Delivery]:
    async def recorded() -> list[Delivery]:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            query = select(Delivery).where(Delivery.recipient_id == guardian_id)
            return list((await session.exec(query.order_by(Delivery.created_at))).all())

    return await eventually(recorded, until=until, timeout=20)


async def a_time_before_any_family(system: System, hour: int) -> dict[str, Any]:
    """One conference time with Ms. Rivera tomorrow at ``hour`` (``times_before_any_family``)."""
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(hour))
    return slot


async def booked_family(system: System, hour: int, **contact: str) -> tuple[str, dict[str, Any]]:
    slot = await a_time_before_any_family(system, hour)
    student, guardian_id = await family_with_contact(
        system, given_name="Leo", contact={"display_name": "Sam", "language": "en", **contact}
    )
    booking = ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    return guardian_id, booking


async def test_a_bounced_email_goes_by_text_instead(system: System) -> None:
    guardian_id, _ = await booked_family(system, 9, email=bouncing(), phone="+15035550111")
    email, text = await settled(
        system,
        guardian_id,
        until=lambda found: [d.status for d in found] == ["bounced", "sent"],
    )
    assert email.channel == "email" and "550" in (email.error or "")
    assert (text.channel, text.address, text.escalated_from) == ("sms", "+15035550111", email.id)
    assert (text.subject, text.body) == (email.subject, email.body)
    # Reached by text: not on the list.
    assert ok(await system.notifications.get("/could-not-reach", headers=OFFICE)) == []


async def test_a_family_no_channel_reaches_is_on_the_list_until_corrected(system: System) -> None:
    guardian_id, _ = await booked_family(system, 10, email=bouncing())
    await settled(system, guardian_id, until=lambda f: [d.status for d in f] == ["bounced"])

    listed = ok(await system.notifications.get("/could-not-reach?site=conway", headers=OFFICE))
    mine = [row for row in listed if row["guardian_id"] == guardian_id]
    assert len(mine) == 1
    assert mine[0]["display_name"] == "Sam"
    assert mine[0]["student_name"] == "Leo"
    assert mine[0]["template"] == "conference_booked"
    assert "550" in mine[0]["reason"]
    assert mine[0]["reason_kind"] == "address_refused"  # as the SMTP channel named it

    report = ok(
        await system.notifications.get(
            f"/reports/deliveries?guardian_id={guardian_id}", headers=OFFICE
        )
    )
    assert report["counts"]["total"] == 1 and report["counts"]["bounced"] == 1
    assert report["by_channel"]["email"]["bounced"] == 1

    # Other schools' offices and families do not read the list.
    elsewhere = auth("office-mjds", Role.SITE_ADMIN, sites=("mjds",))
    assert (
        await system.notifications.get("/could-not-reach?site=conway", headers=elsewhere)
    ).status_code == 403
    assert (
        await system.notifications.get("/could-not-reach", headers=guardian(guardian_id))
    ).status_code == 403

    ok(
        await system.notifications.put(
            f"/contacts/{guardian_id}",
            json={"site": "conway", "display_name": "Sam", "email": "sam@example.org"},
            headers=OFFICE,
        )
    )
    listed = ok(await system.notifications.get("/could-not-reach", headers=OFFICE))
    assert guardian_id not in {row["guardian_id"] for row in listed}


@pytest.mark.notifications_settings(critical_within_hours=96, escalate_after_minutes=0.01)
async def test_a_critical_message_not_confirmed_delivered_goes_by_text_too(
    system: System,
) -> None:
    # Within 96 hours, a cancellation is critical here; email is never confirmed delivered by
    # SMTP alone, so after 0.6 s the same message goes by text as well.
    guardian_id, booking = await booked_family(
        system, 11, email=f"sam-{uuid.uuid4().hex[:6]}@example.org", phone="+15035550122"
    )
    ok(await system.scheduling.delete(f"/bookings/{booking['id']}", headers=guardian(guardian_id)))
    found = await settled(
        system,
        guardian_id,
        until=lambda f: len([d for d in f if d.template == "conference_cancelled"]) == 2,
    )
    email, text = [d for d in found if d.template == "conference_cancelled"]
    assert email.critical and email.channel == "email" and email.status == "sent"
    assert text.channel == "sms" and text.escalated_from == email.id
    # The confirmation was not critical: no text stood in for it.
    assert [d.channel for d in found if d.template == "conference_booked"] == ["email"]


async def test_an_invitation_round_is_reported_as_a_campaign(system: System) -> None:
    await two_families(system)  # Wei (email) and Kim, at Conway
    opened = await open_window(system)
    await message(system, "g-wei", "conference_invitation")
    await message(system, "g-kim", "conference_invitation")

    async def reported() -> list[dict[str, Any]]:
        return list(ok(await system.notifications.get("/reports/campaigns", headers=OFFICE)))

    (campaign,) = await eventually(
        reported, until=lambda found: len(found) == 1 and found[0]["counts"]["sent"] == 2
    )
    assert campaign["template"] == "conference_invitation" and campaign["site"] == "conway"
    assert campaign["counts"]["total"] == 2
    by_campaign = ok(
        await system.notifications.get(
            "/reports/deliveries", params={"campaign": campaign["campaign"]}, headers=OFFICE
        )
    )
    assert by_campaign["counts"] == campaign["counts"]
    assert campaign["window_id"] == opened["id"]  # the window the round was for
    site = ok(await system.notifications.get("/reports/deliveries?site=conway", headers=OFFICE))
    assert site["by_template"]["conference_invitation"]["sent"] == 2
    # A teacher, a family, or another school's office: refused with a reason.
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))
    refused = await system.notifications.get("/reports/deliveries", headers=teacher)
    assert refused.status_code == 403 and "school office" in refused.text
    elsewhere = auth("office-mjds", Role.SITE_ADMIN, sites=("mjds",))
    assert ok(await system.notifications.get("/reports/campaigns", headers=elsewhere)) == []
    refused = await system.notifications.get("/reports/deliveries?site=conway", headers=elsewhere)
    assert refused.status_code == 403


async def test_a_family_with_no_contact_on_file_is_listed_for_a_conference_not_for_news(
    system: System,
) -> None:
    slot = await a_time_before_any_family(system, 13)
    tag = uuid.uuid4().hex[:8]
    student, guardian_id = f"s-{tag}", f"g-{tag}"
    await enroll(
        system, student_id=student, site="conway", given_name="Ivy", guardian_id=guardian_id,
        teacher_id="t-rivera",
    )  # fmt: skip
    goal = await system.portfolio.post(
        f"/students/{student}/goals", json={"title": "Count to 100", "area": "math"}, headers=ADMIN
    )
    assert goal.status_code == 201, goal.text
    await digests_due_now(system)
    await settled(
        system, guardian_id, until=lambda f: [d.template for d in f] == ["portfolio_digest"]
    )
    assert ok(await system.notifications.get("/could-not-reach", headers=OFFICE)) == []

    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    await settled(system, guardian_id, until=lambda f: len(f) == 2)
    (listed,) = [
        row
        for row in ok(await system.notifications.get("/could-not-reach", headers=OFFICE))
        if row["guardian_id"] == guardian_id
    ]
    assert (listed["template"], listed["reason"]) == (
        "conference_booked",
        "no contact point on file for this guardian",
    )


async def test_a_family_whose_contact_has_no_address_is_listed_not_recorded_sent(
    system: System,
) -> None:
    """A contact point with a name and a language but neither an email address nor a phone
    number: the confirmation is written failed and the family is on the could-not-reach list,
    never recorded sent to nobody."""
    slot = await a_time_before_any_family(system, 14)
    student, guardian_id = await family_with_contact(
        system, given_name="Ivy", contact={"display_name": "Rosa Ortiz", "language": "es"}
    )
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    (written,) = await settled(system, guardian_id, until=lambda f: len(f) == 1)
    assert (written.channel, written.status, written.language) == ("none", "failed", "es")
    (listed,) = [
        row
        for row in ok(await system.notifications.get("/could-not-reach", headers=OFFICE))
        if row["guardian_id"] == guardian_id
    ]
    assert (listed["template"], listed["reason"], listed["reason_kind"]) == (
        "conference_booked",
        "no email address or phone number on file for this guardian",
        "no_contact",
    )


async def test_a_message_of_no_use_after_the_quiet_hours_goes_by_text_at_once(
    system: System,
) -> None:
    """A reminder emailed at 06:30 for an 08:00 conference bounces; the family's quiet hours last
    until 09:00. Held for them the text would come after the conference: it goes at once. A
    message with no such end waits for them (as the email would have)."""
    now = datetime(2026, 12, 8, 14, 30, tzinfo=UTC)  # 06:30 in Los Angeles
    tag = uuid.uuid4().hex[:8]
    guardian_id = f"g-{tag}"
    runtime = system.apps["notifications"].state.runtime
    async with runtime.uow.transaction() as session:
        session.add(
            ContactPoint(
                guardian_id=guardian_id,
                district="demo",
                site="conway",
                display_name="Lan",
                email=f"lan-{tag}@example.org",
                phone="+15035550177",
                language="vi",
            )
        )
        session.add(
            GuardianPreference(
                guardian_id=guardian_id,
                district="demo",
                quiet_from=time(21, 0),
                quiet_until=time(9, 0),
                timezone="America/Los_Angeles",
            )
        )
    stand_ins = {}
    for name, expires_at in (("reminder", now + timedelta(minutes=90)), ("confirmation", None)):
        async with runtime.uow.transaction() as session:
            bounced = queued_message(
                recipient_id=guardian_id,
                student_id=f"s-{tag}",
                address=f"lan-{tag}@example.org",
                language="vi",
                template="conference_reminder" if name == "reminder" else "conference_booked",
                status="bounced",
                expires_at=expires_at,
            )
            session.add(bounced)
            await session.flush()
            stand_ins[name] = await escalate(session, bounced, now=now)
    reminder, confirmation = stand_ins["reminder"], stand_ins["confirmation"]
    assert reminder is not None and (reminder.channel, reminder.not_before) == ("sms", None)
    nine = datetime(2026, 12, 8, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles
    assert confirmation is not None and confirmation.not_before == nine
