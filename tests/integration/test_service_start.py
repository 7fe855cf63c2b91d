"""A service started before its database answers (a PostgreSQL server starting beside it, a
failover) waits for it, a line in the log each try, and starts once it answers; one whose
database never answers, or refuses its user, exits 1 with the reason in one line: never a
traceback, never the password."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from devstack.redis_server import free_port
from tests.support import drop_postgres_database, new_postgres_database, postgres_skip_reason

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "not-to-be-shown-9f3a"


def scheduling(environment: dict[str, str]) -> subprocess.Popen[str]:
    """The scheduling service as an operator starts it, with ``environment`` added (Redis on a
    port nothing listens on: the service starts without it)."""
    keep = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "REDIS_", "SCHEDULING_", "CONSUMER_", "DATABASE_"))
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.scheduling"],
        env={
            **keep,
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "SCHEDULING_PORT": str(free_port()),
            **environment,
        },
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ended(process: subprocess.Popen[str], seconds: float = 60) -> tuple[str, str]:
    """What the process wrote once it ended by itself; if it is still running after
    ``seconds`` it is ended here, and the test fails."""
    try:
        return process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the service was still running after {seconds:.0f} s") from None


def test_a_database_that_never_answers_stops_the_service_with_one_line() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://slc:{PASSWORD}@127.0.0.1:{port}/slc"
    started = time.monotonic()
    process = scheduling({"SCHEDULING_DATABASE_URL": url, "DATABASE_WAIT_SECONDS": "2"})
    stdout, stderr = ended(process)
    assert process.returncode == 1, stderr
    lines = stderr.splitlines()
    assert any("does not answer yet" in line for line in lines), stderr  # it did wait
    assert lines[-1].startswith(
        f"slc-scheduling: cannot use the database at postgresql+asyncpg://slc:***@127.0.0.1:{port}"
        "/slc: "
    ), stderr
    assert "Traceback" not in stderr and PASSWORD not in stderr + stdout
    assert time.monotonic() - started < 30


def test_a_user_the_database_refuses_stops_the_service_at_once(postgres_database: str) -> None:
    """Waiting does not mend a user (or password, or database) the server refuses: no minute
    of retries, the server's reason at once."""
    refused = make_url(postgres_database).set(
        drivername="postgresql+asyncpg", username="no_such_user", password=PASSWORD
    )
    started = time.monotonic()
    process = scheduling(
        {
            "SCHEDULING_DATABASE_URL": refused.render_as_string(hide_password=False),
            "DATABASE_WAIT_SECONDS": "120",
        }
    )
    stdout, stderr = ended(process)
    assert process.returncode == 1, stderr
    assert "does not answer yet" not in stderr
    assert stderr.splitlines()[-1].endswith('role "no_such_user" does not exist'), stderr
    assert "Traceback" not in stderr and PASSWORD not in stderr + stdout
    assert time.monotonic() - started < 30


class LateProxy:
    """A TCP port that forwards to PostgreSQL, but only once ``open()`` is called: until then
    nothing listens on it, as when the server has not started yet."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.port = free_port()
        self._target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None

    def open(self) -> None:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._forward, "127.0.0.1", self.port)

        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    if reason := postgres_skip_reason():
        pytest.skip(reason)
    url = asyncio.run(new_postgres_database())
    yield url
    asyncio.run(drop_postgres_database(url))


def test_a_database_that_answers_late_is_waited_for_and_the_service_starts(
    postgres_database: str,
) -> None:
    real = make_url(postgres_database)
    proxy = LateProxy((real.host or "127.0.0.1", real.port or 5432))
    late = real.set(drivername="postgresql+asyncpg", host="127.0.0.1", port=proxy.port)
    http_port = free_port()
    process = scheduling(
        {
            "SCHEDULING_DATABASE_URL": late.render_as_string(hide_password=False),
            "SCHEDULING_PORT": str(http_port),
        }
    )
    try:
        assert process.stderr is not None
        said = []
        while not any("does not answer yet" in line for line in said):
            line = process.stderr.readline()
            assert line, f"the service ended: {''.join(said)}"
            said.append(line)
        proxy.open()
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the service ended instead of starting"
            assert time.monotonic() < deadline, "the service did not start within 60 s"
            time.sleep(0.2)
    finally:
        process.terminate()
        process.communicate(timeout=30)
        proxy.close()
