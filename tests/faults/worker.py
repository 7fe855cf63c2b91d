"""Processes the fault suite starts, kills, freezes and terminates.

python -m tests.faults.worker               # a replica of the fault-suite consumer service
python -m tests.faults.worker relay-crash   # relays every unsent outbox row, then dies
                                            # (SIGKILL) before marking any of them sent
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic_settings import SettingsConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import create_engine, session_factory
from shared.messaging.redis_streams import connect_redis
from shared.messaging.relay import OutboxRelay
from shared.serve import serve
from shared.service import ServiceSpec, create_app
from shared.settings import ServiceSettings
from tests.faults.harness import consumers


class FaultSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FAULTS_")

    service_name: str = "faults"
    migrate_on_start: bool = False  # the test creates the schema


SPEC = ServiceSpec(
    name="faults",
    title="Fault-suite consumer",
    description="Consumes probe events; each has one effect row.",
    routers=[],
    migrations=Path(__file__).parent,
    consumers=consumers,
)


class CrashingRelay(OutboxRelay):
    """Dies the way a crash between XADD and marking the rows sent would kill it."""

    @staticmethod
    async def _mark_sent(session: AsyncSession, seqs: Sequence[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


async def relay_then_crash(settings: FaultSettings) -> None:
    engine = create_engine(settings.database_url)
    redis = connect_redis(settings.redis_url)
    await CrashingRelay(
        sessions=session_factory(engine),
        redis=redis,
        batch_size=100_000,
        mark_interval_seconds=0,  # mark in the round that published
    ).relay_once()
    raise SystemExit("the relay was expected to die before marking rows sent")


def main(argv: Sequence[str]) -> None:
    settings = FaultSettings()
    if argv[:1] == ["relay-crash"]:
        asyncio.run(relay_then_crash(settings))
        return
    serve(lambda: create_app(SPEC, settings), settings)


if __name__ == "__main__":
    main(sys.argv[1:])
