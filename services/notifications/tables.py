"""Notifications' tables. Contact details live here and nowhere else."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Column, Text, Time, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, metadata_for, new_id, utcnow
from shared.link_revocations import FamilyLinkRevocation
from shared.roster import RosterAdministrator, RosterGuardianLink, RosterSite
from shared.roster_classes import RosterClass, RosterClassMember
from shared.runtime_tables import RUNTIME_TABLES


class ContactPoint(SQLModel, table=True):
    """How to reach a guardian, and in which language."""

    __tablename__ = "contact_point"

    guardian_id: str = Field(primary_key=True, max_length=64)
    district: str = Field(index=True, max_length=64)
    site: str = Field(index=True, max_length=64)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    # (indexed: a family's text reply, a STOP, finds its guardians by number)
    phone: str | None = Field(default=None, index=True, max_length=32)
    language: str = Field(default="en", max_length=35)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KnownStudent(SQLModel, table=True):
    """Names to use in messages, kept from ``roster.student.enrolled`` events."""

    __tablename__ = "known_student"

    id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    given_name: str = Field(max_length=100)
    active: bool = Field(default=True, description="False once withdrawn from the roster.")
    version: int = Field(description="The owner's version of the student applied last.")


class Delivery(SQLModel, table=True):
    """One message to one guardian, rendered in their language."""

    __tablename__ = "delivery"
    # One message per cause, recipient, template and channel, however often the cause is
    # redelivered: a guardian who chose email and text gets one of each.
    __table_args__ = (
        UniqueConstraint(
            "cause_event_id", "recipient_id", "template", "channel", name="uq_delivery_once"
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    recipient_id: str = Field(index=True, max_length=64)
    student_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    address: str | None = Field(default=None, max_length=320)
    language: str = Field(max_length=35)
    template: str = Field(max_length=64)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, max_length=500)
    cause_event_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    provider_id: str | None = Field(
        default=None,
        index=True,
        max_length=64,
        description="The SMS provider's id for the message, which its delivery receipts name.",
    )
    calendar: str | None = Field(
        default=None,
        sa_column=Column(Text, nullable=True),
        description="The conference's .ics (RFC 5545) sent with the message, if any.",
    )
    not_before: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="Held for the guardian's quiet hours until then.",
    )
    expires_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="Of no use after this (a reminder, once its conference begins): quiet hours"
        " never hold it, or the message sent instead of it, that long.",
    )
    critical: bool = Field(
        default=False, description="Cannot wait: overrides quiet hours and opt-outs of its kind."
    )
    escalated_from: str | None = Field(
        default=None,
        max_length=36,
        description="The delivery on another channel that failed, which this one stands in for.",
    )


class SmsOptOut(SQLModel, table=True):
    """A phone number that replied STOP: nothing is texted to it until it replies START."""

    __tablename__ = "sms_opt_out"

    phone: str = Field(primary_key=True, max_length=32)
    keyword: str = Field(max_length=16, description="The reply that opted out, e.g. `STOP`.")
    opted_out_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SmsKeywordsHeard(SQLModel, table=True):
    """The STOP and START replies last heard from a number, by the provider's ``MessageSid``
    (oldest first, the last ``SMS_KEYWORDS_KEPT``): one the provider hands over again (its
    retry of a webhook that timed out) is applied once, so a STOP sent again after a later START
    does not opt the number out again."""

    __tablename__ = "sms_keywords_heard"

    phone: str = Field(primary_key=True, max_length=32)
    message_sids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


SMS_KEYWORDS_KEPT = 20


class GuardianPreference(SQLModel, table=True):
    """What a guardian wants to hear, by which channels, and when (``preferences.py``)."""

    __tablename__ = "guardian_preference"

    guardian_id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    channels: dict[str, list[str]] | None = Field(
        default=None,
        sa_column=Column(JSON, nullable=True),
        description="Per kind (`logistics`, `news`), the channels chosen: `email`, `sms`.",
    )
    opted_out: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="Kinds of message the guardian does not want.",
    )
    quiet_from: time | None = Field(default=None, sa_column=Column(Time, nullable=True))
    quiet_until: time | None = Field(default=None, sa_column=Column(Time, nullable=True))
    timezone: str | None = Field(default=None, max_length=64)
    digest_hour: int = Field(default=18)
    language: str | None = Field(
        default=None,
        max_length=35,
        description="The language the guardian chose for messages (None: their contact's).",
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DigestItem(SQLModel, table=True):
    """A piece of portfolio news waiting for the guardian's daily digest."""

    __tablename__ = "digest_item"
    __table_args__ = (UniqueConstraint("cause_event_id", "guardian_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    guardian_id: str = Field(index=True, max_length=64)
    student_id: str = Field(max_length=64)
    kind: str = Field(
        max_length=32,
        description="`goal_set`, `goal_achieved`, `evidence_approved`, `reflection_added`,"
        " `reflection_spoken` (said aloud).",
    )
    title: str = Field(sa_column=Column(Text, nullable=False))
    cause_event_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    digest_id: str | None = Field(
        default=None,
        index=True,
        max_length=36,
        description="The digest that carried it: its deliveries' `cause_event_id`.",
    )


class MessageRound(SQLModel, table=True):
    """A round of messages to many families at once (a window's invitations, a nudge to book),
    by the event that started it: the conference window it is about, which the office's report
    of each round names (0023)."""

    __tablename__ = "message_round"

    cause_event_id: str = Field(primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    window_id: str = Field(max_length=64)


class CouldNotReach(SQLModel, table=True):
    """A family every channel failed for: the school office's list, until they are reached."""

    __tablename__ = "could_not_reach"

    delivery_id: str = Field(primary_key=True, max_length=36)
    district: str = Field(max_length=64)
    site: str = Field(index=True, max_length=64)
    guardian_id: str = Field(index=True, max_length=64)
    student_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    reason_kind: str = Field(
        default="other", max_length=32, description="The kind of reason (``REASON_KINDS``)."
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The event the message answered (its campaign, for an invitation round); none on rows
    # listed before it was kept.
    cause_event_id: str | None = Field(default=None, max_length=36)

    @classmethod
    def of(cls, delivery: Delivery, reason: str, kind: str) -> CouldNotReach:
        """The family ``delivery`` was for, listed with why it did not reach them (``kind``:
        one of ``channels.REASON_KINDS``)."""
        return cls(
            delivery_id=delivery.id,
            district=delivery.district,
            site=delivery.site,
            guardian_id=delivery.recipient_id,
            student_id=delivery.student_id,
            template=delivery.template,
            reason=reason[:500],
            reason_kind=kind,
            cause_event_id=delivery.cause_event_id,
        )


class UpcomingConference(SQLModel, table=True):
    """A conference as notifications knows it from scheduling's booked, moved and cancelled
    events: what its reminders follow (``reminders.py``)."""

    __tablename__ = "upcoming_conference"

    id: str = Field(primary_key=True, max_length=64, description="The booking's id.")
    district: str = Field(max_length=64)
    # (A change of a school's reminder times looks for its conferences still to come.)
    site: str = Field(index=True, max_length=64)
    student_id: str = Field(max_length=64)
    guardian_id: str = Field(max_length=64, description="The guardian the booking is for.")
    teacher_id: str | None = Field(default=None, max_length=64)
    # (A window's invitations say which children's conferences in it are booked already.)
    window_id: str | None = Field(
        default=None,
        index=True,
        max_length=64,
        description="The conference window it belongs to, once an event said (since 0020).",
    )
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="Unknown for an old cancellation only."
    )
    room: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    interpreter_language: str | None = Field(default=None, max_length=35)
    interpreter_named_at: int | None = Field(
        default=None,
        description="The SEQUENCE of the change that said the interpreter last (0: the booking;"
        " a move since 2026-12-05); None while none has.",
    )
    mode: str | None = Field(
        default=None, max_length=16, description="`in_person` or `virtual`, once an event said."
    )
    # (A family told a time opened up from the waitlist is not told afterwards that it joined
    # the line, when the news of joining comes later: the streams are apart.)
    waitlist_entry_id: str | None = Field(
        default=None,
        index=True,
        max_length=64,
        description="The waitlist entry the booking answered, if the waitlist booked it (0022).",
    )
    sequence: int = Field(description="The booking's calendar SEQUENCE applied last.")
    status: str = Field(max_length=16, description="`booked`, or `cancelled` (for good).")
    round: int = Field(
        default=0, description="How many times its reminders were planned (on each change)."
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConferenceReminder(SQLModel, table=True):
    """One reminder of a conference, of one planning round: when it goes and whether it went.
    Its id is the cause its messages are recorded with (one per guardian, however often its
    job runs)."""

    __tablename__ = "conference_reminder"

    id: str = Field(primary_key=True, max_length=36)
    conference_id: str = Field(index=True, max_length=64)
    district: str = Field(max_length=64)
    site: str = Field(max_length=64)
    round: int = Field(description="The conference's planning round it belongs to.")
    before_minutes: int = Field(description="How long before the conference it goes.")
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(
        max_length=16,
        description="`pending`, `sent`, `cancelled` (the conference moved or was cancelled, or"
        " the school changed its reminder times), `skipped` (its time had passed) or `failed`"
        " (its job was given up: nothing was sent).",
    )
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SiteReminderPolicy(SQLModel, table=True):
    """How long before a conference a school's families are reminded, when the school office
    chose (else ``NOTIFICATIONS_REMINDERS``)."""

    __tablename__ = "site_reminder_policy"

    site: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    before: str = Field(
        max_length=100, description="ISO 8601 durations, comma-separated, e.g. `P2D,PT2H`."
    )
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SchoolOffice(SQLModel, table=True):
    """How a school's families reach its office, as the office wrote it: at the end of every
    message to them and on their pages. A school's number, not anyone's own: it may be shown to
    any family of the district."""

    __tablename__ = "school_office"

    site: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    phone: str | None = Field(default=None, max_length=16, description="E.164.")
    extension: str | None = Field(default=None, max_length=16, description="Digits only.")
    phone_display: str | None = Field(
        default=None,
        max_length=40,
        description="As families read it: `(503) 555-0100 ext. 2` in the district's country"
        " (`NOTIFICATIONS_PHONE_REGION` when written), else with its country code.",
    )
    email: str | None = Field(default=None, max_length=254)
    hours: str | None = Field(
        default=None, max_length=120, description="When the office answers, as it wrote it."
    )
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = metadata_for(
    *RUNTIME_TABLES,
    RosterAdministrator,
    RosterClass,
    RosterClassMember,
    RosterGuardianLink,
    RosterSite,
    ContactPoint,
    KnownStudent,
    Delivery,
    SmsOptOut,
    SmsKeywordsHeard,
    GuardianPreference,
    DigestItem,
    CouldNotReach,
    MessageRound,
    FamilyLinkRevocation,
    UpcomingConference,
    ConferenceReminder,
    SiteReminderPolicy,
    SchoolOffice,
)
