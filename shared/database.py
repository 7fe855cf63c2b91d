"""Database engines and sessions: SQLite (embedded default) or PostgreSQL, both async."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, event, func, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.supervision import driver_reason

# Execution option marking a session that only reads (see ``UnitOfWork.read``).
READ_ONLY = "slc_read_only"

# How long a SQLite writer waits for the write lock (SQLite's busy timeout; likewise the
# in-process turn, see ``shared.messaging.unit_of_work.writing``).
SQLITE_WRITE_WAIT_SECONDS = 30

FactoryT = TypeVar("FactoryT", bound=Callable[[], Any])


def row_default(factory: FactoryT) -> FactoryT:
    """Mark a function as a table column's ``default_factory`` that takes no arguments.

    Each time a SQLModel table row is constructed with such a field left out, pydantic calls
    ``inspect.signature`` on the factory to learn whether it wants the row's data; that costs
    about a third of constructing the row. A declared signature answers at once.
    """
    factory.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
    return factory


@row_default
def new_id() -> str:
    """A fresh random UUID as text: the key of rows a service creates."""
    return str(uuid.uuid4())


@row_default
def utcnow() -> datetime:
    return datetime.now(UTC)


# PostgreSQL connections older than this are closed and replaced when next taken from the pool.
POOL_RECYCLE_SECONDS = 1800


def create_engine(url: str, *, pool_size: int = 5, pool_timeout: float = 30.0) -> AsyncEngine:
    """An async engine; SQLite files get WAL, a busy timeout and enforced foreign keys.

    On PostgreSQL, ``pool_size`` connections are kept and no more are opened: a transaction
    beyond them waits up to ``pool_timeout`` seconds for one. Connections are not pinged before
    each use (that round trip was a quarter of a booking's CPU, docs/benchmarks.md): a request
    that meets a connection the server dropped (a restart, a failover) fails, SQLAlchemy then
    discards every connection of the pool made before it, and the caller is answered 503 with
    ``Retry-After`` (``shared/service.py``); connections are also renewed every 30 minutes.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            url,
            pool_recycle=POOL_RECYCLE_SECONDS,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout,
        )

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # (sqlite3's ``timeout`` is SQLite's busy timeout.)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_WRITE_WAIT_SECONDS})

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; NORMAL is durable across process
        # crashes in WAL mode and an order of magnitude faster than FULL.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Hand transaction control to SQLAlchemy so the "begin" hook below decides the mode.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # A writing transaction takes the write lock at BEGIN, so two writers queue on
        # busy_timeout instead of one failing with "database is locked" when it upgrades a read
        # lock. Read-only sessions begin deferred and never wait for writers (WAL).
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def existing_database(url: str, *, setting: str) -> str:
    """For a command-line tool: ``url`` as a password-free text, once it names a database the
    services use and, on SQLite, a file that exists (connecting would create an empty one,
    from the wrong directory say). ``ValueError`` says what is wrong, naming ``setting``."""
    from shared.settings import database_url

    try:
        database_url(url)
    except ValueError as error:
        raise ValueError(f"{setting}: {error}") from None
    parsed = make_url(url)
    path = Path(parsed.database or "")
    if parsed.get_backend_name() == "sqlite" and not path.is_file():
        where = parsed.database or ":memory:"
        if parsed.database and not path.is_absolute():
            where += f", that is {path.resolve()}"  # (read from this directory)
        raise ValueError(f"no database at {where} (see {setting})")
    return parsed.render_as_string(hide_password=True)


def is_sqlite(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the sessions are on SQLite (one writer at a time, one relay per file)."""
    engine = sessions.kw.get("bind")
    return engine is not None and engine.dialect.name == "sqlite"


# SQLSTATE 23505 on PostgreSQL; SQLite names its extended result code.
_UNIQUE_VIOLATIONS = frozenset(
    {"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
)


def is_refused_value(error: BaseException) -> bool:
    """Whether the database refused a value itself (too long, out of range, a NUL byte in text:
    SQLSTATE class 22, which the asyncpg driver reports as a plain ``DBAPIError``), not failed
    or became unreachable: the input's fault, never worth retrying as it is."""
    if isinstance(error, DataError):
        return True
    if not isinstance(error, DBAPIError) or error.connection_invalidated:
        return False
    state = _sqlstate(error)
    return state is not None and state.startswith("22")


def is_unique_violation(error: IntegrityError) -> bool:
    """Whether the database refused a row because its key is taken (two writers raced for it),
    rather than for a foreign key, a check or a missing value, which retrying cannot mend."""
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    return code in _UNIQUE_VIOLATIONS


async def lock_for_transaction(session: AsyncSession, name: str) -> None:
    """Take turns on ``name`` until the transaction ends: a PostgreSQL transaction-scoped
    advisory lock on the name's hash (a rare collision only makes two names take turns).
    Nothing on SQLite, whose writing transactions already take turns."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.exec(select(func.pg_advisory_xact_lock(func.hashtext(name))))  # type: ignore[call-overload]


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def metadata_for(*models: type[SQLModel]) -> MetaData:
    """The tables one service owns, apart from every other service's (for its migrations)."""
    metadata = MetaData()
    for model in models:
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is stored in UTC and always read back timezone-aware, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def wait_for_database(
    url: str, *, seconds: float, waiting: Callable[[str, float], None]
) -> str | None:
    """Until the PostgreSQL server at ``url`` answers a query, for up to ``seconds``: None once
    it does, else why it did not (the driver's reason, one line). Each failed try is told to
    ``waiting`` (the reason, and the seconds until the next try). What waiting cannot mend ends
    it at once: a user or password refused (SQLSTATE class 28), no such database (3D000).
    SQLite has no server to wait for (its file, and its directory, are made when first used)."""
    if make_url(url).get_backend_name() == "sqlite":
        return None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pause = 0.5
    engine = create_engine(url)
    try:
        while True:
            limit = max(min(deadline - loop.time(), 10.0), 1.0)
            try:
                async with asyncio.timeout(limit), engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                return None
            except TimeoutError:
                reason = f"no answer within {limit:.0f} s"
            except (SQLAlchemyError, OSError) as error:
                reason = driver_reason(error) or type(error).__name__
                state = _sqlstate(error)
                if state is not None and (state.startswith("28") or state == "3D000"):
                    return reason
            if loop.time() + pause > deadline:
                return reason
            waiting(reason, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
    finally:
        await engine.dispose()


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error the driver reported (PostgreSQL's), if any."""
    state = getattr(getattr(error, "orig", None), "sqlstate", None)
    return state if isinstance(state, str) else None
