"""A job whose worker process is SIGKILLed mid-run is run again by another worker, with the same
idempotency key, once its lease has run out, and ends done exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from devstack.services import ServiceProcess
from shared.database import create_engine, session_factory
from shared.jobs.queue import enqueue
from shared.jobs.tables import Job
from shared.messaging.unit_of_work import UnitOfWork
from tests.faults.job_worker import KIND, create_schema, delivery
from tests.support import eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

KEY = "reminder:conference-7:guardian-3"
LEASE_SECONDS = 1.0


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await create_schema(engine)
    yield engine
    await engine.dispose()


def job_worker(
    processes: list[ServiceProcess], tmp_path: Path, database_url: str, name: str
) -> ServiceProcess:
    env = {
        "JOBS_DATABASE_URL": database_url,
        "JOBS_RECORD": str(tmp_path / "sent.txt"),
        "WORKER_NAME": name,
        "JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    process = ServiceProcess(
        "jobs", 0, env, tmp_path / f"{name}.log", module="tests.faults.job_worker"
    )
    processes.append(process)
    return process.start()


async def test_a_job_whose_worker_is_killed_mid_run_runs_again_with_its_key_and_is_done_once(
    tmp_path: Path, database_url: str, engine: AsyncEngine, processes: list[ServiceProcess]
) -> None:
    uow = UnitOfWork(session_factory(engine))
    sent = tmp_path / "sent.txt"
    sent.touch()
    async with uow.transaction() as session:
        assert await enqueue(session, KIND, key=KEY, payload={"conference": "c-7"})

    async def the_job() -> Job:
        async with uow.read() as session:
            return (await session.exec(select(Job))).one()

    async def sends() -> list[str]:
        return sent.read_text().splitlines()

    first = job_worker(processes, tmp_path, database_url, "worker-a")
    await eventually(sends, until=lambda lines: lines == [f"{KEY} 1 worker-a"], timeout=30)
    # Mid-run: the handler hangs in the outside world while its worker keeps renewing the lease.
    held = await the_job()
    assert (held.status, held.worker, held.attempts) == ("running", "worker-a", 1)
    assert held.lease_until is not None
    lease = held.lease_until
    renewed = await eventually(
        the_job,
        until=lambda job: job.lease_until is not None and job.lease_until > lease,
        timeout=LEASE_SECONDS * 3,
    )
    first.kill()
    assert first.process is not None and first.process.returncode == -signal.SIGKILL
    assert (renewed.status, renewed.worker) == ("running", "worker-a")

    second = job_worker(processes, tmp_path, database_url, "worker-b")
    done = await eventually(the_job, until=lambda job: job.status == "done", timeout=30)
    assert await sends() == [f"{KEY} 1 worker-a", f"{KEY} 2 worker-b"]  # the same key again
    assert (done.worker, done.attempts, done.last_error) == ("worker-b", 2, None)
    async with uow.read() as session:
        recorded = (await session.exec(select(delivery.c.key, delivery.c.worker))).all()
    assert [(key, worker) for key, worker in recorded] == [(KEY, "worker-b")]  # done exactly once

    await asyncio.sleep(LEASE_SECONDS)  # a worker that runs on changes nothing more
    assert await sends() == [f"{KEY} 1 worker-a", f"{KEY} 2 worker-b"]
    assert second.process is not None
    second.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(second.process.wait, 10) == 0
