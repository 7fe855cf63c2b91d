"""Dead letters over HTTP, for district IT: each service lists, shows and replays its own
consumer group's (``GET /dead-letters``, ``GET /dead-letters/{stream}/{letter_id}``, ``POST
.../replay``), as ``slc-deadletters`` does with the operator's Redis user.

A service sees only its group's dead-letter streams (``<stream>:dlq:<group>``, one per stream it
reads) and replays to its group alone, so it needs no right on another group's keys. What is
shown is what ``slc-deadletters list`` prints, and of the original entry its CloudEvents
attributes, never its ``data``: the payload can hold what a student wrote, and the operator with
Redis access reads it with ``slc-deadletters show``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.auth.http import CurrentPrincipal, district_it_only
from shared.messaging.deadletters import (
    DeadLetter,
    get_dead_letter,
    list_dead_letters,
    replay,
)
from shared.messaging.group_keys import dlq_stream, replay_stream
from shared.problems import refusals

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

T = TypeVar("T")
# A Redis stream entry's id (milliseconds-sequence): nothing else names a dead letter.
ENTRY_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"
STREAM_PATTERN = r"^[A-Za-z0-9._-]{1,200}$"
REDIS_TIMEOUT_SECONDS = 5
UNREACHABLE = "Redis could not be reached; try again in a moment"

StreamPath = Annotated[
    str,
    Path(pattern=STREAM_PATTERN, description="A stream the service reads, e.g. its type."),
]
LetterPath = Annotated[
    str,
    Path(
        pattern=ENTRY_ID_PATTERN,
        description="The dead letter's id on the group's dead-letter stream (`id` in the list).",
    ),
]


class DeadLetterOut(BaseModel):
    """An event the service's consumer group gave up on."""

    stream: str = Field(description="The stream the event was read from.")
    id: str = Field(description="The letter's id on `<stream>:dlq:<group>`: name it to replay.")
    entry_id: str = Field(
        description="The event's entry id where the group read it (the stream, or the group's"
        " replay stream if it failed again after a replay)."
    )
    event_id: str = Field(description="The CloudEvents `id` (empty if undecodable).")
    event_type: str = Field(description="The CloudEvents `type` (empty if undecodable).")
    group: str = Field(description="The consumer group that gave up: this service's.")
    consumer: str = Field(description="The replica that gave up.")
    attempts: int = Field(description="How many times its handler was started (0: undecodable).")
    error: str = Field(description="Why it was given up on.")
    dead_lettered_at: datetime


class DeadLetterDetail(DeadLetterOut):
    """A dead letter with its original entry's envelope (not its payload)."""

    attributes: dict[str, str] = Field(
        description="The original entry's fields (its CloudEvents attributes), but `data`."
    )
    data_bytes: int = Field(description="The size of the payload left out (`data`).")


class ReplayedOut(BaseModel):
    """A dead letter handed back to the group that gave up on it."""

    id: str = Field(description="The dead letter's id (now gone from the dead-letter stream).")
    event_id: str
    replay_stream: str = Field(description="Where the group reads it again.")
    new_entry_id: str = Field(description="Its entry id there.")


def dead_letters_router(runtime: ServiceRuntime) -> APIRouter:
    """The routes, on ``runtime``'s Redis and consumer group."""
    router = APIRouter(tags=["operations"])

    def streams() -> list[str]:
        return [subscription.stream for subscription in runtime.spec.consumers]

    def redis() -> Redis:
        if runtime.redis is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNREACHABLE)
        return runtime.redis

    def known(stream: str) -> str:
        """``stream``'s dead-letter stream of the service's group, if the service reads it."""
        if stream not in streams():
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"this service reads no {stream!r}")
        return dlq_stream(stream, runtime.spec.consumers.group)

    async def letter_of(stream: str, letter_id: str) -> DeadLetter:
        dlq = known(stream)
        letter = await _asking_redis(partial(get_dead_letter, redis(), dlq, letter_id))
        if letter is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no dead letter {letter_id} from {stream}"
            )
        return letter

    @router.get(
        "/dead-letters",
        response_model=list[DeadLetterOut],
        summary="List the service's dead letters",
        responses=refusals(403, 503),
    )
    async def list_letters(
        principal: CurrentPrincipal,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    ) -> list[DeadLetterOut]:
        """The events this service's consumer group gave up on, oldest first, per stream it
        reads: why, after how many attempts, and when (district IT)."""
        district_it_only(principal, "handles dead letters")
        group = runtime.spec.consumers.group
        letters: list[DeadLetter] = []
        for stream in streams():
            dlq = dlq_stream(stream, group)
            letters += await _asking_redis(partial(list_dead_letters, redis(), dlq, count=limit))
        letters.sort(key=lambda letter: (letter.dead_lettered_at_ms, letter.id))
        return [_summary(letter) for letter in letters[:limit]]

    @router.get(
        "/dead-letters/{stream}/{letter_id}",
        response_model=DeadLetterDetail,
        summary="Show one dead letter",
        responses=refusals(403, 404, 503),
    )
    async def show_letter(
        stream: StreamPath, letter_id: LetterPath, principal: CurrentPrincipal
    ) -> DeadLetterDetail:
        """One dead letter, with its original entry's CloudEvents attributes; the payload
        (`data`) is left out (district IT)."""
        district_it_only(principal, "handles dead letters")
        letter = await letter_of(stream, letter_id)
        attributes = {
            key.decode(errors="replace"): value.decode(errors="replace")
            for key, value in letter.original.items()
            if key != b"data"
        }
        return DeadLetterDetail(
            **_summary(letter).model_dump(),
            attributes=attributes,
            data_bytes=len(letter.original.get(b"data", b"")),
        )

    @router.post(
        "/dead-letters/{stream}/{letter_id}/replay",
        response_model=ReplayedOut,
        summary="Replay a dead letter",
        responses=refusals(403, 404, 409, 503),
    )
    async def replay_letter(
        stream: StreamPath, letter_id: LetterPath, principal: CurrentPrincipal
    ) -> ReplayedOut:
        """Hand the event back to this service's consumer group alone (on
        `<stream>:replay:<group>`) and remove the letter, at once; nothing is published again on
        the shared stream. Fix the cause first (district IT)."""
        district_it_only(principal, "handles dead letters")
        letter = await letter_of(stream, letter_id)
        try:
            new_id = await _asking_redis(partial(replay, redis(), letter))
        except ValueError as error:  # a letter of an earlier version, without its original
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        return ReplayedOut(
            id=letter.id,
            event_id=letter.event_id,
            replay_stream=replay_stream(letter.stream, letter.group),
            new_entry_id=new_id,
        )

    return router


async def _asking_redis(call: Callable[[], Awaitable[T]]) -> T:
    """``call``'s answer; 503 if Redis does not give one in time (the service is still up)."""
    try:
        return await asyncio.wait_for(call(), timeout=REDIS_TIMEOUT_SECONDS)
    except (RedisError, TimeoutError) as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNREACHABLE) from error


def _summary(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        stream=letter.stream,
        id=letter.id,
        entry_id=letter.entry_id,
        event_id=letter.event_id,
        event_type=letter.original.get(b"type", b"").decode(errors="replace"),
        group=letter.group,
        consumer=letter.consumer,
        attempts=letter.deliveries,
        error=letter.error,
        dead_lettered_at=datetime.fromtimestamp(letter.dead_lettered_at_ms / 1000, UTC),
    )
