"""Events scheduling reacts to."""

from __future__ import annotations

from services.scheduling.tables import RosterStudent
from shared.environment import Environment
from shared.events import CloudEvent, StudentEnrolled
from shared.messaging.consumer import EventConsumers, HandlerContext

consumers = EventConsumers(group="scheduling")


@consumers.handles(StudentEnrolled)
async def keep_roster_when_student_enrolled(
    context: HandlerContext[Environment], event: CloudEvent[StudentEnrolled]
) -> None:
    """Keep the local roster read model that bookings are checked against."""
    session = context.session
    student = await session.get(RosterStudent, event.data.student_id)
    if student is not None and student.as_of > event.time:
        return  # an older change, delivered late (replicas, redeliveries): the newer one stands
    student = student or RosterStudent(
        id=event.data.student_id,
        district=event.district,
        site=event.site,
        given_name=event.data.given_name,
        as_of=event.time,
    )
    student.district, student.site, student.as_of = event.district, event.site, event.time
    student.given_name = event.data.given_name
    session.add(student)
