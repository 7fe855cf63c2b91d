"""Events notifications turns into messages to families."""

from __future__ import annotations

from services.notifications.delivery import notify_guardian
from services.notifications.environment import NotificationsEnvironment
from services.notifications.tables import KnownStudent
from shared.events import (
    CloudEvent,
    ConferenceBooked,
    ConferenceCancelled,
    GoalSet,
    StudentEnrolled,
)
from shared.messaging.consumer import EventConsumers, HandlerContext, needs

consumers = EventConsumers(group="notifications")
Context = HandlerContext[NotificationsEnvironment]


@consumers.handles(
    StudentEnrolled, provides=lambda event: [needs("student", event.data.student_id)]
)
async def remember_student_name(context: Context, event: CloudEvent[StudentEnrolled]) -> None:
    """Keep the name families know the student by, for messages."""
    session = context.session
    student = await session.get(KnownStudent, event.data.student_id)
    if student is not None and student.as_of > event.time:
        return  # an older change, delivered late: the newer one stands
    student = student or KnownStudent(
        id=event.data.student_id,
        district=event.district,
        site=event.site,
        given_name=event.data.given_name,
        as_of=event.time,
    )
    student.district, student.site, student.as_of = event.district, event.site, event.time
    student.given_name = event.data.given_name
    session.add(student)


@consumers.handles(GoalSet)
async def tell_guardians_about_new_goal(context: Context, event: CloudEvent[GoalSet]) -> None:
    """Tell each of the student's guardians, in their language, about the goal just set."""
    for guardian_id in event.data.guardian_ids:
        await notify_guardian(
            context.session,
            guardian_id=guardian_id,
            student_id=event.data.student_id,
            template="goal_set",
            cause=event,
            timezone=context.env.settings.timezone,
            goal=event.data.title,
            target_date=event.data.target_date,
        )


@consumers.handles(ConferenceBooked)
async def confirm_booking_to_guardian(
    context: Context, event: CloudEvent[ConferenceBooked]
) -> None:
    """Send the guardian who booked a confirmation with time and room."""
    data = event.data
    await notify_guardian(
        context.session,
        guardian_id=data.guardian_id,
        student_id=data.student_id,
        template="conference_booked",
        cause=event,
        timezone=context.env.settings.timezone,
        starts_at=data.starts_at,
        minutes=int((data.ends_at - data.starts_at).total_seconds() // 60),
        room=data.room,
        interpreter=data.interpreter_language,
    )


@consumers.handles(ConferenceCancelled)
async def tell_guardian_booking_cancelled(
    context: Context, event: CloudEvent[ConferenceCancelled]
) -> None:
    """Tell the guardian who had booked that the conference is cancelled."""
    data = event.data
    await notify_guardian(
        context.session,
        guardian_id=data.guardian_id,
        student_id=data.student_id,
        template="conference_cancelled",
        cause=event,
        timezone=context.env.settings.timezone,
        starts_at=data.starts_at,
        reason=data.reason,
    )
