"""Durable jobs against real databases (SQLite and PostgreSQL): enqueued with the caller's
transaction, run after the commit, retried with backoff, failed, brought back with ``slc-jobs``,
run again when their worker dies, and never run twice by workers racing for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.core import Metric
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.app import SPEC as PORTFOLIO
from shared.database import create_engine, session_factory, utcnow
from shared.environment import Clock, Environment, SystemClock
from shared.jobs.admin import JobRefused, cancel_job, retry_failed
from shared.jobs.context import JobContext
from shared.jobs.handlers import GivenUp, JobHandlers, JobRun, NotRun, PermanentFailure
from shared.jobs.leases import ERROR_MAX_LENGTH, LeaseLost
from shared.jobs.monitoring import job_metric_families, job_status
from shared.jobs.queue import NewJob, cancel, enqueue, enqueue_many, reschedule
from shared.jobs.retention import prune_jobs
from shared.jobs.tables import Job, JobState
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from tests.support import count, eventually, slc_jobs

Handlers = JobHandlers[Environment]
Context = JobContext[Environment]

# What a handler records in the database with ``finish()``: plain rows, no uniqueness, so a
# second effect of one job would show.
effects_metadata = MetaData()
effect = Table(
    "job_effect",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
)


@dataclass
class ManualClock:
    """A clock the test moves."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass(frozen=True)
class AheadClock:
    """The system clock, ``seconds`` ahead: another replica once a lease has run out."""

    seconds: float

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.seconds)


def worker(
    uow: UnitOfWork,
    handlers: Handlers,
    *,
    name: str = "worker-1",
    clock: Clock | None = None,
    **policy: Any,
) -> JobWorker[Environment]:
    env = Environment(settings=ServiceSettings(), clock=clock or SystemClock())
    settings = {"poll_seconds": 0.02, "lease_seconds": 10.0, **policy}
    return JobWorker(
        uow=uow, handlers=handlers, env=env, worker_name=name, policy=JobPolicy(**settings)
    )


async def add(uow: UnitOfWork, kind: str, key: str, **options: Any) -> str:
    """Enqueue a job in a transaction of its own; returns its id."""
    async with uow.transaction() as session:
        assert await enqueue(session, kind, key=key, payload={"to": key}, **options)
    return (await job(uow, kind, key)).id


async def job(uow: UnitOfWork, kind: str, key: str) -> Job:
    async with uow.read() as session:
        query = select(Job).where(col(Job.kind) == kind, col(Job.key) == key)
        return (await session.exec(query)).one()


async def change(uow: UnitOfWork, job_id: str, **values: Any) -> None:
    """Set a job's columns directly (what a dead worker or the passing time left behind)."""
    async with uow.transaction() as session:
        await session.exec(update(Job).where(col(Job.id) == job_id).values(**values))


@pytest.fixture
async def effects(uow: UnitOfWork) -> AsyncIterator[AsyncEngine]:
    engine: AsyncEngine = uow.sessions.kw["bind"]
    async with engine.begin() as connection:
        await connection.run_sync(effects_metadata.create_all)
    yield engine


async def effect_rows(uow: UnitOfWork) -> list[tuple[str, int]]:
    async with uow.read() as session:
        rows = await session.exec(select(effect.c.key, effect.c.attempt))
        return [(key, attempt) for key, attempt in rows.all()]


# --- enqueuing ---------------------------------------------------------------------------------


async def test_a_job_enqueued_in_a_transaction_that_rolls_back_does_not_exist(
    uow: UnitOfWork,
) -> None:
    with pytest.raises(RuntimeError, match="refused"):
        async with uow.transaction() as session:
            assert await enqueue(session, "send_message", key="m-1", payload={"to": "g-1"})
            raise RuntimeError("the change that asked for it was refused")
    assert await count(uow, Job) == 0


async def test_enqueuing_the_same_key_twice_makes_one_job(uow: UnitOfWork) -> None:
    async with uow.transaction() as session:
        assert await enqueue(session, "send_message", key="m-1", payload={"n": 1})
    async with uow.transaction() as session:
        assert not await enqueue(session, "send_message", key="m-1", payload={"n": 2})
        # The same key of another kind is another job.
        assert await enqueue(session, "send_digest", key="m-1", payload={})
    async with uow.transaction() as session:
        batch = [NewJob(kind="send_message", key=f"m-{n}", payload={"n": n}) for n in (1, 2, 2, 3)]
        assert await enqueue_many(session, batch) == 2  # m-2 and m-3; m-1 existed, m-2 twice
    assert await count(uow, Job) == 4
    first = await job(uow, "send_message", "m-1")
    assert json.loads(first.payload) == {"n": 1}  # the first enqueue's


# --- running -----------------------------------------------------------------------------------


