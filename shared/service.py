"""Assembling a service: FastAPI app + FastStream subscribers + outbox relay in one process.

Every service is built the same way from a ``ServiceSpec``; only its routes, consumers,
published events and migrations differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.site import get_asyncapi_html
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth.tokens import TokenVerifier
from shared.database import create_engine, session_factory
from shared.events.envelope import EventData
from shared.messaging.consumer import EventConsumers
from shared.messaging.redis_streams import (
    connect_redis,
    create_broker,
    document_publications,
    ensure_groups,
    resume_own_pending,
    subscribe,
)
from shared.messaging.relay import OutboxRelay
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service different from another."""

    name: str
    title: str
    description: str
    routers: Sequence[APIRouter]
    migrations: Path
    consumers: EventConsumers = field(default_factory=lambda: EventConsumers(group=""))
    publishes: Sequence[type[EventData]] = ()
    version: str = "0.1.0"


class ServiceRuntime:
    """The connections one running service holds; created at startup, closed at shutdown."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.engine: AsyncEngine | None = None
        self.redis: Redis | None = None
        self.relay: OutboxRelay | None = None
        self._uow: UnitOfWork | None = None

    @property
    def uow(self) -> UnitOfWork:
        if self._uow is None:
            raise RuntimeError("the service has not started")
        return self._uow

    async def open(self, spec: ServiceSpec) -> None:
        self.engine = create_engine(self.settings.database_url)
        if self.settings.migrate_on_start:
            await upgrade_to_head(self.engine, spec.migrations)
        sessions = session_factory(self.engine)
        self.redis = connect_redis(self.settings.redis_url)
        self.relay = OutboxRelay(
            sessions=sessions,
            redis=self.redis,
            batch_size=self.settings.relay_batch_size,
            interval_seconds=self.settings.relay_interval_seconds,
        )
        self._uow = UnitOfWork(sessions, on_commit=self.relay.nudge)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    broker = create_broker(settings.redis_url, description=spec.description)
    subscribe(broker, spec.consumers, consumer_name=settings.consumer_name, uow=lambda: runtime.uow)
    document_publications(broker, spec.publishes)
    asyncapi = AsyncAPI(
        broker, title=spec.title, version=spec.version, description=spec.description
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.open(spec)
        assert runtime.redis is not None and runtime.relay is not None
        relay_task = asyncio.create_task(runtime.relay.run(), name=f"{spec.name}-outbox-relay")
        try:
            await ensure_groups(runtime.redis, spec.consumers)
            resumed = await resume_own_pending(
                runtime.redis,
                spec.consumers,
                consumer_name=settings.consumer_name,
                uow=runtime.uow,
            )
            if resumed:
                log.info("%s resumed %d events it had read before stopping", spec.name, resumed)
            await broker.start()
            log.info("%s ready on %s:%s", spec.name, settings.host, settings.port)
            yield
        finally:
            await broker.stop()
            # Let the relay finish its round (cancelling a database call midway can leave the
            # connection unusable); cancel only if it does not finish in time.
            runtime.relay.stop()
            try:
                await asyncio.wait_for(relay_task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("%s outbox relay did not stop in time; cancelled", spec.name)
            await runtime.close()

    app = FastAPI(
        title=spec.title,
        version=spec.version,
        description=spec.description,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        secret=None if (settings.jwt_public_key or settings.jwks_url) else settings.jwt_secret,
        public_key=settings.jwt_public_key,
        jwks_url=settings.jwks_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    app.add_exception_handler(IntegrityError, _conflict)
    app.include_router(_operations_router(runtime, asyncapi))
    for router in spec.routers:
        app.include_router(router)
    return app


def _operations_router(runtime: ServiceRuntime, asyncapi: AsyncAPI) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Readiness: the database and Redis answer; includes the outbox backlog."""
        checks: dict[str, Any] = {}
        ok = True
        try:
            assert runtime.engine is not None
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:  # readiness reports any failure rather than raising it
            ok, checks["database"] = False, f"error: {error}"
        try:
            assert runtime.redis is not None
            await runtime.redis.ping()
            checks["redis"] = "ok"
        except Exception as error:
            ok, checks["redis"] = False, f"error: {error}"
        if checks.get("database") == "ok" and runtime.relay is not None:
            checks["outbox_backlog"] = await runtime.relay.backlog()
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    @router.get("/asyncapi.json")
    async def asyncapi_json() -> JSONResponse:
        """The AsyncAPI 3.0 document of the streams this service reads and writes."""
        return JSONResponse(asyncapi.to_specification().to_jsonable())

    @router.get("/asyncapi", response_class=HTMLResponse)
    async def asyncapi_html() -> HTMLResponse:
        """The AsyncAPI document, rendered for people."""
        return HTMLResponse(get_asyncapi_html(asyncapi.to_specification(), try_it_out_path=None))

    return router


async def _conflict(request: Request, error: Exception) -> JSONResponse:
    """Two requests changed the same thing at once and the database kept one: retrying is safe."""
    log.info("conflict on %s %s: %s", request.method, request.url.path, error)
    return JSONResponse(
        {"detail": "a concurrent request changed the same record; retry the request"},
        status_code=409,
    )


def _unit_of_work(request: Request) -> UnitOfWork:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.uow


UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work)]
