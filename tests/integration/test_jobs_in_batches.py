"""Batch handlers against real databases (SQLite and PostgreSQL): a kind's due jobs given to one
call, each run settled on its own (finished with its result in one transaction, failed and
retried or failed alone, or done when the handler returns), the unsettled ones retried when the
call raises or runs out of time, a batch whose worker stopped run again one job per call, and
workers racing for a thousand jobs running each once."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from shared.database import create_engine, session_factory
from shared.environment import Environment
from shared.jobs.context import BatchJobContext
from shared.jobs.handlers import JobHandlers, JobRun, PermanentFailure
from shared.jobs.leases import LeaseLost
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.unit_of_work import UnitOfWork
from shared.settings import ServiceSettings
from tests.integration.test_jobs import (
    AheadClock,
    add,
    change,
    effect,
    effect_rows,
    effects_metadata,
    job,
    worker,
)
from tests.support import count, eventually

Batch = BatchJobContext[Environment]
KIND = "send_messages"


@pytest.fixture
async def effects(uow: UnitOfWork) -> AsyncIterator[AsyncEngine]:
    """The table handlers record results in (``test_jobs.effect``)."""
    engine: AsyncEngine = uow.sessions.kw["bind"]
    async with engine.begin() as connection:
        await connection.run_sync(effects_metadata.create_all)
    yield engine


async def add_many(uow: UnitOfWork, keys: Sequence[str]) -> None:
    async with uow.transaction() as session:
        jobs = [NewJob(kind=KIND, key=key, payload={"to": key}) for key in keys]
        assert await enqueue_many(session, jobs) == len(keys)


async def statuses(uow: UnitOfWork) -> Counter[str]:
    async with uow.read() as session:
        return Counter((await session.exec(select(Job.status))).all())


async def test_due_jobs_are_given_to_one_call_up_to_its_batch_size_and_each_is_done_once(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = JobHandlers[Environment]()
    calls: list[list[str]] = []

    @handlers.handles_batch(KIND, batch_size=10)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        calls.append([run.key for run in runs])
        # Two results at a time, each pair with its jobs' completion in one transaction...
        for pair in (runs[:2], runs[2:4]):
            async with context.finish(pair) as session:
                rows = [{"key": run.key, "attempt": run.attempt} for run in pair]
                await session.exec(insert(effect), params=rows)  # type: ignore[call-overload]
        # ...and the rest done when the handler returns, without a result of their own.

    keys = [f"m-{n:02d}" for n in range(25)]
    await add_many(uow, keys)
    jobs = worker(uow, handlers)
    assert [await jobs.run_due() for _ in range(4)] == [10, 10, 5, 0]
    assert [len(call) for call in calls] == [10, 10, 5]
    assert sorted(key for call in calls for key in call) == keys  # each once
    assert len(await effect_rows(uow)) == 12
    assert await statuses(uow) == {"done": 25}
    assert jobs.outcomes == Counter({(KIND, "done"): 25})


async def test_a_run_that_failed_is_retried_or_failed_alone_and_the_others_are_done(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = JobHandlers[Environment]()
    seen: list[tuple[str, int]] = []

    @handlers.handles_batch(KIND, batch_size=10, max_attempts=2, retry_backoff_seconds=0.0)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        seen.extend((run.key, run.attempt) for run in runs)
        for run in runs:
            if run.key == "nobody":
                context.failed(run, PermanentFailure("550 no such mailbox"))
            elif run.key == "busy":
                context.failed(run, RuntimeError("451 try again later"))
            else:
                async with context.finish([run]) as session:
                    await session.exec(insert(effect).values(key=run.key, attempt=run.attempt))

    await add_many(uow, ["ok-1", "nobody", "busy", "ok-2"])
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 4
    nobody, busy = await job(uow, KIND, "nobody"), await job(uow, KIND, "busy")
    assert (nobody.status, nobody.attempts, nobody.last_error) == (
        "failed",
        1,
        "PermanentFailure: 550 no such mailbox",
    )
    assert (busy.status, busy.last_error) == ("pending", "RuntimeError: 451 try again later")
    assert await jobs.run_due() == 1  # only the one that failed for a while comes back
    assert await jobs.run_due() == 0
    assert (await job(uow, KIND, "busy")).status == "failed"  # after its last allowed run
    assert seen == [("ok-1", 1), ("nobody", 1), ("busy", 1), ("ok-2", 1), ("busy", 2)]
    assert sorted(await effect_rows(uow)) == [("ok-1", 1), ("ok-2", 1)]
    assert jobs.outcomes == Counter({(KIND, "done"): 2, (KIND, "failed"): 2, (KIND, "retried"): 1})


async def test_when_the_call_raises_the_runs_it_had_not_settled_are_retried(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = JobHandlers[Environment]()
    seen: list[list[str]] = []

    @handlers.handles_batch(KIND, batch_size=10, retry_backoff_seconds=0.0)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        seen.append([run.key for run in runs])
        async with context.finish(runs[:1]) as session:
            await session.exec(insert(effect).values(key=runs[0].key, attempt=runs[0].attempt))
        for run in runs:
            if run.key == "b":
                context.failed(run, PermanentFailure("no such address"))
        if len(runs) > 1:
            raise ConnectionError("the relay hung up")

    await add_many(uow, ["a", "b", "c", "d"])
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 4
    assert [(await job(uow, KIND, key)).status for key in "abcd"] == [
        "done",
        "failed",
        "pending",
        "pending",
    ]
    assert (await job(uow, KIND, "c")).last_error == "ConnectionError: the relay hung up"
    assert await jobs.run_due() == 2
    assert await jobs.run_due() == 1
    assert seen == [["a", "b", "c", "d"], ["c", "d"], ["d"]]
    assert sorted(await effect_rows(uow)) == [("a", 1), ("c", 2), ("d", 3)]
    assert await statuses(uow) == {"done": 3, "failed": 1}


async def test_a_batch_longer_than_its_timeout_keeps_what_it_finished_and_retries_the_rest(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = JobHandlers[Environment]()

    @handlers.handles_batch(KIND, batch_size=10, timeout_seconds=0.3)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        async with context.finish(runs[:1]) as session:
            await session.exec(insert(effect).values(key=runs[0].key, attempt=runs[0].attempt))
        await asyncio.Event().wait()  # the relay stopped answering

    await add_many(uow, ["a", "b"])
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 2
    late = await job(uow, KIND, "b")
    assert (late.status, late.last_error) == (
        "pending",
        "TimeoutError: the batch took longer than its 0.3s",
    )
    assert (await job(uow, KIND, "a")).status == "done"
    assert jobs.outcomes == Counter({(KIND, "done"): 1, (KIND, "retried"): 1})


async def test_finish_after_a_lease_was_lost_raises_and_writes_nothing(
    uow: UnitOfWork, effects: AsyncEngine
) -> None:
    handlers = JobHandlers[Environment]()
    raised: list[BaseException] = []

    @handlers.handles_batch(KIND, batch_size=10)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        # Meanwhile this worker's lease on one of them ran out and another worker took it.
        await change(uow, runs[1].id, worker="worker-2", attempts=Job.attempts + 1)
        try:
            async with context.finish(runs) as session:
                rows = [{"key": run.key, "attempt": run.attempt} for run in runs]
                await session.exec(insert(effect), params=rows)  # type: ignore[call-overload]
        except LeaseLost as lost:
            raised.append(lost)
            raise
        with pytest.raises(ValueError, match="already settled"):
            context.failed(runs[0], RuntimeError("twice"))

    await add_many(uow, ["a", "b"])
    jobs = worker(uow, handlers)
    assert await jobs.run_due() == 2
    assert len(raised) == 1
    assert await effect_rows(uow) == []
    assert (await job(uow, KIND, "a")).status == "pending"  # to run again
    taken_over = await job(uow, KIND, "b")
    assert (taken_over.status, taken_over.worker) == ("running", "worker-2")
    assert jobs.outcomes == Counter({(KIND, "retried"): 1, (KIND, "lease_lost"): 1})


async def test_a_batch_whose_worker_stopped_runs_again_one_job_a_call_and_only_the_poison_fails(
    uow: UnitOfWork,
) -> None:
    """A job that kills its worker takes its batch down once; its batch's jobs then run one
    per call, so only the job itself runs out of runs."""
    handlers = JobHandlers[Environment]()
    calls: list[list[str]] = []
    poison_started = asyncio.Event()

    @handlers.handles_batch(KIND, batch_size=10, max_attempts=3)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        calls.append([run.key for run in runs])
        if any(run.key == "poison" for run in runs):
            poison_started.set()
            await asyncio.Event().wait()  # its worker dies with it, every time

    keys = ["poison", *(f"m-{n}" for n in range(5))]
    for key in keys:
        await add(uow, KIND, key)
    for replica in range(1, 20):
        jobs = worker(
            uow,
            handlers,
            name=f"replica-{replica}",
            clock=AheadClock(2.0 * replica),
            lease_seconds=1.0,
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
    assert calls[0] == keys
    assert all(len(call) == 1 for call in calls[1:])
    assert Counter(key for call in calls[1:] for key in call) == {
        "poison": 2,
        **dict.fromkeys(keys[1:], 1),
    }
    for key in keys[1:]:
        assert (await job(uow, KIND, key)).status == "done"
    poison = await job(uow, KIND, "poison")
    assert (poison.status, poison.attempts) == ("failed", 3)


async def test_three_workers_racing_for_a_thousand_batch_jobs_run_each_once(
    uow: UnitOfWork, database_url: str
) -> None:
    handlers = JobHandlers[Environment]()
    sent: Counter[str] = Counter()
    sent_by: Counter[str] = Counter()

    @handlers.handles_batch(KIND, batch_size=50)
    async def send_messages(context: Batch, runs: Sequence[JobRun]) -> None:
        # The outside world takes a moment per batch (outside any transaction): the other
        # workers claim theirs meanwhile, however busy the machine.
        await asyncio.sleep(0.005)
        for run in runs:
            await asyncio.sleep(0)  # and the workers interleave
            sent[run.key] += 1
        sent_by[context.env.settings.consumer_name] += len(runs)

    keys = [f"m-{n:04d}" for n in range(1000)]
    await add_many(uow, keys)
    engines = [create_engine(database_url) for _ in range(3)]
    workers = [
        JobWorker(
            uow=UnitOfWork(session_factory(engine)),
            handlers=handlers,
            env=Environment(settings=ServiceSettings(consumer_name=f"replica-{n}")),
            worker_name=f"replica-{n}",
            policy=JobPolicy(poll_seconds=0.01),
        )
        for n, engine in enumerate(engines)
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        await eventually(
            lambda: count(uow, Job, col(Job.status) == "done"),
            until=lambda n: n == 1000,
            timeout=60,
        )
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
        for engine in engines:
            await engine.dispose()
    assert sorted(sent) == keys
    assert set(sent.values()) == {1}
    assert len(sent_by) > 1, sent_by  # they did take turns
    assert sum(w.outcomes[(KIND, "done")] for w in workers) == 1000
