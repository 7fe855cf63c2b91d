"""Telling guardians something: pick each one's language, render, and queue the delivery.

Rendering and recording happen in the event handler's transaction; handing the message to its
channel is a job (``deliver_message``, in ``sending.py``) run after the commit, so a batch that is
rolled back and applied again never sends anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Table
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.family_links import FamilyLinks
from services.notifications.messages import OfficeWords, named_language, render
from services.notifications.preferences import (
    NO_PREFERENCES,
    ChannelName,
    Kind,
    Plan,
    Preferences,
    kind_of,
    next_digest_at,
    parse_kinds,
    plan,
)
from services.notifications.school_office import office_words, school_offices
from services.notifications.tables import (
    ContactPoint,
    CouldNotReach,
    Delivery,
    DigestItem,
    GuardianPreference,
    KnownStudent,
    SmsOptOut,
)
from shared.calendar_ics import Conference, booking_calendar, where
from shared.database import new_id, utcnow
from shared.events import DeliveryFailed
from shared.jobs.queue import NewJob, enqueue_many
from shared.messaging.consumer import NotYet, needs
from shared.messaging.outbox import record_event
from shared.roster import RosterSite, guardians_of, link_needed, link_states
from shared.roster_classes import teacher_names
from shared.upsert import dialect_insert

# A guardian is written to on the channels they chose (``preferences.py``); by default email
# if they gave an address, else a text message: through the district's SMTP relay and SMS
# provider when they are configured, else (development) only into the mailbox (GET /mailbox),
# where a person reads what the family would receive.
EMAIL = "email"
SMS = "sms"
MAILBOX = "mailbox"
NO_CHANNEL = "none"  # a guardian with no address: the delivery is written failed, not sent


DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
DELIVER = "deliver_message"  # the job that hands a queued delivery to its channel
# The job that hands a chunk of deliveries written together (a window's invitations) to their
# channels: one job row for many messages. Whatever its first run leaves queued goes on as one
# ``deliver_message`` job per delivery (``sending.py``).
DELIVER_CHUNK = "deliver_chunk"
DELIVERIES_PER_JOB = 500  # in a chunk, and in a batch of ``deliver_message`` jobs
# Fewer deliveries due together than this get a job each: a worker runs one chunk a round, and
# a round of ``deliver_message`` jobs takes up to 500 (two guardians' confirmations are not a
# chunk).
CHUNK_AT_LEAST = 50
DIGEST = "send_digest"  # the job that sends a guardian's daily portfolio digest
# Portfolio news: kept for the guardian's daily digest, never sent one by one. The message's
# ``values["title"]`` is what the student or teacher wrote.
DIGESTED = frozenset(
    {"goal_set", "goal_achieved", "evidence_approved", "reflection_added", "reflection_spoken"}
)


class StudentNotKnownYet(NotYet):
    """The roster event naming this student has not been handled yet: the event waits for it."""

    def __init__(self, student_id: str) -> None:
        super().__init__(
            needs("student", student_id), f"student {student_id!r} is not on the roster yet"
        )


class LinkNotKnownYet(NotYet):
    """The roster has not told this service yet whether the guardian is linked to the student:
    the event waits for ``roster.guardian.linked`` (or ``unlinked``)."""

    def __init__(self, guardian_id: str, student_id: str) -> None:
        super().__init__(
            link_needed(guardian_id, student_id),
            f"guardian {guardian_id!r} is not known to be linked to student {student_id!r} yet",
        )


class Cause(Protocol):
    """Why a message is written: the event that asked for it (a ``CloudEvent``), or a round of
    the service's own (a digest, a reminder) with an id of its own."""

    @property
    def id(self) -> str: ...
    @property
    def district(self) -> str: ...
    @property
    def site(self) -> str: ...


@dataclass(frozen=True)
class Message:
    """One message to write to one guardian about one student, because of ``cause``."""

    guardian_id: str
    student_id: str
    template: str
    cause: Cause
    timezone: str
    values: dict[str, Any] = field(default_factory=dict)
    # The conference the message confirms, moves or cancels: its .ics goes with the email.
    calendar: Conference | None = None
    # Every guardian the roster links to the student hears it too (each in their own language),
    # not only ``guardian_id``: what a conference's logistics are for.
    whole_family: bool = False
    # The conference's teacher, named in the message (that of ``calendar`` if not given).
    teacher_id: str | None = None
    # A video call (or ``calendar``'s is): its room is not at the school, so no school is named.
    virtual: bool = False
    # Cannot wait (a conference cancelled or moved on the day): overrides quiet hours and an
    # opt-out of its kind, never a text-message STOP.
    critical: bool = False
    # Of no use after this (a reminder, once its conference begins): quiet hours never hold it
    # that long; it goes at once instead.
    expires_at: datetime | None = None
    # The family's link goes in it (``values["link"]``), valid until then: each recipient's own,
    # minted once the family is known (a link is one guardian's credential, never copied to
    # another); None in ``values`` if this service cannot mint links.
    link_until: datetime | None = None


