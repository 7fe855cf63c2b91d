"""The notifier killed between handing a message to SMTP and recording it sent, 10 times: no
message is lost, each delivery is recorded sent once with one ``delivery.sent`` event, and every
duplicate a family receives carries its original's Message-ID.

Notifications' job worker (``tests/faults/notifier.py``) runs as a real process sending real SMTP
to a real SMTP server (aiosmtpd, in this process). The server decides when to kill: when it has
taken the k-th message from the notifier process of the moment (k = 1, 2, ..., 5, then 1
again), it keeps the message, SIGKILLs the process and waits until it is gone, and only then
answers ``250``. So the kill always falls after the message was handed over and before the
notifier could record it sent. The test then starts a new notifier under the same name, as a
replica restarts; it runs the killed run's jobs again once their lease has run out.

The deliveries are queued with a job each (as a confirmation is), or a job per chunk of eight
(as a window's invitations are: a chunk's run killed midway leaves what it had not recorded to a
job each, with the attempts left). The notifier sends its batches over one SMTP connection (``NOTIFICATIONS_SMTP_CONNECTIONS=1``,
one batch at a time: ``JOB_CONCURRENCY=1``). A connection hands over no message before the one
before it is recorded, so the notifier never has more than one message handed over and not yet
recorded, and each kill may cost at most one duplicate.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from devstack.redis_server import free_port
from devstack.services import ServiceProcess
from services.notifications.delivery import DELIVER_CHUNK, delivery_jobs
from services.notifications.email import message_id
from services.notifications.tables import Delivery, KnownStudent, metadata
from shared.database import create_engine, session_factory
from shared.events import DeliverySent
from shared.jobs.queue import enqueue_many
from shared.jobs.tables import Job
from shared.messaging.tables import OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster import RosterGuardianLink
from tests.support import eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

KILLS = 10  # each place in KILL_AT twice; every kill is a new process (about 1.5 s)
KILL_AT = (1, 2, 3, 4, 5)  # the k-th message a notifier process hands over is its last
DELIVERIES = 40  # more than the 10 kills take (at most 30): the last notifier sends the rest
LEASE_SECONDS = 1.0
DOMAIN = "district.example"  # of the default NOTIFICATIONS_MAIL_FROM


@dataclass
class KillingMailServer:
    """An SMTP server that keeps every message and kills the notifier process it is aimed at
    when that process hands over its k-th message, before answering it."""

    port: int = field(default_factory=free_port)
    received: list[tuple[str, str]] = field(default_factory=list)  # (To, Message-ID)
    kills: int = 0
    _victim: subprocess.Popen[bytes] | None = None
    _taken: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> KillingMailServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def aim_at(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._victim, self._taken = process, 0

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.received.append((str(message["To"]), str(message["Message-ID"])))
            self._taken += 1
            victim = self._victim
            if (
                victim is None
                or self.kills >= KILLS
                or self._taken < KILL_AT[self.kills % len(KILL_AT)]
            ):
                return "250 OK"
            self.kills += 1
            self._victim = None
        # The message is kept; its sender dies before it hears so.
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        return "250 OK"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def queue_invitations(uow: UnitOfWork, per_job: int) -> list[Delivery]:
    """``DELIVERIES`` invitations to families linked to their (enrolled) child, queued with
    a job per ``per_job`` of them, as ``notify_guardians`` leaves them."""
    cause = str(uuid.uuid4())
    deliveries = [
        Delivery(
            district="demo",
            site="conway",
            recipient_id=f"g-{n:03d}",
            student_id=f"s-{n:03d}",
            channel="email",
            address=f"family-{n:03d}@example.org",
            language="en",
            template="conference_invitation",
            subject="Invitation: Ana's student-led conference",
            body=f"Hello family {n},\n\nYou are invited.\n",
            status="queued",
            cause_event_id=cause,
        )
        for n in range(DELIVERIES)
    ]
    async with uow.transaction() as session:
        for delivery in deliveries:
            session.add(
                KnownStudent(
                    id=delivery.student_id,
                    district="demo",
                    site="conway",
                    given_name="Ana",
                    version=1,
                )
            )
            session.add(
                RosterGuardianLink(
                    guardian_id=delivery.recipient_id,
                    student_id=delivery.student_id,
                    district="demo",
                    active=True,
                    version=1,
                )
            )
        session.add_all(deliveries)
        await enqueue_many(
            session,
            delivery_jobs(
                [{"id": d.id, "not_before": None} for d in deliveries], per_job=per_job, at_least=2
            ),
        )
    return deliveries


def notifier(
    processes: list[ServiceProcess], tmp_path: Path, database_url: str, smtp_port: int
) -> ServiceProcess:
    env = {
        "NOTIFICATIONS_DATABASE_URL": database_url,
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(smtp_port),
        "CONSUMER_NAME": "notifier-1",
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "JOB_CONCURRENCY": "1",
        "NOTIFICATIONS_SMTP_CONNECTIONS": "1",
    }
    process = ServiceProcess(
        "notifier", 0, env, tmp_path / "notifier.log", module="tests.faults.notifier"
    )
    processes.append(process)
    return process.start()


# A job per message (what a confirmation gets), or per chunk of them (a window's invitations:
# a chunk's run killed midway leaves the rest to a job each).
@pytest.mark.parametrize("per_job", [1, 8], ids=["a-job-each", "chunks-of-8"])
async def test_a_notifier_killed_between_send_and_record_loses_nothing_and_records_each_once(
    tmp_path: Path,
    database_url: str,
    engine: AsyncEngine,
    processes: list[ServiceProcess],
    per_job: int,
) -> None:
    uow = UnitOfWork(session_factory(engine))
    deliveries = await queue_invitations(uow, per_job)
    server = KillingMailServer().start()
    try:
        while server.kills < KILLS:
            process = notifier(processes, tmp_path, database_url, server.port).process
            assert process is not None
            server.aim_at(process)

            async def exited(process: subprocess.Popen[bytes] = process) -> int | None:
                return process.poll()

            returncode = await eventually(exited, until=lambda code: code is not None, timeout=30)
            assert returncode == -signal.SIGKILL, (tmp_path / "notifier.log").read_text()[-3000:]

        last = notifier(processes, tmp_path, database_url, server.port)

        async def statuses() -> Counter[str]:
            async with uow.read() as session:
                return Counter((await session.exec(select(Delivery.status))).all())

        await eventually(statuses, until=lambda found: found == {"sent": DELIVERIES}, timeout=60)
        assert last.process is not None
        last.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(last.process.wait, 10) == 0
    finally:
        server.stop()

    assert server.kills == KILLS
    async with uow.read() as session:
        events = (
            await session.exec(
                select(OutboxMessage.fields).where(
                    col(OutboxMessage.stream) == DeliverySent.stream()
                )
            )
        ).all()
        jobs = Counter((await session.exec(select(Job.kind, Job.status))).all())
    announced = Counter(json.loads(json.loads(fields)["data"])["delivery_id"] for fields in events)
    assert announced == {delivery.id: 1 for delivery in deliveries}  # one delivery.sent each
    assert {status for _, status in jobs} == {"done"}
    chunks = DELIVERIES // per_job if per_job > 1 else 0
    assert jobs[DELIVER_CHUNK, "done"] == chunks

    by_address = {delivery.address: delivery for delivery in deliveries}
    received = Counter(to for to, _ in server.received)
    assert set(received) == set(by_address)  # nothing lost
    for to, sent_as in server.received:  # a duplicate is the same message: its Message-ID
        assert sent_as == message_id(by_address[to].id, DOMAIN), (to, sent_as)
    duplicates = sum(received.values()) - DELIVERIES
    print(f"\n{KILLS} kills between send and record: {duplicates} duplicate(s) received")
    assert duplicates <= KILLS
