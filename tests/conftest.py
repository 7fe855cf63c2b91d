"""Fixtures: a real Redis server, and real databases (SQLite always, PostgreSQL if reachable)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from devstack.redis_server import RedisServer
from tests.support import drop_postgres_database, new_postgres_database, postgres_skip_reason

# Probe once, before any event loop runs; PostgreSQL variants skip with this reason if set.
postgres_skip_reason()

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server (the bundled binary) for the whole test session."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> AsyncIterator[str]:
    """The private Redis, emptied before each test."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    yield redis_server.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


class DatabaseUrls:
    """Makes fresh, empty databases on one backend; PostgreSQL ones are dropped afterwards."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        if backend == "postgresql" and postgres_skip_reason():
            pytest.skip(postgres_skip_reason())
        self.backend = backend
        self._tmp_path = tmp_path
        self.created: list[str] = []

    async def new(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self._tmp_path / name}.db"
        url = await new_postgres_database()
        self.created.append(url)
        return url

    async def drop_all(self) -> None:
        for url in self.created:
            await drop_postgres_database(url)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """One fresh, empty database on each backend."""
    urls = DatabaseUrls(request.param, tmp_path)
    try:
        yield await urls.new("test")
    finally:
        await urls.drop_all()
