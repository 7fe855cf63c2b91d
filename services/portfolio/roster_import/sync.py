"""Bringing one roster table in line with an export, a batch of rows per transaction.

The table is loaded once as a fingerprint per row (``source_hash``), so an unchanged row costs
a dictionary lookup and no write; only new and changed rows are written, and only they are
announced. That is what makes re-importing an unchanged export quick, and silent: no write, no
event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.roster_import.report import Counts
from shared.database import utcnow
from shared.messaging.unit_of_work import UnitOfWork

Key = Hashable  # an id, or (guardian_id, student_id)
Row = Any  # a row as stored, read back: its columns are attributes
# Told, inside the transaction that wrote them, the rows as now stored (their new version
# included); returns how many events it recorded.
Announcer = Callable[[AsyncSession, Sequence[Row]], Awaitable[int]]

DEFAULT_BATCH = 2000


class Held(NamedTuple):
    """What the database holds of one row, as much as an import compares."""

    fingerprint: str | None
    modified: datetime | None
    active: bool


def fingerprint(values: Mapping[str, Any]) -> str:
    """A short, stable digest of the imported fields (the same fields give the same digest in
    every process, unlike ``hash``). A field holding an empty map is left out, so that one
    added to a table later leaves the rows with nothing in it as they were."""
    text = repr(tuple(values[name] for name in sorted(values) if values[name] != {}))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class TableSync:
    """One table's rows against one export: insert the new, update the changed (raising the
    version where the table has one), leave the unchanged alone; in a bulk import, deactivate
    those the export no longer has."""

    def __init__(
        self,
        uow: UnitOfWork,
        model: type[SQLModel],
        *,
        counts: Counts,
        district: str,
        key: Sequence[str] = ("id",),
        announce: Announcer | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._uow = uow
        self._table: Table = model.__table__  # type: ignore[attr-defined]
        self._key = tuple(key)
        self._counts = counts
        self._district = district
        self._announce = announce
        self._batch = batch
        self._versioned = "version" in self._table.c
        self.held: dict[Key, Held] = {}
        self.seen: set[Key] = set()
        self._inserts: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._pending: dict[Key, Held] = {}
        self.events = 0

    def _key_of(self, row: Mapping[str, Any]) -> Key:
        if len(self._key) == 1:
            return row[self._key[0]]
        return tuple(row[name] for name in self._key)

    async def load(self) -> None:
        """Read the fingerprint of every row of the district (streamed, not all at once)."""
        columns = [self._table.c[name] for name in self._key]
        statement = select(
            *columns,
            self._table.c.source_hash,
            self._table.c.source_modified,
            self._table.c.active,
        ).where(self._table.c.district == self._district)
        width = len(self._key)
        async with self._uow.read() as session:
            result = await session.stream(statement.execution_options(yield_per=10_000))
            # A partition at a time: one switch into the database driver per 10,000 rows.
            async for partition in result.partitions():
                for row in partition:
                    key = row[0] if width == 1 else tuple(row[:width])
                    self.held[key] = Held(row[width], row[width + 1], row[width + 2])

    def known(self, key: Key) -> bool:
        """Whether the row is in the export so far or in the database, active or not."""
        return key in self.seen or key in self.held

    def active(self, key: Key) -> bool:
        """Whether the row is active after what the export said so far."""
        if key in self._pending:
            return self._pending[key].active
        held = self.held.get(key)
        return held is not None and held.active

    async def offer(
        self, row: dict[str, Any], *, modified: datetime | None, remove: bool = False
    ) -> bool:
        """Apply what the export says of one row: its values (key included), or its removal
        (``remove``, a delta's ``tobedeleted``). False if it is older than what is held, and
        so not applied."""
        key = self._key_of(row)
        held = self._pending.get(key) or self.held.get(key)
        if remove and held is None:
            # (A row removed that was never held, e.g. enrolled and withdrawn between two
            # deltas: still not on the roster, so nothing may refer to it.)
            self._counts.unchanged += 1
            return True
        self.seen.add(key)
        if held is not None and _older(modified, held.modified):
            self._counts.older += 1
            return False
        if remove:
            assert held is not None  # (a removal of a row never held returned above)
            if not held.active:
                self._counts.unchanged += 1
                return True
            await self._update(key, {"active": False, "source_modified": modified}, held)
            self._counts.withdrawn += 1
            return True
        digest = fingerprint(row)
        if held is not None and held.active and held.fingerprint == digest:
            self._counts.unchanged += 1
            return True
        values = {
            **row,
            "district": self._district,
            "active": True,
            "source_hash": digest,
            "source_modified": modified,
        }
        if held is None:
            self._inserts.append(values)
            self._pending[key] = Held(digest, modified, True)
            self._counts.created += 1
            await self._flush_if_full()
        else:
            await self._update(key, values, held)
            self._counts.updated += 1
        return True

    async def retire_unseen(self) -> None:
        """A bulk export is the whole truth: active rows it did not name are deactivated
        (withdrawn, unlinked, removed), never deleted; they come back if they reappear."""
        for key, held in list(self.held.items()):
            if held.active and key not in self.seen:
                await self._update(key, {"active": False}, held)
                self._counts.withdrawn += 1
        await self.flush()

    async def _update(self, key: Key, values: dict[str, Any], held: Held) -> None:
        keys = key if isinstance(key, tuple) else (key,)
        self._updates.append(
            {**values, **{f"k_{n}": v for n, v in zip(self._key, keys, strict=True)}}
        )
        self._pending[key] = Held(
            values.get("source_hash", held.fingerprint),
            values.get("source_modified", held.modified),
            values["active"],
        )
        await self._flush_if_full()

    async def _flush_if_full(self) -> None:
        if len(self._inserts) + len(self._updates) >= self._batch:
            await self.flush()

    async def flush(self) -> None:
        """Write what is queued in one transaction, with the events announcing it."""
        if not (self._inserts or self._updates):
            return
        inserts, updates, pending = self._inserts, self._updates, self._pending
        self._inserts, self._updates, self._pending = [], [], {}
        async with self._uow.transaction() as session:
            # Core executemany, not the ORM's bulk path: nothing is wanted back in the session.
            connection = await session.connection()
            if inserts:
                rows = [{**row, "version": 1} for row in inserts] if self._versioned else inserts
                await connection.execute(insert(self._table), rows)
            for columns, group in _by_columns(updates).items():
                await connection.execute(self._update_statement(columns), group)
            if self._announce is not None:
                stored = await self._stored(session, list(pending))
                self.events += await self._announce(session, stored)
        self.held.update(pending)

    def _update_statement(self, columns: tuple[str, ...]) -> Any:
        table = self._table
        statement = update(table).where(
            *(table.c[name] == bindparam(f"k_{name}") for name in self._key)
        )
        values: dict[str, Any] = {name: bindparam(name) for name in columns}
        if self._versioned:
            # Raised in the statement that writes the row, as every roster change does
            # (shared.upsert.update_raising_version).
            values["version"] = table.c.version + 1
        if "updated_at" in table.c:
            values["updated_at"] = utcnow()
        return statement.values(values)

    async def _stored(self, session: AsyncSession, keys: list[Key]) -> list[Row]:
        """The rows as now written, in the order they were offered."""
        table = self._table
        found: dict[Key, Row] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            if len(self._key) == 1:
                where = table.c[self._key[0]].in_(chunk)
            else:
                where = tuple_(*(table.c[name] for name in self._key)).in_(chunk)
            result = await session.exec(select(table).where(where))  # type: ignore[call-overload]
            for row in result.all():
                found[self._key_of(row._mapping)] = row
        return [found[key] for key in keys if key in found]


def _older(modified: datetime | None, held: datetime | None) -> bool:
    return modified is not None and held is not None and modified < held


def _by_columns(updates: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Updates grouped by the columns they set: one executemany statement per group."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        columns = tuple(sorted(name for name in row if not name.startswith("k_")))
        groups.setdefault(columns, []).append(row)
    return groups
