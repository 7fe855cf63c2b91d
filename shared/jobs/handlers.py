"""A service's job handlers: which async function runs each kind of job, and how it is retried.

    jobs: JobHandlers[NotificationsEnvironment] = JobHandlers()

    @jobs.handles("send_message", max_attempts=5, retry_backoff_seconds=30.0)
    async def send_message(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
        \"\"\"Send one rendered message to a guardian.\"\"\"
        ...

A handler that raises ``PermanentFailure`` fails its job at once; any other exception is
retried after a backoff (doubling per attempt) until ``max_attempts`` runs have been started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic

from shared.jobs.context import EnvT, JobContext
from shared.jobs.tables import KIND_MAX_LENGTH


class PermanentFailure(Exception):
    """Trying again cannot help (an address that does not exist): the job fails at once."""


@dataclass(frozen=True)
class JobRun:
    """One run of a job, as its handler sees it."""

    id: str
    kind: str
    key: str  # the idempotency key: the same on every run, to hand to the outside service
    payload: dict[str, Any]
    attempt: int  # 1 on the first run


JobHandler = Callable[[JobContext[EnvT], JobRun], Awaitable[None]]


@dataclass(frozen=True)
class RegisteredHandler(Generic[EnvT]):
    kind: str
    handler: JobHandler[EnvT]
    max_attempts: int
    retry_backoff_seconds: float
    max_retry_backoff_seconds: float
    timeout_seconds: float

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after run ``attempt`` failed before the next run."""
        return min(
            self.retry_backoff_seconds * 2 ** max(attempt - 1, 0), self.max_retry_backoff_seconds
        )

    @property
    def description(self) -> str:
        return (self.handler.__doc__ or "").strip()


class JobHandlers(Generic[EnvT]):
    """The kinds of job one service runs, each by one handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, RegisteredHandler[EnvT]] = {}

    def handles(
        self,
        kind: str,
        *,
        max_attempts: int = 5,
        retry_backoff_seconds: float = 30.0,
        max_retry_backoff_seconds: float = 3600.0,
        timeout_seconds: float = 300.0,
    ) -> Callable[[JobHandler[EnvT]], JobHandler[EnvT]]:
        """Register the handler of jobs of ``kind``; a run longer than ``timeout_seconds`` is
        cancelled and counts as a failed run (retried like any other)."""
        if kind in self._handlers:
            raise ValueError(f"jobs of kind {kind!r} already have a handler")
        if not 0 < len(kind) <= KIND_MAX_LENGTH:
            raise ValueError(f"a job kind is 1 to {KIND_MAX_LENGTH} characters: {kind!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

        def register(handler: JobHandler[EnvT]) -> JobHandler[EnvT]:
            self._handlers[kind] = RegisteredHandler(
                kind,
                handler,
                max_attempts,
                retry_backoff_seconds,
                max_retry_backoff_seconds,
                timeout_seconds,
            )
            return handler

        return register

    def __iter__(self) -> Iterator[RegisteredHandler[EnvT]]:
        return iter(self._handlers.values())

    def __len__(self) -> int:
        return len(self._handlers)

    def for_kind(self, kind: str) -> RegisteredHandler[EnvT]:
        return self._handlers[kind]

    def max_attempts(self) -> dict[str, int]:
        """Each kind's limit on runs started (a job may set its own)."""
        return {kind: handler.max_attempts for kind, handler in self._handlers.items()}
