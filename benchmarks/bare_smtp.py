"""The invitations' ceiling on this machine: the same messages handed to the same SMTP server by
the same client (aiosmtplib), over kept connections, with nothing else. No database, no
rendering, no recording, no event: each message's MIME is built before the clock starts. What
notifications reaches is measured against it (``benchmarks.invitations``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from email.utils import parseaddr

import aiosmtplib
from sqlmodel import col, select

from benchmarks.processes import process_cpu_seconds
from services.notifications.email import email_bytes
from services.notifications.tables import Delivery
from shared.database import create_engine, session_factory


async def built_messages(
    database_url: str, limit: int, *, sender: str, domain: str
) -> list[tuple[str, bytes]]:
    """The first ``limit`` email deliveries' addresses and MIME, as notifications builds them."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            deliveries = (
                await session.exec(
                    select(Delivery)
                    .where(col(Delivery.channel) == "email")
                    .order_by(col(Delivery.id))
                    .limit(limit)
                )
            ).all()
    finally:
        await engine.dispose()
    return [
        (delivery.address or "", email_bytes(delivery, sender=sender, domain=domain))
        for delivery in deliveries
    ]


async def bare_send(
    messages: Sequence[tuple[str, bytes]], *, port: int, sender: str, connections: int
) -> tuple[float, float]:
    """Send ``messages`` over ``connections`` kept connections to 127.0.0.1:``port``; the
    seconds it took and the CPU seconds this process used meanwhile."""
    envelope_sender = parseaddr(sender)[1]
    waiting = list(reversed(messages))

    async def lane() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30, start_tls=False)
        await smtp.connect()
        try:
            while waiting:
                address, message = waiting.pop()
                await smtp.sendmail(envelope_sender, [address], message)
        finally:
            await smtp.quit()

    cpu = process_cpu_seconds(os.getpid())
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(connections)))
    return time.perf_counter() - started, process_cpu_seconds(os.getpid()) - cpu