def _where(room: str, school: RosterSite | None, *, virtual: bool) -> str:
    """Where a conference is, as the family reads it (``shared.calendar_ics.where``)."""
    return where(room, school.name if school is not None else None, virtual=virtual)


def _teacher_of(message: Message) -> str | None:
    if message.teacher_id:
        return message.teacher_id
    return message.calendar.teacher_id if message.calendar is not None else None


def _calendar(
    conference: Conference | None,
    student: KnownStudent,
    school: RosterSite | None,
    teacher: str | None,
    *,
    language: str | None,
) -> str | None:
    """The conference's calendar, with the student's name, the school's (the organizer, as
    scheduling's own file names it) and the teacher's, its title and description in the
    family's language (``conference_calendar``: the calendar app shows them as written)."""
    if conference is None:
        return None
    words = render(
        "conference_calendar",
        language=language,
        student=student.given_name,
        teacher=teacher or conference.teacher_name or conference.teacher_id,
        room=_where(conference.room, school, virtual=conference.virtual),
        virtual=conference.virtual,
        station=conference.station,
        interpreter=named_language(conference.interpreter_language),
    )
    named = replace(
        conference,
        given_name=student.given_name,
        school=school.name if school is not None else conference.school,
        teacher_name=teacher or conference.teacher_name,
        summary=words.subject,
        description=words.body.strip(),
    )
    return booking_calendar(named, stamp=utcnow()).decode()


async def notify_guardians(
    session: AsyncSession,
    messages: Sequence[Message],
    *,
    now: datetime | None = None,
    family_links: FamilyLinks | None = None,
) -> int:
    """Queue each message once per cause, recipient, template and channel, in the guardian's
    language, on the channels and at the time their preferences say. A message with a
    ``link_until`` carries its recipient's own link, made with ``family_links``.

    Messages go only to guardians the roster links to the student (others are dropped), and
    none about a withdrawn student; a ``whole_family`` message goes to each guardian linked to
    the student. A message of a kind the guardian opted out of is recorded ``opted_out`` and not
    sent (unless critical); one that arrives in their quiet hours waits for them to end.
    Whatever the number of messages, the same few queries (one of each per ``IDS_PER_QUERY``
    ids) find the families, what is kept for a digest already, the students' names, the links,
    the guardians' contact points with their preferences and STOPs, and for conference messages
    their schools and teachers' names. Raises
    ``StudentNotKnownYet`` if a student's roster entry has not arrived, ``LinkNotKnownYet`` if a
    guardian's link to the student has not. Returns how many deliveries it wrote.

    The deliveries are inserted as plain rows, one statement for all, and those written before
    are left out by the unique index (``_write_new``): a window's invitations are thousands of
    them, an ORM object per message cost more than rendering it, and reading the cause's
    deliveries first cost a chunk of families a read of every invitation written before it.
    """
    if not messages:
        return 0
    now = now or utcnow()
    messages = await _with_whole_families(session, messages)
    students = await _by_id(
        session, KnownStudent, KnownStudent.id, {m.student_id for m in messages}
    )
    for message in messages:
        if message.student_id not in students:
            raise StudentNotKnownYet(message.student_id)
    links = await link_states(session, {(m.guardian_id, m.student_id) for m in messages})
    for message in messages:
        if (message.guardian_id, message.student_id) not in links:
            raise LinkNotKnownYet(message.guardian_id, message.student_id)
    # Only guardians the roster links to the student hear about them, and nobody about a
    # student who has left.
    messages = [
        m for m in messages if links[m.guardian_id, m.student_id] and students[m.student_id].active
    ]
    messages = _with_family_links(messages, family_links, now)
    contacts, preferences, stopped = await _contacts_and_preferences(
        session, {m.guardian_id for m in messages}
    )
    # How each school's office is reached, at the end of its messages; a conference's school
    # and teacher, by name: in the message and in its calendar.
    offices = await school_offices(
        session, {m.cause.site for m in messages if m.template not in DIGESTED}
    )
    schools = await _by_id(
        session,
        RosterSite,
        RosterSite.id,
        {m.cause.site for m in messages if m.calendar or m.values.get("room")} | set(offices),
    )
    teachers = await teacher_names(session, {t for m in messages if (t := _teacher_of(m))})
    deliveries: list[tuple[dict[str, Any], Message]] = []
    news: list[tuple[Message, Preferences]] = []
    planned: set[tuple[str, str, str, str]] = set()
    for message in messages:
        contact = contacts.get(message.guardian_id)
        chosen = preferences.get(message.guardian_id, NO_PREFERENCES)
        if message.template in DIGESTED:  # (written once a day, whether or not we can reach them)
            news.append((message, chosen))
            continue
        how = _plan(message, contact, chosen, now, texts_stopped=message.guardian_id in stopped)
        for channel in how.channels:
            identity = (message.cause.id, message.guardian_id, message.template, channel)
            if identity in planned:
                continue
            planned.add(identity)
            student, school = students[message.student_id], schools.get(message.cause.site)
            teacher = teachers.get(_teacher_of(message) or "")
            office = office_words(
                offices.get(message.cause.site), school.name if school is not None else None
            )
            row = _delivery(
                message,
                student,
                school,
                teacher,
                contact,
                channel,
                how,
                office=office,
                # (The language the family chose for messages, else the one on file for them.)
                language=chosen.language or (contact.language if contact else None),
            )
            deliveries.append((row, message))
    written = await _write_new(session, [row for row, _ in deliveries])
    for row, message in deliveries:
        if row["id"] in written and row["status"] == "failed":  # (no address to send to)
            _unreachable(session, Delivery(**row), message)
    await keep_for_digest(session, news, now=now)
    queued = [row for row, _ in deliveries if row["id"] in written and row["status"] == "queued"]
    await enqueue_many(session, delivery_jobs(queued))
    return len(written)


