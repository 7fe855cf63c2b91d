"""python -m benchmarks.smtp_sink PORT REPORT: the benchmark's mail server, in a process of its own.

A real SMTP server (aiosmtpd, on 127.0.0.1:PORT, on uvloop as the services run) that accepts
every message and keeps only its ``Message-ID``. On SIGTERM it writes what it received to the
JSON file REPORT (messages, distinct Message-IDs) and exits; the benchmark checks from it that
no message was lost or sent twice.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from benchmarks.common import run_loop

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class KeepMessageIds:
    """Accepts every message; counts each Message-ID it carries."""

    def __init__(self) -> None:
        self.ids: Counter[bytes] = Counter()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        headers = content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(headers)
        self.ids[found.group(1) if found else b""] += 1
        return "250 OK"

    def report(self) -> dict[str, int]:
        return {"messages": sum(self.ids.values()), "distinct": len(self.ids)}


async def serve(port: int) -> dict[str, int]:
    """Serve until SIGTERM; returns what was received."""
    handler = KeepMessageIds()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench.localhost"), "127.0.0.1", port
    )
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    print("ready", flush=True)
    await stopping.wait()
    server.close()
    return handler.report()


def main(argv: list[str]) -> int:
    port, report = int(argv[0]), Path(argv[1])
    report.write_text(json.dumps(run_loop(serve(port))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
