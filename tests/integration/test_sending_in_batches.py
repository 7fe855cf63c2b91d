"""Notifications' deliveries sent a batch at a time, on SQLite and PostgreSQL, to a real SMTP
server (``tests/mail_support.py``): in one batch, the messages the relay takes are recorded
sent with one ``delivery.sent`` each, the one it refuses for good fails alone with the reason,
the one it asks to wait is tried again later alone until it goes, the one whose guardian was
unlinked is withheld and the text to a number that said STOP is not sent; every accepted message
arrives once, with its Message-ID; and a relay that cannot be reached defers the whole batch,
failing none of it."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from devstack.redis_server import free_port
from services.notifications.channels import MailboxChannel
from services.notifications.delivery import DELIVER, DELIVER_CHUNK, delivery_jobs
from services.notifications.email import SmtpChannel, SmtpRelay, message_id
from services.notifications.environment import NotificationsEnvironment, channels_from_settings
from services.notifications.sending import (
    CHUNK_ATTEMPTS,
    DELIVER_ATTEMPTS,
    HELD_BACK_SECONDS,
    OPTED_OUT,
    WITHHELD,
    _record_sent,
    jobs,
)
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import (
    CouldNotReach,
    Delivery,
    KnownStudent,
    SmsOptOut,
    metadata,
)
from shared.database import create_engine, session_factory
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.tables import OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster import RosterGuardianLink
from tests.mail_support import BUSY_TIMES, LocalMailServer
from tests.support import slc_jobs

SENDER = "Conway Elementary <office@conway.example>"
OPTED_OUT_PHONE = "+15035550100"


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[UnitOfWork]:
    engine: AsyncEngine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield UnitOfWork(session_factory(engine))
    await engine.dispose()


async def queue(
    uow: UnitOfWork, families: dict[str, dict[str, Any]], *, per_job: int = 1, tag: str = ""
) -> dict[str, Delivery]:
    """A queued message to each family (by name): ``address`` and ``channel``, and
    ``linked=False`` for a guardian the roster no longer links to the student; with a job each,
    or a job per ``per_job`` of them (``deliver_chunk``), as ``notify_guardians`` leaves them.
    The families are new ones, or those of an earlier call's ``tag`` (a later message)."""
    tag = tag or uuid.uuid4().hex[:8]
    deliveries = {
        name: Delivery(
            district="demo",
            site="conway",
            recipient_id=f"g-{name}-{tag}",
            student_id=f"s-{name}-{tag}",
            channel=family.get("channel", "email"),
            address=family["address"].replace("@", f"-{tag}@"),  # (a phone number keeps its own)
            language="en",
            template="conference_invitation",
            subject=f"Invitation: {name}'s student-led conference",
            body=f"Hello {name},\n\nYou are invited.\n",
            status="queued",
            cause_event_id=str(uuid.uuid4()),
        )
        for name, family in families.items()
    }
    async with uow.transaction() as session:
        for name, delivery in deliveries.items():
            await session.merge(
                KnownStudent(
                    id=delivery.student_id,
                    district="demo",
                    site="conway",
                    given_name="Ana",
                    version=1,
                )
            )
            await session.merge(
                RosterGuardianLink(
                    guardian_id=delivery.recipient_id,
                    student_id=delivery.student_id,
                    district="demo",
                    active=families[name].get("linked", True),
                    version=1,
                )
            )
        await session.merge(SmsOptOut(phone=OPTED_OUT_PHONE, keyword="STOP"))
        session.add_all(deliveries.values())
        rows = [{"id": d.id, "not_before": None} for d in deliveries.values()]
        await enqueue_many(session, delivery_jobs(rows, per_job=per_job, at_least=2))
    return deliveries


def notifier(uow: UnitOfWork, mail_server: LocalMailServer) -> JobWorker[NotificationsEnvironment]:
    relay = SmtpRelay(host="127.0.0.1", port=mail_server.port, connections=2)
    env = NotificationsEnvironment(
        settings=NotificationsSettings(),
        channels={
            "email": SmtpChannel(relay, sender=SENDER),
            "sms": MailboxChannel(),
            "mailbox": MailboxChannel(),
        },
    )
    return JobWorker(uow=uow, handlers=jobs, env=env, worker_name="notifier-1", policy=JobPolicy())


