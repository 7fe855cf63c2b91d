"""Assembling a service: FastAPI app + its supervised background loops in one process.

Every service is built the same way from a ``ServiceSpec``; only its routes, consumers,
published events and migrations differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.api_docs import openapi_pages_router, render_asyncapi
from shared.auth.family_links import FamilyLinkVerifier
from shared.auth.http import CurrentPrincipal, LinkRevocationCheck, RosterSitesCheck
from shared.auth.principal import Principal
from shared.auth.tokens import TokenVerifier
from shared.body_limit import RequestBodyLimit
from shared.database import (
    create_engine,
    is_refused_value,
    is_unique_violation,
    session_factory,
)
from shared.environment import Environment, plain_environment
from shared.events.envelope import EventData
from shared.jobs.api import jobs_router
from shared.jobs.handlers import JobHandlers
from shared.jobs.monitoring import job_status
from shared.jobs.worker import JobPolicy, JobWorker
from shared.messaging.consumer import EventConsumers
from shared.messaging.dead_letters_api import dead_letters_router
from shared.messaging.monitoring import (
    RuntimeCollector,
    StreamStatus,
    statuses_as_dict,
    stream_status,
)
from shared.messaging.parking import parked_status
from shared.messaging.redis_streams import (
    connect_redis,
    create_broker,
    document_publications,
    document_subscriptions,
)
from shared.messaging.relay import OutboxRelay
from shared.messaging.retention import Housekeeper, RetentionPolicy
from shared.messaging.stream_consumer import ConsumerPolicy, StreamConsumer
from shared.messaging.tables import utcnow
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.problems import install_problem_handlers, problem_response, refusals
from shared.settings import ServiceSettings
from shared.supervision import Supervisor, driver_reason, error_summary

log = logging.getLogger(__name__)

#: How long ``/readyz`` waits for Redis to answer its questions before calling it not ready.
REDIS_ANSWER_SECONDS = 2


EnvironmentFactory = Callable[[Any], AbstractAsyncContextManager[Environment]]
# Given the service's unit of work and a family link's principal: why the link is refused
# (the family's links were revoked after it was issued), or None.
LinkRevocation = Callable[[UnitOfWork, Principal], Awaitable[str | None]]
# Given the service's unit of work, a district and a staff member's id: the sites where the
# roster says they work (a teacher: where they teach; an administrator: the schools they
# administer).
RosterSites = Callable[[UnitOfWork, str, str], Awaitable[frozenset[str]]]


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
    # Builds what handlers are given (settings, clock, clients) from the service's settings;
    # entered at startup, left at shutdown.
    environment: EnvironmentFactory = plain_environment
    # The side effects it runs after the commit that asked for them (``shared.jobs``).
    jobs: JobHandlers[Any] = field(default_factory=JobHandlers)
    # Routes that take uploads larger than HTTP_MAX_BODY_BYTES: a path pattern (matched whole)
    # and its limit in bytes, from the service's settings.
    uploads: Callable[[Any], Mapping[str, int]] = field(default=lambda settings: {})
    # How a service that keeps revoked family links refuses them (``shared.auth.http``);
    # None: a verified link is accepted until it expires.
    link_revocation: LinkRevocation | None = None
    # Where a teacher acts, for a service that keeps the roster's classes (``shared.auth.http``
    # narrows a teacher's ``sites`` to these); None: as the token names them.
    teacher_sites: RosterSites | None = None
    # Where a site administrator acts, from the roster (``shared.auth.http`` narrows their
    # ``sites`` to these). Every service that acts for a school's office keeps it.
    administrator_sites: RosterSites | None = None
    version: str = "0.1.0"


class ServiceRuntime:
    """The connections and background loops of one running service replica.

    Created at startup and closed at shutdown: the outbox relay, the stream consumer and the
    housekeeper (retention) run beside the HTTP server, under a ``Supervisor`` that restarts a
    loop that crashes and reports each loop's state.
    """

    def __init__(self, spec: ServiceSpec, settings: ServiceSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.engine: AsyncEngine | None = None
        self.redis: Redis | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: StreamConsumer | None = None
        self.housekeeper: Housekeeper | None = None
        self.jobs: JobWorker[Any] | None = None
        self.env: Environment | None = None
        self.metrics = RuntimeCollector(spec.name)
        self.supervisor = Supervisor(spec.name, stuck_seconds=settings.loop_stuck_seconds)
        self._uow: UnitOfWork | None = None
        self._resources = contextlib.AsyncExitStack()

    @property
    def uow(self) -> UnitOfWork:
        if self._uow is None:
            raise RuntimeError("the service has not started")
        return self._uow

    async def open(self) -> None:
        """Migrate, connect, and start the relay, consumer and housekeeper loops.

        Redis need not be up: the loops wait for it with backoff while the API takes writes.
        """
        spec, settings = self.spec, self.settings
        self.engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        if settings.migrate_on_start:
            await upgrade_to_head(self.engine, spec.migrations)
        sessions = session_factory(self.engine)
        self.redis = connect_redis(settings.redis_url)
        self.env = await self._resources.enter_async_context(spec.environment(settings))
        self.relay = OutboxRelay(
            sessions=sessions,
            redis=self.redis,
            batch_size=settings.relay_batch_size,
            interval_seconds=settings.relay_interval_seconds,
            linger_seconds=settings.relay_linger_seconds,
        )
        self._uow = UnitOfWork(sessions, on_commit=self._committed)
        self.jobs = JobWorker(
            uow=self._uow,
            handlers=spec.jobs,
            env=self.env,
            worker_name=settings.consumer_name,
            policy=JobPolicy(
                concurrency=settings.job_concurrency, lease_seconds=settings.job_lease_seconds
            ),
        )
        self.consumer = StreamConsumer(
            self.redis,
            spec.consumers,
            self._uow,
            consumer_name=settings.consumer_name,
            env=self.env,
            policy=ConsumerPolicy(
                batch_size=settings.consumer_batch_size,
                max_deliveries=settings.consumer_max_deliveries,
                retry_backoff_seconds=settings.consumer_retry_backoff_seconds,
                claim_idle_seconds=settings.consumer_claim_idle_seconds,
                stuck_seconds=settings.loop_stuck_seconds,
                longest_park=timedelta(hours=settings.consumer_longest_park_hours),
            ),
        )
        self.metrics.relay, self.metrics.consumer = self.relay, self.consumer
        self.metrics.supervisor, self.metrics.jobs = self.supervisor, self.jobs
        self.housekeeper = Housekeeper(
            redis=self.redis,
            uow=self._uow,
            published_streams=[data_type.stream() for data_type in spec.publishes],
            policy=RetentionPolicy(
                streams=timedelta(hours=settings.stream_retention_hours),
                outbox=timedelta(hours=settings.outbox_retention_hours),
                inbox=timedelta(hours=settings.inbox_retention_hours),
                jobs=timedelta(hours=settings.job_retention_hours),
                interval_seconds=settings.housekeeping_interval_seconds,
            ),
        )
        self.supervisor.start("outbox-relay", self.relay)
        if any(True for _ in spec.consumers):
            self.supervisor.start("stream-consumer", self.consumer)
        self.supervisor.start("housekeeper", self.housekeeper)
        if len(spec.jobs):
            self.supervisor.start("job-worker", self.jobs)

    def _committed(self) -> None:
        """A transaction committed: its events are relayed, its jobs run, without waiting."""
        for loop in (self.relay, self.jobs):
            if loop is not None:
                loop.nudge()

    async def close(self) -> None:
        """Finish the batch in hand, hand back what is still pending, stop the relay, disconnect.

        The consumer stops first: what its last batch recorded in the outbox is relayed now or,
        if the relay's round is already over, by the next replica to start.
        """
        grace = self.settings.shutdown_grace_seconds
        if self.consumer is not None:
            await self.supervisor.stop("stream-consumer", grace_seconds=grace)
            try:
                await self.consumer.hand_back()
            except Exception as error:  # Redis down: a restart under this name takes them back
                log.warning("%s could not hand back pending entries: %s", self.spec.name, error)
        # Cancelling a database call midway can leave its connection unusable: the loops stop
        # between rounds and are cancelled only if they do not finish in time.
        await self.supervisor.stop("job-worker", grace_seconds=grace)
        await self.supervisor.stop("housekeeper", grace_seconds=grace)
        await self.supervisor.stop("outbox-relay", grace_seconds=grace)
        await self._resources.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()

    async def status(self) -> dict[str, Any]:
        """Database and Redis health, consumer lag and dead letters, outbox backlog, parked
        events and the state of each background loop.

        Redis is asked with a short timeout: a frozen Redis must not hang the probe.
        """
        checks: dict[str, Any] = {}
        try:
            assert self.relay is not None
            # The outbox query is the database check: a read-only session, so on SQLite the
            # probe never takes (or waits for) the write lock.
            self.metrics.outbox = await self.relay.status()
            checks["database"] = "ok"
            checks["outbox"] = asdict(self.metrics.outbox)
            if self.consumer is not None and self.consumer.group:
                self.metrics.parked = await parked_status(
                    self.uow, group=self.consumer.group, now=utcnow()
                )
                checks["parked"] = asdict(self.metrics.parked)
            if len(self.spec.jobs):
                self.metrics.job_status = await job_status(self.uow)
                checks["jobs"] = asdict(self.metrics.job_status)
        except Exception as error:  # readiness reports any failure rather than raising it
            checks["database"] = f"error: {error_summary(error)}"
        try:
            assert self.redis is not None
            redis = self.redis
            group = self.spec.consumers.group

            async def ask_redis() -> list[StreamStatus]:
                await redis.ping()
                return list(
                    await asyncio.gather(
                        *(stream_status(redis, s.stream, group) for s in self.spec.consumers)
                    )
                )

            self.metrics.streams = await asyncio.wait_for(ask_redis(), timeout=REDIS_ANSWER_SECONDS)
            checks["redis"] = "ok"
            checks["streams"] = statuses_as_dict(self.metrics.streams)
        except TimeoutError:
            checks["redis"] = f"error: no answer within {REDIS_ANSWER_SECONDS}s"
        except Exception as error:
            checks["redis"] = f"error: {error_summary(error)}"
        checks["loops"] = self.supervisor.report()
        return checks


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(spec, settings)
    broker = create_broker(settings.redis_url, description=spec.description)
    document_subscriptions(broker, spec.consumers, consumer_name=settings.consumer_name)
    document_publications(broker, spec.publishes)
    asyncapi = AsyncAPI(
        broker, title=spec.title, version=spec.version, description=spec.description
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.open()
        log.info("%s ready on %s:%s", spec.name, settings.host, settings.port)
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title=spec.title,
        version=spec.version,
        description=spec.description,
        lifespan=lifespan,
        # Served from this service (shared.api_docs), not from a public CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.token_verifier = TokenVerifier(
        secret=settings.service_token_secret,
        public_key=settings.jwt_public_key,
        jwks_url=settings.jwks_url,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        district=settings.district_id,
        max_lifetime=timedelta(hours=settings.max_token_lifetime_hours),
    )
    app.state.family_link_verifier = (
        FamilyLinkVerifier(settings.family_link_public_key, district=settings.district_id)
        if settings.family_link_public_key
        else None
    )
    if spec.link_revocation is not None:
        app.state.link_revocation_check = _link_revocation_check(runtime, spec.link_revocation)
    if spec.teacher_sites is not None:
        app.state.teacher_sites = _roster_sites(runtime, spec.teacher_sites)
    if spec.administrator_sites is not None:
        app.state.administrator_sites = _roster_sites(runtime, spec.administrator_sites)
    install_problem_handlers(app)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(TimeoutError, _busy)
    app.add_exception_handler(DBAPIError, _database_error)
    # A connection refused or reset while connecting (the database restarting).
    app.add_exception_handler(ConnectionError, _database_error)
    app.add_middleware(
        RequestBodyLimit, max_bytes=settings.http_max_body_bytes, uploads=spec.uploads(settings)
    )
    app.include_router(_operations_router(runtime, asyncapi))
    app.include_router(_caller_router())
    app.include_router(openapi_pages_router(title=spec.title, openapi_url=app.openapi_url or ""))
    for router in spec.routers:
        app.include_router(router)
    return app


def _link_revocation_check(
    runtime: ServiceRuntime, revocation: LinkRevocation
) -> LinkRevocationCheck:
    """The service's revocation check, on its unit of work (there once the service started)."""

    async def check(principal: Principal) -> str | None:
        return await revocation(runtime.uow, principal)

    return check


