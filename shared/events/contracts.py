"""Every event the services publish: the public, versioned contract.

Additive changes keep the version; a breaking change is a new class with ``type_version = 2``
published beside the old one. Events carry ids, never contact details.

Roster events are *state* events: each carries the whole entity as its owner holds it, with the
entity's ``version``, which the owner raises in the same UPDATE that changes it. A reader keeps
a copy by applying an event only if its version is higher than the one it holds
(``shared.upsert.upsert_if_newer``), whatever order events arrive in; the owner may announce
the current state again at any time (``slc-portfolio reannounce``) and readers that are up to
date change nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.events.envelope import EventData

VERSION_DESCRIPTION = (
    "The entity's version at its owner, raised by every change: apply the event only if it is"
    " higher than the version you hold. 0 on events published before versions existed."
)


class SiteRegistered(EventData):
    """A school (site) was added to the district's roster, or its details changed."""

    event_name = "roster.site.registered"
    publisher = "portfolio"  # the service that owns the roster

    site_id: str = Field(description="The site's sourcedId (same as the envelope subject).")
    name: str = Field(description="The school's name, as families know it.")
    timezone: str = Field(
        description="IANA time zone of the school, e.g. `America/Los_Angeles`: conference times"
        " are shown in it."
    )
    version: int = Field(0, description=VERSION_DESCRIPTION)


class StudentEnrolled(EventData):
    """A student was added to (or updated in) a site's roster."""

    event_name = "roster.student.enrolled"
    publisher = "portfolio"  # the service that owns the roster

    student_id: str = Field(description="The student's sourcedId (same as the envelope subject).")
    given_name: str = Field(description="Name the student goes by, used in family messages.")
    family_name: str = Field(description="Family name.")
    grade: str = Field(description="Grade level, e.g. `KG`, `03`, `08`.")
    version: int = Field(0, description=VERSION_DESCRIPTION)


class GuardianLinked(EventData):
    """A guardian was linked to a student in the roster: who may act for a student, book for
    them and hear about them comes from these links, never from a token's claims."""

    event_name = "roster.guardian.linked"
    publisher = "portfolio"  # the service that owns the roster

    guardian_id: str = Field(description="The guardian's sourcedId.")
    student_id: str = Field(description="The student's sourcedId.")
    relationship: str = Field(description="e.g. `mother`, `father`, `guardian`.")
    version: int = Field(0, description=VERSION_DESCRIPTION)


class GuardianUnlinked(EventData):
    """A guardian's link to a student was removed from the roster: they no longer act for the
    student, book for them or hear about them."""

    event_name = "roster.guardian.unlinked"
    publisher = "portfolio"  # the service that owns the roster

    guardian_id: str = Field(description="The guardian's sourcedId.")
    student_id: str = Field(description="The student's sourcedId.")
    version: int = Field(
        0,
        description=VERSION_DESCRIPTION + " Shared with `roster.guardian.linked` of the same"
        " guardian and student: the higher version says whether they are linked.",
    )


class StudentWithdrawn(EventData):
    """A student left the district's roster (withdrawn, not erased): no new conferences or
    messages for them. Enrolling them again announces `roster.student.enrolled` with a higher
    version."""

    event_name = "roster.student.withdrawn"
    publisher = "portfolio"  # the service that owns the roster

    student_id: str = Field(description="The student's sourcedId (same as the envelope subject).")
    version: int = Field(
        0,
        description=VERSION_DESCRIPTION + " Shared with `roster.student.enrolled`.",
    )


class ClassRegistered(EventData):
    """A class (a homeroom, an advisory, a course section) was added to a site's roster, or it
    changed: its title, or who teaches it and who is in it. Carries the whole class, so a reader
    replaces what it holds. Teachers act for the students of their classes."""

    event_name = "roster.class.registered"
    publisher = "portfolio"  # the service that owns the roster

    class_id: str = Field(description="The class's sourcedId (same as the envelope subject).")
    title: str = Field(description="e.g. `Kindergarten - Room 4`, `Grade 8 Advisory`.")
    teacher_ids: list[str] = Field(
        default_factory=list, description="sourcedIds of the class's teachers, sorted."
    )
    student_ids: list[str] = Field(
        default_factory=list, description="sourcedIds of the students in the class, sorted."
    )
    term_ids: list[str] = Field(
        default_factory=list, description="sourcedIds of the academic sessions it runs in."
    )
    version: int = Field(0, description=VERSION_DESCRIPTION)


class ClassRemoved(EventData):
    """A class left the roster: its teachers no longer act for its students through it."""

    event_name = "roster.class.removed"
    publisher = "portfolio"  # the service that owns the roster

    class_id: str = Field(description="The class's sourcedId (same as the envelope subject).")
    version: int = Field(
        0, description=VERSION_DESCRIPTION + " Shared with `roster.class.registered`."
    )


