"""Reminders before each conference that follow it: moved, they move; cancelled, none goes.

Notifications keeps what it knows of each conference (``upcoming_conference``) from scheduling's
booked, moved, interpreter changed and cancelled events, whatever order they arrive in and
however often: a cancellation is final (booking again makes a new booking), otherwise the
higher calendar SEQUENCE wins (the newest change that names the interpreter says which one
the reminders name). Whenever that changes a conference's time, or its school's reminder times
change (``PUT /sites/{site}/reminders``; else ``NOTIFICATIONS_REMINDERS``), its reminders are
planned anew as a new *round*: the pending ones of the round before are cancelled with their
jobs, and each reminder time becomes a ``conference_reminder`` row and a ``send_reminder`` job
due then. One whose time has already passed (or that already went for that very time) is
recorded ``skipped`` and never sent.

When due, the job reads its reminder and the conference in the transaction that records its
result: a reminder no longer pending sends nothing, nor one whose conference has begun;
otherwise each guardian the roster links to the student is written a ``conference_reminder``
in their language with a link of their own, and the reminder is ``sent``. The reminder's id is
its messages' cause, so however often the job runs, each guardian gets it once. (The job joins
the service's job handlers, ``sending.jobs``, when this module is imported: ``consumers.py``
and ``reminders_api.py`` import it.)
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import Field
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.delivery import Message, notify_guardians
from services.notifications.environment import NotificationsEnvironment
from services.notifications.messages import named_language
from services.notifications.reminder_times import (
    format_reminder_times,
    iso_duration,
    parse_reminder_times,
)
from services.notifications.sending import jobs
from services.notifications.tables import (
    ConferenceReminder,
    SiteReminderPolicy,
    UpcomingConference,
)
from shared.events import (
    CloudEvent,
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceInterpreterChanged,
    ConferenceMoved,
    EventData,
    new_event,
)
from shared.jobs.context import JobContext
from shared.jobs.handlers import GivenUp, JobRun
from shared.jobs.queue import NewJob, cancel, enqueue_many
from shared.jobs.tables import Job, JobState
from shared.messaging.consumer import HandlerContext
from shared.roster import linked_guardians
from shared.upsert import insert_or_replace

SEND_REMINDER = "send_reminder"
TEMPLATE = "conference_reminder"
# A conference is booked, or cancelled for good.
BOOKED, CANCELLED = "booked", "cancelled"
# A reminder is pending until it is sent, cancelled (its round was replaced, or an operator
# cancelled its job) or skipped; failed if its job was given up.
PENDING, SENT, SKIPPED, FAILED = "pending", "sent", "skipped", "failed"
# What its job, when it runs (again, if an operator retries it), may still send: whether it does
# is the conference's round and status's to say (``outcome_when_due``).
UNSENT = (PENDING, FAILED, CANCELLED)

ConferenceEvent = (
    CloudEvent[ConferenceBooked]
    | CloudEvent[ConferenceMoved]
    | CloudEvent[ConferenceInterpreterChanged]
    | CloudEvent[ConferenceCancelled]
)
T = TypeVar("T", bound=ConferenceEvent)


# --- What is known of a conference (pure) ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConferenceFacts:
    """What one booked, moved, interpreter changed or cancelled event says of a conference, or
    what is known of it."""

    conference_id: str
    district: str
    site: str
    student_id: str
    guardian_id: str
    teacher_id: str | None
    status: str
    sequence: int
    starts_at: datetime
    ends_at: datetime | None
    room: str | None
    timezone: str | None
    interpreter_language: str | None
    mode: str | None = None  # `in_person` or `virtual` (unknown for older events and rows)
    # The SEQUENCE of the change that said the interpreter (None: none did): a booking, a change
    # of the interpreter, and a move since moves name it (2026-12-05; a family may move without
    # one). A cancellation, and a move from before, keep the interpreter known.
    interpreter_named_at: int | None = None
    window_id: str | None = None  # (unknown for older events and rows)


def facts_of(event: ConferenceEvent) -> ConferenceFacts:
    """The one mapping from scheduling's conference events to what this service keeps."""
    data = event.data
    said = names_interpreter(event)
    cancelled = isinstance(data, ConferenceCancelled)
    interpreter = (
        data.interpreter_language if said and not isinstance(data, ConferenceCancelled) else None
    )
    return ConferenceFacts(
        conference_id=data.booking_id,
        district=event.district,
        site=event.site,
        student_id=data.student_id,
        guardian_id=data.guardian_id,
        teacher_id=data.teacher_id,
        status=CANCELLED if cancelled else BOOKED,
        sequence=data.sequence,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        room=data.room,
        timezone=data.timezone,
        interpreter_language=interpreter,
        mode=data.mode,
        interpreter_named_at=data.sequence if said else None,
        window_id=data.window_id,
    )


