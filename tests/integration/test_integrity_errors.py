"""Which refusals of the database are races that a retry mends (409), on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, MetaData, Table, insert
from sqlalchemy.exc import IntegrityError

from services.portfolio.app import SPEC as PORTFOLIO
from services.portfolio.tables import GuardianLink, Student
from shared.database import create_engine, is_unique_violation
from shared.service import ServiceSpec, UnitOfWorkDep, create_app
from shared.settings import ServiceSettings
from tests.integration.conftest import serving

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


@pytest.fixture
async def careless_service(database_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A service with a route that writes without checking first (as a bug would)."""
    router = APIRouter()

    @router.put("/links/{guardian_id}/{student_id}", status_code=204)
    async def link(guardian_id: str, student_id: str, uow: UnitOfWorkDep) -> None:
        async with uow.transaction() as session:
            session.add(
                GuardianLink(
                    district="demo",
                    site="conway",
                    guardian_id=guardian_id,
                    student_id=student_id,
                    relationship="mother",
                )
            )

    spec = ServiceSpec(
        name="careless",
        title="Careless",
        description="Writes without checking.",
        routers=[router],
        migrations=PORTFOLIO.migrations,
    )
    settings = ServiceSettings(database_url=database_url, redis_url=redis_url, consumer_name="t")
    app = create_app(spec, settings)
    async with serving(app, "http://careless") as client:
        async with app.state.runtime.uow.transaction() as session:
            session.add(
                Student(
                    id="s-ava",
                    district="demo",
                    site="conway",
                    given_name="Ava",
                    family_name="Chen",
                    grade="03",
                )
            )
        yield client


async def test_a_taken_key_is_a_409_to_retry_and_any_other_refusal_a_500(
    careless_service: httpx.AsyncClient,
) -> None:
    assert (await careless_service.put("/links/g-wei/s-ava")).status_code == 204
    again = await careless_service.put("/links/g-wei/s-ava")  # the pair is unique
    assert again.status_code == 409
    assert "retry" in again.json()["detail"]
    no_student = await careless_service.put("/links/g-wei/s-nobody")  # a foreign key
    assert no_student.status_code == 500
    assert no_student.headers["content-type"] == "application/problem+json"
    assert no_student.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error",
    }
