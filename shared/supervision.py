"""Keeping a replica's background loops alive and visible.

Each loop (the outbox relay, the stream consumer, the housekeeper, the job worker) marks the
operations it performs with its ``Heartbeat``; a ``Supervisor`` runs the loops as tasks, restarts
one that raises (logged, counted, with backoff), and reports each as running, failing (its
operations end in errors it retries), restarting, or stuck (one operation running longer than
the stuck limit without progress) on ``/readyz``, ``/healthz`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.contact_details import without_contact_details

log = logging.getLogger(__name__)


async def wait_for_event(event: asyncio.Event, *, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; whether it was set.

    Loops that run beside a step (renewing a claim or a lease) stop on an event like this one,
    between two calls, never by being cancelled: a cancellation that lands inside a client's
    own timeout can come out as that client's error (asyncio.timeout on Python 3.11), be taken
    for a failed call, and leave the task running while the step waits for it.
    """
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=timeout)
    return event.is_set()


class Heartbeat:
    """What a loop is doing: since when its current operation has run (without progress), and
    whether its operations have been failing, since when and with what error."""

    def __init__(self) -> None:
        self.busy_since: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.failing_since: float | None = None
        self.failures = 0

    @contextmanager
    def working(self) -> Iterator[None]:
        """Mark one operation of the loop (a round, a step): it should not take long. One that
        ends without an error (raised, or noted with ``failed``) ends a run of failures."""
        self.busy_since = time.monotonic()
        failures = self.failures
        try:
            yield
        except BaseException:
            raise
        else:
            if self.failures == failures:
                self.failing_since = None
        finally:
            self.busy_since = None

    def progress(self) -> None:
        """Within an operation, a part of it done (a chunk of a batch): the time it has run
        counts from here."""
        if self.busy_since is not None:
            self.busy_since = time.monotonic()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Within an operation, a wait that is not the operation's fault (a backoff while the
        database is down): it does not count toward the operation's time."""
        busy, self.busy_since = self.busy_since, None
        try:
            yield
        finally:
            if busy is not None:
                self.busy_since = time.monotonic()

    def busy_for(self) -> float:
        """Seconds the current operation has been running (0 while the loop waits)."""
        return 0.0 if self.busy_since is None else time.monotonic() - self.busy_since

    def failed(self, error: BaseException) -> None:
        """Remember an error the loop handled itself (it retries), and when it happened: the
        loop is failing until one of its operations ends without an error."""
        self.failures += 1
        self.last_error = error_summary(error)
        self.last_error_at = time.monotonic()
        if self.failing_since is None:
            self.failing_since = self.last_error_at

    def last_error_age(self) -> float | None:
        """Seconds since the last error (None if there was none)."""
        return None if self.last_error_at is None else time.monotonic() - self.last_error_at


def error_summary(error: BaseException) -> str:
    """An error as ``/readyz`` (open to probes) shows it: its kind and the first line of its
    reason, without the SQL and its parameters SQLAlchemy adds, and without an email address or
    phone number the reason repeats (the full error is in the service's log)."""
    return without_contact_details(f"{type(error).__name__}: {driver_reason(error)}")


def driver_reason(error: BaseException) -> str:
    """The first line of a database error's own reason: a DBAPIError's driver error, without
    the statement and parameters SQLAlchemy adds, or the ``<class ...>:`` asyncpg's begin with."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else ""
    return reason.split(": ", 1)[-1] if reason.startswith("<class") else reason


class Loop(Protocol):
    heartbeat: Heartbeat

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class LoopState:
    """One supervised loop, as ``/readyz`` and ``/metrics`` show it."""

    name: str
    loop: Loop
    restarts: int = 0
    crashed: str | None = None  # the error it last ended with, while waiting to restart
    stopping: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def state(self, stuck_seconds: float) -> str:
        if self.crashed is not None:
            return "restarting"
        if self.loop.heartbeat.busy_for() > stuck_seconds:
            return "stuck"
        if self.loop.heartbeat.failing_since is not None:
            return "failing"
        return "running"

    def report(self, stuck_seconds: float) -> dict[str, Any]:
        heartbeat = self.loop.heartbeat
        age = heartbeat.last_error_age()
        return {
            "state": self.state(stuck_seconds),
            "restarts": self.restarts,
            "busy_seconds": round(heartbeat.busy_for(), 3),
            "last_error": self.crashed or heartbeat.last_error,
            "last_error_seconds_ago": None if age is None else round(age, 1),
        }


class Supervisor:
    """Runs a replica's loops as tasks; restarts one that ends by raising (logged, counted,
    after a backoff); says which are running, restarting or stuck."""

    def __init__(
        self,
        service: str,
        *,
        stuck_seconds: float = 120.0,
        first_restart_seconds: float = 1.0,
        longest_restart_seconds: float = 60.0,
    ) -> None:
        self.service = service
        self.stuck_seconds = stuck_seconds
        self._first = first_restart_seconds
        self._longest = longest_restart_seconds
        self.loops: dict[str, LoopState] = {}

    def start(self, name: str, loop: Loop) -> None:
        state = self.loops[name] = LoopState(name, loop)
        state.task = asyncio.create_task(self._keep_running(state), name=f"{self.service}-{name}")

    async def stop(self, name: str, *, grace_seconds: float) -> None:
        """Ask one loop to finish, and wait for it (cancelled if it takes longer)."""
        state = self.loops.get(name)
        if state is None or state.task is None:
            return
        state.stopping = True
        state.wake.set()
        state.loop.stop()
        try:
            await asyncio.wait_for(state.task, timeout=grace_seconds)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("%s %s did not stop in time; cancelled", self.service, name)

    def report(self) -> dict[str, dict[str, Any]]:
        return {name: state.report(self.stuck_seconds) for name, state in self.loops.items()}

    def unhealthy(self) -> list[str]:
        """Loops not running as they should (failing, restarting, stuck): ``/readyz`` then says
        degraded."""
        return [n for n, s in self.loops.items() if s.state(self.stuck_seconds) != "running"]

    def stuck(self) -> list[str]:
        return [n for n, s in self.loops.items() if s.state(self.stuck_seconds) == "stuck"]

    async def _keep_running(self, state: LoopState) -> None:
        delay = self._first
        while True:
            started = time.monotonic()
            try:
                await state.loop.run()
                if state.stopping:
                    return
                raise RuntimeError("it returned while it should have kept running")
            except Exception as error:
                if time.monotonic() - started > self._longest:
                    delay = self._first  # it had been running well: a fresh failure
                state.crashed = error_summary(error)
                state.restarts += 1
                log.exception(
                    "%s %s crashed (restart %d), restarting in %.1fs",
                    self.service,
                    state.name,
                    state.restarts,
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.wake.wait(), timeout=delay)
            if state.stopping:
                return
            delay = min(delay * 2, self._longest)
            state.crashed = None
