"""A service's job handlers: which async function runs each kind of job, and how it is retried.

    jobs: JobHandlers[NotificationsEnvironment] = JobHandlers()

    @jobs.handles("send_message", max_attempts=5, retry_backoff_seconds=30.0)
    async def send_message(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
        \"\"\"Send one rendered message to a guardian.\"\"\"
        ...

A handler that raises ``PermanentFailure`` fails its job at once; any other exception is
retried after a backoff (doubling per attempt) until ``max_attempts`` runs have been started.

A kind whose jobs are cheaper together (many messages over one connection, their results in one
transaction) has a batch handler instead, given up to ``batch_size`` due jobs at once:

    @jobs.handles_batch("send_message", batch_size=500, max_attempts=5)
    async def send_messages(
        context: BatchJobContext[NotificationsEnvironment], runs: Sequence[JobRun]
    ) -> None:
        \"\"\"Send rendered messages to guardians.\"\"\"
        ...

It settles each run on its own: ``context.finish(runs)`` records some runs' results and
completes their jobs in one transaction, ``context.failed(run, error)`` has one run retried or
failed as if a handler of its own had raised ``error``; the runs it leaves unsettled are done
when it returns, or fail with what it raised. The rules of retries and failures are the same.

A kind whose work must not silently stop undone when its job does (a message still to send)
registers what to record instead, in the transaction that fails the job:

    @jobs.gives_up("send_message")
    async def not_sent(session: AsyncSession, job: GivenUp) -> None:
        \"\"\"Record the message failed, with why, where the office sees it.\"\"\"
        ...

It is called once per job given up: its last allowed run failed, it failed for good, its worker
stopped each time it started it, or an operator cancelled it before it ran (``slc-jobs cancel``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.jobs.context import BatchJobContext, EnvT, JobContext, JobRun
from shared.jobs.leases import ERROR_MAX_LENGTH
from shared.jobs.tables import KIND_MAX_LENGTH


class PermanentFailure(Exception):
    """Trying again cannot help (an address that does not exist): the job fails at once."""


class NotRun(Exception):
    """The run did nothing and must not count as one (it held back because it could not be sure
    it still held its job: ``surely_held``): the job waits ``retry_after_seconds`` and runs
    again, its runs as they were before this one."""

    def __init__(self, reason: str, *, retry_after_seconds: float) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds


JobHandler = Callable[[JobContext[EnvT], JobRun], Awaitable[None]]
BatchJobHandler = Callable[[BatchJobContext[EnvT], Sequence[JobRun]], Awaitable[None]]


@dataclass(frozen=True)
class GivenUp:
    """A job that will not run again unless an operator retries it, as its kind's
    ``gives_up`` handler sees it."""

    id: str
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int  # runs started
    error: str  # why it was given up, as ``last_error`` keeps it
    cancelled: bool = False  # by an operator, before it ran again (else it failed)

    @classmethod
    def of_row(
        cls,
        row: Any,
        *,
        attempts: int,
        error: str,
        cancelled: bool = False,
    ) -> GivenUp:
        """The job as its row (or claim) holds it: ``id``, ``kind``, ``key`` and its JSON
        ``payload`` (``ValueError`` if that is not JSON), given up with ``error``."""
        return cls(
            row.id,
            row.kind,
            row.key,
            json.loads(row.payload),
            attempts,
            error[:ERROR_MAX_LENGTH],
            cancelled,
        )


GiveUpHandler = Callable[[AsyncSession, GivenUp], Awaitable[None]]


@dataclass(frozen=True)
class RetryRules:
    """How the runs of one kind of job are retried, and how long one may take."""

    max_attempts: int
    retry_backoff_seconds: float
    max_retry_backoff_seconds: float
    timeout_seconds: float

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after run ``attempt`` failed before the next run."""
        return min(
            self.retry_backoff_seconds * 2 ** max(attempt - 1, 0), self.max_retry_backoff_seconds
        )


@dataclass(frozen=True)
class RegisteredHandler(RetryRules, Generic[EnvT]):
    kind: str
    handler: JobHandler[EnvT]

    @property
    def description(self) -> str:
        return _described(self.handler)


