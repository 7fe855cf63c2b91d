"""Events portfolio reacts to: a completed conference opens the family's feedback."""

from __future__ import annotations

from services.portfolio.cycles.queries import cycle_at
from services.portfolio.feedback.tables import FeedbackRequest
from services.portfolio.tables import Student
from shared.environment import Environment
from shared.events import CloudEvent, ConferenceCompleted
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.upsert import dialect_insert

consumers = EventConsumers(group="portfolio")


@consumers.handles(ConferenceCompleted)
async def open_family_feedback(
    context: HandlerContext[Environment], event: CloudEvent[ConferenceCompleted]
) -> None:
    """Ask the family for feedback once their child's conference has taken place (goals still
    active then are listed for follow-up in the next cycle's plan)."""
    completed = event.data
    student = await context.session.get(Student, completed.student_id)
    if student is None:
        return  # not on this district's roster: nothing to ask about
    cycle = await cycle_at(context.session, student.site, completed.starts_at)
    table = FeedbackRequest.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(context.session, table)
        .values(
            id=event.id,
            district=student.district,
            site=student.site,
            student_id=student.id,
            booking_id=completed.booking_id,
            cycle_id=cycle.id if cycle else None,
            teacher_id=completed.teacher_id,
            conference_at=completed.starts_at,
        )
        .on_conflict_do_nothing(index_elements=["booking_id"])
    )
    await context.session.exec(statement)  # type: ignore[call-overload]
