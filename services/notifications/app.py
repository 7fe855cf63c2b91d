"""Notifications service wiring."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.notifications import digest  # noqa: F401  (its job registers on sending's)
from services.notifications.api import router
from services.notifications.consumers import consumers
from services.notifications.email_api import router as email_router
from services.notifications.environment import notifications_environment
from services.notifications.preferences_api import router as preferences_router
from services.notifications.reminders_api import router as reminders_router
from services.notifications.reports_api import router as reports_router
from services.notifications.school_office_api import router as school_office_router
from services.notifications.sending import jobs
from services.notifications.settings import NotificationsSettings
from services.notifications.short_links_api import router as short_links_router
from services.notifications.sms_api import router as sms_router
from shared.events import DeliveryDelivered, DeliveryFailed, DeliverySent
from shared.link_revocations import refuse_replaced_link
from shared.roster import administered_sites
from shared.service import ServiceSpec, create_app

SPEC = ServiceSpec(
    name="notifications",
    title="Notifications service",
    description=(
        "Owns family contact points and language preferences, message templates and "
        "deliveries. Turns scheduling and portfolio events into messages to families."
    ),
    routers=[
        router,
        email_router,
        sms_router,
        preferences_router,
        reports_router,
        reminders_router,
        school_office_router,
        short_links_router,
    ],
    migrations=Path(__file__).parent / "migrations",
    consumers=consumers,
    link_revocation=refuse_replaced_link,
    administrator_sites=administered_sites,
    publishes=[DeliverySent, DeliveryDelivered, DeliveryFailed],
    environment=notifications_environment,
    jobs=jobs,
)


def build_app(settings: NotificationsSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or NotificationsSettings())
