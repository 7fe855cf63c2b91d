"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Role, mint_token
from shared.auth.principal import Principal
from shared.environment import Environment
from shared.events import CloudEvent, GoalSet
from shared.jobs.cli import main as slc_jobs_main
from shared.messaging.outbox import record_event
from shared.messaging.unit_of_work import UnitOfWork
from shared.settings import DEV_JWT_SECRET, ServiceSettings

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def principal(role: Role, **overrides: Any) -> Principal:
    """A caller in district ``d-1`` (the unit tests' district), as ``overrides`` say."""
    values: dict[str, Any] = {"subject": "u-1", "role": role, "district": "d-1"}
    values.update(overrides)
    return Principal(**values)


def environment(**settings: Any) -> Environment:
    """What handlers are given in the messaging tests: default settings, the system clock."""
    return Environment(settings=ServiceSettings(**settings))


def record_goal(session: AsyncSession, n: int) -> CloudEvent[GoalSet]:
    """Record ``goal(n)`` about Ava at Conway (the messaging tests' event) in the outbox."""
    return record_event(session, goal(n), subject="s-ava", district="demo", site="conway")


def auth(
    subject: str, role: Role, *, sites: tuple[str, ...] = (), students: tuple[str, ...] = ()
) -> dict[str, str]:
    """Authorization header for a caller in the demo district."""
    value = mint_token(
        secret=DEV_JWT_SECRET,
        subject=subject,
        role=role,
        district="demo",
        sites=sites,
        students=students,
    )
    return {"Authorization": f"Bearer {value}"}


async def eventually(
    probe: Callable[[], Awaitable[T]], *, until: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Poll ``probe`` until its result satisfies ``until``; fail with the last result if never."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
        await asyncio.sleep(0.05)


@cache
def postgres_skip_reason() -> str | None:
    """None if PostgreSQL answers at TEST_POSTGRES_URL, else why the PostgreSQL variants skip."""

    async def probe() -> None:
        connection = await _admin_connection(timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as error:  # any failure means: skip the PostgreSQL variants, visibly
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({type(error).__name__}: {error})"
    return None


async def new_postgres_database(template: str | None = None) -> str:
    """Create a PostgreSQL database, empty or a copy of the database at URL ``template`` (which
    nobody may be connected to), and return its URL."""
    name = f"slc_test_{uuid.uuid4().hex[:12]}"
    like = f' TEMPLATE "{make_url(template).database}"' if template is not None else ""
    connection = await _admin_connection()
    try:
        await connection.execute(f'CREATE DATABASE "{name}"{like}')
    finally:
        await connection.close()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    connection = await _admin_connection()
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await connection.close()


async def empty_postgres_database(url: str) -> None:
    """Delete every row but the schema's version, and restart the identities: the database is
    as its migrations left it. Refuses (lock timeout) while anything is still connected and
    holding a table."""
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        database=parsed.database,
        password=parsed.password,
        timeout=10,
    )
    try:
        others = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if others:
            raise OSError(f"{others} connections to {parsed.database} are still open")
        tables = await connection.fetch(
            "SELECT quote_ident(tablename) AS name FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        await connection.execute("SET lock_timeout = '2s'")
        await connection.execute(
            f"TRUNCATE {', '.join(t['name'] for t in tables)} RESTART IDENTITY CASCADE"
        )
    finally:
        await connection.close()


async def _admin_connection(timeout: float = 10) -> asyncpg.Connection:
    url = make_url(POSTGRES_URL)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        database=url.database,
        password=url.password,
        timeout=timeout,
    )


def goal(n: int) -> GoalSet:
    """A goal Ava set, numbered ``n``."""
    return GoalSet(
        goal_id=f"goal-{n}", student_id="s-ava", title=f"Goal {n}", area="math", set_by="s-ava"
    )


async def count(uow: UnitOfWork, model: type[SQLModel], *where: object) -> int:
    """Committed rows of ``model`` matching ``where``."""
    async with uow.read() as session:
        return int(
            (await session.exec(select(func.count()).select_from(model).where(*where))).one()
        )


def wait_for_room_today(minutes: float, zone: str = "America/Los_Angeles") -> float:
    """Seconds to wait before opening a conference time ``minutes`` long from now: 0, unless
    fewer than that (and a margin) remain of the day in ``zone``, where a time never crosses
    midnight; then until just after midnight."""
    local = datetime.now(ZoneInfo(zone))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), ZoneInfo(zone))
    left = (midnight - local).total_seconds()
    return 0.0 if left > minutes * 60 + 60 else left + 1


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


async def slc_jobs(database_url: str, *args: str) -> Ran:
    """Run ``slc-jobs`` in this process (off the event loop: it runs its own)."""

    def run() -> Ran:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = slc_jobs_main(["--database-url", database_url, *args])
        return Ran(code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


# The daily digest goes at this hour on each family's clock, their school's by default (Conway:
# Los Angeles; MJDS: Chicago).
DIGEST_HOUR_ZONES = ("America/Los_Angeles", "America/Chicago")


def until_digest_hour_passed(margin: timedelta, *, at: datetime | None = None) -> float:
    """Seconds to wait so that the daily digest's hour on the schools' clocks is not less than
    ``margin`` ahead: a test that counts a family's messages would otherwise see the day's
    digest go in the middle of it. 0 almost always."""
    from services.notifications.preferences import DEFAULT_DIGEST_HOUR

    now = at or datetime.now(ZoneInfo("UTC"))
    for zone in DIGEST_HOUR_ZONES:
        local = now.astimezone(ZoneInfo(zone))
        digest = local.replace(hour=DEFAULT_DIGEST_HOUR, minute=0, second=0, microsecond=0)
        if timedelta(0) <= digest - local < margin:
            return (digest - local).total_seconds() + 1
    return 0.0


def sound_recording(seconds: float = 0.1) -> bytes:
    """A sound recording (WAV, 16 KB a second), as a tablet's voice recorder may hand one
    over."""
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\x00\x10" * int(8000 * seconds))
    return out.getvalue()
