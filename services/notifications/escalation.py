"""Never silently undelivered: when a channel fails for good, the same message goes by another;
when every channel has failed, the family goes on the school office's "could not reach" list.

- A delivery that fails permanently (an SMTP 5xx, a bounce, an invalid number) is tried on the
  guardian's other channel (email failed: a text to their phone; a text failed: an email), if
  they have an address for it and it has not been tried for this message yet. The stand-in
  carries the same words and names the delivery it stands in for (``escalated_from``).
- A critical message (a conference cancelled or moved on the day) that is sent but not
  confirmed delivered within ``NOTIFICATIONS_ESCALATE_AFTER_MINUTES`` goes by the other channel
  too: SMTP only says the relay took an email, and a text's receipt may never come.
- When no channel is left and none carried the message, the family lands on the list
  (``GET /could-not-reach``) with the reason. It leaves the list when a later message reaches
  them or the school corrects their contact details.

A STOP reply is the family's choice about texts: a text to that number is never sent, nor
tried again by text; a conference message then goes by email if the family has an address,
else the family is on the list (``texts_stopped``). Portfolio news to it is not sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.delivery import DELIVER, EMAIL, SMS, preferences_from_row
from services.notifications.preferences import quiet_hours_end
from services.notifications.tables import (
    ContactPoint,
    CouldNotReach,
    Delivery,
    GuardianPreference,
    SmsOptOut,
)
from shared.database import utcnow
from shared.jobs.queue import NewJob, enqueue_many
from shared.roster import site_zones

COULD_NOT_REACH: Table = CouldNotReach.__table__  # type: ignore[attr-defined]
CONFIRM = "confirm_delivered"  # the job that escalates a critical message not confirmed delivered
# Statuses of a delivery that did (or may still) reach the family.
_REACHED = ("sent", "delivered", "queued")


async def escalate_or_give_up(
    session: AsyncSession, delivery: Delivery, reason: str, kind: str, *, escalating: bool = True
) -> None:
    """In the transaction that records ``delivery`` failed: queue the same message on the
    guardian's next untried channel, or, if none is left (or not ``escalating``: an operator
    cancelled it) and no channel carried the message, put the family on the "could not reach"
    list with the reason and its ``kind``."""
    if escalating and await escalate(session, delivery) is not None:
        return
    if await _reached_otherwise(session, delivery):
        return
    await session.merge(CouldNotReach.of(delivery, reason, kind))


async def escalate(
    session: AsyncSession, delivery: Delivery, *, now: datetime | None = None
) -> Delivery | None:
    """Queue the same message on the guardian's other channel, if there is one to try: a
    message that can wait waits for the end of the guardian's quiet hours, as the first one did
    (a bounce or a carrier's receipt may come at any hour)."""
    tried = set(
        (await session.exec(select(Delivery.channel).where(*_same_message(delivery)))).all()
    )
    contact = await session.get(ContactPoint, delivery.recipient_id)
    if contact is None:
        return None
    for channel, address in ((SMS, contact.phone), (EMAIL, contact.email)):
        if channel in tried or not address:
            continue
        if channel == SMS and await session.get(SmsOptOut, address) is not None:
            continue
        waits = None if delivery.critical else await _after_quiet_hours(session, delivery, now)
        if waits is not None and delivery.expires_at is not None and waits >= delivery.expires_at:
            waits = None  # (held that long it would be of no use: it goes at once)
        stand_in = Delivery(
            district=delivery.district,
            site=delivery.site,
            recipient_id=delivery.recipient_id,
            student_id=delivery.student_id,
            channel=channel,
            address=address,
            language=delivery.language,
            template=delivery.template,
            subject=delivery.subject,
            body=delivery.body,
            status="queued",
            cause_event_id=delivery.cause_event_id,
            calendar=delivery.calendar,
            critical=delivery.critical,
            escalated_from=delivery.id,
            not_before=waits,
            expires_at=delivery.expires_at,
        )
        session.add(stand_in)
        await enqueue_many(
            session,
            [
                NewJob(
                    kind=DELIVER,
                    key=stand_in.id,
                    payload={"delivery_id": stand_in.id},
                    due_at=waits,
                )
            ],
        )
        return stand_in
    return None


async def _after_quiet_hours(
    session: AsyncSession, delivery: Delivery, now: datetime | None
) -> datetime | None:
    """When the guardian's quiet hours around ``now`` end (in their time zone, else the
    school's), or None if it is not in them."""
    chosen = await session.get(GuardianPreference, delivery.recipient_id)
    if chosen is None:
        return None
    zones = await site_zones(session, [delivery.site])
    return quiet_hours_end(
        preferences_from_row(chosen), now or utcnow(), zones.get(delivery.site, "UTC")
    )


async def confirm_later(
    session: AsyncSession, deliveries: Sequence[Delivery], *, now: datetime, after: timedelta
) -> None:
    """For the critical messages just sent: check at ``now + after`` that each was delivered."""
    await enqueue_many(
        session,
        [
            NewJob(
                kind=CONFIRM,
                key=delivery.id,
                payload={"delivery_id": delivery.id},
                due_at=now + after,
            )
            for delivery in deliveries
            if delivery.critical
        ],
    )


async def escalate_if_unconfirmed(session: AsyncSession, delivery_id: str) -> Delivery | None:
    """The ``confirm_delivered`` job: a critical message still only ``sent`` goes by the other
    channel too (once)."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "sent":
        return None
    return await escalate(session, delivery)


async def reached(session: AsyncSession, guardian_ids: Collection[str], *, now: datetime) -> None:
    """A message reached these guardians (or their contact details were corrected): off the
    list."""
    if not guardian_ids:
        return
    # (Core: recorded with every group of messages sent, and the ORM's bulk update, which
    # looks for the rows among the session's objects, cost more than the statement.)
    await (await session.connection()).execute(
        update(COULD_NOT_REACH)
        .where(
            COULD_NOT_REACH.c.guardian_id.in_(sorted(guardian_ids)),
            COULD_NOT_REACH.c.resolved_at.is_(None),
        )
        .values(resolved_at=now)
    )


def _same_message(delivery: Delivery) -> tuple[ColumnElement[bool], ...]:
    return (
        col(Delivery.cause_event_id) == delivery.cause_event_id,
        col(Delivery.recipient_id) == delivery.recipient_id,
        col(Delivery.template) == delivery.template,
    )


async def _reached_otherwise(session: AsyncSession, delivery: Delivery) -> bool:
    """Whether another channel carried (or is carrying) the same message."""
    others = await session.exec(
        select(Delivery.id).where(
            *_same_message(delivery),
            col(Delivery.id) != delivery.id,
            col(Delivery.status).in_(_REACHED),
        )
    )
    return others.first() is not None
