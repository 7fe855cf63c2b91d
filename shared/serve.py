"""Running a service process on uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def serve(build_app: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    """Serve until SIGINT/SIGTERM; shutdown stops consuming, lets in-flight handlers finish."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {settings.service_name} %(levelname)s %(message)s"
    )
    uvicorn.run(
        build_app(),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        # Open requests get as long as the consumer's batch in hand.
        timeout_graceful_shutdown=max(int(settings.shutdown_grace_seconds), 1),
    )
