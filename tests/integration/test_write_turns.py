"""On SQLite a process's writers take turns on an asyncio lock instead of SQLite's busy handler."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from shared.database import create_engine, session_factory
from shared.messaging import unit_of_work
from shared.messaging.unit_of_work import UnitOfWork, reading, writing


def impatient_sqlite(path: Path) -> Any:
    """A SQLite engine whose connections give up at once on a locked database (no busy wait)."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    return engine


async def test_writers_in_one_process_take_turns_first_come_first_served(tmp_path: Path) -> None:
    engine = impatient_sqlite(tmp_path / "turns.db")
    sessions = session_factory(engine)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log (writer TEXT)"))
    first_holds, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with writing(sessions) as session:
            await session.exec(text("INSERT INTO log VALUES ('first')"))  # type: ignore[call-overload]
            first_holds.set()
            await release.wait()

    async def later(name: str) -> None:
        async with UnitOfWork(sessions).transaction() as session:
            await session.exec(text(f"INSERT INTO log VALUES ('{name}')"))  # type: ignore[call-overload]

    holder = asyncio.create_task(first())
    await first_holds.wait()
    waiting = [asyncio.create_task(later(f"w{number}")) for number in range(5)]
    await asyncio.sleep(0.2)
    assert not any(task.done() for task in waiting)  # they wait for their turn...
    async with reading(sessions) as session:  # ...while readers are not held up
        assert (await session.exec(text("SELECT count(*) FROM log"))).one()[0] == 0  # type: ignore[call-overload]
    release.set()
    # With busy_timeout 0, a writer that went straight to SQLite would fail "database is locked".
    await asyncio.gather(holder, *waiting)
    async with reading(sessions) as session:
        rows = (await session.exec(text("SELECT writer FROM log ORDER BY rowid"))).all()  # type: ignore[call-overload]
    assert [row[0] for row in rows] == ["first", "w0", "w1", "w2", "w3", "w4"]
    await engine.dispose()


async def test_a_writer_outside_the_process_meets_sqlites_own_lock(tmp_path: Path) -> None:
    """The lock is per process: another connection outside it meets SQLite's own lock."""
    engine = impatient_sqlite(tmp_path / "other.db")
    outsider = impatient_sqlite(tmp_path / "other.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log (writer TEXT)"))
    async with writing(session_factory(engine)) as session:
        await session.exec(text("INSERT INTO log VALUES ('inside')"))  # type: ignore[call-overload]
        with pytest.raises(OperationalError, match="database is locked"):
            async with outsider.begin() as connection:
                await connection.execute(text("INSERT INTO log VALUES ('outsider')"))
    await engine.dispose()
    await outsider.dispose()


async def test_a_writer_that_never_gets_a_turn_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unit_of_work, "WRITE_TURN_TIMEOUT_SECONDS", 0.2)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'stuck.db'}")
    sessions = session_factory(engine)
    async with writing(sessions):
        with pytest.raises(TimeoutError, match=r"no turn to write to the database within 0\.2s"):
            async with writing(sessions):
                pass
    async with writing(sessions):  # the lock was not left taken
        pass
    await engine.dispose()


def test_one_engine_used_from_two_event_loops(tmp_path: Path) -> None:
    """An asyncio lock belongs to one loop: each loop gets its own turn-taking."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}")
    sessions = session_factory(engine)

    async def contend() -> None:
        async def write() -> None:
            async with writing(sessions) as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
                await asyncio.sleep(0.01)

        await asyncio.gather(*(write() for _ in range(3)))
        await engine.dispose()

    asyncio.run(contend())
    asyncio.run(contend())
