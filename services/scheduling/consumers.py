"""Events scheduling reacts to: it keeps a local copy of the roster to check bookings against
(sites and their time zones, students, which guardians are linked to each, and the classes
whose teachers act for them), and whose conference plans are ready."""

from __future__ import annotations

from collections.abc import Sequence

from services.scheduling.conference_day.consumers import keep_plan_readiness
from services.scheduling.tables import RosterSite, RosterStudent
from shared.environment import Environment
from shared.events import CloudEvent, PlanReady, SiteRegistered
from shared.messaging.consumer import EventConsumers, HandlerContext, needs
from shared.roster import keep_roster_copy
from shared.roster_classes import keep_class_copy
from shared.upsert import upsert_if_newer

consumers = EventConsumers(group="scheduling")
Context = HandlerContext[Environment]


@consumers.handles_batch(SiteRegistered, provides=lambda event: [needs("site", event.data.site_id)])
async def keep_sites(context: Context, events: Sequence[CloudEvent[SiteRegistered]]) -> None:
    """Keep the schools and their time zones, which conference times are opened in."""
    await upsert_if_newer(
        context.session,
        RosterSite,
        [
            {
                "id": event.data.site_id,
                "district": event.district,
                "name": event.data.name,
                "timezone": event.data.timezone,
                "version": event.data.version,
            }
            for event in events
        ],
    )


keep_roster_copy(consumers, RosterStudent)
keep_class_copy(consumers)
consumers.handles_batch(PlanReady)(keep_plan_readiness)
