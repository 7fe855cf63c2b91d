"""Telling a guardian something: pick their language, render, deliver, record the outcome."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages import render
from services.notifications.tables import ContactPoint, Delivery, KnownStudent
from shared.events import CloudEvent, DeliveryFailed, DeliverySent
from shared.messaging.consumer import NotYet, needs
from shared.messaging.outbox import record_event

# Until real email/SMS providers are wired, every message lands in the development mailbox
# (GET /mailbox), where a person can read exactly what the family would receive.
CHANNEL = "mailbox"


class StudentNotKnownYet(NotYet):
    """The roster event naming this student has not been handled yet: the event waits for it."""

    def __init__(self, student_id: str) -> None:
        super().__init__(
            needs("student", student_id), f"student {student_id!r} is not on the roster yet"
        )


async def notify_guardian(
    session: AsyncSession,
    *,
    guardian_id: str,
    student_id: str,
    template: str,
    cause: CloudEvent[Any],
    timezone: str,
    **context: Any,
) -> Delivery:
    """Deliver one message about ``student_id`` to one guardian, once per cause."""
    existing = (
        await session.exec(
            select(Delivery).where(
                Delivery.cause_event_id == cause.id,
                Delivery.recipient_id == guardian_id,
                Delivery.template == template,
            )
        )
    ).first()
    if existing is not None:
        return existing
    student = await session.get(KnownStudent, student_id)
    if student is None:
        raise StudentNotKnownYet(student_id)
    contact = await session.get(ContactPoint, guardian_id)
    message = render(
        template,
        language=contact.language if contact else None,
        timezone=timezone,
        student=student.given_name,
        guardian=contact.display_name if contact else "",
        **context,
    )
    delivery = Delivery(
        district=cause.district,
        site=cause.site,
        recipient_id=guardian_id,
        student_id=student_id,
        channel=CHANNEL if contact else "none",
        address=contact.email if contact else None,
        language=message.language,
        template=template,
        subject=message.subject,
        body=message.body,
        status="sent" if contact else "failed",
        error=None if contact else "no contact point on file for this guardian",
        cause_event_id=cause.id,
    )
    session.add(delivery)
    outcome = (
        DeliverySent(
            delivery_id=delivery.id,
            recipient_id=guardian_id,
            channel=CHANNEL,
            template=template,
            language=message.language,
            cause_event_id=cause.id,
        )
        if contact
        else DeliveryFailed(
            delivery_id=delivery.id,
            recipient_id=guardian_id,
            channel="none",
            template=template,
            error=delivery.error or "",
            cause_event_id=cause.id,
        )
    )
    record_event(session, outcome, subject=student_id, district=cause.district, site=cause.site)
    return delivery
