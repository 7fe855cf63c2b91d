"""Notifications' job worker as a process the fault suite kills: ``python -m tests.faults.notifier``.

It runs notifications' own job handlers (``services/notifications/sending.py``) with the
channels its settings give it (email over real SMTP to ``NOTIFICATIONS_SMTP_HOST``), under a
``JobWorker`` built as the service's runtime builds it (``JOB_CONCURRENCY``,
``JOB_LEASE_SECONDS``, ``CONSUMER_NAME``), but without the HTTP server, the stream consumer and
the relay: the deliveries and their jobs are already in the database
(``NOTIFICATIONS_DATABASE_URL``), and what it records stays in the outbox for the test to read.
It looks for due jobs every 50 ms instead of being woken by commits. SIGTERM stops it after the
round in hand.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from services.notifications.environment import notifications_environment
from services.notifications.sending import jobs
from services.notifications.settings import NotificationsSettings
from shared.database import create_engine, session_factory
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.unit_of_work import UnitOfWork

POLL_SECONDS = 0.05


async def main() -> None:
    settings = NotificationsSettings(migrate_on_start=False)
    engine = create_engine(settings.database_url)
    try:
        async with notifications_environment(settings) as env:
            worker = JobWorker(
                uow=UnitOfWork(session_factory(engine)),
                handlers=jobs,
                env=env,
                worker_name=settings.consumer_name,
                policy=JobPolicy(
                    concurrency=settings.job_concurrency,
                    lease_seconds=settings.job_lease_seconds,
                    poll_seconds=POLL_SECONDS,
                ),
            )
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
            await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