def names_interpreter(event: ConferenceEvent) -> bool:
    """Whether the event says which interpreter the conference has (none, too): a booking, a
    change of the interpreter, and a move since moves name it (2026-12-05); not a cancellation,
    nor a move from before."""
    data = event.data
    return isinstance(data, ConferenceBooked | ConferenceInterpreterChanged) or (
        isinstance(data, ConferenceMoved) and "interpreter_language" in data.model_fields_set
    )


def supersedes(change: ConferenceFacts, known: ConferenceFacts) -> bool:
    """Whether ``change`` is newer than what is known: nothing follows a cancellation, a
    cancellation follows everything, and otherwise a higher SEQUENCE is a later move (the same
    event again, or an older one, changes nothing)."""
    if known.status == CANCELLED:
        return False
    return change.status == CANCELLED or change.sequence > known.sequence


def follow(known: ConferenceFacts | None, change: ConferenceFacts) -> ConferenceFacts:
    """What is known of a conference once ``change`` has arrived, in whatever order: the newest
    change, with what it leaves out (an old cancellation's end and room) from the other, and
    the interpreter the newer of them to say it said (a booking, a move, or a change of the
    interpreter, in any order)."""
    if known is None:
        return change
    newest, other = (change, known) if supersedes(change, known) else (known, change)
    said = [facts for facts in (change, known) if facts.interpreter_named_at is not None]
    interpreter = max(said, key=lambda facts: facts.interpreter_named_at or 0, default=known)
    return replace(
        newest,
        teacher_id=newest.teacher_id or other.teacher_id,
        ends_at=newest.ends_at or other.ends_at,
        room=newest.room or other.room,
        timezone=newest.timezone or other.timezone,
        mode=newest.mode or other.mode,
        window_id=newest.window_id or other.window_id,
        interpreter_language=interpreter.interpreter_language,
        interpreter_named_at=interpreter.interpreter_named_at,
    )


# --- When its reminders go (pure) ------------------------------------------------------------

# Reminder ids are the same wherever they are planned: a conference, a round and a time.
_REMINDERS = uuid.UUID("5b0c7d8e-2f1a-4c36-9a53-4f0b9e61d2a7")


def reminder_id(conference_id: str, *, round: int, before: timedelta) -> str:
    return str(uuid.uuid5(_REMINDERS, f"{conference_id}/{round}/{iso_duration(before)}"))


def job_key(conference_id: str, *, round: int, before: timedelta) -> str:
    """What ``slc-jobs list`` shows of a reminder's job, e.g. ``b-123:2:PT2H``."""
    return f"{conference_id}:{round}:{iso_duration(before)}"


@dataclass(frozen=True)
class PlannedReminder:
    id: str
    before: timedelta
    due_at: datetime
    status: str  # PENDING, or SKIPPED


def plan_reminders(
    conference_id: str,
    *,
    round: int,
    starts_at: datetime,
    before: Iterable[timedelta],
    now: datetime,
    already_sent: Iterable[datetime] = (),
) -> list[PlannedReminder]:
    """A round of a conference's reminders, one per reminder time: pending, or skipped when its
    time has passed (a conference booked or moved at short notice) or the same reminder was
    sent for this very time before (``already_sent``: when those went due)."""
    went = set(already_sent)
    planned = []
    for time in before:
        due_at = starts_at - time
        status = PENDING if due_at > now and due_at not in went else SKIPPED
        planned.append(
            PlannedReminder(
                reminder_id(conference_id, round=round, before=time), time, due_at, status
            )
        )
    return planned


