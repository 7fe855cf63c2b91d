"""python -m benchmarks [--quick]: measure the messaging runtime, print the results table and
write it between the result markers of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from benchmarks.report import render, write_results
from benchmarks.runtime import Knobs
from benchmarks.suite import KINDS, QUICK, Sizes, run

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke run")
    parser.add_argument("--events", type=int, help="runtime end-to-end events (20000)")
    parser.add_argument("--naive-events", type=int, help="naive subscriber events (3000)")
    parser.add_argument("--raw-events", type=int, help="raw drain events (100000)")
    parser.add_argument("--latency-rate", type=float, help="latency run, events/s offered (500)")
    parser.add_argument("--latency-seconds", type=float, help="latency run length (10)")
    parser.add_argument("--repeats", type=int, help="runs per throughput figure (3)")
    parser.add_argument("--relay-batch", type=int, help="OutboxRelay batch_size (default 200)")
    parser.add_argument("--consumer-batch", type=int, help="ConsumerPolicy batch_size (200)")
    parser.add_argument(
        "--only",
        action="append",
        choices=KINDS,
        help="measure only this (repeatable); the table is then printed, not written",
    )
    parser.add_argument(
        "--output", type=Path, default=DOC, help="file whose result markers get the table"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sizes = QUICK if args.quick else Sizes()
    overrides = {
        "events": args.events,
        "naive_events": args.naive_events,
        "raw_events": args.raw_events,
        "latency_rate": args.latency_rate,
        "latency_seconds": args.latency_seconds,
        "repeats": args.repeats,
    }
    sizes = dataclasses.replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    knobs = Knobs(relay_batch_size=args.relay_batch, consumer_batch_size=args.consumer_batch)

    results = run(sizes, knobs, frozenset(args.only or KINDS))
    table = render(results)
    print(table)
    if args.no_write or not results.complete:
        return 0
    write_results(args.output, table)
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