async def rows(uow: UnitOfWork, deliveries: dict[str, Delivery]) -> dict[str, tuple[str, Any]]:
    """Each delivery's (status, error) and its job's (status, attempts), by family."""
    async with uow.read() as session:
        found = {
            d.id: d
            for d in (
                await session.exec(
                    select(Delivery).where(
                        col(Delivery.id).in_([d.id for d in deliveries.values()])
                    )
                )
            ).all()
        }
        by_key = {job.key: job for job in (await session.exec(select(Job))).all()}
    jobs = {name: by_key.get(d.id) for name, d in deliveries.items()}  # (none in a chunk's)
    return {
        name: (
            found[d.id].status,
            found[d.id].error,
            *((job.status, job.attempts) if (job := jobs[name]) else (None, None)),
        )
        for name, d in deliveries.items()
    }


async def announced(uow: UnitOfWork) -> Counter[tuple[str, str]]:
    """(event type, delivery id) of every event in the outbox."""
    async with uow.read() as session:
        events = (await session.exec(select(OutboxMessage.stream, OutboxMessage.fields))).all()
    return Counter(
        (stream.rsplit(".", 2)[-2], json.loads(json.loads(fields)["data"])["delivery_id"])
        for stream, fields in events
    )


FAMILIES: dict[str, dict[str, Any]] = {
    "ana": {"address": "ana@example.org"},
    "ben": {"address": "ben@example.org"},
    "cai": {"address": "cai@example.org"},
    "nobody": {"address": "nobody@example.org"},
    "busy": {"address": "busy@example.org"},
    "gone": {"address": "gone@example.org", "linked": False},
    "stop": {"address": OPTED_OUT_PHONE, "channel": "sms"},
}


