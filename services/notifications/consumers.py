"""Events notifications turns into messages to families.

Each handler takes a batch of events at once, so that the guardians' contact points, the
students' names and what was already delivered are looked up once per batch, not per message.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.notifications.delivery import Message, notify_guardians
from services.notifications.environment import NotificationsEnvironment
from services.notifications.tables import KnownStudent
from shared.events import CloudEvent, ConferenceBooked, ConferenceCancelled, GoalSet
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.roster import keep_roster_copy

consumers = EventConsumers(group="notifications")
Context = HandlerContext[NotificationsEnvironment]


keep_roster_copy(consumers, KnownStudent)


@consumers.handles_batch(GoalSet)
async def tell_guardians_about_new_goal(
    context: Context, events: Sequence[CloudEvent[GoalSet]]
) -> None:
    """Tell each of the student's guardians, in their language, about the goal just set."""
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=guardian_id,
                student_id=event.data.student_id,
                template="goal_set",
                cause=event,
                timezone=context.env.settings.timezone,
                values={"goal": event.data.title, "target_date": event.data.target_date},
            )
            for event in events
            for guardian_id in event.data.guardian_ids
        ],
    )


@consumers.handles_batch(ConferenceBooked)
async def confirm_booking_to_guardian(
    context: Context, events: Sequence[CloudEvent[ConferenceBooked]]
) -> None:
    """Send the guardian the booking is for a confirmation with time and room, in the site's
    time zone."""
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                template="conference_booked",
                cause=event,
                timezone=event.data.timezone or context.env.settings.timezone,
                values={
                    "starts_at": event.data.starts_at,
                    "minutes": int(
                        (event.data.ends_at - event.data.starts_at).total_seconds() // 60
                    ),
                    "room": event.data.room,
                    "interpreter": event.data.interpreter_language,
                },
            )
            for event in events
        ],
    )


@consumers.handles_batch(ConferenceCancelled)
async def tell_guardian_booking_cancelled(
    context: Context, events: Sequence[CloudEvent[ConferenceCancelled]]
) -> None:
    """Tell the guardian who had booked that the conference is cancelled."""
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                template="conference_cancelled",
                cause=event,
                timezone=event.data.timezone or context.env.settings.timezone,
                values={"starts_at": event.data.starts_at, "reason": event.data.reason},
            )
            for event in events
        ],
    )
