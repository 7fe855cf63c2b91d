"""The jobs that hand queued messages to their channel, after the commit that queued them."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.delivery import DELIVER
from services.notifications.environment import NotificationsEnvironment
from services.notifications.escalation import (
    CONFIRM,
    confirm_later,
    escalate_if_unconfirmed,
    escalate_or_give_up,
    reached,
)
from services.notifications.tables import Delivery, KnownStudent, SmsOptOut
from shared.events import DeliveryFailed, DeliverySent
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun, PermanentFailure
from shared.messaging.outbox import record_event
from shared.roster import link_states

jobs: JobHandlers[NotificationsEnvironment] = JobHandlers()


DELIVER_ATTEMPTS = 6
OPTED_OUT = "not sent: this number replied STOP to the school's text messages"


@jobs.handles(DELIVER, max_attempts=DELIVER_ATTEMPTS, retry_backoff_seconds=30.0)
async def deliver_message(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
    """Hand one rendered message to its channel, then record it sent (and say so on the stream).

    A temporary failure (an SMTP 4xx, a dropped connection, a timeout) is tried again with
    backoff; a permanent one (an SMTP 5xx, no address), or the last attempt's failure, records
    the delivery failed with the reason, and ``delivery.failed`` says so."""
    async with context.uow.read() as session:
        delivery = await session.get(Delivery, job.payload["delivery_id"])
        linked = delivery is not None and await still_linked(session, delivery)
        stopped = (
            delivery is not None
            and delivery.channel == "sms"
            and delivery.address is not None
            and await session.get(SmsOptOut, delivery.address) is not None
        )
    if delivery is None or delivery.status != "queued":
        return  # recorded by an earlier run that finished after all
    if stopped:
        await _failed(context, delivery, "sms", OPTED_OUT, status="opted_out")
        return
    if not linked:
        # Unlinked (or the student withdrawn) between queueing and sending: not sent.
        await _withhold(context, delivery)
        return
    channel = context.env.channels.get(delivery.channel)
    if channel is None:
        raise PermanentFailure(f"no channel {delivery.channel!r} is configured")
    try:
        provider_id = await channel.send(delivery, idempotency_key=job.key)
    except PermanentFailure as error:
        await _failed(context, delivery, channel.name, str(error))
        return
    except Exception as error:
        if job.attempt < DELIVER_ATTEMPTS:
            raise
        await _failed(context, delivery, channel.name, f"{type(error).__name__}: {error}")
        return
    async with context.finish() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "queued")
            .values(status="sent", provider_id=provider_id)
        )
        now = context.env.now()
        await reached(session, delivery.recipient_id, now=now)
        await confirm_later(session, delivery, now=now, after=context.env.settings.escalate_after)
        record_event(
            session,
            DeliverySent(
                delivery_id=delivery.id,
                recipient_id=delivery.recipient_id,
                channel=channel.name,  # type: ignore[arg-type]
                template=delivery.template,
                language=delivery.language,
                cause_event_id=delivery.cause_event_id,
            ),
            subject=delivery.student_id,
            district=delivery.district,
            site=delivery.site,
        )


async def still_linked(session: AsyncSession, delivery: Delivery) -> bool:
    """Whether the roster still links the recipient to the student, who is still enrolled."""
    states = await link_states(session, [(delivery.recipient_id, delivery.student_id)])
    student = await session.get(KnownStudent, delivery.student_id)
    linked = states.get((delivery.recipient_id, delivery.student_id), False)
    return linked and student is not None and student.active


async def _withhold(context: JobContext[NotificationsEnvironment], delivery: Delivery) -> None:
    reason = "not sent: the guardian is no longer linked to the student (or the student left)"
    async with context.finish() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "queued")
            .values(status="withheld", error=reason)
        )


async def _failed(
    context: JobContext[NotificationsEnvironment],
    delivery: Delivery,
    channel: str,
    reason: str,
    *,
    status: str = "failed",
) -> None:
    reason = reason[:500]
    async with context.finish() as session:
        failed = await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "queued")
            .values(status=status, error=reason)
        )
        if failed.rowcount != 1:  # type: ignore[attr-defined]
            return
        if status != "opted_out":  # a STOP is the family's choice, not a failure to work around
            await escalate_or_give_up(session, delivery, reason)
        record_event(
            session,
            DeliveryFailed(
                delivery_id=delivery.id,
                recipient_id=delivery.recipient_id,
                channel=channel,  # type: ignore[arg-type]
                template=delivery.template,
                error=reason,
                cause_event_id=delivery.cause_event_id,
            ),
            subject=delivery.student_id,
            district=delivery.district,
            site=delivery.site,
        )


@jobs.handles(CONFIRM, max_attempts=DELIVER_ATTEMPTS, retry_backoff_seconds=30.0)
async def confirm_delivered(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
    """A critical message not confirmed delivered in time goes by the guardian's other channel
    too (``escalation.py``)."""
    async with context.finish() as session:
        await escalate_if_unconfirmed(session, job.payload["delivery_id"])
