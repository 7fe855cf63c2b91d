"""Event contracts and their wire format."""

from shared.events.contracts import (
    ALL_EVENTS,
    ClassRegistered,
    ClassRemoved,
    ConferenceBooked,
    ConferenceCancelled,
    DeliveryFailed,
    DeliverySent,
    GoalSet,
    GuardianLinked,
    GuardianUnlinked,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.events.envelope import (
    CloudEvent,
    EventData,
    UndecodableEvent,
    from_stream_fields,
    new_event,
    to_stream_fields,
)

__all__ = [
    "ALL_EVENTS",
    "ClassRegistered",
    "ClassRemoved",
    "CloudEvent",
    "ConferenceBooked",
    "ConferenceCancelled",
    "DeliveryFailed",
    "DeliverySent",
    "EventData",
    "GoalSet",
    "GuardianLinked",
    "GuardianUnlinked",
    "SiteRegistered",
    "StudentEnrolled",
    "StudentWithdrawn",
    "UndecodableEvent",
    "from_stream_fields",
    "new_event",
    "to_stream_fields",
]