class GoalSet(EventData):
    """A student set a new goal in their portfolio."""

    event_name = "portfolio.goal.set"

    goal_id: str = Field(description="The goal's id.")
    student_id: str = Field(description="The student's sourcedId.")
    title: str = Field(description="The goal in the student's words.")
    area: str = Field(description="Learning area, e.g. `reading`, `math`, `habits`.")
    target_date: date | None = Field(None, description="When the student hopes to reach it.")
    set_by: str = Field(description="sourcedId of who recorded it (the student or a teacher).")
    guardian_ids: list[str] = Field(
        default_factory=list,
        description="Guardians linked to the student when the goal was set: who should hear of it.",
    )


GUARDIANS_DESCRIPTION = (
    "Guardians linked to the student when it happened: who should hear of it (each service still"
    " checks the links it holds)."
)


class EvidenceAdded(EventData):
    """A piece of evidence (a work sample) was added to a student's portfolio."""

    event_name = "portfolio.evidence.added"

    evidence_id: str = Field(description="The evidence's id.")
    student_id: str = Field(description="The student's sourcedId.")
    kind: Literal["text", "link", "file"] = Field(description="What it is.")
    file_kind: Literal["image", "pdf", "audio", "video"] | None = Field(
        None, description="For a file: what kind of file."
    )
    title: str = Field(description="The caption, in the student's words (written by the student).")
    learning_area: str | None = Field(None, description="e.g. `reading`, `math`.")
    tags: list[str] = Field(
        default_factory=list,
        description="Codes of the school's skills, core values and standards it shows.",
    )
    status: Literal["submitted", "approved"] = Field(
        description="`approved` at once where the site does not review evidence."
    )
    added_by: str = Field(description="sourcedId of who added it (the student or a teacher).")


class EvidenceApproved(EventData):
    """A teacher approved a piece of evidence (or the site needs no approval): families see it."""

    event_name = "portfolio.evidence.approved"

    evidence_id: str = Field(description="The evidence's id.")
    student_id: str = Field(description="The student's sourcedId.")
    title: str = Field(description="The caption, in the student's words.")
    approved_by: str = Field(description="sourcedId of the teacher (or of who added it).")
    guardian_ids: list[str] = Field(default_factory=list, description=GUARDIANS_DESCRIPTION)


class ReflectionAdded(EventData):
    """A student reflected on a piece of evidence or on the term."""

    event_name = "portfolio.reflection.added"

    reflection_id: str = Field(description="The reflection's id.")
    student_id: str = Field(description="The student's sourcedId.")
    evidence_id: str | None = Field(None, description="The evidence it is about; none: the term.")
    prompts: list[Literal["glows", "grows", "learned", "hard", "next_steps"]] = Field(
        description="Which prompts the student answered."
    )
    written_by: str = Field(description="sourcedId of who wrote it down.")


class GoalProgressed(EventData):
    """Progress was recorded on a goal."""

    event_name = "portfolio.goal.progressed"

    goal_id: str = Field(description="The goal's id.")
    student_id: str = Field(description="The student's sourcedId.")
    progress_id: str = Field(description="The progress update's id.")
    note: str = Field(description="What happened, in the student's (or teacher's) words.")
    step: str | None = Field(None, description="A step reached, if the goal has steps.")
    percent: int | None = Field(None, description="How far, 0-100, if measured.")
    evidence_id: str | None = Field(None, description="Evidence that shows it, if any.")
    recorded_by: str = Field(description="sourcedId of who recorded it.")
    guardian_ids: list[str] = Field(default_factory=list, description=GUARDIANS_DESCRIPTION)


class GoalAchieved(EventData):
    """A student reached a goal."""

    event_name = "portfolio.goal.achieved"

    goal_id: str = Field(description="The goal's id.")
    student_id: str = Field(description="The student's sourcedId.")
    title: str = Field(description="The goal in the student's words.")
    recorded_by: str = Field(description="sourcedId of who recorded it.")
    guardian_ids: list[str] = Field(default_factory=list, description=GUARDIANS_DESCRIPTION)


class GoalRevised(EventData):
    """A goal was replaced by a revised one (the old one is kept, `revised`)."""

    event_name = "portfolio.goal.revised"

    goal_id: str = Field(description="The revised goal's new id.")
    previous_goal_id: str = Field(description="The goal it replaces.")
    student_id: str = Field(description="The student's sourcedId.")
    title: str = Field(description="The revised goal in the student's words.")
    previous_title: str = Field(description="The goal as it was.")
    recorded_by: str = Field(description="sourcedId of who revised it.")
    guardian_ids: list[str] = Field(default_factory=list, description=GUARDIANS_DESCRIPTION)


class GoalDropped(EventData):
    """A student stopped working on a goal."""

    event_name = "portfolio.goal.dropped"

    goal_id: str = Field(description="The goal's id.")
    student_id: str = Field(description="The student's sourcedId.")
    reason: str | None = Field(None, description="Why, in the student's words, if given.")
    recorded_by: str = Field(description="sourcedId of who recorded it.")
    guardian_ids: list[str] = Field(default_factory=list, description=GUARDIANS_DESCRIPTION)


