"""Smoke test of the messaging benchmark (``make bench``): every code path, tiny sizes.

Checks that the table is produced with all its rows and positive numbers; never timings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.invitations import UNPACKED_POSTFIX, find_smtp_sink
from tests.support import POSTGRES_URL, postgres_skip_reason

ROOT = Path(__file__).resolve().parent.parent

MEASUREMENTS = (
    "runtime end to end, two processes (",
    "runtime end to end, one process",
    "runtime end to end, two processes, batch handler",
    "naive: FastStream subscriber",
    "raw redis-py",
    "latency, two processes",
    "latency, one process",
)
TARGETS = ("runtime / naive", "runtime / raw drain", "runtime on SQLite", "p99 latency")


def _numbers(cell: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", cell)]


@pytest.mark.timeout(120)
def test_benchmark_writes_a_complete_table(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nWritten by hand.\n\n<!-- results:start -->\nold\n<!-- results:end -->\n"
        "\n## What limits it\n\nAlso by hand.\n"
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--events=200",
            "--naive-events=50",
            "--raw-events=1000",
            "--latency-rate=200",
            "--latency-seconds=0.5",
            "--repeats=1",
            f"--output={doc}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert completed.returncode == 0, completed.stderr
    # The runtime measured must run cleanly: a failing step is retried, so the figures would
    # still come out (slower), and only its log tells.
    assert "ERROR" not in completed.stderr, completed.stderr

    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nWritten by hand.\n")
    assert text.endswith("## What limits it\n\nAlso by hand.\n")
    assert "old" not in text
    block = text.split("<!-- results:start -->")[1].split("<!-- results:end -->")[0]
    assert block.strip() in completed.stdout
    assert "Redis" in block and "SQLite" in block and "Python" in block

    rows = {line.split("|")[1].strip(): line for line in block.splitlines() if line.startswith("|")}
    for name in MEASUREMENTS:
        (row,) = [line for label, line in rows.items() if label.startswith(name)]
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        rate = _numbers(cells[2])
        assert rate and rate[0] > 0, row
        if name.startswith("latency"):
            assert all(_numbers(cell) and _numbers(cell)[0] > 0 for cell in cells[4:7]), row
        else:
            assert all(n > 0 for n in _numbers(cells[3])), row
    for name in TARGETS:
        (row,) = [line for label, line in rows.items() if label.startswith(name)]
        assert "met" in row
        assert all(n > 0 for n in _numbers(row.split("|")[2])), row


@pytest.mark.timeout(240)
def test_roster_benchmark_measures_every_figure_of_a_small_district(tmp_path: Path) -> None:
    written = _written_by("benchmarks.roster", "--students=400", tmp_path=tmp_path)
    rows = {
        line.split("|")[1].strip(): line
        for line in written.splitlines()
        if line.startswith("| ") and "measure" not in line
    }
    assert set(rows) == {
        "bulk import",
        "read models caught up",
        "importer peak memory",
        "unchanged re-import",
        "1% delta",
    }
    assert "not within" not in rows["read models caught up"]
    assert "| 0 events recorded |" in rows["unchanged re-import"]
    assert all(_numbers(row.split("|")[3]) for row in rows.values())


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_opening_minute_benchmark_measures_every_figure_of_a_small_district(
    tmp_path: Path,
) -> None:
    """Every code path of ``make bench-opening`` with a small district: the table comes out with
    every row, no 5xx and no double booking (checked in the database); never timings."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    written = _written_by(
        "benchmarks.opening_minute",
        "--families=120",
        "--sites=2",
        "--concurrency=16",
        "--rate=20",
        "--seconds=1",
        "--replicas=1",
        f"--postgres={POSTGRES_URL.replace('+asyncpg', '')}",
        tmp_path=tmp_path,
    )
    rows = {
        line.split("|")[1].strip(): line for line in written.splitlines() if line.startswith("| ")
    }
    opening = rows["opening minute, HTTP (family links)"]
    assert _numbers(opening.split("|")[2]) == [120], opening  # every family booked
    assert _numbers(rows["bare asyncpg: UPDATE + INSERT"].split("|")[2]) == [120]
    assert _numbers(rows["the same behind FastAPI, HTTP (no rules)"].split("|")[2]) == [120]
    assert "of the bare rate: the ceiling of this stack on this machine" in written
    assert _numbers(rows["steady 20/s offered, HTTP"].split("|")[2]) == [20]
    assert rows["5xx answers"].split("|")[3].strip() == "0"
    assert rows["double bookings"].split("|")[3].strip() == "0"
    assert "ms per request" in written


@pytest.mark.postgres
@pytest.mark.timeout(240)
@pytest.mark.parametrize("server", ["aiosmtpd", "postfix"])
def test_invitations_benchmark_sends_to_every_family_of_a_small_district_once(
    tmp_path: Path, server: str
) -> None:
    """Every code path of ``make bench-invitations`` with 200 families, to either SMTP server:
    every invitation rendered, handed to the SMTP server once and recorded sent once, the naive
    sender beside it; never timings."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    if server == "postfix" and find_smtp_sink("smtp-sink") is None:
        pytest.skip(f"no Postfix smtp-sink on PATH, in /usr/sbin or in {UNPACKED_POSTFIX}")
    written = _written_by(
        "benchmarks.invitations",
        "--families=200",
        "--naive-messages=20",
        f"--postgres={POSTGRES_URL.replace('+asyncpg', '')}",
        f"--smtp-server={server}",
        tmp_path=tmp_path,
    )
    assert ("Postfix's smtp-sink (C)" in written) == (server == "postfix")
    rows = {
        line.split("|")[1].strip(): line for line in written.splitlines() if line.startswith("| ")
    }
    for measure in (
        "end to end: window opened -> every invitation sent and announced",
        "event in -> every message rendered and recorded",
        "sending: the first message sent -> every message sent and announced",
    ):
        cells = rows[measure].split("|")
        assert _numbers(cells[2]) == [200], rows[measure]
        assert _numbers(cells[4])[0] > 0, rows[measure]
    naive = rows["naive sender: a new SMTP connection and a transaction per message"]
    assert _numbers(naive.split("|")[2]) == [20], naive
    bare = rows["bare: the same messages, built beforehand, over 16 kept connections, nothing else"]
    assert _numbers(bare.split("|")[2]) == [200], bare  # every message, once (checked there)
    assert "handing messages to this SMTP server alone reaches" in written
    once = rows["every message sent, recorded and announced once"]
    assert once.split("|")[3].strip() == "yes", once
    assert (
        "200 of 200 deliveries recorded sent; 200 `delivery.sent` events naming 200 deliveries;"
        " the SMTP server received 200 messages with 200 distinct Message-IDs" in written
    )
    assert all(f"{language} 40" in written for language in ("en", "es", "vi", "zh-Hans", "ar"))


def _written_by(module: str, *arguments: str, tmp_path: Path) -> str:
    """What ``python -m module arguments`` writes into a benchmarks document (which keeps what
    was written by hand)."""
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nWritten by hand.\n")
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments, f"--output={doc}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    written = doc.read_text()
    assert written.startswith("# Benchmarks\n\nWritten by hand.\n")
    return written
