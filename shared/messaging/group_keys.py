"""The Redis keys a consumer group owns beside the shared streams it reads.

A group never writes to a shared stream (only its publisher does): what it sets aside, what an
operator hands back to it, and how often each entry reached its handler live under keys named
after the stream *and the group*, so a service's Redis user may be limited to its own keys
(``~*:<group>``) and one group's failures are never replayed to the others.
"""

from __future__ import annotations

DLQ, REPLAY, ATTEMPTS = "dlq", "replay", "attempts"


def dlq_stream(stream: str, group: str) -> str:
    """Where ``group`` sets aside the entries of ``stream`` it gave up on."""
    return f"{stream}:{DLQ}:{group}"


def replay_stream(stream: str, group: str) -> str:
    """Where an operator hands dead letters back to ``group`` alone; it reads it with ``stream``."""
    return f"{stream}:{REPLAY}:{group}"


def attempts_key(stream: str, group: str) -> str:
    """A hash: per pending entry of ``stream`` (or of its replay stream), how many times its
    handler was started by ``group``; what counts toward the most deliveries allowed."""
    return f"{stream}:{ATTEMPTS}:{group}"
