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

from pydantic import BaseModel, Field

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
    teacher_names: dict[str, str] = Field(
        default_factory=dict,
        description="The teachers' names as families and students see them (`Ana Rivera`), by"
        " sourcedId (a teacher the roster has no name for is left out).",
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


class AdministratorRegistered(EventData):
    """Where someone is a school administrator on the roster, whole: the schools whose office
    they act for (their students' portfolios, conferences, families and messages). Announced
    when it changes; an administrator the roster no longer has, or who no longer administers
    any school, is announced with no schools. A site administrator's token acts only at these
    schools (its `sites` claim can narrow them, never widen them)."""

    event_name = "roster.administrator.registered"
    publisher = "portfolio"  # the service that owns the roster

    administrator_id: str = Field(
        description="The administrator's sourcedId (same as the envelope subject)."
    )
    site_ids: list[str] = Field(
        default_factory=list,
        description="sourcedIds of the schools they administer, sorted; empty: none. The"
        " envelope's `site` is the first of them (empty when there is none).",
    )
    version: int = Field(0, description=VERSION_DESCRIPTION)


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
    spoken: bool = Field(
        False,
        description="Said aloud: a recording answers the prompt (portfolio keeps it; it is"
        " never on a stream).",
    )
    written_by: str = Field(description="sourcedId of who wrote it down.")
    evidence_title: str | None = Field(
        None, description="The title of the evidence it is about, as the student named it."
    )
    guardian_ids: list[str] = Field(
        default_factory=list,
        description="Guardians linked to the student who may read it now, and should hear of it:"
        " those of a reflection on the term, or on evidence approved; none for one on evidence"
        " not approved (yet).",
    )


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
    window_id: str | None = Field(
        None, description="The conference window it belongs to (absent on older events)."
    )
    sequence: int = Field(
        0, description="The booking's calendar revision (iCalendar SEQUENCE), raised on moves."
    )
    format: Literal["one_family", "stations", "drop_in"] = Field(
        "one_family",
        description="One family at a time, several at stations in one room, or a drop-in table.",
    )
    mode: Literal["in_person", "virtual"] = Field(
        "in_person",
        description="In person, or virtual (the meeting link is in the booking's calendar"
        " invitation from scheduling's API, never on a stream).",
    )
    station: int | None = Field(None, description="The family's station (from 1), at stations.")
    interpreter_id: str | None = Field(
        None, description="The interpreter booked with it, when one was asked for."
    )
    chain_id: str | None = Field(
        None, description="Shared by the conferences of siblings booked back to back."
    )
    booked_via: Literal["family", "staff", "waitlist"] = Field(
        "family",
        description="The family booked, staff booked for them, or the waitlist gave them a seat"
        " that came free.",
    )
    waitlist_entry_id: str | None = Field(
        None,
        description="The waitlist entry whose place the seat went to, when `booked_via` is"
        " `waitlist` (the `entry_id` of its `scheduling.waitlist.joined`).",
    )


class ConferenceCancelled(EventData):
    """A booked conference was cancelled; its seat is free again."""

    event_name = "scheduling.conference.cancelled"

    booking_id: str = Field(description="The booking's id.")
    slot_id: str = Field(description="The slot that was booked.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking was for.")
    starts_at: datetime = Field(description="Start of the cancelled conference (UTC).")
    ends_at: datetime | None = Field(
        None, description="End of the cancelled conference (UTC); absent in older events."
    )
    room: str | None = Field(None, description="Where it was to take place.")
    cancelled_by: str = Field(description="sourcedId of who cancelled.")
    reason: str | None = Field(None, description="Why, if given.")
    timezone: str | None = Field(
        None,
        description="IANA time zone of the site, to show the time in (absent on events published"
        " before sites carried one).",
    )
    window_id: str | None = Field(None, description="The conference window it belonged to.")
    teacher_id: str | None = Field(None, description="sourcedId of the guiding teacher.")
    mode: Literal["in_person", "virtual"] | None = Field(
        None,
        description="In person or virtual (absent on events published before 2026-12-05).",
    )
    sequence: int = Field(
        0,
        description="The booking's calendar revision of its cancellation: one above its booking's"
        " or last move's (events published before 2026-12-05 repeat the last one's).",
    )
    by_school: bool = Field(
        False, description="The school cancelled it (a moved or cancelled day), not the family."
    )
    waitlisted: bool = Field(
        False,
        description="The family was put at the front of the teacher's waitlist (when the school"
        " cancelled).",
    )
    links_until: datetime | None = Field(
        None,
        description="Until when a link to book another time in the window is of use (UTC): the"
        " end of its last day (absent on events before 2026-12-06).",
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
    window_id: str | None = Field(None, description="The conference window it belonged to.")
    corrects_no_show: bool = Field(
        False,
        description="The conference had been recorded as missed (`conference.no_show`) and took"
        " place after all: this corrects it.",
    )


class WindowOpened(EventData):
    """A school opened a conference window: notifications invites every family of the site,
    each with their own link. Booking itself starts at ``opens_at``."""

    event_name = "scheduling.window.opened"

    window_id: str = Field(description="The window's id.")
    name: str = Field(description='What the school calls it, e.g. "Fall 2026 SLCs at Conway".')
    cycle_id: str | None = Field(None, description="The conference cycle it is for, if named.")
    timezone: str = Field(description="IANA time zone of the site.")
    first_day: date = Field(description="The first conference day (in the site's time zone).")
    last_day: date = Field(description="The last conference day.")
    opens_at: datetime = Field(description="When families may start booking (UTC).")
    closes_at: datetime = Field(
        description="When booking closes (UTC); it may later move later, never earlier"
        " (`window.changed`). Families' links work until the end of the last day."
    )
    early_access_at: datetime | None = Field(
        None, description="When families with several children may start booking, if earlier."
    )
    change_cutoff_minutes: int = Field(
        description="Families may move or cancel online until this long before a conference."
    )
    opened_by: str = Field(description="sourcedId of who opened it.")


class WindowChanged(EventData):
    """The school changed an opened window: its name, a later close of booking, or how late
    families may change online (its days and opening stay as families were told). The window as
    it now is; ``changed`` names what changed."""

    event_name = "scheduling.window.changed"

    window_id: str = Field(description="The window's id.")
    name: str = Field(description="What the school calls it.")
    cycle_id: str | None = Field(None, description="The conference cycle it is for, if named.")
    timezone: str = Field(description="IANA time zone of the site.")
    first_day: date = Field(description="The first conference day (in the site's time zone).")
    last_day: date = Field(description="The last conference day.")
    opens_at: datetime = Field(description="When families may start booking (UTC).")
    closes_at: datetime = Field(description="When booking closes (UTC).")
    early_access_at: datetime | None = Field(
        None, description="When families with several children may start booking, if earlier."
    )
    change_cutoff_minutes: int = Field(
        description="Families may move or cancel online until this long before a conference."
    )
    changed: list[str] = Field(
        description="The fields that changed: `name`, `cycle_id`, `closes_at`,"
        " `change_cutoff_minutes`."
    )
    changed_by: str = Field(description="sourcedId of who changed it.")


class ConferenceMoved(EventData):
    """A booked conference moved to another time (by the family, or by the school moving a
    time): the booking keeps its id and its calendar event its UID, with ``sequence`` raised."""

    event_name = "scheduling.conference.moved"

    booking_id: str = Field(description="The booking's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking is for.")
    teacher_id: str = Field(description="sourcedId of the guiding teacher.")
    slot_id: str = Field(description="The new time slot's id.")
    starts_at: datetime = Field(description="New start (UTC).")
    ends_at: datetime = Field(description="New end (UTC).")
    room: str = Field(description="Where it now takes place.")
    previous_slot_id: str = Field(description="The slot it left.")
    previous_starts_at: datetime = Field(description="The start it had (UTC).")
    sequence: int = Field(description="The booking's calendar revision after the move.")
    moved_by: str = Field(description="sourcedId of who moved it.")
    by_school: bool = Field(
        False,
        description="The school moved the time of its own accord; false when the family moved"
        " it, themselves or by asking the school office (`at_family_request`).",
    )
    reason: str | None = Field(None, description="Why, if given.")
    timezone: str | None = Field(None, description="IANA time zone of the site.")
    window_id: str | None = Field(None, description="The conference window.")
    mode: Literal["in_person", "virtual"] = Field("in_person", description="In person or virtual.")
    station: int | None = Field(None, description="The family's station, at stations.")
    interpreter_id: str | None = Field(None, description="The interpreter booked with it.")
    interpreter_language: str | None = Field(
        None,
        description="BCP 47 language the interpreter is booked for, if any (absent on events"
        " published before 2026-12-05).",
    )


class ConferenceInterpreterChanged(EventData):
    """A booked conference's interpreter was asked for, changed to another language, or given
    up, at the same time (by the family, or by the school): the booking keeps its id and time,
    its calendar event its UID, with ``sequence`` raised."""

    event_name = "scheduling.conference.interpreter_changed"

    booking_id: str = Field(description="The booking's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking is for.")
    teacher_id: str = Field(description="sourcedId of the guiding teacher.")
    slot_id: str = Field(description="The booking's time slot (unchanged).")
    starts_at: datetime = Field(description="Start of the conference (UTC).")
    ends_at: datetime = Field(description="End of the conference (UTC).")
    room: str = Field(description="Where it takes place.")
    sequence: int = Field(description="The booking's calendar revision after the change.")
    changed_by: str = Field(description="sourcedId of who changed it.")
    by_school: bool = Field(
        False,
        description="The school changed it of its own accord; false when the family changed"
        " it, themselves or by asking the school office (`at_family_request`).",
    )
    interpreter_language: str | None = Field(
        description="BCP 47 language the interpreter is now booked for; null: none any more."
    )
    interpreter_id: str | None = Field(None, description="The interpreter now booked with it.")
    previous_interpreter_language: str | None = Field(
        None, description="The language it had an interpreter for before, if any."
    )
    timezone: str | None = Field(None, description="IANA time zone of the site.")
    window_id: str | None = Field(None, description="The conference window.")
    mode: Literal["in_person", "virtual"] = Field("in_person", description="In person or virtual.")
    station: int | None = Field(None, description="The family's station, at stations.")


class ConferenceCheckedIn(EventData):
    """The family arrived for their conference."""

    event_name = "scheduling.conference.checked_in"

    booking_id: str = Field(description="The booking's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking is for.")
    teacher_id: str = Field(description="sourcedId of the guiding teacher.")
    starts_at: datetime = Field(description="When the conference was to begin (UTC).")
    checked_in_by: str = Field(description="sourcedId of who checked them in.")
    window_id: str | None = Field(None, description="The conference window.")
    corrects_no_show: bool = Field(
        False,
        description="The family had been recorded as not coming (`conference.no_show`) and came"
        " after all: this corrects it.",
    )


class ConferenceNoShow(EventData):
    """The family did not come to their conference: notifications offers them a new time."""

    event_name = "scheduling.conference.no_show"

    booking_id: str = Field(description="The booking's id.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the booking was for.")
    teacher_id: str = Field(description="sourcedId of the guiding teacher.")
    starts_at: datetime = Field(description="When the conference was to begin (UTC).")
    recorded_by: str = Field(description="sourcedId of who recorded it.")
    window_id: str | None = Field(None, description="The conference window.")
    timezone: str | None = Field(None, description="IANA time zone of the site.")


class NudgedFamily(BaseModel):
    """A student with no conference yet, and the guardians reminded to book."""

    student_id: str = Field(description="The student's sourcedId.")
    guardian_ids: list[str] = Field(description="sourcedIds of the guardians reminded.")
    waitlisted: bool = Field(
        False,
        description="The family is on the window's waitlist for the student: the reminder says"
        " that a time opening up is booked for them, and that another may be chosen meanwhile.",
    )


class FamiliesNudged(EventData):
    """The school reminded families who have not booked yet to book (each with their link)."""

    event_name = "scheduling.families.nudged"

    nudge_id: str = Field(description="The nudge's id.")
    window_id: str = Field(description="The conference window.")
    nudged_by: str = Field(description="sourcedId of who sent the reminder.")
    families: list[NudgedFamily] = Field(description="Who was reminded, per student.")
    closes_at: datetime = Field(description="When booking closes (UTC).")
    timezone: str | None = Field(
        None, description="IANA time zone of the site, to show the closing time in."
    )
    links_until: datetime | None = Field(
        None,
        description="Until when the families' links work (UTC): the end of the window's last"
        " day (absent on events before 2026-12-05: until `closes_at`).",
    )


class FamilyLinkReissued(EventData):
    """The school revoked a family's links (lost phone, forwarded message): every link issued
    before ``revoked_before`` stops working, and notifications sends the family a new one."""

    event_name = "scheduling.family_link.reissued"

    guardian_id: str = Field(description="sourcedId of the guardian.")
    revoked_before: datetime = Field(
        description="Links issued before this (UTC) are refused; a new link is issued after it."
    )
    expires_at: datetime = Field(description="When the new link should expire (UTC).")
    reissued_by: str = Field(description="sourcedId of who reissued it.")
    timezone: str | None = Field(
        None,
        description="IANA time zone of the site of the child the event names, to show the"
        " expiry in.",
    )


class WaitlistJoined(EventData):
    """A family joined a conference window's waitlist (from its link, or the school for it):
    notifications tells the family what it waits for, with its link to choose another time
    meanwhile or leave the line. (A family put first on the waitlist because its day was
    cancelled is told so by ``conference.cancelled``; no event of this type.)"""

    event_name = "scheduling.waitlist.joined"

    entry_id: str = Field(description="The waitlist entry's id.")
    window_id: str = Field(description="The conference window.")
    student_id: str = Field(description="The student's sourcedId.")
    guardian_id: str = Field(description="sourcedId of the guardian the place is for.")
    teacher_id: str = Field(description="sourcedId of the teacher whose conference it waits for.")
    day: date | None = Field(
        None,
        description="The one day the family waits for, on the site's calendar; absent: any day"
        " of the window.",
    )
    part_of_day: Literal["any", "morning", "afternoon", "evening"] = Field(
        description="When in the day a time suits the family (morning: before 12 noon;"
        " afternoon: 12 noon to 5 pm; evening: from 5 pm; on the site's clock)."
    )
    interpreter_language: str | None = Field(
        None, description="BCP 47 tag of the interpreter asked for, if any."
    )
    joined_by: str = Field(description="sourcedId of who put the family on the waitlist.")
    by_school: bool = Field(
        description="The school put the family on the waitlist (a call to the office), not the"
        " family from its link."
    )
    free_times_that_fit: int = Field(
        0,
        description="How many free times fitted the wish when the family joined: the waitlist"
        " books only a seat that comes free later, so the family is told to choose one of them.",
    )
    timezone: str | None = Field(None, description="IANA time zone of the site.")
    links_until: datetime | None = Field(
        None, description="Until when the family's link works (UTC): the end of the window."
    )


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


class DeliveryDelivered(EventData):
    """A message reached the family: the SMS provider's delivery receipt, or the report of the
    family's mail server (`POST /email/reports`)."""

    event_name = "notifications.delivery.delivered"

    delivery_id: str = Field(description="The delivery's id.")
    recipient_id: str = Field(description="sourcedId of the guardian it reached.")
    channel: Literal["email", "sms"] = Field(description="How it was delivered.")
    template: str = Field(description="Which message, e.g. `conference_booked`.")
    cause_event_id: str = Field(description="id of the event that caused the message.")


ALL_EVENTS: tuple[type[EventData], ...] = (
    SiteRegistered,
    StudentEnrolled,
    GuardianLinked,
    GuardianUnlinked,
    StudentWithdrawn,
    ClassRegistered,
    ClassRemoved,
    AdministratorRegistered,
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
    WindowOpened,
    WindowChanged,
    ConferenceMoved,
    ConferenceInterpreterChanged,
    ConferenceCheckedIn,
    ConferenceNoShow,
    FamiliesNudged,
    FamilyLinkReissued,
    WaitlistJoined,
    DeliverySent,
    DeliveryFailed,
    DeliveryDelivered,
)