def needs_planning(
    planned: Iterable[tuple[timedelta, datetime]],
    *,
    status: str,
    starts_at: datetime,
    before: Iterable[timedelta],
) -> bool:
    """Whether a conference's current round of reminders (each time before, and when due) is
    not what its status, time and its school's reminder times make it now."""
    wanted = set() if status == CANCELLED else {(time, starts_at - time) for time in before}
    return set(planned) != wanted


def outcome_when_due(
    *, reminder_round: int, conference: UpcomingConference | None, now: datetime
) -> str:
    """What a reminder that came due becomes: SENT, unless its conference was cancelled or
    moved since it was planned (CANCELLED) or has begun already (SKIPPED: a worker that was
    down for hours does not remind a family of a conference that is over)."""
    if conference is None or conference.status != BOOKED or conference.round != reminder_round:
        return CANCELLED
    return SENT if now < conference.starts_at else SKIPPED


# --- Keeping them (in the handlers' and routes' transactions) --------------------------------

Context = HandlerContext[NotificationsEnvironment]


async def follow_conferences(
    context: Context,
    events: Sequence[T],
    *,
    known_before: dict[str, ConferenceFacts | None] | None = None,
) -> list[T]:
    """Keep what this service knows of each conference the events are about, the newest
    change winning, and plan anew the reminders of each conference that changed. Returns the
    events that were news when they came, in order: not those an event handled before them
    had overtaken (a move or a change of the interpreter arriving after the cancellation, or
    after a later change; a booking after its first change), which the family must not be
    told of. ``known_before`` is given, by event id, what was known of its conference just
    before it (None: nothing), for a message to say what else changed since the family was
    told."""
    session, now = context.session, context.env.now()
    changes = [facts_of(event) for event in events]
    rows = await _conferences(session, {change.conference_id for change in changes})
    changed: dict[str, UpcomingConference] = {}
    news: list[T] = []
    for event, change in zip(events, changes, strict=True):
        row = rows.get(change.conference_id)
        known = _facts_of_row(row) if row is not None else None
        if known_before is not None:
            known_before[event.id] = known
        if known is None or supersedes(change, known):
            news.append(event)
        newest = follow(known, change)
        if newest == known:
            continue
        rows[change.conference_id] = changed[change.conference_id] = _written(row, newest, now)
    for event, change in zip(events, changes, strict=True):
        if isinstance(event.data, ConferenceBooked) and event.data.waitlist_entry_id:
            answered = rows[change.conference_id]
            answered.waitlist_entry_id = event.data.waitlist_entry_id
            session.add(answered)
    session.add_all(changed.values())
    if not changed:
        return news
    times = await reminder_times(
        session, {row.site for row in changed.values()}, default=context.env.settings.reminders
    )
    await plan_anew(session, list(changed.values()), times=times, now=now)
    return news


async def plan_anew(
    session: AsyncSession,
    conferences: Sequence[UpcomingConference],
    *,
    times: Mapping[str, tuple[timedelta, ...]],
    now: datetime,
) -> int:
    """Plan anew the reminders of each conference whose current ones are not what its status,
    its time and its school's reminder ``times`` make them: its pending reminders are
    cancelled with their jobs, the new round's recorded and their jobs enqueued. Returns how
    many conferences were planned anew."""
    existing: dict[str, list[ConferenceReminder]] = defaultdict(list)
    for reminder in await _reminders(session, [conference.id for conference in conferences]):
        existing[reminder.conference_id].append(reminder)
    stale: list[ConferenceReminder] = []
    new: list[ConferenceReminder] = []
    planned_anew = 0
    for conference in conferences:
        mine = existing[conference.id]
        before = times.get(conference.site, ()) if conference.status == BOOKED else ()
        current = [
            (timedelta(minutes=r.before_minutes), r.due_at)
            for r in mine
            if r.round == conference.round
        ]
        if not needs_planning(
            current, status=conference.status, starts_at=conference.starts_at, before=before
        ):
            continue
        # (and those an operator put back to be sent after all, ``put_back``)
        stale += [
            r
            for r in mine
            if r.status == PENDING or (r.round == conference.round and r.status in UNSENT)
        ]
        planned_anew += 1
        conference.round += 1
        conference.updated_at = now
        session.add(conference)
        planned = plan_reminders(
            conference.id,
            round=conference.round,
            starts_at=conference.starts_at,
            before=before,
            now=now,
            already_sent=[r.due_at for r in mine if r.status == SENT],
        )
        new += [_reminder_row(conference, planned_one) for planned_one in planned]
    await session.flush()  # the conferences' new rounds first: their rows are locked before
    # their reminders' (``send_reminder`` locks in the same order)
    await _cancel(session, stale)
    session.add_all(new)
    await enqueue_many(
        session,
        [
            NewJob(
                kind=SEND_REMINDER,
                key=_job_key(reminder),
                payload={"reminder_id": reminder.id},
                due_at=reminder.due_at,
            )
            for reminder in new
            if reminder.status == PENDING
        ],
    )
    return planned_anew


