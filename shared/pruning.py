"""Deleting many old rows without holding the database for long: a chunk per transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, select, tuple_

from shared.messaging.unit_of_work import UnitOfWork

PRUNE_CHUNK = 2000


async def delete_in_chunks(uow: UnitOfWork, key: list[Any], condition: ColumnElement[bool]) -> int:
    """Delete the rows matching ``condition``, ``PRUNE_CHUNK`` of them per short transaction
    (a long delete would hold SQLite's write lock, or PostgreSQL's row locks, for its length)."""
    table = key[0].table
    chunk = select(*key).where(condition).limit(PRUNE_CHUNK)
    statement = delete(table).where(tuple_(*key).in_(chunk))
    pruned = 0
    while True:
        async with uow.transaction() as session:
            deleted = (await session.exec(statement)).rowcount  # type: ignore[call-overload]
        pruned += deleted
        if deleted < PRUNE_CHUNK:
            return pruned
