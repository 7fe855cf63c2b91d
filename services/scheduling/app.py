"""Scheduling service wiring."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.scheduling.booking import api as booking_api
from services.scheduling.calendar import api as calendar_api
from services.scheduling.conference_day import api as conference_day_api
from services.scheduling.consumers import consumers
from services.scheduling.disruptions import api as disruptions_api
from services.scheduling.family import api as family_api
from services.scheduling.family_links import api as family_links_api
from services.scheduling.interpreters import api as interpreters_api
from services.scheduling.reports import api as reports_api
from services.scheduling.settings import SchedulingSettings
from services.scheduling.siblings import api as siblings_api
from services.scheduling.teacher_sites import teacher_sites
from services.scheduling.waitlist import api as waitlist_api
from services.scheduling.waitlist.interpreter_freed import jobs as waitlist_jobs
from services.scheduling.windows import api as windows_api
from shared.events import (
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceCheckedIn,
    ConferenceCompleted,
    ConferenceInterpreterChanged,
    ConferenceMoved,
    ConferenceNoShow,
    FamiliesNudged,
    FamilyLinkReissued,
    WaitlistJoined,
    WindowChanged,
    WindowOpened,
)
from shared.link_revocations import refuse_replaced_link
from shared.roster import administered_sites
from shared.service import ServiceSpec, create_app

SPEC = ServiceSpec(
    name="scheduling",
    title="Scheduling service",
    description=(
        "Owns conference windows, teachers' availability, conference times, bookings, the"
        " waitlist, interpreters and attendance. Keeps a local copy of the roster from roster"
        " events; publishes conference events."
    ),
    routers=[
        windows_api.router,
        booking_api.router,
        waitlist_api.router,
        disruptions_api.router,
        siblings_api.router,
        family_api.router,
        family_links_api.router,
        conference_day_api.router,
        reports_api.router,
        interpreters_api.router,
        calendar_api.router,
    ],
    migrations=Path(__file__).parent / "migrations",
    consumers=consumers,
    jobs=waitlist_jobs,
    link_revocation=refuse_replaced_link,
    administrator_sites=administered_sites,
    teacher_sites=teacher_sites,
    publishes=[
        WindowOpened,
        WindowChanged,
        ConferenceBooked,
        ConferenceMoved,
        ConferenceInterpreterChanged,
        ConferenceCancelled,
        ConferenceCheckedIn,
        ConferenceCompleted,
        ConferenceNoShow,
        FamiliesNudged,
        FamilyLinkReissued,
        WaitlistJoined,
    ],
)


def build_app(settings: SchedulingSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or SchedulingSettings())