async def reminder_times(
    session: AsyncSession, sites: Iterable[str], *, default: tuple[timedelta, ...]
) -> dict[str, tuple[timedelta, ...]]:
    """Each site's reminder times: what its school chose, else ``default``."""
    wanted = sorted(set(sites))
    rows = (
        await session.exec(
            select(SiteReminderPolicy).where(col(SiteReminderPolicy.site).in_(wanted))
        )
    ).all()
    chosen = {row.site: parse_reminder_times(row.before) for row in rows}
    return {site: chosen.get(site, default) for site in wanted}


async def change_site_reminders(
    session: AsyncSession,
    *,
    district: str,
    site: str,
    before: tuple[timedelta, ...],
    changed_by: str,
    now: datetime,
) -> int:
    """Record a school's reminder times, and plan anew the reminders of its conferences still
    to come that are not yet sent: returns how many conferences were planned anew. (A reminder
    already sent stays sent; one whose new time has already passed is skipped.)"""
    await insert_or_replace(
        session,
        SiteReminderPolicy,
        [
            {
                "site": site,
                "district": district,
                "before": format_reminder_times(before),
                "updated_by": changed_by,
                "updated_at": now,
            }
        ],
        key=("site",),
    )
    upcoming = (
        await session.exec(
            select(UpcomingConference)
            .where(
                UpcomingConference.district == district,
                UpcomingConference.site == site,
                UpcomingConference.status == BOOKED,
                col(UpcomingConference.starts_at) > now,
            )
            .order_by(col(UpcomingConference.id))  # (in id order; a consumer's batch may lock
            # its conferences in another: PostgreSQL then aborts one, and it is tried again)
            .with_for_update()
        )
    ).all()
    return await plan_anew(session, upcoming, times={site: before}, now=now)


async def answered_waitlist_entries(session: AsyncSession, entry_ids: set[str]) -> set[str]:
    """Those of ``entry_ids`` whose place the waitlist has already booked, as far as this
    service has heard (``conference.booked`` with ``booked_via: waitlist``)."""
    if not entry_ids:
        return set()
    query = select(UpcomingConference.waitlist_entry_id).where(
        col(UpcomingConference.waitlist_entry_id).in_(sorted(entry_ids))
    )
    return {entry for entry in (await session.exec(query)).all() if entry is not None}


async def _conferences(session: AsyncSession, ids: set[str]) -> dict[str, UpcomingConference]:
    """The conferences known among ``ids``, locked (on PostgreSQL) until the transaction ends:
    two replicas applying a move and a cancellation of one conference take turns."""
    rows = (
        await session.exec(
            select(UpcomingConference)
            .where(col(UpcomingConference.id).in_(sorted(ids)))
            .order_by(col(UpcomingConference.id))
            .with_for_update()
        )
    ).all()
    return {row.id: row for row in rows}


async def _reminders(session: AsyncSession, conference_ids: list[str]) -> list[ConferenceReminder]:
    if not conference_ids:
        return []
    query = select(ConferenceReminder).where(
        col(ConferenceReminder.conference_id).in_(sorted(conference_ids))
    )
    return list((await session.exec(query)).all())


