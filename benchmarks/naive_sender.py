"""The naive sender the invitations benchmark measures notifications against: per message, a
read of the delivery, a new SMTP connection (connect, EHLO, MAIL, RCPT, DATA, QUIT) and one
transaction recording it sent with its ``delivery.sent`` event; a few messages at once, as many
as a job worker runs (``JOB_CONCURRENCY``, 4). The message is the same MIME notifications sends
(``email_bytes``), so the difference is the connections and the transactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from email.utils import parseaddr

import aiosmtplib
from sqlalchemy import update
from sqlmodel import col

from services.notifications.email import email_bytes
from services.notifications.tables import Delivery
from shared.database import create_engine, session_factory
from shared.events import DeliverySent
from shared.messaging.outbox import record_event

CONCURRENCY = 4


async def naive_send(
    database_url: str,
    delivery_ids: Sequence[str],
    *,
    smtp_port: int,
    sender: str,
    domain: str,
    concurrency: int = CONCURRENCY,
) -> float:
    """Send the queued deliveries ``delivery_ids`` one by one; returns the seconds it took."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    waiting = list(reversed(delivery_ids))

    async def one(delivery_id: str) -> None:
        async with sessions() as session:
            delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.status == "queued"
        message = email_bytes(delivery, sender=sender, domain=domain)
        await aiosmtplib.send(
            message,
            sender=parseaddr(sender)[1],
            recipients=[delivery.address or ""],
            hostname="127.0.0.1",
            port=smtp_port,
            timeout=30,
        )
        async with sessions() as session, session.begin():
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
                    channel="email",
                    template=delivery.template,
                    language=delivery.language,
                    cause_event_id=delivery.cause_event_id,
                ),
                subject=delivery.student_id,
                district=delivery.district,
                site=delivery.site,
            )

    async def one_after_another() -> None:
        while waiting:
            await one(waiting.pop())

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one_after_another() for _ in range(concurrency)))
        return time.perf_counter() - started
    finally:
        await engine.dispose()
