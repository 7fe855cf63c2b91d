"""What an operator watches: per stream a group reads, its lag, pending entries, the age of the
oldest pending one and the group's dead letters; per service, the outbox backlog, the parked
events, the jobs and the state of each background loop. Served on ``/readyz`` and as Prometheus
metrics on ``/metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.events.envelope import as_text, stream_id
from shared.jobs.monitoring import JobStatus, job_metric_families
from shared.jobs.worker import JobWorker
from shared.messaging.group_keys import dlq_stream, replay_stream
from shared.messaging.parking import ParkedStatus
from shared.messaging.relay import OutboxRelay, OutboxStatus
from shared.messaging.stream_consumer import StreamConsumer
from shared.supervision import Supervisor

# Redis 6.2 does not report a group's lag; it is then counted, up to this many entries.
LAG_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class StreamStatus:
    stream: str
    group: str
    lag: int
    pending: int
    oldest_pending_age_seconds: float
    dead_letters: int
    replaying: int


async def stream_status(redis: Redis, stream: str, group: str) -> StreamStatus:
    """How far ``group`` is behind on ``stream``, what it holds unacknowledged, what it gave up
    on (its own dead letters), and what an operator handed back to it that it has not yet applied."""
    lag = pending = 0
    oldest_age = 0.0
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # the stream does not exist yet
        groups = []
    info = next((g for g in groups if as_text(g["name"]) == group), None)
    if info is not None:
        lag = await _lag(redis, stream, info)
        pending = int(info["pending"])
        if pending:
            summary = await redis.xpending(stream, group)
            if summary["min"] is not None:  # (acknowledged meanwhile)
                oldest_ms, _ = stream_id(summary["min"])
                oldest_age = max(time.time() - oldest_ms / 1000, 0.0)
    dead = int(await redis.xlen(dlq_stream(stream, group)))
    replaying = int(await redis.xlen(replay_stream(stream, group)))
    return StreamStatus(stream, group, lag, pending, round(oldest_age, 3), dead, replaying)


async def _lag(redis: Redis, stream: str, info: Mapping[str, Any]) -> int:
    reported = info.get("lag")
    if reported is not None:
        return int(reported)
    after = "(" + as_text(info["last-delivered-id"])
    entries: Any = await redis.xrange(stream, min=after, max="+", count=LAG_COUNT_LIMIT)
    return len(entries)


class RuntimeCollector(Collector):
    """Prometheus view of the latest statuses and of the runtime's counters.

    ``/metrics`` refreshes ``streams`` and ``outbox`` (they need awaiting) and then renders;
    the counters are read from the relay and the consumer as they are.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self.streams: list[StreamStatus] = []
        self.outbox: OutboxStatus | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: StreamConsumer | None = None
        self.parked: ParkedStatus | None = None
        self.supervisor: Supervisor | None = None
        self.jobs: JobWorker[Any] | None = None
        self.job_status: JobStatus | None = None

    def collect(self) -> Iterator[Any]:
        gauges = {
            "lag": "Entries on the stream not yet delivered to the group.",
            "pending": "Entries delivered to the group and not yet acknowledged.",
            "oldest_pending_age_seconds": "Age of the oldest unacknowledged entry.",
            "dead_letters": "The group's dead letters from the stream (<stream>:dlq:<group>).",
            "replaying": "Dead letters handed back to the group, not yet applied again.",
        }
        for name, documentation in gauges.items():
            family = GaugeMetricFamily(
                f"slc_stream_{name}", documentation, labels=["service", "stream", "group"]
            )
            for status in self.streams:
                family.add_metric(
                    [self.service, status.stream, status.group], float(getattr(status, name))
                )
            yield family
        if self.outbox is not None:
            yield _gauge(
                "slc_outbox_backlog",
                "Outbox rows not yet relayed.",
                self.service,
                self.outbox.backlog,
            )
            yield _gauge(
                "slc_outbox_oldest_unsent_age_seconds",
                "Age of the oldest outbox row not yet relayed.",
                self.service,
                self.outbox.oldest_unsent_age_seconds,
            )
        if self.parked is not None:
            yield _gauge(
                "slc_parked_events",
                "Events set aside until what they wait for arrives (NotYet).",
                self.service,
                self.parked.parked,
            )
            yield _gauge(
                "slc_parked_oldest_age_seconds",
                "How long the oldest parked event has waited.",
                self.service,
                self.parked.oldest_age_seconds,
            )
        if self.supervisor is not None:
            yield from _loop_metrics(self.service, self.supervisor)
        if self.jobs is not None and len(self.jobs.handlers):
            yield from job_metric_families(
                self.service, status=self.job_status, outcomes=self.jobs.outcomes
            )
        relayed = CounterMetricFamily(
            "slc_outbox_relayed", "Events published by this replica's relay.", labels=["service"]
        )
        relayed.add_metric([self.service], self.relay.published if self.relay else 0)
        yield relayed
        events = CounterMetricFamily(
            "slc_events",
            "Events this replica consumed, by outcome: handled, duplicate (already handled),"
            " parked (waiting for what it needs), failed (will be retried) or dead_lettered.",
            labels=["service", "stream", "outcome"],
        )
        outcomes = self.consumer.outcomes if self.consumer else {}
        for (stream, outcome), value in sorted(outcomes.items()):
            events.add_metric([self.service, stream, outcome], value)
        yield events


def _loop_metrics(service: str, supervisor: Supervisor) -> Iterator[Any]:
    up = GaugeMetricFamily(
        "slc_loop_up",
        "1 while a background loop runs as it should; 0 while it is restarting or stuck.",
        labels=["service", "loop"],
    )
    busy = GaugeMetricFamily(
        "slc_loop_busy_seconds",
        "How long the loop's current operation has been running (stuck past LOOP_STUCK_SECONDS).",
        labels=["service", "loop"],
    )
    restarts = CounterMetricFamily(
        "slc_loop_restarts", "Times a loop crashed and was restarted.", labels=["service", "loop"]
    )
    for name, report in supervisor.report().items():
        up.add_metric([service, name], 1.0 if report["state"] == "running" else 0.0)
        busy.add_metric([service, name], report["busy_seconds"])
        restarts.add_metric([service, name], report["restarts"])
    yield from (up, busy, restarts)


def _gauge(name: str, documentation: str, service: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["service"])
    family.add_metric([service], value)
    return family


def statuses_as_dict(statuses: Iterable[StreamStatus]) -> dict[str, dict[str, Any]]:
    return {s.stream: {k: v for k, v in asdict(s).items() if k != "stream"} for s in statuses}
