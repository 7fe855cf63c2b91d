"""Telling guardians something: pick each one's language, render, and queue the delivery.

Rendering and recording happen in the event handler's transaction; handing the message to its
channel is a job (``deliver_message``, in ``sending.py``) run after the commit, so a batch that is
rolled back and applied again never sends anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages import render
from services.notifications.tables import ContactPoint, Delivery, KnownStudent
from shared.calendar_ics import Conference, booking_calendar
from shared.database import utcnow
from shared.events import CloudEvent, DeliveryFailed
from shared.jobs.queue import NewJob, enqueue_many
from shared.messaging.consumer import NotYet, needs
from shared.messaging.outbox import record_event
from shared.roster import RosterGuardianLink, link_needed, link_states

# A guardian with an email address is written to by email, one with only a phone number by
# text message: through the district's SMTP relay and SMS provider when they are configured,
# else (development) only into the mailbox (GET /mailbox), where a person reads what the family
# would receive.
EMAIL = "email"
SMS = "sms"
MAILBOX = "mailbox"


def _channel(contact: ContactPoint | None) -> str:
    if contact is None:
        return "none"
    if contact.email:
        return EMAIL
    return SMS if contact.phone else MAILBOX


DELIVER = "deliver_message"  # the job that hands a queued delivery to its channel


class StudentNotKnownYet(NotYet):
    """The roster event naming this student has not been handled yet: the event waits for it."""

    def __init__(self, student_id: str) -> None:
        super().__init__(
            needs("student", student_id), f"student {student_id!r} is not on the roster yet"
        )


class LinkNotKnownYet(NotYet):
    """The roster has not told this service yet whether the guardian is linked to the student:
    the event waits for ``roster.guardian.linked`` (or ``unlinked``)."""

    def __init__(self, guardian_id: str, student_id: str) -> None:
        super().__init__(
            link_needed(guardian_id, student_id),
            f"guardian {guardian_id!r} is not known to be linked to student {student_id!r} yet",
        )


@dataclass(frozen=True)
class Message:
    """One message to write to one guardian about one student, because of ``cause``."""

    guardian_id: str
    student_id: str
    template: str
    cause: CloudEvent[Any]
    timezone: str
    values: dict[str, Any] = field(default_factory=dict)
    # The conference the message confirms, moves or cancels: its .ics goes with the email.
    calendar: Conference | None = None
    # Every guardian the roster links to the student hears it too (each in their own language),
    # not only ``guardian_id``: what a conference's logistics are for.
    whole_family: bool = False


def _calendar(conference: Conference | None, student: KnownStudent) -> str | None:
    if conference is None:
        return None
    named = replace(conference, given_name=student.given_name)
    return booking_calendar(named, stamp=utcnow()).decode()


async def notify_guardians(session: AsyncSession, messages: Sequence[Message]) -> list[Delivery]:
    """Queue each message once per cause, recipient and template, in the guardian's language.

    Messages go only to guardians the roster links to the student (others are dropped), and
    none about a withdrawn student; a ``whole_family`` message goes to each guardian linked to
    the student. Whatever the number of messages, at most five queries find the families, what
    is already delivered, the students' names, the links and the guardians' contact points. Raises
    ``StudentNotKnownYet`` if a student's roster entry has not arrived, ``LinkNotKnownYet`` if
    a guardian's link to the student has not.
    """
    if not messages:
        return []
    messages = await _with_whole_families(session, messages)
    causes = sorted({m.cause.id for m in messages})
    done = set(
        (
            await session.exec(
                select(Delivery.cause_event_id, Delivery.recipient_id, Delivery.template).where(
                    col(Delivery.cause_event_id).in_(causes)
                )
            )
        ).all()
    )
    students = await _by_id(
        session, KnownStudent, KnownStudent.id, {m.student_id for m in messages}
    )
    for message in messages:
        if message.student_id not in students:
            raise StudentNotKnownYet(message.student_id)
    links = await link_states(session, {(m.guardian_id, m.student_id) for m in messages})
    for message in messages:
        if (message.guardian_id, message.student_id) not in links:
            raise LinkNotKnownYet(message.guardian_id, message.student_id)
    # Only guardians the roster links to the student hear about them, and nobody about a
    # student who has left.
    messages = [
        m for m in messages if links[m.guardian_id, m.student_id] and students[m.student_id].active
    ]
    contacts = await _by_id(
        session, ContactPoint, ContactPoint.guardian_id, {m.guardian_id for m in messages}
    )
    deliveries: list[Delivery] = []
    for message in messages:
        identity = (message.cause.id, message.guardian_id, message.template)
        if identity in done:
            continue
        done.add(identity)
        deliveries.append(
            _delivery(
                session, message, students[message.student_id], contacts.get(message.guardian_id)
            )
        )
    session.add_all(deliveries)
    await enqueue_many(
        session,
        [
            NewJob(kind=DELIVER, key=delivery.id, payload={"delivery_id": delivery.id})
            for delivery in deliveries
            if delivery.status == "queued"
        ],
    )
    return deliveries


def _delivery(
    session: AsyncSession,
    message: Message,
    student: KnownStudent,
    contact: ContactPoint | None,
) -> Delivery:
    rendered = render(
        message.template,
        language=contact.language if contact else None,
        timezone=message.timezone,
        student=student.given_name,
        guardian=contact.display_name if contact else "",
        **message.values,
    )
    delivery = Delivery(
        district=message.cause.district,
        site=message.cause.site,
        recipient_id=message.guardian_id,
        student_id=message.student_id,
        channel=_channel(contact),
        address=(contact.email or contact.phone) if contact else None,
        language=rendered.language,
        template=message.template,
        subject=rendered.subject,
        body=rendered.body,
        status="queued" if contact else "failed",
        error=None if contact else "no contact point on file for this guardian",
        cause_event_id=message.cause.id,
        calendar=_calendar(message.calendar, student),
    )
    if contact is None:
        record_event(
            session,
            DeliveryFailed(
                delivery_id=delivery.id,
                recipient_id=message.guardian_id,
                channel="none",
                template=message.template,
                error=delivery.error or "",
                cause_event_id=message.cause.id,
            ),
            subject=message.student_id,
            district=message.cause.district,
            site=message.cause.site,
        )
    return delivery


async def _with_whole_families(session: AsyncSession, messages: Sequence[Message]) -> list[Message]:
    """Each message, and for a ``whole_family`` one the same message to every other guardian
    the roster links to the student now."""
    wanted = sorted({m.student_id for m in messages if m.whole_family})
    if not wanted:
        return list(messages)
    rows = (
        await session.exec(
            select(RosterGuardianLink.guardian_id, RosterGuardianLink.student_id).where(
                col(RosterGuardianLink.student_id).in_(wanted), col(RosterGuardianLink.active)
            )
        )
    ).all()
    linked: dict[str, set[str]] = {}
    for guardian_id, student_id in rows:
        linked.setdefault(student_id, set()).add(guardian_id)
    expanded: list[Message] = []
    for message in messages:
        expanded.append(message)
        if message.whole_family:
            others = sorted(linked.get(message.student_id, set()) - {message.guardian_id})
            expanded.extend(replace(message, guardian_id=other) for other in others)
    return expanded


# Ids looked up per query: both databases refuse a statement with more than 32,766 parameters,
# and a window opened at a large school (or many schools' at once) names more families than that.
IDS_PER_QUERY = 10_000


async def _by_id(session: AsyncSession, model: Any, key: Any, ids: set[str]) -> dict[str, Any]:
    wanted = sorted(ids)
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        rows = (await session.exec(select(model).where(col(key).in_(chunk)))).all()
        found.update({getattr(row, key.key): row for row in rows})
    return found