async def test_one_batch_sends_what_it_can_and_settles_each_message_on_its_own(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    deliveries = await queue(uow, FAMILIES)
    worker = notifier(uow, mail_server)

    assert await worker.run_due() == 7  # one call of the batch handler
    after = await rows(uow, deliveries)
    for name in ("ana", "ben", "cai"):
        assert after[name] == ("sent", None, "done", 1)
    status, error, job_status, attempts = after["nobody"]
    # Failed for good at once (whichever word the delivery's status uses for a refused address).
    assert status not in ("queued", "sent") and (job_status, attempts) == ("done", 1)
    assert error is not None and "550" in error
    status, error, job_status, _ = after["busy"]
    assert (status, job_status) == ("queued", "pending")  # 451: tried again later, alone
    assert after["gone"] == ("withheld", WITHHELD, "done", 1)
    assert after["stop"] == ("opted_out", OPTED_OUT, "done", 1)

    for attempt in range(2, BUSY_TIMES + 2):  # the backoff, over at once
        async with uow.transaction() as session:
            await session.exec(
                update(Job)
                .where(col(Job.key) == deliveries["busy"].id)
                .values(due_at=datetime.now(UTC))
            )
        assert await worker.run_due() == 1
        assert (await rows(uow, deliveries))["busy"][3] == attempt
    assert (await rows(uow, deliveries))["busy"][:3] == ("sent", None, "done")

    await each_told_once(uow, mail_server, deliveries)


async def each_told_once(
    uow: UnitOfWork, mail_server: LocalMailServer, deliveries: dict[str, Delivery]
) -> None:
    """Those of ``FAMILIES`` the relay takes (at once, or after asking to wait) received their
    message once, and each delivery was announced once, sent or failed."""
    events = await announced(uow)
    assert events == Counter(
        {
            **{("sent", deliveries[name].id): 1 for name in ("ana", "ben", "cai", "busy")},
            ("failed", deliveries["nobody"].id): 1,
            ("failed", deliveries["stop"].id): 1,
        }
    )
    for name in ("ana", "ben", "cai", "busy"):
        delivery = deliveries[name]
        assert delivery.address is not None
        (message,) = mail_server.to(delivery.address)  # once
        assert message["Message-ID"] == message_id(delivery.id, "conway.example")
        assert message["From"] == SENDER
    assert mail_server.to(deliveries["gone"].address or "") == []


async def jobs_by_kind(uow: UnitOfWork) -> dict[str, list[Job]]:
    async with uow.read() as session:
        found = (await session.exec(select(Job).order_by(col(Job.created_at)))).all()
    by_kind: dict[str, list[Job]] = {}
    for job in found:
        by_kind.setdefault(job.kind, []).append(job)
    return by_kind


async def due_now(uow: UnitOfWork) -> None:
    """The backoff, over at once."""
    async with uow.transaction() as session:
        await session.exec(update(Job).values(due_at=datetime.now(UTC)))


async def test_a_chunk_of_messages_is_their_first_attempt_and_what_must_wait_goes_on_alone(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    deliveries = await queue(uow, FAMILIES, per_job=len(FAMILIES))
    (chunk,) = (await jobs_by_kind(uow))[DELIVER_CHUNK]
    worker = notifier(uow, mail_server)

    assert await worker.run_due() == 1  # the one job of the seven messages
    status = {
        name: (status, error) for name, (status, error, *_) in (await rows(uow, deliveries)).items()
    }
    assert [status[name] for name in ("ana", "ben", "cai")] == [("sent", None)] * 3
    assert status["gone"] == ("withheld", WITHHELD)
    assert status["stop"] == ("opted_out", OPTED_OUT)
    assert status["nobody"][0] not in ("queued", "sent") and "550" in (status["nobody"][1] or "")
    assert status["busy"] == ("queued", None)  # 451: tried again later, alone
    jobs = await jobs_by_kind(uow)
    (done,) = jobs[DELIVER_CHUNK]
    assert (done.id, done.status, done.attempts) == (chunk.id, "done", 1)
    (alone,) = jobs[DELIVER]  # busy's, the chunk's run counted as its first attempt
    assert (alone.key, alone.status, alone.attempts) == (deliveries["busy"].id, "pending", 1)
    assert json.loads(alone.payload) == {"delivery_id": deliveries["busy"].id}
    assert alone.max_attempts is None  # (the kind's: DELIVER_ATTEMPTS in all)
    assert alone.due_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(seconds=20)

    await due_now(uow)
    assert await worker.run_due() == 1  # asked to wait a second time: attempt 2 of 6
    (alone,) = (await jobs_by_kind(uow))[DELIVER]
    assert (alone.status, alone.attempts) == ("pending", 2)
    # Backed off as a message queued alone: 60 s after its second attempt, not 30.
    assert alone.due_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(seconds=50)
    await due_now(uow)
    assert await worker.run_due() == 1
    (alone,) = (await jobs_by_kind(uow))[DELIVER]
    assert (alone.status, alone.attempts) == ("done", 3)
    assert (await rows(uow, deliveries))["busy"][0] == "sent"
    await each_told_once(uow, mail_server, deliveries)


async def test_a_chunk_whose_run_stopped_midway_leaves_the_rest_to_a_job_each(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    deliveries = await queue(uow, FAMILIES, per_job=len(FAMILIES))
    # Its first run recorded Ana's message, then its worker died: the lease ran out.
    async with uow.transaction() as session:
        await session.exec(
            update(Delivery).where(col(Delivery.id) == deliveries["ana"].id).values(status="sent")
        )
        await session.exec(update(Job).values(attempts=1))
    worker = notifier(uow, mail_server)

    assert await worker.run_due() == 1  # the chunk's second run sends nothing itself
    jobs = await jobs_by_kind(uow)
    assert [(job.status, job.attempts) for job in jobs[DELIVER_CHUNK]] == [("done", 2)]
    others = {d.id for name, d in deliveries.items() if name != "ana"}
    assert {job.key for job in jobs[DELIVER]} == others
    assert {job.attempts for job in jobs[DELIVER]} == {1}  # the run that stopped counts
    assert not any(mail_server.to(d.address or "") for d in deliveries.values())

    assert await worker.run_due() == len(others)  # one batch of their jobs
    after = {name: status for name, (status, *_) in (await rows(uow, deliveries)).items()}
    assert [after[name] for name in ("ana", "ben", "cai")] == ["sent"] * 3
    assert mail_server.to(deliveries["ana"].address or "") == []  # recorded: not sent again


async def test_a_delivery_job_given_up_fails_what_it_left_queued_and_lists_the_family(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    """A chunk whose worker died in each of its runs, and a message's job likewise: no message
    is left queued with no job to send it. Each still queued fails with why, is announced, and
    its family is on the could-not-reach list; one recorded sent, or handed on to a job of its
    own, is left as it is."""
    chunked = await queue(
        uow, {name: {"address": f"{name}@example.org"} for name in ("ana", "ben", "cai")}, per_job=3
    )
    alone = await queue(uow, {"dan": {"address": "dan@example.org"}})
    ana, ben, cai, dan = (*chunked.values(), alone["dan"])
    expired = datetime.now(UTC) - timedelta(seconds=1)
    async with uow.transaction() as session:
        # Ana's message was recorded sent and Ben's handed on to a job of its own (due later)
        # before the chunk's worker died; the chunk and Dan's job then died in every run.
        await session.exec(update(Delivery).where(col(Delivery.id) == ana.id).values(status="sent"))
        later = datetime.now(UTC) + timedelta(minutes=5)
        await enqueue_many(
            session,
            [NewJob(kind=DELIVER, key=ben.id, payload={"delivery_id": ben.id}, due_at=later)],
        )
        for kind, attempts in ((DELIVER_CHUNK, CHUNK_ATTEMPTS), (DELIVER, DELIVER_ATTEMPTS)):
            await session.exec(
                update(Job)
                .where(col(Job.kind) == kind, col(Job.key) != ben.id)
                .values(status="running", worker="gone", attempts=attempts, lease_until=expired)
            )
    worker = notifier(uow, mail_server)

    assert await worker.run_due() == 2  # both given up, neither run
    jobs = await jobs_by_kind(uow)
    assert [job.status for job in jobs[DELIVER_CHUNK]] == ["failed"]
    assert {job.key: job.status for job in jobs[DELIVER]} == {dan.id: "failed", ben.id: "pending"}
    found = await rows(uow, {"ana": ana, "ben": ben, "cai": cai, "dan": dan})
    after = {name: (status, error) for name, (status, error, *_) in found.items()}
    assert after["ana"] == ("sent", None)
    assert after["ben"] == ("queued", None)  # its own job sends it
    for name, runs in (("cai", CHUNK_ATTEMPTS), ("dan", DELIVER_ATTEMPTS)):
        status, error = after[name]
        assert status == "failed"
        assert error == (
            f"not sent: the notifier gave it up (started {runs} times without finishing:"
            " its worker stopped each time)"
        )
    async with uow.read() as session:
        listed = {
            row.guardian_id: row.reason for row in (await session.exec(select(CouldNotReach)))
        }
    assert listed == {cai.recipient_id: after["cai"][1], dan.recipient_id: after["dan"][1]}
    assert await announced(uow) == Counter({("failed", cai.id): 1, ("failed", dan.id): 1})
    assert not any(mail_server.to(d.address or "") for d in (ana, ben, cai, dan))


async def test_a_delivery_job_an_operator_cancels_fails_what_it_left_queued_with_why(
    uow: UnitOfWork, database_url: str, mail_server: LocalMailServer
) -> None:
    """``slc-jobs --service notifications cancel`` of a pending chunk gives it up in the same
    transaction: its messages still queued fail with the operator's cancel as the reason, are
    announced, and their families are on the could-not-reach list; one handed on to a job of
    its own is left to it. Nothing is sent, and a second cancel is refused."""
    chunked = await queue(
        uow, {name: {"address": f"{name}@example.org"} for name in ("ana", "ben")}, per_job=2
    )
    ana, ben = chunked.values()
    async with uow.transaction() as session:
        later = datetime.now(UTC) + timedelta(minutes=5)
        await enqueue_many(
            session,
            [NewJob(kind=DELIVER, key=ben.id, payload={"delivery_id": ben.id}, due_at=later)],
        )
    chunk = (await jobs_by_kind(uow))[DELIVER_CHUNK][0]

    cancelled = await slc_jobs(database_url, "--service", "notifications", "cancel", chunk.id)
    assert (cancelled.code, cancelled.err) == (0, ""), cancelled
    again = await slc_jobs(database_url, "--service", "notifications", "cancel", chunk.id)
    assert again.code == 2 and "is cancelled: only pending or failed" in again.err, again

    found = await rows(uow, chunked)
    reason = "not sent: an operator cancelled it"
    assert found["ana"][:2] == ("failed", reason)
    assert found["ben"][:2] == ("queued", None)  # its own job sends it
    async with uow.read() as session:
        listed = {row.guardian_id: row.reason for row in await session.exec(select(CouldNotReach))}
    assert listed == {ana.recipient_id: reason}
    assert await announced(uow) == Counter({("failed", ana.id): 1})
    assert await notifier(uow, mail_server).run_due() == 0  # the chunk is not run
    assert not mail_server.to(ana.address or "")


async def test_a_family_on_the_list_is_taken_off_once_a_later_message_reaches_them(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    refused = await queue(uow, {"ana": {"address": "nobody@example.org"}}, tag=tag)
    worker = notifier(uow, mail_server)
    assert await worker.run_due() == 1  # 550: failed, and no other channel

    async def listed() -> dict[str, Any]:
        async with uow.read() as session:
            rows = (await session.exec(select(CouldNotReach))).all()
        return {row.guardian_id: row.resolved_at for row in rows}

    guardian_id = refused["ana"].recipient_id
    assert await listed() == {guardian_id: None}

    later = await queue(uow, {"ana": {"address": "ana@example.org"}}, tag=tag)
    assert later["ana"].recipient_id == guardian_id
    assert await worker.run_due() == 1
    assert (await rows(uow, later))["ana"][0] == "sent"
    assert (await listed())[guardian_id] is not None  # reached: off the list
    assert await announced(uow) == Counter(
        {("failed", refused["ana"].id): 1, ("sent", later["ana"].id): 1}
    )


async def test_a_message_recorded_sent_twice_is_marked_and_announced_once(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    """Two runs that both handed the same messages over (a lost lease): the second recording
    changes nothing and announces nothing (on PostgreSQL, the one statement of a group)."""
    deliveries = await queue(uow, {n: {"address": f"{n}@example.org"} for n in ("ana", "ben")})
    ana, ben = deliveries["ana"], deliveries["ben"]
    env = notifier(uow, mail_server).env
    await _record_sent(uow, env, [(ana, "first-ana")], "email")
    await _record_sent(uow, env, [(ben, None), (ana, "second-ana")], "email")

    async with uow.read() as session:
        found = {
            d.id: (d.status, d.provider_id)
            for d in (await session.exec(select(Delivery))).all()
            if d.id in (ana.id, ben.id)
        }
    assert found == {ana.id: ("sent", "first-ana"), ben.id: ("sent", None)}
    assert await announced(uow) == Counter({("sent", ana.id): 1, ("sent", ben.id): 1})


class StallingSmtpChannel(SmtpChannel):
    """An SMTP channel whose process freezes right after handing over its first message (its
    event loop blocked longer than a job's lease: no lease is renewed meanwhile)."""

    def __init__(self, *args: Any, stall_seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stall_seconds = stall_seconds
        self.stalled = False

    async def _hand_over(self, *args: Any, **kwargs: Any) -> None:
        await super()._hand_over(*args, **kwargs)
        if not self.stalled:
            self.stalled = True
            time.sleep(self.stall_seconds)  # noqa: ASYNC251  (the freeze itself)


@pytest.mark.parametrize("per_job", [1, 4], ids=["a-job-each", "a-chunk"])
async def test_a_worker_whose_lease_ran_short_hands_nothing_more_over_and_each_goes_once(
    uow: UnitOfWork, mail_server: LocalMailServer, per_job: int
) -> None:
    """A worker frozen past its jobs' lease could find them taken over (or given up and their
    messages recorded failed) by another worker: once it runs again it hands none of the rest
    over. They are tried again later, as a message the relay asked to wait is, and each family
    receives its message once."""
    names = ("ana", "ben", "cai", "dan")
    deliveries = await queue(
        uow, {name: {"address": f"{name}@example.org"} for name in names}, per_job=per_job
    )
    lease = 6.0  # (two thirds of it, 4 s, for the first message to go before the freeze)
    relay = SmtpRelay(host="127.0.0.1", port=mail_server.port, connections=1)
    stalling = StallingSmtpChannel(relay, sender=SENDER, stall_seconds=lease + 0.2)
    env = NotificationsEnvironment(settings=NotificationsSettings(), channels={"email": stalling})
    worker = JobWorker(
        uow=uow,
        handlers=jobs,
        env=env,
        worker_name="notifier-1",
        policy=JobPolicy(lease_seconds=lease),
    )

    assert await worker.run_due() == len(names) // per_job
    assert stalling.stalled
    after = await rows(uow, deliveries)
    sent = [name for name in names if after[name][0] == "sent"]
    assert len(sent) == 1, after  # the one handed over before the freeze
    assert all(after[name][0] == "queued" for name in names if name not in sent), after
    held_back = {deliveries[name].id for name in names if name not in sent}
    # The held back wait for their job, put back to run again soon, not counting this run (it
    # tried nothing): each message's own, or the chunk's, whose next run sends what is still
    # queued. (Put back only by a worker that still holds it: one that took it over meanwhile
    # is the one sending them.)
    async with uow.read() as session:
        waiting = (await session.exec(select(Job).where(col(Job.status) == "pending"))).all()
    expected = held_back if per_job == 1 else {(await jobs_by_kind(uow))[DELIVER_CHUNK][0].key}
    assert {job.key for job in waiting} == expected
    soon = datetime.now(UTC) + timedelta(seconds=HELD_BACK_SECONDS + 1)
    for job in waiting:
        assert job.attempts == 0 and job.due_at.replace(tzinfo=UTC) < soon
        assert "not handed over" in (job.last_error or "")

    # Run again with a lease of the usual length: a short one can run short on a busy
    # machine without any freeze, and hold a message back once more.
    await due_now(uow)
    worker = JobWorker(
        uow=uow, handlers=jobs, env=env, worker_name="notifier-1", policy=JobPolicy()
    )
    assert await worker.run_due() == len(waiting)
    after = await rows(uow, deliveries)
    assert {status for status, *_ in after.values()} == {"sent"}
    for delivery in deliveries.values():
        assert len(mail_server.to(delivery.address or "")) == 1
    assert await announced(uow) == Counter({("sent", d.id): 1 for d in deliveries.values()})


async def test_a_relay_that_cannot_be_reached_defers_the_batch_without_failing_a_message(
    uow: UnitOfWork,
) -> None:
    deliveries = await queue(uow, {f"f{n}": {"address": f"f{n}@example.org"} for n in range(5)})
    nobody_listens = SmtpRelay(host="127.0.0.1", port=free_port(), connections=3, timeout=5)
    env = NotificationsEnvironment(
        settings=NotificationsSettings(),
        channels={"email": SmtpChannel(nobody_listens, sender=SENDER)},
    )
    worker = JobWorker(
        uow=uow, handlers=jobs, env=env, worker_name="notifier-1", policy=JobPolicy()
    )
    assert await worker.run_due() == 5
    after = await rows(uow, deliveries)
    assert {(status, job) for status, _, job, _ in after.values()} == {("queued", "pending")}
    async with uow.read() as session:
        errors = {job.last_error for job in (await session.exec(select(Job))).all()}
    (error,) = errors
    assert error is not None and "Connect" in error, error  # why, for the operator
    assert await announced(uow) == Counter()


async def test_a_text_with_no_sms_provider_fails_and_the_family_is_on_the_list(
    uow: UnitOfWork, mail_server: LocalMailServer
) -> None:
    # A deployment with a mail relay and no SMS provider: a family only a text reaches.
    deliveries = await queue(
        uow,
        {
            "ana": {"address": "ana@example.org"},
            "ben": {"address": "+15035550199", "channel": "sms"},
        },
    )
    relay = SmtpRelay(host="127.0.0.1", port=mail_server.port, connections=2)
    settings = NotificationsSettings(
        host="0.0.0.0", jwt_secret="a-real-secret-" + "x" * 32, smtp_host="127.0.0.1"
    )
    assert "sms" not in channels_from_settings(settings)
    env = NotificationsEnvironment(
        settings=settings, channels={"email": SmtpChannel(relay, sender=SENDER)}
    )
    worker = JobWorker(
        uow=uow, handlers=jobs, env=env, worker_name="notifier-1", policy=JobPolicy()
    )
    assert await worker.run_due() == 2

    after = await rows(uow, deliveries)
    assert after["ana"][0] == "sent"
    status, error, job, _ = after["ben"]
    assert (status, job) == ("failed", "done")
    assert error == "the school system has no sms service configured"
    async with uow.read() as session:
        listed = (await session.exec(select(CouldNotReach))).all()
    assert [(row.guardian_id, row.reason) for row in listed] == [
        (deliveries["ben"].recipient_id, error)
    ]
    assert await announced(uow) == Counter(
        {("sent", deliveries["ana"].id): 1, ("failed", deliveries["ben"].id): 1}
    )
