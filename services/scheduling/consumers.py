"""Events scheduling reacts to: it keeps a local copy of the roster to check bookings against."""

from __future__ import annotations

from collections.abc import Sequence

from services.scheduling.tables import RosterSite, RosterStudent
from shared.environment import Environment
from shared.events import CloudEvent, SiteRegistered, StudentEnrolled
from shared.messaging.consumer import EventConsumers, HandlerContext, needs
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


@consumers.handles_batch(
    StudentEnrolled, provides=lambda event: [needs("student", event.data.student_id)]
)
async def keep_roster_when_student_enrolled(
    context: Context, events: Sequence[CloudEvent[StudentEnrolled]]
) -> None:
    """Keep the local roster read model that bookings are checked against."""
    await upsert_if_newer(
        context.session,
        RosterStudent,
        [
            {
                "id": event.data.student_id,
                "district": event.district,
                "site": event.site,
                "given_name": event.data.given_name,
                "version": event.data.version,
            }
            for event in events
        ],
    )
