"""Fixtures: a real Redis server, and real databases (SQLite always, PostgreSQL if reachable)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import fastapi.routing
import pytest
import redis.asyncio as aioredis

from devstack.redis_server import RedisServer
from shared.database import create_engine
from shared.migrations import upgrade_to_head
from tests.mail_support import LocalMailServer
from tests.support import (
    drop_postgres_database,
    empty_postgres_database,
    new_postgres_database,
    postgres_skip_reason,
)

# Probe once, before any event loop runs; PostgreSQL variants skip with this reason if set.
postgres_skip_reason()


def _analyse_each_route_once() -> None:
    """Nearly every test builds the services' apps anew, and FastAPI analyses each route's
    signature again for each new app, on its first request (about a tenth of the suite's
    time). The analysis depends only on the endpoint, its path and its dependencies, all the
    same from one app to the next: the tests keep it, once per process. Endpoints made for one
    app (closures over its runtime) are analysed each time, as they were, and not kept. Should
    FastAPI rename the function or change its arguments, the tests run as before, only
    slower."""
    analyse = getattr(fastapi.routing, "_build_dependant_with_parameterless_dependencies", None)
    if analyse is None:
        return
    analysed: dict[tuple[Any, ...], Any] = {}

    def once(**arguments: Any) -> Any:
        # (Kept only for a plain function: not a closure, nor a class or a partial.)
        plain = getattr(arguments.get("call"), "__closure__", True) is None
        if not plain or set(arguments) != {"path", "call", "dependencies"}:
            return analyse(**arguments)
        key = (arguments["path"], arguments["call"], tuple(arguments["dependencies"]))
        try:
            if key not in analysed:
                analysed[key] = analyse(**arguments)
        except TypeError:  # (a dependency that cannot be compared by value)
            return analyse(**arguments)
        return analysed[key]

    fastapi.routing._build_dependant_with_parameterless_dependencies = once


_analyse_each_route_once()

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server (the bundled binary) for the whole test session."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_server() -> Iterator[LocalMailServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for the whole session: the in-process system
    sends families' email to it (``tests/mail_support.py``)."""
    server = LocalMailServer().start()
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
    """Makes fresh databases on one backend, empty or copies of a migrated template;
    PostgreSQL ones are dropped afterwards."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        if backend == "postgresql" and postgres_skip_reason():
            pytest.skip(postgres_skip_reason())
        self.backend = backend
        self._tmp_path = tmp_path
        self.created: list[str] = []

    async def new(self, name: str, *, like: str | None = None) -> str:
        """A new database: empty, or a copy of the database at URL ``like``."""
        if self.backend == "sqlite":
            path = self._tmp_path / f"{name}.db"
            if like is not None:
                shutil.copyfile(sqlite_path(like), path)
            return f"sqlite+aiosqlite:///{path}"
        url = await new_postgres_database(template=like)
        self.created.append(url)
        return url

    async def drop_all(self) -> None:
        for url in self.created:
            await drop_postgres_database(url)


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite+aiosqlite:///"))


class MigratedTemplates:
    """One database per backend and service, migrated once per test session, that a test's
    service starts on a copy of (its own migrations then find nothing to do) instead of
    migrating afresh: about a second less per test of the in-process system.

    On SQLite a copy is a copy of the file. On PostgreSQL, where creating a database takes a
    third of a second, a test's databases are emptied afterwards (every table but the schema's
    version truncated, identities restarted) and handed to the next test.
    """

    def __init__(self, tmp_path: Path) -> None:
        self._databases: dict[str, DatabaseUrls] = {}
        self._templates: dict[tuple[str, Path], str] = {}
        self._spare: dict[Path, list[str]] = {}
        self._tmp_path = tmp_path

    async def copy(self, databases: DatabaseUrls, name: str, migrations: Path) -> str:
        """A database at the newest schema, with no rows, for this test alone."""
        template = await self._template(databases.backend, migrations)
        if databases.backend == "sqlite":
            return await databases.new(name, like=template)
        spare = self._spare.setdefault(migrations, [])
        if spare:
            return spare.pop()
        return await self._databases["postgresql"].new(name, like=template)

    async def give_back(self, url: str, migrations: Path) -> None:
        """The test is done with the database (a PostgreSQL one is emptied for the next)."""
        if not url.startswith("postgresql"):
            return
        try:
            await empty_postgres_database(url)
        except (OSError, asyncpg.PostgresError):
            await drop_postgres_database(url)  # still in use, or broken: never reused
        else:
            self._spare.setdefault(migrations, []).append(url)

    async def _template(self, backend: str, migrations: Path) -> str:
        key = (backend, migrations)
        if key not in self._templates:
            databases = self._databases.setdefault(backend, DatabaseUrls(backend, self._tmp_path))
            url = await databases.new(f"template-{migrations.parent.name}")
            engine = create_engine(url)
            try:
                await upgrade_to_head(engine, migrations)
            finally:
                await engine.dispose()  # on SQLite, folds the write-ahead log into the file
            self._templates[key] = url
        return self._templates[key]

    def drop_all(self) -> None:
        async def drop() -> None:
            for databases in self._databases.values():
                await databases.drop_all()

        asyncio.run(drop())


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.drop_all()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """One fresh, empty database on each backend."""
    urls = DatabaseUrls(request.param, tmp_path)
    try:
        yield await urls.new("test")
    finally:
        await urls.drop_all()
