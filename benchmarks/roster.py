"""python -m benchmarks.roster [--students 500000]: the roster import at district scale.

Generates a OneRoster 1.2 bulk export (``benchmarks.oneroster_district``: about 1.5 guardians
per student, a homeroom class per 25 students with its teacher, a site admin per school), starts
Redis and the three services as processes on fresh SQLite files, and measures, each once:

- the bulk import into portfolio (``slc-roster import``, contacts handed to notifications), its
  wall time and the importer's peak memory;
- how long after the import started scheduling's and notifications' read models hold every
  guardian link (the events relayed, consumed and applied);
- importing the unchanged export again (time, and events recorded: 0 is the target);
- a delta changing 1% of the students.

The results table goes between the roster markers of docs/benchmarks.md (``--no-write`` only
prints it). Figures are of one run on whatever machine runs it: compare them with the targets
as orders of magnitude, not as assertions.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.oneroster_district import write_delta, write_district
from benchmarks.report import write_results
from devstack.redis_server import RedisServer, free_ports
from devstack.services import SERVICES, ServiceProcess

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- roster-results:start -->", "<!-- roster-results:end -->"
TARGETS = {
    "bulk import": "< 120 s",
    "read models caught up": "< 300 s",
    "importer peak memory": "< 1 GiB",
    "unchanged re-import": "< 30 s, 0 events",
    "1% delta": "< 10 s",
}


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.roster", description=__doc__)
    parser.add_argument("--students", type=int, default=500_000)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--output", type=Path, default=DOC)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="slc-roster-bench-") as scratch:
        rows = measure(Path(scratch), students=args.students)
    table = render(rows, students=args.students)
    print(table)
    if not args.no_write:
        write(args.output, table)
        print(f"written to {args.output}")
    return 0


def measure(scratch: Path, *, students: int) -> list[tuple[str, str, str]]:
    export, delta = scratch / "export", scratch / "delta"
    started = time.monotonic()
    write_district(export, students=students)
    write_delta(export, delta, fraction=0.01)
    print(f"export written in {time.monotonic() - started:.1f} s", file=sys.stderr)
    redis = RedisServer(scratch / "redis").start()
    databases = {name: scratch / f"{name}.db" for name in SERVICES}
    env = {
        "REDIS_URL": redis.url,
        **{f"{n.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{p}" for n, p in databases.items()},
    }
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    env["PORTFOLIO_NOTIFICATIONS_URL"] = f"http://127.0.0.1:{ports['notifications']}"
    processes = [
        ServiceProcess(name, ports[name], env, scratch / "logs" / f"{name}.log").start()
        for name in SERVICES
    ]
    try:
        for process in processes:
            process.wait_ready()
        importer_env = {**os.environ, **env}
        began = time.monotonic()
        bulk = _import(export, importer_env)
        links = _count(databases["portfolio"], "SELECT count(*) FROM guardian_link WHERE active")
        caught_up = _until(
            lambda: all(
                _count(databases[name], "SELECT count(*) FROM roster_guardian_link WHERE active")
                >= links
                for name in ("scheduling", "notifications")
            )
        )
        caught_up_after = time.monotonic() - began
        outbox_before = _count(databases["portfolio"], "SELECT count(*) FROM outbox")
        again = _import(export, importer_env)
        recorded_again = _count(databases["portfolio"], "SELECT count(*) FROM outbox") - (
            outbox_before
        )
        changed = _import(delta, importer_env)
    finally:
        for process in reversed(processes):
            process.stop()
        redis.stop()
    return [
        ("bulk import", f"{bulk.seconds:.0f} s", _summary(bulk.output)),
        (
            "read models caught up",
            f"{caught_up_after:.0f} s" if caught_up else f"not within {caught_up_after:.0f} s",
            f"{links:,} guardian links in scheduling and notifications",
        ),
        ("importer peak memory", f"{bulk.peak_rss_mb:,.0f} MiB", "maximum resident set size"),
        ("unchanged re-import", f"{again.seconds:.0f} s", f"{recorded_again} events recorded"),
        ("1% delta", f"{changed.seconds:.1f} s", _summary(changed.output)),
    ]


def _import(path: Path, env: dict[str, str]) -> Run:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.portfolio.roster_import.cli", "import", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"the import of {path} failed:\n{output}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if "events recorded" in line]
    return lines[-1] if lines else ""


def _count(database: Path, query: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return int(connection.execute(query).fetchone()[0])


def _until(done: Callable[[], bool], timeout: float = 1800.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(1)
    return False


def render(rows: list[tuple[str, str, str]], *, students: int) -> str:
    lines = [
        f"Generated district: {students:,} students (OneRoster 1.2 bulk), SQLite, one run.",
        "",
        "| measure | target | reached | detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {TARGETS[name]} | {value} | {detail} |" for name, value, detail in rows]
    return "\n".join(lines)


def write(path: Path, table: str) -> None:
    write_results(
        path, table, start=START, end=END, heading="## The roster import at district scale"
    )


if __name__ == "__main__":
    sys.exit(main())