def _roster_sites(runtime: ServiceRuntime, sites: RosterSites) -> RosterSitesCheck:
    """The service's roster read of a staff member's sites, on its unit of work."""

    async def check(district: str, staff_id: str) -> frozenset[str]:
        return await sites(runtime.uow, district, staff_id)

    return check


def _caller_router() -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.get("/me", response_model=Principal, responses=refusals(401))
    async def me(principal: CurrentPrincipal) -> Principal:
        """The caller as this service sees them: who, their role, and the sites they act at
        (a teacher or a site admin: where the roster says they work here, narrowed by their
        token's claim), for a page to choose what to show; what they may do is still decided
        by each call."""
        return principal

    return router


def _operations_router(runtime: ServiceRuntime, asyncapi: AsyncAPI) -> APIRouter:
    router = APIRouter(tags=["operations"])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(runtime.metrics)

    @router.get(
        "/healthz", responses={503: {"description": "A background loop is stuck: restart."}}
    )
    async def healthz() -> JSONResponse:
        """Liveness: 200 while the process serves and no background loop is stuck; 503 when one
        has been in one operation longer than LOOP_STUCK_SECONDS (restart the process)."""
        stuck = runtime.supervisor.stuck()
        if stuck:
            return JSONResponse({"status": "stuck", "loops": stuck}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", responses={503: {"description": "The database does not answer."}})
    async def readyz() -> JSONResponse:
        """Readiness: 200 while the database answers (writes are accepted), 503 when it does not.

        With Redis unreachable, or a background loop restarting or stuck, the service is
        "degraded", still ready: writes commit to the outbox and are relayed when Redis is back.
        The body shows per stream the group's lag, pending entries, oldest pending age and dead
        letters, the outbox backlog, the parked events, and each loop's state and last error.
        """
        checks = await runtime.status()
        if checks["database"] != "ok":
            status, code = "not ready", 503
        elif checks["redis"] != "ok" or runtime.supervisor.unhealthy():
            status, code = "degraded", 200
        else:
            status, code = "ready", 200
        return JSONResponse({"status": status, "checks": checks}, status_code=code)

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        """Prometheus metrics: stream lag, pending, oldest pending age, dead letters, outbox
        backlog, and counters of events consumed by outcome and relayed."""
        await runtime.status()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json")
    async def asyncapi_json() -> JSONResponse:
        """The AsyncAPI 3.0 document of the streams this service reads and writes."""
        return JSONResponse(asyncapi.to_specification().to_jsonable())

    @router.get("/asyncapi", response_class=HTMLResponse)
    async def asyncapi_html() -> HTMLResponse:
        """The AsyncAPI document, rendered for people."""
        return HTMLResponse(render_asyncapi(asyncapi.to_specification().to_jsonable()))

    router.include_router(dead_letters_router(runtime))
    router.include_router(jobs_router(runtime))
    return router


async def _busy(request: Request, error: Exception) -> JSONResponse:
    """No database connection (or, on SQLite, no turn to write) came free in time."""
    log.warning("busy on %s %s: %s", request.method, request.url.path, error)
    return problem_response(
        503, "the service is busy; try again in a moment", headers={"Retry-After": "1"}
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """The database could not be reached or the connection was lost mid-request (a restart, a
    failover): the pool discards its stale connections and the caller may try again, after
    checking whether a change it asked for took effect (a connection lost during COMMIT may
    have committed first). Any other database error is a server error, logged with its cause."""
    if isinstance(error, IntegrityError):
        return await _conflict(request, error)
    if is_refused_value(error):  # (a value no rule of ours refused first: say so, and log it)
        log.warning(
            "database refused a value on %s %s: %s", request.method, request.url.path, error
        )
        return problem_response(
            422, f"a value in the request cannot be stored or compared: {driver_reason(error)}"
        )
    unreachable = isinstance(error, ConnectionError | OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )
    if not unreachable:
        log.error("database error on %s %s", request.method, request.url.path, exc_info=error)
        return problem_response(500, "internal error")
    log.warning("database unreachable on %s %s: %s", request.method, request.url.path, error)
    return problem_response(
        503,
        "the database could not be reached; check whether the change was made, then try again",
        headers={"Retry-After": "1"},
    )


async def _conflict(request: Request, error: Exception) -> JSONResponse:
    """Two requests changed the same thing at once and the database kept one: retrying is safe.

    Only a taken key means that; a foreign-key or check violation is a rule the code failed to
    apply first, which retrying cannot mend: a server error, logged with its cause.
    """
    assert isinstance(error, IntegrityError)
    if not is_unique_violation(error):
        log.error("integrity error on %s %s", request.method, request.url.path, exc_info=error)
        return problem_response(500, "internal error")
    log.info("conflict on %s %s: %s", request.method, request.url.path, error)
    return problem_response(409, "a concurrent request changed the same record; retry the request")


async def _unit_of_work(request: Request) -> UnitOfWork:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.uow


UnitOfWorkDep = Annotated[UnitOfWork, Depends(_unit_of_work)]