async def _write_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the deliveries not written before (one per cause, recipient, template and
    channel: a cause handled again, or a chunk of a window's invitations written again, writes
    nothing more); returns the ids of those inserted. One statement compiled once, its rows sent
    together; the unique index answers whether each was written, not a read of the cause's
    deliveries beforehand."""
    if not rows:
        return set()
    statement = (
        dialect_insert(session, DELIVERY)
        .on_conflict_do_nothing(
            index_elements=["cause_event_id", "recipient_id", "template", "channel"]
        )
        .returning(DELIVERY.c.id)
    )
    inserted = await (await session.connection()).execute(statement, list(rows))
    return set(inserted.scalars())


def delivery_jobs(
    deliveries: Sequence[Mapping[str, Any]],
    *,
    per_job: int = DELIVERIES_PER_JOB,
    at_least: int = CHUNK_AT_LEAST,
) -> list[NewJob]:
    """The jobs that send these queued deliveries (rows with their ``id`` and ``not_before``):
    one ``deliver_chunk`` per ``per_job`` of them due at the same time, and a
    ``deliver_message`` each for those in a chunk smaller than ``at_least``. A chunk's key is
    its first delivery's id."""
    due_together: dict[datetime | None, list[str]] = {}
    for delivery in deliveries:
        due_together.setdefault(delivery["not_before"], []).append(delivery["id"])
    jobs = []
    for due_at, ids in due_together.items():
        for start in range(0, len(ids), per_job):
            chunk = ids[start : start + per_job]
            if len(chunk) >= max(at_least, 2):
                jobs.append(
                    NewJob(
                        kind=DELIVER_CHUNK,
                        key=chunk[0],
                        payload={"delivery_ids": chunk},
                        due_at=due_at,
                    )
                )
            else:
                jobs += [
                    NewJob(kind=DELIVER, key=one, payload={"delivery_id": one}, due_at=due_at)
                    for one in chunk
                ]
    return jobs


