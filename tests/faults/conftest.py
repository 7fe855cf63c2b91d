"""Fixtures of the fault suite: a redis-server of its own per case (AOF on), and its processes."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from devstack.redis_server import RedisServer
from devstack.services import ServiceProcess
from tests.faults.harness import checker_client


@pytest.fixture
def fault_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this case may kill, freeze and restart (AOF on, fsync every second)."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture
async def fault_client(fault_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = checker_client(fault_redis.url)
    yield client
    await client.aclose()


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    """Processes a case started; whatever is still running at the end is killed."""
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        if process.process is not None and process.process.poll() is None:
            os.kill(process.process.pid, signal.SIGCONT)
        process.kill()
