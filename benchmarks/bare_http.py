"""python -m benchmarks.bare_http: the opening minute's bare transaction behind HTTP.

The same web stack as scheduling (FastAPI on uvicorn, a JSON body validated by pydantic, run as
``python -m`` with the collector's generations frozen, no access log) around nothing but the bare
asyncpg transaction of ``benchmarks.opening_minute``: one conditional ``UPDATE`` of the seat and,
if it took it, one ``INSERT`` of the booking. No identity, no rules, no ORM, no event. Its rate
is what the web stack and the client leave of the bare rate on this machine: the ceiling of any
service built on this stack here. Settings: ``BARE_DSN`` (an asyncpg DSN whose database has the
``bare_slot`` and ``bare_booking`` tables), ``BARE_PORT``, ``BARE_POOL_SIZE`` (20, as
scheduling's ``DATABASE_POOL_SIZE``).
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, Response
from pydantic import BaseModel, Field

ID = Field(max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class Attempt(BaseModel):
    slot_id: str = ID
    student_id: str = ID


class Booked(BaseModel):
    id: str
    slot_id: str


def build_app(dsn: str, pool_size: int) -> FastAPI:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/bare/bookings", response_model=Booked, status_code=201)
    async def book(attempt: Attempt) -> Booked | Response:
        assert pool is not None
        async with pool.acquire() as connection, connection.transaction():
            taken = await connection.execute(
                "UPDATE bare_slot SET booked = booked + 1 WHERE id = $1 AND booked < capacity",
                attempt.slot_id,
            )
            if taken != "UPDATE 1":
                return Response(b'{"detail":"full"}', 409, media_type="application/json")
            booking = uuid.uuid4().hex
            await connection.execute(
                "INSERT INTO bare_booking VALUES ($1, $2, $3, $4, now())",
                booking,
                attempt.slot_id,
                attempt.student_id,
                f"g-{attempt.student_id}",
            )
        return Booked(id=booking, slot_id=attempt.slot_id)

    return app


def main() -> None:
    app = build_app(os.environ["BARE_DSN"], int(os.environ.get("BARE_POOL_SIZE", "20")))
    gc.freeze()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["BARE_PORT"]),
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
