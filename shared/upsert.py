"""Writing rows that may already exist in one statement: ``INSERT ... ON CONFLICT DO UPDATE``.

``upsert_if_newer`` is how every read model applies its owner's events: the owner raises an
entity's ``version`` in the same UPDATE that changes it and its events carry that version, so a
consumer keeps a row only if the event is newer than what it holds, whatever order replicas and
redeliveries bring the events in. The comparison happens inside the database, in the statement
that writes the row, so two transactions racing with an older and a newer change end with the
newer one on SQLite and on PostgreSQL alike (a read-then-compare in Python would not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

Row = Mapping[str, Any]


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """An INSERT with ``ON CONFLICT`` clauses, in the dialect of the session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


async def upsert_if_newer(
    session: AsyncSession,
    model: type[SQLModel],
    rows: Sequence[Row],
    *,
    key: Sequence[str] = ("id",),
    version: str = "version",
    replacing: Sequence[str] | None = None,
) -> int:
    """Insert each row, or replace the stored one if the row's ``version`` is higher.

    Several rows for one key (a batch of events about the same entity) are reduced to the
    newest first. ``replacing`` names the columns a newer row overwrites in a stored one
    (default: all it carries; the version always); a new row is inserted whole. Returns how
    many rows were inserted or replaced (older ones change nothing).
    """
    newest: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        identity = tuple(row[column] for column in key)
        held = newest.get(identity)
        if held is None or row[version] > held[version]:
            newest[identity] = row
    if not newest:
        return 0
    table = _table(model)
    written = 0
    for chunk in chunks(list(newest.values())):
        statement = dialect_insert(session, table).values(chunk)
        replaced = _replacing(statement, chunk, key)
        if replacing is not None:
            replaced = {name: replaced[name] for name in {*replacing, version}}
        statement = statement.on_conflict_do_update(
            index_elements=list(key),
            set_=replaced,
            where=statement.excluded[version] > table.c[version],
        )
        written += (await session.exec(statement)).rowcount  # type: ignore[call-overload]
    return written


async def insert_or_replace(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[Row], *, key: Sequence[str]
) -> None:
    """Insert each row, or overwrite the stored one with the same key."""
    if not rows:
        return
    for chunk in chunks(list(rows)):
        statement = dialect_insert(session, _table(model)).values(chunk)
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_=_replacing(statement, chunk, key)
        )
        await session.exec(statement)  # type: ignore[call-overload]


# Rows per statement: one multi-row VALUES (a reliable row count on both databases, unlike
# executemany), kept well under both databases' limit on bound parameters.
_CHUNK = 500


def chunks(rows: Sequence[Row]) -> list[Sequence[Row]]:
    """Rows in groups small enough for one multi-row statement each."""
    return [rows[start : start + _CHUNK] for start in range(0, len(rows), _CHUNK)]


def _replacing(statement: Any, rows: Sequence[Row], key: Sequence[str]) -> dict[str, Any]:
    """SET every column the rows carry, except the key, to the value the row brought."""
    columns = sorted({name for row in rows for name in row} - set(key))
    return {name: statement.excluded[name] for name in columns}


async def update_raising_version(
    session: AsyncSession,
    model: type[SQLModel],
    *,
    key: Mapping[str, Any],
    values: Mapping[str, Any],
    version: str = "version",
) -> int:
    """The owner's side: change a row and raise its version in one UPDATE; returns the new
    version, the one the events announcing this change must carry.

    Raising it in the statement that writes the row (not from a value read earlier) keeps two
    concurrent changes apart: on PostgreSQL the second waits for the first's row lock and then
    raises the version the first committed.
    """
    table = _table(model)
    statement = (
        table.update()
        .where(*(table.c[name] == value for name, value in key.items()))
        .values(**values, **{version: table.c[version] + 1})
        .returning(table.c[version])
    )
    return int((await session.exec(statement)).scalar_one())  # type: ignore[call-overload]