async def _contacts_and_preferences(
    session: AsyncSession, guardians: set[str]
) -> tuple[dict[str, ContactPoint], dict[str, Preferences], set[str]]:
    """The guardians' contact points, the preferences of those who chose any, and those whose
    number replied STOP: one query (per ``IDS_PER_QUERY`` guardians)."""
    wanted = sorted(guardians)
    rows: list[tuple[ContactPoint, GuardianPreference | None, str | None]] = []
    for start in range(0, len(wanted), IDS_PER_QUERY):
        rows += (
            await session.exec(
                select(ContactPoint, GuardianPreference, SmsOptOut.phone)
                .outerjoin(
                    GuardianPreference,
                    col(GuardianPreference.guardian_id) == col(ContactPoint.guardian_id),
                )
                .outerjoin(SmsOptOut, col(SmsOptOut.phone) == col(ContactPoint.phone))
                .where(col(ContactPoint.guardian_id).in_(wanted[start : start + IDS_PER_QUERY]))
            )
        ).all()
    contacts = {contact.guardian_id: contact for contact, _, _ in rows}
    chosen = {
        contact.guardian_id: preferences_from_row(row)
        for contact, row, _ in rows
        if row is not None
    }
    stopped = {contact.guardian_id for contact, _, phone in rows if phone is not None}
    return contacts, chosen, stopped


def preferences_from_row(row: GuardianPreference) -> Preferences:
    return Preferences(
        channels={
            Kind(kind): tuple(ChannelName(c) for c in channels)
            for kind, channels in (row.channels or {}).items()
        }
        if row.channels is not None
        else None,
        opted_out=parse_kinds(row.opted_out),
        quiet_from=row.quiet_from,
        quiet_until=row.quiet_until,
        timezone=row.timezone,
        digest_hour=row.digest_hour,
        language=row.language,
    )


def _plan(
    message: Message,
    contact: ContactPoint | None,
    chosen: Preferences,
    now: datetime,
    *,
    texts_stopped: bool,
) -> Plan:
    if contact is None or not (contact.email or contact.phone):
        return Plan(channels=(NO_CHANNEL,))
    how = plan(
        chosen,
        kind=kind_of(message.template),
        critical=message.critical,
        email=contact.email,
        phone=contact.phone,
        now=now,
        site_timezone=message.timezone,
        texts_stopped=texts_stopped,
    )
    if how.not_before and message.expires_at and how.not_before >= message.expires_at:
        return replace(how, not_before=None)
    return how


def _delivery(
    message: Message,
    student: KnownStudent,
    school: RosterSite | None,
    teacher: str | None,
    contact: ContactPoint | None,
    channel: str,
    how: Plan,
    *,
    language: str | None,
    office: OfficeWords | None,
) -> dict[str, Any]:
    """The delivery's row, with the message rendered in the guardian's language: a
    conference's room with its school (a family may have children at two), and its teacher by
    the name the roster's classes give, once they give one."""
    values = dict(message.values)
    if values.get("room"):
        virtual = message.virtual or (message.calendar is not None and message.calendar.virtual)
        values["room"] = _where(values["room"], school, virtual=virtual)
        values["virtual"] = virtual  # (said as a video call in the family's language)
    rendered = render(
        message.template,
        language=language,
        timezone=message.timezone,
        student=student.given_name,
        guardian=contact.display_name if contact else "",
        teacher=teacher,
        office=office,
        **values,
    )
    row: dict[str, Any] = dict(
        id=new_id(),
        created_at=utcnow(),
        district=message.cause.district,
        site=message.cause.site,
        recipient_id=message.guardian_id,
        student_id=message.student_id,
        channel=channel,
        address=_address(contact, channel),
        language=rendered.language,
        template=message.template,
        subject=rendered.subject,
        body=rendered.body,
        status="failed" if channel == NO_CHANNEL else "opted_out" if how.opted_out else "queued",
        error=(
            "no contact point on file for this guardian"
            if contact is None
            else "no email address or phone number on file for this guardian"
            if channel == NO_CHANNEL
            else f"not sent: the guardian opted out of {kind_of(message.template)} messages"
            if how.opted_out
            else None
        ),
        cause_event_id=message.cause.id,
        calendar=_calendar(
            message.calendar,
            student,
            school,
            teacher,
            language=language,
        ),
        not_before=how.not_before,
        expires_at=message.expires_at,
        critical=message.critical,
        provider_id=None,
        escalated_from=None,
    )
    return row


