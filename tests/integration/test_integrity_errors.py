"""Which refusals of the database are races that a retry mends (409), on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, MetaData, Table, insert
from sqlalchemy.exc import IntegrityError

from shared.database import create_engine, is_unique_violation

metadata = MetaData()
parent = Table("parent", metadata, Column("id", Integer, primary_key=True))
child = Table(
    "child",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", ForeignKey("parent.id"), nullable=False),
    Column("n", Integer, CheckConstraint("n >= 0"), unique=True),
)


@pytest.mark.parametrize(
    ("row", "unique"),
    [
        ({"id": 1, "parent_id": 1, "n": 5}, True),  # the primary key is taken
        ({"id": 2, "parent_id": 1, "n": 1}, True),  # a unique column's value is taken
        ({"id": 3, "parent_id": 99, "n": 7}, False),  # no such parent
        ({"id": 4, "parent_id": 1, "n": -1}, False),  # fails a check
        ({"id": 5, "parent_id": None, "n": 8}, False),  # a required value is missing
    ],
    ids=["primary key", "unique", "foreign key", "check", "not null"],
)
async def test_only_a_taken_key_is_a_unique_violation(
    database_url: str, row: dict[str, object], unique: bool
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(insert(parent).values(id=1))
            await connection.execute(insert(child).values(id=1, parent_id=1, n=1))
        with pytest.raises(IntegrityError) as refused:
            async with engine.begin() as connection:
                await connection.execute(insert(child).values(**row))
        assert is_unique_violation(refused.value) is unique
    finally:
        await engine.dispose()