async def test_a_committed_job_runs_once_after_the_commit_and_is_done(uow: UnitOfWork) -> None:
    handlers = Handlers()
    runs: list[JobRun] = []

    @handlers.handles("send_message")
    async def send_message(context: Context, job: JobRun) -> None:
        runs.append(job)

    later = await add(uow, "send_message", "m-later", due_at=utcnow() + timedelta(hours=1))
    job_id = await add(uow, "send_message", "m-1")
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 1
    assert await jobs.run_due() == 0
    assert [(run.id, run.key, run.payload, run.attempt) for run in runs] == [
        (job_id, "m-1", {"to": "m-1"}, 1)
    ]
    done = await job(uow, "send_message", "m-1")
    assert (done.status, done.attempts, done.worker, done.lease_until) == (
        "done",
        1,
        "worker-1",
        None,
    )
    assert done.finished_at is not None
    assert (await job(uow, "send_message", "m-later")).status == "pending", later
    assert jobs.outcomes == Counter({("send_message", "done"): 1})


async def test_a_failing_job_is_retried_with_backoff_then_failed_and_slc_jobs_retry_brings_it_back(
    uow: UnitOfWork, database_url: str
) -> None:
    handlers = Handlers()
    smtp = {"up": False}
    runs: list[int] = []

    @handlers.handles("send_message", max_attempts=3, retry_backoff_seconds=10.0)
    async def send_message(context: Context, job: JobRun) -> None:
        runs.append(job.attempt)
        if not smtp["up"]:
            raise ConnectionError("smtp.example.org refused the connection")

    job_id = await add(uow, "send_message", "m-1")
    clock = ManualClock()  # from now on
    jobs = worker(uow, handlers, clock=clock)

    assert await jobs.run_due() == 1
    first = await job(uow, "send_message", "m-1")
    assert (first.status, first.attempts, first.worker) == ("pending", 1, None)
    assert first.due_at == clock.at + timedelta(seconds=10)
    assert first.last_error == "ConnectionError: smtp.example.org refused the connection"
    assert await jobs.run_due() == 0  # not due yet

    clock.advance(10)
    assert await jobs.run_due() == 1
    second = await job(uow, "send_message", "m-1")
    assert (second.status, second.attempts) == ("pending", 2)
    assert second.due_at == clock.at + timedelta(seconds=20)  # the backoff doubled

    clock.advance(20)
    assert await jobs.run_due() == 1
    failed = await job(uow, "send_message", "m-1")
    assert (failed.status, failed.attempts, failed.finished_at) == ("failed", 3, clock.at)
    assert failed.last_error == "ConnectionError: smtp.example.org refused the connection"
    clock.advance(3600)
    assert await jobs.run_due() == 0  # failed for good
    assert runs == [1, 2, 3]
    assert jobs.outcomes == Counter({("send_message", "retried"): 2, ("send_message", "failed"): 1})

    listed = await slc_jobs(database_url, "list", "--status", "failed")
    assert listed.code == 0, listed.err
    assert job_id in listed.out and "smtp.example.org refused" in listed.out

    retried = await slc_jobs(database_url, "retry", job_id)
    assert (retried.code, retried.err) == (0, "")
    again = await job(uow, "send_message", "m-1")
    assert (again.status, again.attempts, again.last_error, again.finished_at) == (
        "pending",
        0,
        None,
        None,
    )

    smtp["up"] = True
    assert await jobs.run_due() == 1
    assert runs == [1, 2, 3, 1]  # from its first attempt again
    assert (await job(uow, "send_message", "m-1")).status == "done"


async def test_a_permanent_failure_fails_the_job_at_once(uow: UnitOfWork) -> None:
    handlers = Handlers()

    @handlers.handles("send_message", max_attempts=5, retry_backoff_seconds=0.01)
    async def send_message(context: Context, job: JobRun) -> None:
        raise PermanentFailure(f"no such mailbox: {job.payload['to']}@example.org")

    await add(uow, "send_message", "m-1")
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 1
    failed = await job(uow, "send_message", "m-1")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "PermanentFailure: no such mailbox: m-1@example.org"
    await asyncio.sleep(0.05)
    assert await jobs.run_due() == 0
    assert jobs.outcomes == Counter({("send_message", "failed"): 1})


