"""The jobs that hand queued messages to their channel, after the commit that queued them."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col

from services.notifications.delivery import DELIVER
from services.notifications.environment import NotificationsEnvironment
from services.notifications.tables import Delivery
from shared.events import DeliverySent
from shared.jobs.context import JobContext
from shared.jobs.handlers import JobHandlers, JobRun, PermanentFailure
from shared.messaging.outbox import record_event

jobs: JobHandlers[NotificationsEnvironment] = JobHandlers()


@jobs.handles(DELIVER, max_attempts=6, retry_backoff_seconds=30.0)
async def deliver_message(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
    """Hand one rendered message to its channel, then record it sent (and say so on the stream)."""
    async with context.uow.read() as session:
        delivery = await session.get(Delivery, job.payload["delivery_id"])
    if delivery is None or delivery.status != "queued":
        return  # recorded by an earlier run that finished after all
    channel = context.env.channels.get(delivery.channel)
    if channel is None:
        raise PermanentFailure(f"no channel {delivery.channel!r} is configured")
    await channel.send(delivery, idempotency_key=job.key)
    async with context.finish() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "queued")
            .values(status="sent")
        )
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
