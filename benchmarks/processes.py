"""What the benchmarks that run services as processes measure of them: CPU time, how busy the
machine was, and (with py-spy, if installed) where their time went, by layer of the stack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devstack.services import ServiceProcess

# A layer of the stack: its name, and marks of its frames (a path or file name in the frame).
Layer = tuple[str, tuple[str, ...]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_profiler(processes: list[ServiceProcess], directory: Path) -> list[tuple[Any, Path]]:
    """Sample each process with py-spy (200 a second) until ``stop_profiler``."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        log("py-spy is not installed (pip install py-spy): no profile")
        return []
    sampling = []
    for process in processes:
        assert process.process is not None
        out = directory / f"profile-{process.process.pid}.txt"
        sampling.append(
            (
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--format",
                        "raw",
                        "--rate",
                        "200",
                        "--nonblocking",
                        "-o",
                        str(out),
                        "--pid",
                        str(process.process.pid),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
                out,
            )
        )
    return sampling


def stop_profiler(
    sampling: list[tuple[Any, Path]], layers: Sequence[Layer]
) -> list[tuple[str, float]]:
    """Each layer's share of the samples, the first of ``layers`` found in a sample's stack
    (innermost frame first) naming it; "other" if none."""
    for process, _ in sampling:
        process.send_signal(2)  # SIGINT: py-spy writes what it has
    counts: Counter[str] = Counter()
    for process, out in sampling:
        process.wait(30)
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            if not samples.isdigit():
                continue  # a line cut short when the sampler was stopped
            frames = stack.split(";")[::-1]
            layer = next(
                (
                    name
                    for frame in frames
                    for name, marks in layers
                    if any(mark in frame for mark in marks)
                ),
                "other",
            )
            counts[layer] += int(samples)
    total = sum(counts.values())
    return [(layer, n / total) for layer, n in counts.most_common()] if total else []


def cpu_seconds(processes: list[ServiceProcess]) -> float:
    """CPU time (user + system) the processes have used so far."""
    return sum(process_cpu_seconds(process.process.pid) for process in processes if process.process)


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def named_processes_cpu_seconds(name: str) -> float:
    """CPU time (user + system, with that of their children that have exited) the machine's
    processes called ``name`` (e.g. ``postgres``: the server and its backends) have used."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it exited meanwhile
            continue
        command, _, rest = text.partition(" (")[2].rpartition(")")
        if command != name:
            continue
        fields = rest.split()
        ticks += sum(int(n) for n in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"