class PlanReady(EventData):
    """A teacher marked a student's conference plan ready: the student can lead their conference
    from it, and their family may see it."""

    event_name = "portfolio.plan.ready"

    plan_id: str = Field(description="The plan's id.")
    student_id: str = Field(description="The student's sourcedId.")
    cycle_id: str = Field(description="The conference cycle it is for.")
    items: int = Field(description="How many pieces of evidence, reflections and goals it has.")
    ready_by: str = Field(description="sourcedId of the teacher who marked it ready.")
    guardian_ids: list[str] = Field(default_factory=list, description=GUARDIANS_DESCRIPTION)


class FamilyFeedbackReceived(EventData):
    """A guardian gave feedback after their child's conference."""

    event_name = "portfolio.family_feedback.received"

    feedback_id: str = Field(description="The feedback's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian who gave it.")
    cycle_id: str | None = Field(None, description="The conference cycle, if known.")
    rating: int = Field(
        description="How the conference went for them, 1 (poorly) to 5 (very well)."
    )
    goal_ids: list[str] = Field(
        default_factory=list, description="Goals the family said how they will support at home."
    )


class ConferenceBooked(EventData):
    """A family booked a conference time for a student."""

    event_name = "scheduling.conference.booked"

    booking_id: str = Field(description="The booking's id.")
    slot_id: str = Field(description="The booked time slot's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking is for.")
    booked_by: str = Field(
        description="sourcedId of who booked: the guardian, or staff booking for the family."
    )
    starts_at: datetime = Field(description="Start of the conference (UTC).")
    ends_at: datetime = Field(description="End of the conference (UTC).")
    room: str = Field(description="Where the conference takes place.")
    teacher_id: str = Field(description="sourcedId of the guiding teacher.")
    interpreter_language: str | None = Field(
        None, description="BCP 47 language an interpreter is requested for, if any."
    )
    timezone: str | None = Field(
        None,
        description="IANA time zone of the site, e.g. `America/Los_Angeles`, to show the time"
        " in (absent on events published before sites carried one).",
    )


class ConferenceCancelled(EventData):
    """A booked conference was cancelled; its seat is free again."""

    event_name = "scheduling.conference.cancelled"

    booking_id: str = Field(description="The booking's id.")
    slot_id: str = Field(description="The slot that was booked.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking was for.")
    starts_at: datetime = Field(description="Start of the cancelled conference (UTC).")
    cancelled_by: str = Field(description="sourcedId of who cancelled.")
    reason: str | None = Field(None, description="Why, if given.")
    timezone: str | None = Field(
        None,
        description="IANA time zone of the site, to show the time in (absent on events published"
        " before sites carried one).",
    )


class ConferenceCompleted(EventData):
    """A booked conference took place (the teacher recorded it completed): portfolio opens the
    family's feedback and prompts goal follow-up."""

    event_name = "scheduling.conference.completed"

    booking_id: str = Field(description="The booking's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking was for.")
    teacher_id: str = Field(description="sourcedId of the guiding teacher.")
    starts_at: datetime = Field(description="When the conference began (UTC).")
    completed_by: str = Field(description="sourcedId of who recorded it completed.")


class DeliverySent(EventData):
    """A message to a family was handed to its channel."""

    event_name = "notifications.delivery.sent"

    delivery_id: str = Field(description="The delivery's id.")
    recipient_id: str = Field(description="sourcedId of the guardian it went to.")
    channel: Literal["mailbox", "email", "sms"] = Field(description="How it was delivered.")
    template: str = Field(description="Which message, e.g. `goal_set`.")
    language: str = Field(description="BCP 47 language the message was written in.")
    cause_event_id: str = Field(description="id of the event that caused the message.")


class DeliveryFailed(EventData):
    """A message to a family could not be delivered."""

    event_name = "notifications.delivery.failed"

    delivery_id: str = Field(description="The delivery's id.")
    recipient_id: str = Field(description="sourcedId of the guardian it was meant for.")
    channel: Literal["mailbox", "email", "sms", "none"] = Field(
        description="The channel that failed, or `none` when no contact point was on file."
    )
    template: str = Field(description="Which message, e.g. `goal_set`.")
    error: str = Field(description="Why it failed, for operators.")
    cause_event_id: str = Field(description="id of the event that caused the message.")


ALL_EVENTS: tuple[type[EventData], ...] = (
    SiteRegistered,
    StudentEnrolled,
    GuardianLinked,
    GuardianUnlinked,
    StudentWithdrawn,
    ClassRegistered,
    ClassRemoved,
    GoalSet,
    GoalProgressed,
    GoalAchieved,
    GoalRevised,
    GoalDropped,
    EvidenceAdded,
    EvidenceApproved,
    ReflectionAdded,
    PlanReady,
    FamilyFeedbackReceived,
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceCompleted,
    DeliverySent,
    DeliveryFailed,
)