async def test_a_run_that_did_nothing_is_put_back_uncounted_even_on_its_last_allowed_run(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()
    attempts: list[int] = []

    @handlers.handles("send_message", max_attempts=2, retry_backoff_seconds=3600)
    async def send_message(context: Context, job: JobRun) -> None:
        attempts.append(job.attempt)
        if len(attempts) <= 3:
            raise NotRun("held back", retry_after_seconds=0.0)
        raise RuntimeError("the relay is down")

    await add(uow, "send_message", "m-1")
    jobs = worker(uow, handlers)
    for _ in range(3):
        assert await jobs.run_due() == 1
        put_back = await job(uow, "send_message", "m-1")
        assert (put_back.status, put_back.attempts) == ("pending", 0)
        assert put_back.last_error == "NotRun: held back"
    assert await jobs.run_due() == 1  # a real failure: counted, and backed off
    failed_once = await job(uow, "send_message", "m-1")
    assert (failed_once.status, failed_once.attempts) == ("pending", 1)
    assert attempts == [1, 1, 1, 1]
    assert jobs.outcomes == Counter({("send_message", "retried"): 4})


async def test_a_run_that_did_nothing_leaves_a_job_taken_over_meanwhile_to_its_new_worker(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()

    @handlers.handles("send_message")
    async def send_message(context: Context, job: JobRun) -> None:
        # Its lease ran out while it was frozen, and another worker took the job over.
        await change(uow, job.id, worker="worker-2", attempts=Job.attempts + 1)
        raise NotRun("held back", retry_after_seconds=0.0)

    await add(uow, "send_message", "m-1")
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 1
    taken_over = await job(uow, "send_message", "m-1")
    assert (taken_over.status, taken_over.worker, taken_over.attempts) == (
        "running",
        "worker-2",
        2,
    )
    assert jobs.outcomes == Counter({("send_message", "lease_lost"): 1})


async def test_a_handler_cancelled_from_within_is_retried_and_the_worker_goes_on(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()

    @handlers.handles("send_message", retry_backoff_seconds=0.0)
    async def send_message(context: Context, job: JobRun) -> None:
        if job.attempt == 1:
            raise asyncio.CancelledError("a request task of its own was cancelled")

    await add(uow, "send_message", "m-1")
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 1  # no CancelledError out of the worker
    retried = await job(uow, "send_message", "m-1")
    assert (retried.status, retried.attempts) == ("pending", 1)
    assert retried.last_error is not None and "cancelled inside the handler" in retried.last_error
    assert await jobs.run_due() == 1
    assert (await job(uow, "send_message", "m-1")).status == "done"


# --- finish(): the result and the job's completion in one transaction ----------------------------


async def test_finish_records_the_result_and_completes_the_job_in_one_transaction(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = Handlers()

    @handlers.handles("record_delivery", retry_backoff_seconds=0.0)
    async def record_delivery(context: Context, job: JobRun) -> None:
        async with context.finish() as session:
            await session.exec(insert(effect).values(key=job.key, attempt=job.attempt))
            if job.payload["to"] == "broken" and job.attempt == 1:
                raise RuntimeError("failed after writing its result")

    await add(uow, "record_delivery", "d-1")
    await add(uow, "record_delivery", "broken")
    jobs = worker(uow, handlers)

    assert await jobs.run_due() == 2
    # d-1: its row and its completion committed together. The other's first run wrote its row
    # and then raised: neither the row nor the completion was committed.
    assert await effect_rows(uow) == [("d-1", 1)]
    assert (await job(uow, "record_delivery", "d-1")).status == "done"
    assert (await job(uow, "record_delivery", "broken")).status == "pending"

    assert await jobs.run_due() == 1
    assert sorted(await effect_rows(uow)) == [("broken", 2), ("d-1", 1)]
    assert (await job(uow, "record_delivery", "broken")).status == "done"
    assert jobs.outcomes == Counter(
        {("record_delivery", "done"): 2, ("record_delivery", "retried"): 1}
    )


async def test_finish_after_the_lease_was_lost_raises_and_writes_nothing(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = Handlers()
    raised: list[BaseException] = []

    @handlers.handles("record_delivery")
    async def record_delivery(context: Context, job: JobRun) -> None:
        # Meanwhile this worker's lease ran out and another worker took the job over.
        await change(uow, job.id, worker="worker-2", attempts=Job.attempts + 1)
        try:
            async with context.finish() as session:
                await session.exec(insert(effect).values(key=job.key, attempt=job.attempt))
        except LeaseLost as lost:
            raised.append(lost)
            raise

    await add(uow, "record_delivery", "d-1")
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 1
    assert len(raised) == 1
    assert await effect_rows(uow) == []
    taken_over = await job(uow, "record_delivery", "d-1")
    assert (taken_over.status, taken_over.worker, taken_over.attempts) == (
        "running",
        "worker-2",
        2,
    )
    assert jobs.outcomes == Counter({("record_delivery", "lease_lost"): 1})


async def test_a_job_is_surely_held_while_its_lease_is_renewed_and_not_once_taken_over(
    uow: UnitOfWork,
) -> None:
    """``surely_held`` stays true over many leases' time while renewals come; it turns false
    once a renewal finds the job taken over, and when the worker's loop was frozen past the
    lease (it cannot know whether it still holds the job)."""
    handlers = Handlers()
    seen: dict[str, list[bool]] = {}
    # (A renewal may come a third of the lease late before ``surely_held`` turns false: a second
    # on a busy machine, where 2 s leases left 0.7 s and a slow commit failed the test once.)
    lease = 3.0

    @handlers.handles("long_run")
    async def long_run(context: Context, job: JobRun) -> None:
        held = seen.setdefault(job.key, [])
        loop = asyncio.get_running_loop()
        ends = loop.time() + 1.5 * lease  # (renewed every third of it)
        while loop.time() < ends:
            held.append(context.surely_held())
            await asyncio.sleep(0.05)
        if job.key == "taken-over":
            await change(uow, job.id, worker="worker-2", attempts=Job.attempts + 1)
            for _ in range(int(lease / 0.05)):  # a renewal finds it gone
                if not context.surely_held():
                    break
                await asyncio.sleep(0.05)
            held.append(context.surely_held())
        elif job.key == "frozen":
            time.sleep(lease + 0.1)  # noqa: ASYNC251  (the loop frozen past the lease)
            held.append(context.surely_held())

    for key in ("renewed", "taken-over", "frozen"):
        await add(uow, "long_run", key)
        assert await worker(uow, handlers, lease_seconds=lease).run_due() == 1
    assert all(seen["renewed"]) and len(seen["renewed"]) > 20
    assert all(seen["taken-over"][:-1]) and seen["taken-over"][-1] is False
    assert all(seen["frozen"][:-1]) and seen["frozen"][-1] is False


# --- workers racing, dying ---------------------------------------------------------------------


async def test_three_workers_running_300_jobs_at_once_run_each_side_effect_exactly_once(
    uow: UnitOfWork, database_url: str
) -> None:
    handlers = Handlers()
    sent: Counter[str] = Counter()  # the outside world: what it was asked to do, per key
    sent_by: Counter[str] = Counter()

    @handlers.handles("send_message")
    async def send_message(context: JobContext[Environment], job: JobRun) -> None:
        await asyncio.sleep(0.001)  # a call to the outside world: the workers interleave
        sent[job.key] += 1
        sent_by[context.env.settings.consumer_name] += 1

    async with uow.transaction() as session:
        keys = [f"m-{n}" for n in range(300)]
        assert (
            await enqueue_many(session, [NewJob(kind="send_message", key=k) for k in keys]) == 300
        )

    # Three replicas: each its own engine (its own connections) on the one database.
    engines = [create_engine(database_url) for _ in range(3)]
    workers = [
        JobWorker(
            uow=UnitOfWork(session_factory(engine)),
            handlers=handlers,
            env=Environment(settings=ServiceSettings(consumer_name=f"replica-{n}")),
            worker_name=f"replica-{n}",
            policy=JobPolicy(batch_size=10, concurrency=5, poll_seconds=0.01),
        )
        for n, engine in enumerate(engines)
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]

    async def everything_sent() -> int:
        return len(sent)

    try:
        await eventually(everything_sent, until=lambda n: n == 300, timeout=30)
        assert set(sent.values()) == {1}, [key for key, n in sent.items() if n > 1]
        await eventually(
            lambda: count(uow, Job, col(Job.status) == "done"), until=lambda n: n == 300
        )
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
        for engine in engines:
            await engine.dispose()
    assert sorted(sent) == sorted(keys)
    assert set(sent.values()) == {1}, [key for key, n in sent.items() if n > 1]  # nothing later
    assert len(sent_by) > 1, sent_by  # they did run side by side
    assert sum(w.outcomes[("send_message", "done")] for w in workers) == 300


async def test_a_job_whose_worker_stopped_mid_run_runs_again_with_the_same_key(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()
    runs: list[tuple[str, int, str]] = []
    started = asyncio.Event()

    @handlers.handles("send_message")
    async def send_message(context: Context, job: JobRun) -> None:
        runs.append((job.key, job.attempt, context.env.settings.consumer_name))
        if job.attempt == 1:
            started.set()
            await asyncio.Event().wait()  # the outside service hangs; the worker is stopped

    job_id = await add(uow, "send_message", "m-1")

    def replica(name: str, *, clock: Clock | None = None) -> JobWorker[Environment]:
        return JobWorker(
            uow=uow,
            handlers=handlers,
            env=Environment(
                settings=ServiceSettings(consumer_name=name), clock=clock or SystemClock()
            ),
            worker_name=name,
            policy=JobPolicy(lease_seconds=1.0),
        )

    first = replica("first")
    dying = asyncio.create_task(first.run_due())
    await asyncio.wait_for(started.wait(), timeout=10)
    dying.cancel()  # the worker stops mid-run: nothing settles the job, nothing renews it
    with contextlib.suppress(asyncio.CancelledError):
        await dying
    held = await job(uow, "send_message", "m-1")
    assert (held.status, held.worker, held.attempts) == ("running", "first", 1)

    # Another replica, looking before the lease has run out, then after.
    assert await replica("second", clock=AheadClock(0.5)).run_due() == 0
    assert await replica("second", clock=AheadClock(1.5)).run_due() == 1
    assert runs == [("m-1", 1, "first"), ("m-1", 2, "second")]
    done = await job(uow, "send_message", "m-1")
    assert (done.id, done.status, done.worker, done.attempts) == (job_id, "done", "second", 2)


async def test_a_job_whose_worker_stopped_in_every_run_is_failed_not_run_again(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()
    runs: list[JobRun] = []

    @handlers.handles("send_message", max_attempts=3)
    async def send_message(context: Context, job: JobRun) -> None:
        runs.append(job)

    expired = utcnow() - timedelta(seconds=1)
    by_handler = await add(uow, "send_message", "m-1")
    await change(uow, by_handler, status="running", worker="gone", attempts=3, lease_until=expired)
    by_job = await add(uow, "send_message", "m-2", max_attempts=1)
    await change(uow, by_job, status="running", worker="gone", attempts=1, lease_until=expired)
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 2
    assert runs == []
    for key, attempts in (("m-1", 3), ("m-2", 1)):
        failed = await job(uow, "send_message", key)
        assert (failed.status, failed.attempts, failed.lease_until) == ("failed", attempts, None)
        assert failed.last_error == (
            f"started {attempts} times without finishing: its worker stopped each time"
        )
    assert jobs.outcomes == Counter({("send_message", "failed"): 2})


async def test_a_job_given_up_is_handed_to_its_kinds_give_up_handler_as_it_fails(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    """Whatever way a job is given up (its last run failed, it failed for good, its worker
    stopped each time), its kind's ``gives_up`` handler records what it must in the transaction
    that fails it; one that raises leaves the job failed all the same, and a job retried later
    or done is not given up."""
    handlers = Handlers()
    given_up: list[GivenUp] = []

    @handlers.handles("send_message", max_attempts=2, retry_backoff_seconds=0.0)
    async def send_message(context: Context, job: JobRun) -> None:
        if job.payload["to"] == "bounces":
            raise PermanentFailure("550 no such mailbox")
        if job.payload["to"] == "taken":  # its lease ran out and another worker took it
            await change(uow, job.id, worker="worker-2")
        if job.payload["to"] != "fine":
            raise ConnectionError("the relay refused the connection")

    @handlers.gives_up("send_message")
    async def not_sent(session: AsyncSession, job: GivenUp) -> None:
        given_up.append(job)
        await session.exec(insert(effect).values(key=job.key, attempt=job.attempts))
        if job.key == "breaks":
            raise RuntimeError("the give-up handler itself failed")

    for key in ("fine", "down", "bounces", "breaks", "died"):
        await add(uow, "send_message", key)
    await add(uow, "send_message", "taken", max_attempts=1)  # (its last run)
    expired = utcnow() - timedelta(seconds=1)
    died = (await job(uow, "send_message", "died")).id
    await change(uow, died, status="running", worker="gone", attempts=2, lease_until=expired)
    jobs = worker(uow, handlers)

    assert await jobs.run_due() == 6  # died given up; fine done; bounces failed; 2 retried
    assert await jobs.run_due() == 2  # down and breaks: their last runs
    keys = ("fine", "down", "bounces", "breaks", "died", "taken")
    statuses = [(await job(uow, "send_message", key)).status for key in keys]
    assert statuses == ["done", "failed", "failed", "failed", "failed", "running"]
    assert jobs.outcomes[("send_message", "lease_lost")] == 1  # taken: not given up
    # Recorded with the failure: the handler that raised wrote nothing (its savepoint).
    assert sorted(await effect_rows(uow)) == [("bounces", 1), ("died", 2), ("down", 2)]
    why = {job.key: (job.payload, job.attempts, job.error) for job in given_up}
    assert why == {
        "died": (
            {"to": "died"},
            2,
            "started 2 times without finishing: its worker stopped each time",
        ),
        "bounces": ({"to": "bounces"}, 1, "PermanentFailure: 550 no such mailbox"),
        "down": ({"to": "down"}, 2, "ConnectionError: the relay refused the connection"),
        "breaks": ({"to": "breaks"}, 2, "ConnectionError: the relay refused the connection"),
    }
    assert [job.key for job in given_up].count("down") == 1  # not on its retried first run
    # The job whose handler raised says so, for district IT to see and retry it.
    assert (await job(uow, "send_message", "breaks")).last_error == (
        "ConnectionError: the relay refused the connection; then recording it given up failed:"
        " RuntimeError: the give-up handler itself failed"
    )
    assert (await job(uow, "send_message", "down")).last_error == (
        "ConnectionError: the relay refused the connection"
    )


async def test_a_long_error_leaves_room_for_saying_the_give_up_handler_failed(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()

    @handlers.handles("send_message", max_attempts=1)
    async def send_message(context: Context, job: JobRun) -> None:
        raise PermanentFailure("550 " + "x" * 3000)

    @handlers.gives_up("send_message")
    async def not_sent(session: AsyncSession, job: GivenUp) -> None:
        raise RuntimeError("the give-up handler itself failed")

    await add(uow, "send_message", "long")
    assert await worker(uow, handlers).run_due() == 1
    failed = await job(uow, "send_message", "long")
    assert failed.status == "failed" and failed.last_error is not None
    assert failed.last_error.startswith("PermanentFailure: 550 xxx")
    assert failed.last_error.endswith(
        "; then recording it given up failed: RuntimeError: the give-up handler itself failed"
    )
    assert len(failed.last_error) <= ERROR_MAX_LENGTH


async def test_an_operators_cancel_gives_a_pending_job_up_in_its_own_transaction(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    """``cancel_job`` hands a pending job to its kind's ``gives_up`` handler, marked cancelled,
    in the transaction that cancels it: a handler that raises leaves the job pending and says
    why; a failed job (given up when it failed) is cancelled without it."""
    handlers = Handlers()
    given_up: list[GivenUp] = []

    @handlers.gives_up("send_message")
    async def not_sent(session: AsyncSession, job: GivenUp) -> None:
        given_up.append(job)
        await session.exec(insert(effect).values(key=job.key, attempt=job.attempts))
        if job.key == "breaks":
            raise RuntimeError("the give-up handler itself failed")

    fine, breaks, failed = [await add(uow, "send_message", key) for key in ("fine", "breaks", "x")]
    await change(uow, failed, status="failed", attempts=5, last_error="Boom")

    assert (await cancel_job(uow, fine, handlers=handlers)).status == "cancelled"
    with pytest.raises(JobRefused, match="was not cancelled: recording what it leaves undone"):
        await cancel_job(uow, breaks, handlers=handlers)
    assert (await cancel_job(uow, failed, handlers=handlers)).status == "cancelled"

    assert (await job(uow, "send_message", "breaks")).status == "pending"
    assert await effect_rows(uow) == [("fine", 0)]  # (the one that raised wrote nothing)
    assert [(j.key, j.cancelled, j.error) for j in given_up] == [
        ("fine", True, "cancelled by an operator"),
        ("breaks", True, "cancelled by an operator"),
    ]


async def test_jobs_claimed_beside_one_that_stops_its_worker_every_time_are_not_failed_with_it(
    uow: UnitOfWork,
) -> None:
    """A claim charges a run to every job it takes. Jobs a stopped worker had claimed but not
    started are taken back one slot at a time, so each is charged at most one run it never
    had, and only the job that stops its worker runs out of runs."""
    handlers = Handlers()
    ran: list[str] = []
    poison_started = asyncio.Event()

    @handlers.handles("send_message", max_attempts=2)
    async def send_message(context: Context, job: JobRun) -> None:
        if job.key == "poison":
            poison_started.set()
            await asyncio.Event().wait()  # it takes its worker down with it, every time
        ran.append(job.key)

    await add(uow, "send_message", "poison")  # due first: the first run of the first batch
    innocent = [f"m-{n}" for n in range(5)]
    for key in innocent:
        await add(uow, "send_message", key)
    for replica in range(1, 20):
        # Each replica starts after the one before it stopped and its leases ran out.
        jobs = worker(
            uow,
            handlers,
            name=f"replica-{replica}",
            clock=AheadClock(2.0 * replica),
            lease_seconds=1.0,
            batch_size=10,
            concurrency=1,
        )
        poison_started.clear()
        round_ = asyncio.create_task(jobs.run_due())
        poisoned = asyncio.create_task(poison_started.wait())
        await asyncio.wait([round_, poisoned], return_when=asyncio.FIRST_COMPLETED)
        poisoned.cancel()
        if not round_.done():
            round_.cancel()  # the worker dies with the poison
            with contextlib.suppress(asyncio.CancelledError):
                await round_
        elif round_.result() == 0:
            break
    assert sorted(ran) == innocent  # each once
    for key in innocent:
        done = await job(uow, "send_message", key)
        assert (done.status, done.attempts) == ("done", 2)  # one charged in the first batch
    failed = await job(uow, "send_message", "poison")
    assert (failed.status, failed.attempts) == ("failed", 2)


async def test_the_worker_loop_waits_out_a_database_outage_and_wakes_on_a_nudge(
    database_url: str,
) -> None:
    handlers = Handlers()
    ran = asyncio.Event()

    @handlers.handles("send_message")
    async def send_message(context: Context, job: JobRun) -> None:
        ran.set()

    engine = create_engine(database_url)  # an empty database: every round fails at first
    uow = UnitOfWork(session_factory(engine))
    jobs = worker(uow, handlers, poll_seconds=30.0, max_outage_backoff_seconds=0.1)
    loop = asyncio.create_task(jobs.run())
    try:

        async def last_error() -> str | None:
            return jobs.heartbeat.last_error

        await eventually(last_error, until=bool, timeout=10)
        assert not loop.done()
        await upgrade_to_head(engine, PORTFOLIO.migrations)  # the database is back
        await add(uow, "send_message", "m-1")
        jobs.nudge()  # as the service does on every commit: no waiting for the 30 s poll
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        jobs.stop()
        await asyncio.wait_for(loop, timeout=5)
        await engine.dispose()


# --- reschedule, cancel ------------------------------------------------------------------------


async def test_a_pending_job_can_be_rescheduled_or_cancelled(uow: UnitOfWork) -> None:
    handlers = Handlers()
    runs: list[str] = []

    @handlers.handles("remind_family")
    async def remind_family(context: Context, job: JobRun) -> None:
        runs.append(job.key)

    tomorrow = utcnow() + timedelta(days=1)
    await add(uow, "remind_family", "conference-1", due_at=tomorrow)
    await add(uow, "remind_family", "conference-2", due_at=tomorrow)
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 0

    async with uow.transaction() as session:
        # The first conference moved to now; the second was called off.
        assert await reschedule(session, "remind_family", key="conference-1", due_at=utcnow())
        assert await cancel(session, "remind_family", key="conference-2")
        assert not await reschedule(session, "remind_family", key="no-such", due_at=utcnow())
    assert await jobs.run_due() == 1
    assert runs == ["conference-1"]

    cancelled = await job(uow, "remind_family", "conference-2")
    assert (cancelled.status, cancelled.finished_at is not None) == ("cancelled", True)
    async with uow.transaction() as session:
        # Neither a job that has run nor a cancelled one is pending any more.
        assert not await reschedule(session, "remind_family", key="conference-1", due_at=tomorrow)
        assert not await cancel(session, "remind_family", key="conference-1")
        assert not await reschedule(session, "remind_family", key="conference-2", due_at=utcnow())
    assert await jobs.run_due() == 0
    assert (await job(uow, "remind_family", "conference-1")).status == "done"


# --- operating: slc-jobs, status and metrics, pruning ------------------------------------------


async def test_slc_jobs_lists_shows_retries_all_failed_and_cancels(
    uow: UnitOfWork, database_url: str, tmp_path: Path
) -> None:
    failed_ids = [await add(uow, "send_message", f"m-{n}") for n in range(3)]
    other = await add(uow, "send_digest", "d-1")
    # (A kind notifications runs, with nothing to record when it is given up.)
    pending = await add(uow, "confirm_delivered", "m-pending", due_at=utcnow() + timedelta(hours=1))
    foreign = await add(uow, "send_message", "m-foreign", due_at=utcnow() + timedelta(hours=1))
    for job_id in [*failed_ids, other]:
        await change(uow, job_id, status="failed", attempts=5, last_error="Boom: no\nmore")

    shown = await slc_jobs(database_url, "--json", "show", failed_ids[0])
    assert shown.code == 0, shown.err
    detail = json.loads(shown.out)
    assert (detail["key"], detail["payload"], detail["last_error"]) == (
        "m-0",
        {"to": "m-0"},
        "Boom: no\nmore",
    )
    text = await slc_jobs(database_url, "show", failed_ids[0])
    assert "status: failed" in text.out and "last error:" in text.out

    listed = await slc_jobs(
        database_url, "--json", "list", "--status", "failed", "--kind", "send_message"
    )
    assert sorted(j["id"] for j in json.loads(listed.out)) == sorted(failed_ids)

    retried = await slc_jobs(database_url, "retry", "--all-failed", "--kind", "send_message")
    assert retried.code == 0, retried.err
    assert "3 failed job(s) put back" in retried.out
    assert await count(uow, Job, col(Job.status) == "failed") == 1  # the digest, another kind
    none_left = await slc_jobs(
        database_url, "--json", "retry", "--all-failed", "--kind", "send_message"
    )
    assert json.loads(none_left.out) == {"retried": 0}

    # Cancelling names the service, whose give-up handlers record what a job leaves undone
    # (notifications has none for this kind).
    unnamed = await slc_jobs(database_url, "cancel", pending)
    assert unnamed.code == 2 and "cancel needs --service NAME" in unnamed.err, unnamed
    unknown = await slc_jobs(database_url, "--service", "payroll", "cancel", pending)
    assert unknown.code == 2 and "no service 'payroll' (services: " in unknown.err, unknown
    assert (await job(uow, "confirm_delivered", "m-pending")).status == "pending"
    cancelled = await slc_jobs(database_url, "--service", "notifications", "cancel", pending)
    assert (cancelled.code, cancelled.err) == (0, "")
    assert (await job(uow, "confirm_delivered", "m-pending")).status == "cancelled"
    # A pending job of a kind the named service does not run: another service's database.
    elsewhere = await slc_jobs(database_url, "--service", "notifications", "cancel", foreign)
    assert elsewhere.code == 2, elsewhere
    assert f"job {foreign} is a send_message job, which notifications does not run" in (
        elsewhere.err
    )
    assert (await job(uow, "send_message", "m-foreign")).status == "pending"

    # Refusals: one line on stderr, exit code 2, no traceback.
    for args, message in [
        (["show", "no-such-id"], "no job no-such-id"),
        (["retry", "no-such-id"], "no job no-such-id"),
        (
            ["--service", "notifications", "cancel", pending],
            f"job {pending} is cancelled: only pending or failed jobs",
        ),
        (["retry", failed_ids[0], "--all-failed"], "not both"),
    ]:
        refused = await slc_jobs(database_url, *args)
        assert refused.code == 2, (args, refused)
        assert message in refused.err and len(refused.err.strip().splitlines()) == 1, refused.err
    missing = tmp_path / "nowhere" / "notifications.db"
    nowhere = await slc_jobs(f"sqlite+aiosqlite:///{missing}", "list")
    assert nowhere.code == 2 and "no database at" in nowhere.err, nowhere
    assert not missing.parent.exists()  # nothing was created
    unmigrated = tmp_path / "empty.db"
    unmigrated.touch()
    empty = await slc_jobs(f"sqlite+aiosqlite:///{unmigrated}", "list")
    assert empty.code == 2 and "has no job table" in empty.err, empty

    revived = await slc_jobs(database_url, "retry", pending)  # cancelled: back it comes
    assert revived.code == 0, revived.err
    back = await job(uow, "confirm_delivered", "m-pending")
    assert back.status == "pending"
    # At the time it was due, still to come (a failed job's time has passed: it runs now).
    assert back.due_at > utcnow() + timedelta(minutes=50)
    failed_again = await job(uow, "send_digest", "d-1")
    assert (await slc_jobs(database_url, "retry", failed_again.id)).code == 0
    assert (await job(uow, "send_digest", "d-1")).due_at <= utcnow()


async def test_job_status_and_metrics_show_what_waits_and_how_runs_ended(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()

    @handlers.handles("send_message", max_attempts=1)
    async def send_message(context: Context, job: JobRun) -> None:
        if job.key == "m-bad":
            raise RuntimeError("refused")

    await add(uow, "send_message", "m-good")
    await add(uow, "send_message", "m-bad")
    await add(uow, "send_message", "m-late", due_at=utcnow() - timedelta(seconds=60))
    await add(uow, "send_message", "m-tomorrow", due_at=utcnow() + timedelta(days=1))
    before = await job_status(uow)
    assert before.counts == {"pending": 4, "running": 0, "done": 0, "failed": 0, "cancelled": 0}
    assert 60 <= before.oldest_due_age_seconds < 120

    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 3
    status = await job_status(uow)
    assert status.counts == {"pending": 1, "running": 0, "done": 2, "failed": 1, "cancelled": 0}
    assert (status.failed, status.oldest_due_age_seconds) == (1, 0.0)

    families = {
        family.name: family
        for family in job_metric_families("notifications", status=status, outcomes=jobs.outcomes)
    }
    assert _samples(families["slc_jobs"]) == {
        ("slc_jobs", ("notifications", state)): n for state, n in status.counts.items()
    }
    assert _samples(families["slc_jobs_oldest_due_age_seconds"]) == {
        ("slc_jobs_oldest_due_age_seconds", ("notifications",)): 0.0
    }
    assert _samples(families["slc_job_runs"]) == {
        ("slc_job_runs_total", ("notifications", "send_message", "done")): 2,
        ("slc_job_runs_total", ("notifications", "send_message", "failed")): 1,
    }


def _samples(family: Metric) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (sample.name, tuple(sample.labels.values())): sample.value
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


async def test_prune_jobs_deletes_only_done_and_cancelled_jobs_finished_long_ago(
    uow: UnitOfWork,
) -> None:
    long_ago = utcnow() - timedelta(days=30)
    ids = {
        name: await add(uow, "send_message", name)
        for name in ("old-done", "old-cancelled", "old-failed", "new-done", "pending")
    }
    for name, status in (
        ("old-done", "done"),
        ("old-cancelled", "cancelled"),
        ("old-failed", "failed"),
    ):
        await change(uow, ids[name], status=status, finished_at=long_ago)
    await change(uow, ids["new-done"], status="done", finished_at=utcnow())
    assert await prune_jobs(uow, older_than=timedelta(days=7)) == 2
    async with uow.read() as session:
        left = (await session.exec(select(Job.key).order_by(col(Job.key)))).all()
    assert left == ["new-done", "old-failed", "pending"]
    assert await prune_jobs(uow, older_than=timedelta(days=7)) == 0


async def test_a_run_longer_than_its_kinds_timeout_is_cut_short_and_retried(
    uow: UnitOfWork,
) -> None:
    handlers = Handlers()
    runs: list[int] = []

    @handlers.handles("send_message", timeout_seconds=0.2, retry_backoff_seconds=0.05)
    async def send_message(context: Context, job: JobRun) -> None:
        runs.append(job.attempt)
        if job.attempt == 1:
            await asyncio.sleep(30)  # a provider that never answers

    await add(uow, "send_message", "m-1")
    jobs = worker(uow, handlers)

    assert await jobs.run_due() == 1
    waiting = await job(uow, "send_message", "m-1")
    assert waiting.status == JobState.PENDING.value
    assert waiting.last_error == "TimeoutError: the run took longer than its 0.2s"
    assert jobs.heartbeat.busy_for() == 0.0  # (running jobs is not the loop being stuck)
    await asyncio.sleep(0.1)
    assert await jobs.run_due() == 1
    assert runs == [1, 2]
    assert (await job(uow, "send_message", "m-1")).status == JobState.DONE.value


async def test_a_handlers_own_timeout_is_recorded_as_itself_not_as_the_run_running_late(
    uow: UnitOfWork,
) -> None:
    """An SMTP or HTTP client's timeout is a ``TimeoutError`` too: the failed jobs page must
    say what timed out, not that the run took longer than its kind allows."""
    handlers = Handlers()

    @handlers.handles("send_message", timeout_seconds=300, retry_backoff_seconds=60)
    async def send_message(context: Context, job: JobRun) -> None:
        raise TimeoutError("the SMTP server did not answer within 30s")

    await add(uow, "send_message", "m-1")
    assert await worker(uow, handlers).run_due() == 1
    waiting = await job(uow, "send_message", "m-1")
    assert waiting.last_error == "TimeoutError: the SMTP server did not answer within 30s"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_retrying_every_failed_job_leaves_one_put_back_and_running_meanwhile(
    uow: UnitOfWork,
) -> None:
    """Between ``retry --all-failed`` reading the failed jobs and putting them back, another
    operator put one back and a worker began it: it must not be made pending again (a second
    worker would run it at the same time)."""
    failed = [await add(uow, "send_message", f"m-{n}") for n in range(3)]
    for job_id in failed:
        await change(uow, job_id, status=JobState.FAILED.value, last_error="boom")
    taken = failed[1]

    class Interleaved(UnitOfWork):
        @asynccontextmanager
        async def transaction(self) -> AsyncIterator[AsyncSession]:
            async with super().transaction() as session:
                read = session.exec

                async def read_then_another_runs_it(statement: Any, *args: Any, **kw: Any) -> Any:
                    result = await read(statement, *args, **kw)
                    session.exec = read  # type: ignore[method-assign]
                    await change(uow, taken, status=JobState.RUNNING.value, worker="worker-2")
                    return result

                session.exec = read_then_another_runs_it  # type: ignore[method-assign]
                yield session

    put_back = [n async for n in retry_failed(Interleaved(uow.sessions))]
    assert put_back == [2]
    running = await job(uow, "send_message", "m-1")
    assert (running.status, running.worker) == (JobState.RUNNING.value, "worker-2")
    for key in ("m-0", "m-2"):
        assert (await job(uow, "send_message", key)).status == JobState.PENDING.value
