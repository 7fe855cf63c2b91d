"""The web front: the pages people use, acting through the services' HTTP APIs.

It owns no data: every page asks the service that owns what it shows, as the signed-in person
(a family's link is the bearer token of each call), so the services' own rules decide what
anyone may see and do, exactly as for any other caller of their APIs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.web import front
from services.web.district import dead_letters, jobs, roster_imports, status
from services.web.district.operations_api import OperationsApi
from services.web.district.roster_api import RosterImportsApi
from services.web.family import (
    booking,
    calendar,
    feedback,
    home,
    interpreter,
    portfolio,
    preferences,
    sign_in,
    together,
    waitlist,
)
from services.web.notifications_api import NotificationsApi
from services.web.office import (
    contact,
    day_cancel,
    figures,
    interpreters,
    messages,
    not_booked,
    reminders,
    siblings,
    students,
    windows,
)
from services.web.office import day as office_day
from services.web.office import waitlist as office_waitlist
from services.web.pages import visitor
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.security import SecurityHeaders
from services.web.sessions import SessionCookies
from services.web.settings import WebSettings
from services.web.staff import (
    availability,
    calendar_feeds,
    classes,
    day,
    dev_sign_in,
    plans,
    review,
)
from services.web.staff import reflect as teacher_reflect
from services.web.staff import sign_in as staff_sign_in
from services.web.staff.identity_provider import IdentityProvider
from services.web.staff.pending import PendingCookie
from services.web.student import conference, goals, plan, reflect, work
from services.web.student import home as student_home
from services.web.troubles import install_trouble_pages, too_large_page
from shared.body_limit import RequestBodyLimit

STATIC = Path(__file__).parent / "static"
# A page's form is a few kilobytes: anything far larger is refused before it is read.
MAX_FORM_BYTES = 256 * 1024


def upload_limits(settings: WebSettings) -> dict[str, int]:
    """The pages that take a file, each with the largest body it takes: a path pattern (matched
    whole, as the services' ``ServiceSpec.uploads``) and its limit, that of the service the file
    goes on to (a larger one would only be refused there, after the whole upload). Their form
    parser spools files to disk; a page adding an upload adds its line here."""
    return {
        roster_imports.IMPORTS: settings.roster_upload_max_bytes,
        work.UPLOAD_PATH: settings.evidence_upload_max_bytes,
        work.FIX_PATH: settings.evidence_upload_max_bytes,
        reflect.REFLECT_PATH: settings.evidence_upload_max_bytes,
        teacher_reflect.REFLECT_PATH: settings.evidence_upload_max_bytes,
    }


def build_app(
    settings: WebSettings, *, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    """The web front's app. ``transports`` (by service name, and ``oidc`` for the identity
    provider) replace the network, in tests."""
    transports = transports or {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            httpx.AsyncClient(
                base_url=settings.scheduling_url,
                timeout=settings.service_timeout_seconds,
                transport=transports.get("scheduling"),
            ) as scheduling,
            httpx.AsyncClient(
                base_url=settings.portfolio_url,
                timeout=settings.service_timeout_seconds,
                transport=transports.get("portfolio"),
            ) as portfolio,
            httpx.AsyncClient(
                base_url=settings.notifications_url,
                timeout=settings.service_timeout_seconds,
                transport=transports.get("notifications"),
            ) as notifications,
        ):
            app.state.scheduling = SchedulingApi(scheduling)
            app.state.portfolio = PortfolioApi(portfolio)
            app.state.notifications = NotificationsApi(notifications)
            app.state.roster_imports = RosterImportsApi(portfolio)
            app.state.operations = {
                name: OperationsApi(client, service=name)
                for name, client in (
                    ("portfolio", portfolio),
                    ("scheduling", scheduling),
                    ("notifications", notifications),
                )
            }
            yield

    app = FastAPI(
        title="Student-led conferences",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    secret = settings.session_secret.get_secret_value()
    app.state.settings = settings
    app.state.session_cookies = SessionCookies(
        secret, timedelta(hours=settings.session_lifetime_hours)
    )
    app.state.identity_provider = (
        IdentityProvider(settings, transport=transports.get("oidc"))
        if settings.oidc_configured
        else None
    )
    app.state.oidc_pending = PendingCookie(secret, name="slc_sign_in", path="/staff/sign-in")
    app.state.dev_sign_in_form = PendingCookie(secret, name="slc_dev_sign_in", path="/dev/sign-in")
    install_trouble_pages(app)
    # Refused with a page in the visitor's language, as a body found too large while read is
    # (a student's work, with its own page).
    app.add_middleware(
        RequestBodyLimit,
        max_bytes=MAX_FORM_BYTES,
        uploads=upload_limits(settings),
        refusal=_too_large,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        front,
        sign_in,
        home,
        booking,
        interpreter,
        together,
        waitlist,
        calendar,
        portfolio,
        feedback,
        preferences,
        staff_sign_in,
        dev_sign_in,
        day,
        review,
        status,
        roster_imports,
        dead_letters,
        jobs,
        windows,
        day_cancel,
        office_waitlist,
        not_booked,
        figures,
        messages,
        interpreters,
        reminders,
        contact,
        siblings,
        students,
        office_day,
        classes,
        plans,
        availability,
        calendar_feeds,
        student_home,
        work,
        reflect,
        teacher_reflect,
        goals,
        plan,
        conference,
    ):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Alive."""
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Ready to serve pages (it keeps no data of its own to wait for)."""
        return JSONResponse({"status": "ok"})

    return app


def _too_large(limit: int) -> ASGIApp:
    """``RequestBodyLimit``'s answer to a body declared too large: a page, not JSON (a
    student's work, the page it was sent from)."""

    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response: Response
        if work.takes_work(request.url.path):
            response = work.too_big_page(request, visitor(request))
        elif request.url.path == reflect.REFLECT_PATH:
            response = reflect.too_big_page(request, visitor(request))
        else:
            response = await teacher_reflect.too_big_answer(request, limit) or too_large_page(
                request, limit
            )
        await response(scope, receive, send)

    return refuse