async def _cancel(session: AsyncSession, reminders: Sequence[ConferenceReminder]) -> None:
    """Cancel reminders and their jobs (a failed one stays ``failed``), in the transaction that
    moved the conference to its next round: a job already running waits for it on the
    conference's row (``send_reminder``), then finds the round changed and sends nothing."""
    if not reminders:
        return
    # The jobs first, then the reminders: the order an operator's cancel and a give-up take
    # them in (a job, then its reminder), so that neither waits on the other in a cycle.
    for reminder in sorted(reminders, key=_job_key):
        await cancel(session, SEND_REMINDER, key=_job_key(reminder))
    await session.exec(
        update(ConferenceReminder)
        .where(
            col(ConferenceReminder.id).in_(sorted(r.id for r in reminders)),
            col(ConferenceReminder.status) == PENDING,
        )
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )


def _job_key(reminder: ConferenceReminder) -> str:
    before = timedelta(minutes=reminder.before_minutes)
    return job_key(reminder.conference_id, round=reminder.round, before=before)


def _facts_of_row(row: UpcomingConference) -> ConferenceFacts:
    return ConferenceFacts(
        conference_id=row.id,
        district=row.district,
        site=row.site,
        student_id=row.student_id,
        guardian_id=row.guardian_id,
        teacher_id=row.teacher_id,
        status=row.status,
        sequence=row.sequence,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        room=row.room,
        timezone=row.timezone,
        interpreter_language=row.interpreter_language,
        mode=row.mode,
        interpreter_named_at=row.interpreter_named_at,
        window_id=row.window_id,
    )


def _written(
    row: UpcomingConference | None, facts: ConferenceFacts, now: datetime
) -> UpcomingConference:
    values: dict[str, Any] = {
        "district": facts.district,
        "site": facts.site,
        "student_id": facts.student_id,
        "guardian_id": facts.guardian_id,
        "teacher_id": facts.teacher_id,
        "status": facts.status,
        "sequence": facts.sequence,
        "starts_at": facts.starts_at,
        "ends_at": facts.ends_at,
        "room": facts.room,
        "timezone": facts.timezone,
        "interpreter_language": facts.interpreter_language,
        "interpreter_named_at": facts.interpreter_named_at,
        "mode": facts.mode,
        "window_id": facts.window_id,
        "updated_at": now,
    }
    if row is None:
        return UpcomingConference(id=facts.conference_id, **values)
    row.sqlmodel_update(values)
    return row