def _unreachable(session: AsyncSession, delivery: Delivery, message: Message) -> None:
    """A delivery written failed, for want of any contact point: the office's could-not-reach
    list (for conference logistics) and ``delivery.failed``."""
    if kind_of(message.template) is Kind.LOGISTICS:
        session.add(CouldNotReach.of(delivery, delivery.error or "", "no_contact"))
    record_event(
        session,
        DeliveryFailed(
            delivery_id=delivery.id,
            recipient_id=message.guardian_id,
            channel="none",
            template=message.template,
            error=delivery.error or "",
            cause_event_id=message.cause.id,
        ),
        subject=message.student_id,
        district=message.cause.district,
        site=message.cause.site,
    )


async def keep_for_digest(
    session: AsyncSession, news: Sequence[tuple[Message, Preferences]], *, now: datetime
) -> None:
    """Keep each piece of news (once per cause and guardian) for the guardian's next digest,
    and make sure that digest is due: at their hour, in their time zone, after quiet hours.
    A guardian who opted out of news keeps nothing."""
    wanted = [(m, chosen) for m, chosen in news if Kind.NEWS not in chosen.opted_out]
    if not wanted:
        return
    kept = set(
        (
            await session.exec(
                select(DigestItem.cause_event_id, DigestItem.guardian_id).where(
                    col(DigestItem.cause_event_id).in_(sorted({m.cause.id for m, _ in wanted}))
                )
            )
        ).all()
    )
    jobs: dict[str, NewJob] = {}
    for message, chosen in wanted:
        if (message.cause.id, message.guardian_id) in kept:
            continue
        kept.add((message.cause.id, message.guardian_id))
        session.add(
            DigestItem(
                district=message.cause.district,
                site=message.cause.site,
                guardian_id=message.guardian_id,
                student_id=message.student_id,
                kind=message.template,
                title=str(message.values["title"]),
                cause_event_id=message.cause.id,
            )
        )
        due = next_digest_at(chosen, now, message.timezone)
        # A job per piece of news, each due at the digest's time: the first to run claims all
        # that waits, the others find nothing (``digest.py``), so no news is left without one.
        key = digest_job_key(message.guardian_id, due, message.cause.id)
        jobs[key] = NewJob(
            kind=DIGEST,
            key=key,
            due_at=due,
            payload={
                "guardian_id": message.guardian_id,
                "district": message.cause.district,
                "site": message.cause.site,
                "timezone": message.timezone,
            },
        )
    await enqueue_many(session, list(jobs.values()))


def digest_job_key(guardian_id: str, due: datetime, cause_id: str) -> str:
    """``<guardian>/<due>/<news>``: a ``/`` is never part of an id, so the guardian's jobs are
    those whose key starts with ``<guardian>/`` (and whose payload names them)."""
    return f"{guardian_id}/{due.astimezone(UTC):%Y-%m-%dT%H:%MZ}/{cause_id}"


def _address(contact: ContactPoint | None, channel: str) -> str | None:
    if contact is None:
        return None
    if channel == EMAIL:
        return contact.email
    if channel == SMS:
        return contact.phone
    return contact.email or contact.phone


async def _with_whole_families(session: AsyncSession, messages: Sequence[Message]) -> list[Message]:
    """Each message, and for a ``whole_family`` one the same message to every other guardian
    the roster links to the student now."""
    linked = await guardians_of(session, {m.student_id for m in messages if m.whole_family})
    expanded: list[Message] = []
    for message in messages:
        expanded.append(message)
        if message.whole_family:
            others = sorted(linked.get(message.student_id, set()) - {message.guardian_id})
            expanded.extend(replace(message, guardian_id=other) for other in others)
    return expanded


def _with_family_links(
    messages: Sequence[Message], family_links: FamilyLinks | None, now: datetime
) -> list[Message]:
    """Each message with a ``link_until``, with its own recipient's link in its values."""
    return [
        message
        if message.link_until is None
        else replace(
            message,
            values={
                **message.values,
                "link": family_links.url(
                    guardian_id=message.guardian_id,
                    district=message.cause.district,
                    expires_at=message.link_until,
                    now=now,
                )
                if family_links is not None
                else None,
            },
        )
        for message in messages
    ]


# Ids looked up per query: both databases refuse a statement with more than 32,766 parameters,
# and a window opened at a large school (or many schools' at once) names more families than that.
IDS_PER_QUERY = 10_000


async def _by_id(session: AsyncSession, model: Any, key: Any, ids: set[str]) -> dict[str, Any]:
    wanted = sorted(ids)
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[start : start + IDS_PER_QUERY]
        rows = (await session.exec(select(model).where(col(key).in_(chunk)))).all()
        found.update({getattr(row, key.key): row for row in rows})
    return found
