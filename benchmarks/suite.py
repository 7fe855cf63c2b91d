"""One benchmark run: a private Redis, the measurements, the results."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from benchmarks import naive, raw, runtime
from benchmarks.common import run_loop
from benchmarks.report import (
    LATENCY_ONE,
    LATENCY_TWO,
    NAIVE,
    RAW,
    RUNTIME_BATCH,
    RUNTIME_ONE,
    RUNTIME_TWO,
    Latency,
    LoadMeter,
    Results,
    Throughput,
    machine_facts,
)
from benchmarks.runtime import Knobs
from devstack.redis_server import RedisServer

KINDS = ("runtime", "naive", "raw", "latency")


@dataclass(frozen=True)
class Sizes:
    events: int = 20_000  # runtime end to end
    naive_events: int = 3_000
    raw_events: int = 100_000
    latency_rate: float = 500.0
    latency_seconds: float = 10.0
    repeats: int = 3


QUICK = Sizes(
    events=2_000,
    naive_events=300,
    raw_events=10_000,
    latency_rate=500.0,
    latency_seconds=2.0,
    repeats=1,
)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class _Plan:
    key: str
    label: str
    size: str
    run: Callable[[int], Awaitable[float]]  # attempt number -> events/s


async def measure(
    sizes: Sizes, knobs: Knobs, redis_url: str, workdir: Path, only: frozenset[str]
) -> Results:
    """Throughput figures are measured round-robin (each run of each, then again), so a noisy
    spell on the machine spreads over all of them instead of falling on one."""
    client = Redis.from_url(redis_url)
    try:
        redis_version = str((await client.info("server"))["redis_version"])
    finally:
        await client.aclose()

    plans: list[_Plan] = []
    if "runtime" in only:
        for key, processes, batched, label in (
            (
                RUNTIME_TWO,
                2,
                False,
                "runtime end to end, two processes (outbox + relay | consumer)",
            ),
            (
                RUNTIME_ONE,
                1,
                False,
                "runtime end to end, one process (relay and consumer together)",
            ),
            (
                RUNTIME_BATCH,
                2,
                True,
                "runtime end to end, two processes, batch handler (one INSERT of a batch's "
                "effect rows)",
            ),
        ):
            plans.append(
                _Plan(
                    key,
                    label,
                    f"{sizes.events:,} events",
                    lambda _, p=processes, b=batched: runtime.end_to_end(  # type: ignore[misc]
                        redis_url, workdir, sizes.events, processes=p, knobs=knobs, batched=b
                    ),
                )
            )
    if "naive" in only:
        plans.append(
            _Plan(
                NAIVE,
                "naive: FastStream subscriber, one ORM transaction + XACK per event",
                f"{sizes.naive_events:,} events",
                lambda _: naive.naive_drain(redis_url, workdir, sizes.naive_events),
            )
        )
    if "raw" in only:
        _say(f"filling a stream with {sizes.raw_events:,} entries for the raw drain")
        raw.prefill(redis_url, sizes.raw_events)
        plans.append(
            _Plan(
                RAW,
                f"raw redis-py: XREADGROUP COUNT {raw.BATCH} + one XACK per batch, no database",
                f"{sizes.raw_events:,} events",
                lambda attempt: raw.raw_drain(redis_url, sizes.raw_events, group=f"raw-{attempt}"),
            )
        )

    runs: dict[str, list[float]] = {plan.key: [] for plan in plans}
    for attempt in range(1, sizes.repeats + 1):
        for plan in plans:
            rate = await plan.run(attempt)
            _say(f"{plan.label}, run {attempt}/{sizes.repeats}: {rate:,.0f} events/s")
            runs[plan.key].append(rate)
    throughputs = {
        plan.key: Throughput(plan.label, plan.size, tuple(runs[plan.key])) for plan in plans
    }

    latencies: dict[str, Latency] = {}
    if "latency" in only:
        for key, processes, label in (
            (LATENCY_TWO, 2, "latency, two processes (recorded -> effect committed)"),
            (LATENCY_ONE, 1, "latency, one process (recorded -> effect committed)"),
        ):
            run = await runtime.latency(
                redis_url,
                workdir,
                sizes.latency_rate,
                sizes.latency_seconds,
                processes=processes,
                knobs=knobs,
            )
            result = Latency(
                label,
                f"{run.events:,} events, one per transaction, "
                f"offered at {sizes.latency_rate:,.0f}/s",
                run.rate,
                sizes.latency_rate,
                tuple(seconds * 1000 for seconds in run.latencies),
                tuple(seconds * 1000 for seconds in run.to_stream),
            )
            _say(
                f"{label}: {result.rate:,.0f} events/s recorded, p50 {result.p50:.1f} ms, "
                f"p99 {result.p99:.1f} ms, max {result.max:.1f} ms"
            )
            latencies[key] = result

    return Results(
        facts=machine_facts(redis_version),
        load="",  # filled in by ``run`` once every child process has exited
        settings=_settings(sizes, knobs),
        throughputs=throughputs,
        latencies=latencies,
    )


def _settings(sizes: Sizes, knobs: Knobs) -> str:
    relay = (
        "OutboxRelay defaults (batch 200)"
        if knobs.relay_batch_size is None
        else f"relay batch {knobs.relay_batch_size} (changed from the default 200)"
    )
    consumer = (
        "ConsumerPolicy defaults (batch 200)"
        if knobs.consumer_batch_size is None
        else f"consumer batch {knobs.consumer_batch_size} (changed from the default 200)"
    )
    median = (
        f"median of {sizes.repeats} runs, taken round-robin"
        if sizes.repeats > 1
        else "a single run (not a median)"
    )
    return (
        f"Throughput: {median}. Runtime: {relay}, {consumer}. Naive: FastStream `StreamSub` "
        "in a consumer group, its default ack policy (XACK per message), broker `log_level` "
        "DEBUG (per-message logs off). Latency: one run each; an event's latency is the time "
        "its effect row's transaction committed minus the event's `time`."
    )


def run(sizes: Sizes, knobs: Knobs, only: frozenset[str] = frozenset(KINDS)) -> Results:
    """Start a private Redis (append-only file on) in a temporary directory, measure, stop it."""
    meter = LoadMeter()
    with tempfile.TemporaryDirectory(prefix="slc-bench-") as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir / "redis").start()
        _say(f"private redis-server on port {server.port}, files in {workdir}")
        try:
            results = run_loop(measure(sizes, knobs, server.url, workdir, only))
        finally:
            server.stop()
    return dataclasses.replace(results, load=meter.summary())