def _reminder_row(conference: UpcomingConference, planned: PlannedReminder) -> ConferenceReminder:
    return ConferenceReminder(
        id=planned.id,
        conference_id=conference.id,
        district=conference.district,
        site=conference.site,
        round=conference.round,
        before_minutes=int(planned.before.total_seconds() // 60),
        due_at=planned.due_at,
        status=planned.status,
    )


# --- Sending one, when due ---------------------------------------------------------------------


class ReminderDue(EventData):
    """A conference's reminder came due. Never published: the cause its messages are recorded
    with (``delivery.cause_event_id`` is the reminder's id)."""

    event_name = "notifications.conference.reminder_due"

    reminder_id: str = Field(description="The reminder's id.")
    conference_id: str = Field(description="The booking's id.")
    before: str = Field(description="How long before the conference, e.g. `PT2H`.")


@jobs.handles(SEND_REMINDER, max_attempts=5, retry_backoff_seconds=60.0)
async def send_reminder(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
    """Remind each guardian of the student of the conference, in their language and with a
    link of their own; nothing if it was moved or cancelled since, or has begun."""
    now = context.env.now()
    async with context.finish() as session:
        reminder = await session.get(ConferenceReminder, job.payload["reminder_id"])
        if reminder is None or reminder.status not in UNSENT:
            return  # settled by an earlier run (a failed or cancelled one is run again by an
            # operator: ``slc-jobs retry``; if its round was replaced it stays cancelled)
        # The conference locked, as a move or a cancellation locks it before it cancels its
        # reminders (``plan_anew``): one committed meanwhile is read here, and its round
        # decides, not the reminder's status (an operator's cancel may be put back).
        conference = await session.get(
            UpcomingConference, reminder.conference_id, with_for_update=True
        )
        outcome = outcome_when_due(reminder_round=reminder.round, conference=conference, now=now)
        settled = await session.exec(
            update(ConferenceReminder)
            .where(
                col(ConferenceReminder.id) == reminder.id,
                col(ConferenceReminder.status).in_(UNSENT),
            )
            .values(status=outcome, sent_at=now if outcome == SENT else None)
            .execution_options(synchronize_session=False)
        )
        # (Settled by another run meanwhile: then nothing is written.)
        if settled.rowcount != 1 or outcome != SENT or conference is None:
            return
        await notify_guardians(
            session,
            await _messages(context.env, session, reminder, conference),
            now=context.env.now(),
            family_links=context.env.family_links,
        )


async def put_back(
    session: AsyncSession, conference: UpcomingConference, reminders: Sequence[ConferenceReminder]
) -> set[str]:
    """Those of the conference's current ``reminders`` recorded ``failed`` or ``cancelled``
    whose job an operator has put back (``slc-jobs retry``): they wait for it again, as
    ``pending`` ones do. (A move plans them anew, cancelling their jobs.)"""
    keys = {
        _job_key(r): r.id
        for r in reminders
        if r.status in (FAILED, CANCELLED) and r.round == conference.round
    }
    if not keys:
        return set()
    waiting = await session.exec(
        select(Job.key).where(
            col(Job.kind) == SEND_REMINDER,
            col(Job.key).in_(sorted(keys)),
            col(Job.status).in_([JobState.PENDING.value, JobState.RUNNING.value]),
        )
    )
    return {keys[key] for key in waiting.all()}


@jobs.gives_up(SEND_REMINDER)
async def reminder_not_sent(session: AsyncSession, job: GivenUp) -> None:
    """A reminder whose job was given up (its last run failed, or its worker stopped each time)
    is recorded ``failed`` (``cancelled`` if an operator cancelled the job), where staff see it
    with the conference's reminders, instead of waiting as ``pending`` for ever. A move of the
    conference plans it again; an operator's ``slc-jobs retry`` of its job sends it (if its
    conference has not moved or begun), at its time if that is still to come. (One put back
    and given up again is recorded anew; one of a round replaced meanwhile stays as it is.)"""
    # The reminder locked first (after its job, as every writer takes them), then its
    # conference's round read in a statement of its own: a move committed meanwhile is seen.
    reminder = (
        await session.exec(
            select(ConferenceReminder)
            .where(col(ConferenceReminder.id) == job.payload["reminder_id"])
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).first()
    if reminder is None or reminder.status not in UNSENT:
        return
    current_round = (
        await session.exec(
            select(UpcomingConference.round).where(
                col(UpcomingConference.id) == reminder.conference_id
            )
        )
    ).first()
    if current_round != reminder.round:
        return
    await session.exec(
        update(ConferenceReminder)
        .where(col(ConferenceReminder.id) == reminder.id)
        .values(status=CANCELLED if job.cancelled else FAILED)
        .execution_options(synchronize_session=False)
    )


async def _messages(
    env: NotificationsEnvironment,
    session: AsyncSession,
    reminder: ConferenceReminder,
    conference: UpcomingConference,
) -> list[Message]:
    """The reminder to each guardian linked to the student, each with a link of their own (a
    link is one guardian's credential: it is never copied to another)."""
    now = env.now()
    before = timedelta(minutes=reminder.before_minutes)
    cause = new_event(
        ReminderDue(
            reminder_id=reminder.id, conference_id=conference.id, before=iso_duration(before)
        ),
        subject=conference.student_id,
        district=conference.district,
        site=conference.site,
        at=now,
    ).model_copy(update={"id": reminder.id})
    ends_at = conference.ends_at or conference.starts_at
    guardians = await linked_guardians(session, conference.student_id) | {conference.guardian_id}
    return [
        Message(
            guardian_id=guardian_id,
            student_id=conference.student_id,
            template=TEMPLATE,
            cause=cause,
            expires_at=conference.starts_at,
            teacher_id=conference.teacher_id,
            virtual=conference.mode == "virtual",
            timezone=conference.timezone or env.settings.timezone,
            values={
                "starts_at": conference.starts_at,
                "minutes": int((ends_at - conference.starts_at).total_seconds() // 60),
                "room": conference.room or "",
                "interpreter": named_language(conference.interpreter_language),
            },
            link_until=ends_at,
        )
        for guardian_id in sorted(guardians)
    ]