@dataclass(frozen=True)
class RegisteredBatchHandler(RetryRules, Generic[EnvT]):
    kind: str
    handler: BatchJobHandler[EnvT]
    batch_size: int  # due jobs given to one call, at most

    @property
    def description(self) -> str:
        return _described(self.handler)


def _described(handler: Callable[..., Any]) -> str:
    """What a handler's docstring says first (its first paragraph, unwrapped)."""
    paragraph = (handler.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in paragraph.splitlines())


class JobHandlers(Generic[EnvT]):
    """The kinds of job one service runs, each by one handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, RegisteredHandler[EnvT] | RegisteredBatchHandler[EnvT]] = {}
        self._give_up: dict[str, GiveUpHandler] = {}

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
        rules = self._rules(kind, max_attempts, retry_backoff_seconds, max_retry_backoff_seconds)

        def register(handler: JobHandler[EnvT]) -> JobHandler[EnvT]:
            self._handlers[kind] = RegisteredHandler(
                **rules, timeout_seconds=timeout_seconds, kind=kind, handler=handler
            )
            return handler

        return register

    def handles_batch(
        self,
        kind: str,
        *,
        batch_size: int,
        max_attempts: int = 5,
        retry_backoff_seconds: float = 30.0,
        max_retry_backoff_seconds: float = 3600.0,
        timeout_seconds: float = 300.0,
    ) -> Callable[[BatchJobHandler[EnvT]], BatchJobHandler[EnvT]]:
        """Register the batch handler of jobs of ``kind``: each call is given up to
        ``batch_size`` due jobs; a call longer than ``timeout_seconds`` is cancelled, and the
        runs it had not settled count as failed runs (retried like any other)."""
        rules = self._rules(kind, max_attempts, retry_backoff_seconds, max_retry_backoff_seconds)
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")

        def register(handler: BatchJobHandler[EnvT]) -> BatchJobHandler[EnvT]:
            self._handlers[kind] = RegisteredBatchHandler(
                **rules,
                timeout_seconds=timeout_seconds,
                kind=kind,
                handler=handler,
                batch_size=batch_size,
            )
            return handler

        return register

    def gives_up(self, *kinds: str) -> Callable[[GiveUpHandler], GiveUpHandler]:
        """Register what to record when a job of one of ``kinds`` is given up, in the
        transaction that fails (or cancels) it (``GivenUp``). If it raises, a job its worker
        gives up is failed all the same and the error logged; an operator's cancel is refused."""

        def register(handler: GiveUpHandler) -> GiveUpHandler:
            for kind in kinds:
                if kind in self._give_up:
                    raise ValueError(f"jobs of kind {kind!r} already have a give-up handler")
                self._give_up[kind] = handler
            return handler

        return register

    def give_up_handler(self, kind: str) -> GiveUpHandler | None:
        """What records a given-up job of ``kind`` (``gives_up``), if anything does."""
        return self._give_up.get(kind)

    def _rules(
        self,
        kind: str,
        max_attempts: int,
        retry_backoff_seconds: float,
        max_retry_backoff_seconds: float,
    ) -> dict[str, Any]:
        if kind in self._handlers:
            raise ValueError(f"jobs of kind {kind!r} already have a handler")
        if not 0 < len(kind) <= KIND_MAX_LENGTH:
            raise ValueError(f"a job kind is 1 to {KIND_MAX_LENGTH} characters: {kind!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        return {
            "max_attempts": max_attempts,
            "retry_backoff_seconds": retry_backoff_seconds,
            "max_retry_backoff_seconds": max_retry_backoff_seconds,
        }

    def __iter__(self) -> Iterator[RegisteredHandler[EnvT] | RegisteredBatchHandler[EnvT]]:
        return iter(self._handlers.values())

    def __len__(self) -> int:
        return len(self._handlers)

    def for_kind(self, kind: str) -> RegisteredHandler[EnvT] | RegisteredBatchHandler[EnvT]:
        return self._handlers[kind]

    def get(self, kind: str) -> RegisteredHandler[EnvT] | RegisteredBatchHandler[EnvT] | None:
        """The handler of ``kind``, if this service runs jobs of that kind."""
        return self._handlers.get(kind)

    def max_attempts(self) -> dict[str, int]:
        """Each kind's limit on runs started (a job may set its own)."""
        return {kind: handler.max_attempts for kind, handler in self._handlers.items()}
