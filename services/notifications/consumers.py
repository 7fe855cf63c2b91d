"""Events notifications turns into messages to families.

Each handler takes a batch of events at once, so that the guardians' contact points, the
students' names and what was already delivered are looked up once per batch, not per message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.notifications.delivery import Message, notify_guardians
from services.notifications.environment import NotificationsEnvironment
from services.notifications.family_links import (
    guardians_at_sites,
    issued_after,
    roster_students,
)
from services.notifications.invitations import invitation_jobs
from services.notifications.messages import LanguageName, Names, named_language
from services.notifications.reminders import (
    ConferenceFacts,
    answered_waitlist_entries,
    follow_conferences,
    names_interpreter,
)
from services.notifications.tables import KnownStudent, MessageRound
from shared.calendar_ics import Conference
from shared.events import (
    CloudEvent,
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceCompleted,
    ConferenceInterpreterChanged,
    ConferenceMoved,
    ConferenceNoShow,
    EvidenceApproved,
    FamiliesNudged,
    FamilyLinkReissued,
    GoalAchieved,
    GoalSet,
    ReflectionAdded,
    WaitlistJoined,
    WindowOpened,
)
from shared.jobs.queue import enqueue_many
from shared.link_revocations import keep_revocations
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.roster import (
    keep_administrator_copy,
    keep_roster_copy,
    keep_site_copy,
    link_states,
    site_zones,
)
from shared.roster_classes import keep_class_copy
from shared.upsert import insert_or_replace

consumers = EventConsumers(group="notifications")
Context = HandlerContext[NotificationsEnvironment]

# How long the link in a message asking the family to find a new time works (a conference
# missed, or cancelled): long enough to find one.
NEW_TIME_LINK_LIFETIME = timedelta(days=14)


keep_site_copy(consumers)
keep_administrator_copy(consumers)
keep_roster_copy(consumers, KnownStudent)
# (The teachers' names, which conference messages and their calendars give: no student's.)
keep_class_copy(consumers, roles=("teacher",))


@consumers.handles_batch(GoalSet)
async def tell_guardians_about_new_goal(
    context: Context, events: Sequence[CloudEvent[GoalSet]]
) -> None:
    """Keep a goal just set for each guardian's daily portfolio digest."""
    await _portfolio_news(context, [(event, "goal_set", event.data.title) for event in events])


@consumers.handles_batch(GoalAchieved)
async def tell_guardians_about_goal_reached(
    context: Context, events: Sequence[CloudEvent[GoalAchieved]]
) -> None:
    """Keep a goal reached for each guardian's daily portfolio digest."""
    await _portfolio_news(context, [(event, "goal_achieved", event.data.title) for event in events])


@consumers.handles_batch(EvidenceApproved)
async def tell_guardians_about_approved_work(
    context: Context, events: Sequence[CloudEvent[EvidenceApproved]]
) -> None:
    """Keep work a teacher approved for each guardian's daily portfolio digest."""
    await _portfolio_news(
        context, [(event, "evidence_approved", event.data.title) for event in events]
    )


@consumers.handles_batch(ReflectionAdded)
async def tell_guardians_about_reflection(
    context: Context, events: Sequence[CloudEvent[ReflectionAdded]]
) -> None:
    """Keep a reflection the family may read (on the term, or on work approved) for each
    guardian's daily portfolio digest: that the child reflected, or said it aloud, and on which
    work (never what they said)."""
    await _portfolio_news(
        context,
        [
            (
                event,
                "reflection_spoken" if event.data.spoken else "reflection_added",
                event.data.evidence_title or "",
            )
            for event in events
        ],
    )


PortfolioNews = (
    CloudEvent[GoalSet]
    | CloudEvent[GoalAchieved]
    | CloudEvent[EvidenceApproved]
    | CloudEvent[ReflectionAdded]
)


async def _portfolio_news(
    context: Context,
    news: Sequence[tuple[PortfolioNews, str, str]],
) -> None:
    """Portfolio news (each event, its kind and its title) goes to the guardians the event names
    (each still checked against the roster), into their digest (``digest.py``), in the words
    the student wrote, at the hour of the school's time zone."""
    zones = await site_zones(context.session, {event.site for event, _, _ in news})
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=guardian_id,
                student_id=event.data.student_id,
                template=kind,
                cause=event,
                timezone=zones.get(event.site, context.env.settings.timezone),
                values={"title": title},
            )
            for event, kind, title in news
            for guardian_id in event.data.guardian_ids
        ],
        now=context.env.now(),
    )


@consumers.handles_batch(ConferenceBooked)
async def confirm_booking_to_guardian(
    context: Context, events: Sequence[CloudEvent[ConferenceBooked]]
) -> None:
    """Send the student's guardians (the one the booking is for, and every other the roster
    links to the student) a confirmation with time and room, in the site's time zone (saying a
    time opened up, when the waitlist gave them the seat), each in their own language with
    their own link to change or cancel it; and plan the conference's reminders."""
    now = context.env.now()
    events = await follow_conferences(context, events)
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                whole_family=True,
                template="conference_booked_from_waitlist"
                if event.data.booked_via == "waitlist"
                else "conference_booked",
                cause=event,
                timezone=event.data.timezone or context.env.settings.timezone,
                values={
                    "starts_at": event.data.starts_at,
                    "minutes": int(
                        (event.data.ends_at - event.data.starts_at).total_seconds() // 60
                    ),
                    "room": event.data.room,
                    "interpreter": named_language(event.data.interpreter_language),
                },
                calendar=conference_of(event),
                # (To change or cancel it: a family the waitlist booked, or the school booked
                # for, may not have its invitation at hand.)
                link_until=event.data.ends_at,
            )
            for event in events
        ],
        now=now,
        family_links=context.env.family_links,
    )


@consumers.handles_batch(ConferenceCancelled)
async def tell_guardian_booking_cancelled(
    context: Context, events: Sequence[CloudEvent[ConferenceCancelled]]
) -> None:
    """Tell the student's guardians that the conference is cancelled (critical on the day:
    past quiet hours and opt-outs), whether they are first on the waitlist for a new time, with
    each guardian's link to book another; no reminder of it goes."""
    now = context.env.now()
    events = await follow_conferences(context, events)
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                whole_family=True,
                template="conference_cancelled",
                cause=event,
                critical=_soon(context, now, event.data.starts_at),
                timezone=event.data.timezone or context.env.settings.timezone,
                values={
                    "starts_at": event.data.starts_at,
                    "reason": event.data.reason,
                    "waitlisted": event.data.waitlisted,
                },
                calendar=conference_of(event),
                teacher_id=event.data.teacher_id,
                # (Until the window's end, if sooner: no time is booked after it.)
                link_until=min(
                    filter(None, (now + NEW_TIME_LINK_LIFETIME, event.data.links_until))
                ),
            )
            for event in events
        ],
        now=now,
        family_links=context.env.family_links,
    )


@consumers.handles_batch(ConferenceMoved)
async def tell_guardian_conference_moved(
    context: Context, events: Sequence[CloudEvent[ConferenceMoved]]
) -> None:
    """Tell the student's guardians the conference's new time, and why if the school moved it
    (critical when the old or the new time is on the day), with each guardian's link to change
    it; its reminders move with it."""
    now = context.env.now()
    told: dict[str, ConferenceFacts | None] = {}
    events = await follow_conferences(context, events, known_before=told)
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                whole_family=True,
                template="conference_moved",
                cause=event,
                critical=_soon(context, now, event.data.starts_at)
                or _soon(context, now, event.data.previous_starts_at),
                timezone=event.data.timezone or context.env.settings.timezone,
                values={
                    **_changed_conference(event),
                    "previous_starts_at": event.data.previous_starts_at,
                    "reason": event.data.reason,
                    "dropped_interpreter": _dropped_interpreter(event, told),
                },
                calendar=conference_of(event),
                link_until=event.data.ends_at,
            )
            for event in events
        ],
        now=now,
        family_links=context.env.family_links,
    )


def _changed_conference(
    event: CloudEvent[ConferenceMoved] | CloudEvent[ConferenceInterpreterChanged],
) -> dict[str, Any]:
    """What a message about a conference the family or the school changed says of it now."""
    data = event.data
    return {
        "starts_at": data.starts_at,
        "minutes": int((data.ends_at - data.starts_at).total_seconds() // 60),
        "room": data.room,
        "by_school": data.by_school,
        "interpreter": named_language(data.interpreter_language),
    }


def _dropped_interpreter(
    event: CloudEvent[ConferenceMoved], told: Mapping[str, ConferenceFacts | None]
) -> LanguageName | None:
    """The interpreter the family knew of, which the move leaves out (a move without it, or an
    interpreter given up whose news this move overtook)."""
    known = told.get(event.id)
    if known is None or not names_interpreter(event) or event.data.interpreter_language is not None:
        return None
    return named_language(known.interpreter_language)


@consumers.handles_batch(ConferenceInterpreterChanged)
async def tell_guardians_interpreter_changed(
    context: Context, events: Sequence[CloudEvent[ConferenceInterpreterChanged]]
) -> None:
    """Tell the student's guardians the interpreter the conference now has, or that it has none
    any more (critical when it is on the day), with each guardian's link to change it; its
    reminders name the interpreter it has now."""
    now = context.env.now()
    told: dict[str, ConferenceFacts | None] = {}
    events = await follow_conferences(context, events, known_before=told)
    messages = []
    for event in events:
        # A move this change overtook, whose news it brings: the time it was.
        known = told.get(event.id)
        moved_from = known.starts_at if known and known.starts_at != event.data.starts_at else None
        messages.append(
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                whole_family=True,
                template="conference_interpreter_changed",
                cause=event,
                critical=_soon(context, now, event.data.starts_at)
                or (moved_from is not None and _soon(context, now, moved_from)),
                timezone=event.data.timezone or context.env.settings.timezone,
                values={
                    **_changed_conference(event),
                    "previous_interpreter": named_language(
                        event.data.previous_interpreter_language
                    ),
                    "previous_starts_at": moved_from,
                },
                calendar=conference_of(event),
                link_until=event.data.ends_at,
            )
        )
    await notify_guardians(
        context.session, messages, now=now, family_links=context.env.family_links
    )


def _soon(context: Context, now: datetime, starts_at: datetime) -> bool:
    """Whether news of a conference at ``starts_at`` cannot wait (it is on the day, and still
    to come)."""
    return timedelta(0) <= starts_at - now < context.env.settings.critical_within


def conference_of(
    event: CloudEvent[ConferenceBooked]
    | CloudEvent[ConferenceMoved]
    | CloudEvent[ConferenceInterpreterChanged]
    | CloudEvent[ConferenceCancelled],
) -> Conference | None:
    """The conference as the family's calendar shows it (the student's name is filled in when
    the message is written): the same UID and SEQUENCE as scheduling's own ``.ics``. None for a
    cancellation published before cancellations carried their end."""
    data = event.data
    if data.ends_at is None:
        return None
    cancelled = isinstance(data, ConferenceCancelled)
    station = None if isinstance(data, ConferenceCancelled) else data.station
    return Conference(
        booking_id=data.booking_id,
        district=event.district,
        site=event.site,
        sequence=data.sequence,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        given_name="",
        teacher_id=data.teacher_id or "",
        room=data.room or "",
        virtual=data.mode == "virtual",
        station=station,
        interpreter_language=getattr(data, "interpreter_language", None),
        cancelled=cancelled,
        guardian_id=data.guardian_id,
    )


# --- Messages with the family's link (minted here; never on a stream) ----------------------


@consumers.handles_batch(WindowOpened)
async def invite_families_to_book(
    context: Context, events: Sequence[CloudEvent[WindowOpened]]
) -> None:
    """Invite every family of the window's site, each with their own link (valid until
    booking closes): the invitations are written by jobs, a chunk of families each."""
    await _keep_rounds(context, events)
    guardians = await guardians_at_sites(
        context.session, {(event.district, event.site) for event in events}
    )
    await enqueue_many(
        context.session,
        [
            job
            for event in events
            for job in invitation_jobs(
                event,
                guardians.get((event.district, event.site), []),
                per_job=context.env.settings.invitations_per_job,
            )
        ],
    )


async def _keep_rounds(
    context: Context, events: Sequence[CloudEvent[WindowOpened] | CloudEvent[FamiliesNudged]]
) -> None:
    """Keep which window each round of messages to many families is about, by the event that
    started it (the office's report of the rounds names it), in one statement."""
    rounds = {
        event.id: {
            "cause_event_id": event.id,
            "district": event.district,
            "site": event.site,
            "window_id": event.data.window_id,
        }
        for event in events
    }
    await insert_or_replace(
        context.session, MessageRound, list(rounds.values()), key=("cause_event_id",)
    )


@consumers.handles_batch(FamilyLinkReissued)
async def send_family_their_new_link(
    context: Context, events: Sequence[CloudEvent[FamilyLinkReissued]]
) -> None:
    """Send the family a new link, issued after the revocation that cut off their old ones
    (about the student the event names, one of theirs). The links it replaced stop working
    here too."""
    await keep_revocations(context.session, events)
    now = context.env.now()
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.subject,
                template="family_link_reissued",
                cause=event,
                timezone=event.data.timezone or context.env.settings.timezone,
                values={
                    "expires_at": event.data.expires_at,
                    "link": context.env.family_links.url(
                        guardian_id=event.data.guardian_id,
                        district=event.district,
                        expires_at=event.data.expires_at,
                        now=now,
                        issued_at=issued_after(event.data.revoked_before, now=now),
                    ),
                },
            )
            for event in events
        ],
    )


@consumers.handles_batch(FamiliesNudged)
async def remind_families_to_book(
    context: Context, events: Sequence[CloudEvent[FamiliesNudged]]
) -> None:
    """Remind each guardian the school nudged to book, with their link (one message per
    guardian, naming each of their children who has no conference yet, and apart those on the
    waitlist, whose time is booked when one opens up)."""
    await _keep_rounds(context, events)
    now = context.env.now()
    nudged = {family.student_id for event in events for family in event.data.families}
    on_roster = await roster_students(context.session, nudged)
    names = {student: name for student, name in on_roster.items() if name is not None}
    links = await link_states(
        context.session,
        {
            (guardian_id, family.student_id)
            for event in events
            for family in event.data.families
            for guardian_id in family.guardian_ids
        },
    )
    messages = []
    for event in events:
        children: dict[str, list[str]] = defaultdict(list)
        waiting = {family.student_id for family in event.data.families if family.waitlisted}
        for family in event.data.families:
            for guardian_id in family.guardian_ids:
                if family.student_id not in children[guardian_id]:
                    children[guardian_id].append(family.student_id)
        for guardian_id, student_ids in sorted(children.items()):
            # A child whose roster entry, or whose link to the guardian, has not arrived yet
            # makes the event wait for it (the message is addressed to them), so that the
            # reminder names every child; else it is about a child still at school and still
            # the guardian's, if any (about one who has left, it is not sent). It names only
            # those.
            known = [
                student
                for student in student_ids
                if student in names and links.get((guardian_id, student))
            ]
            arriving = [
                student
                for student in student_ids
                if student not in on_roster or (guardian_id, student) not in links
            ]
            messages.append(
                Message(
                    guardian_id=guardian_id,
                    student_id=(arriving or known or student_ids)[0],
                    template="booking_reminder",
                    cause=event,
                    timezone=event.data.timezone or context.env.settings.timezone,
                    values={
                        "children": Names(tuple(names[one] for one in known if one not in waiting)),
                        "waiting": Names(tuple(names[one] for one in known if one in waiting)),
                        "closes_at": event.data.closes_at,
                    },
                    link_until=event.data.links_until or event.data.closes_at,
                )
            )
    await notify_guardians(
        context.session, messages, now=now, family_links=context.env.family_links
    )


@consumers.handles_batch(ConferenceNoShow)
async def offer_new_time_after_no_show(
    context: Context, events: Sequence[CloudEvent[ConferenceNoShow]]
) -> None:
    """Tell the family they were missed, with a link to choose a new time (for 14 days)."""
    now = context.env.now()
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                template="no_show_new_time",
                cause=event,
                timezone=event.data.timezone or context.env.settings.timezone,
                values={"starts_at": event.data.starts_at},
                link_until=now + NEW_TIME_LINK_LIFETIME,
            )
            for event in events
        ],
        now=now,
        family_links=context.env.family_links,
    )


@consumers.handles_batch(WaitlistJoined)
async def tell_family_what_it_waits_for(
    context: Context, events: Sequence[CloudEvent[WaitlistJoined]]
) -> None:
    """Tell the family it is on the waiting list, for what (the day, the part of the day, the
    teacher, an interpreter), that a time opening up is booked for it, and its link to choose
    another time meanwhile or leave the line (a written record of a call to the office too).
    Not when the waitlist has booked the place already: the news of joining came after that of
    the time that opened up (another stream), and the family has its time."""
    now = context.env.now()
    answered = await answered_waitlist_entries(
        context.session, {event.data.entry_id for event in events}
    )
    events = [event for event in events if event.data.entry_id not in answered]
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                template="waitlist_joined",
                cause=event,
                timezone=event.data.timezone or context.env.settings.timezone,
                teacher_id=event.data.teacher_id,
                values={
                    "day": event.data.day,
                    "part_of_day": event.data.part_of_day,
                    "interpreter": named_language(event.data.interpreter_language),
                    "by_school": event.data.by_school,
                    "free_now": event.data.free_times_that_fit > 0,
                },
                link_until=event.data.links_until or now + NEW_TIME_LINK_LIFETIME,
            )
            for event in events
        ],
        now=now,
        family_links=context.env.family_links,
    )


# How long the link in the message after a conference works: time to answer the feedback.
FEEDBACK_LINK_LIFETIME = timedelta(days=14)


@consumers.handles_batch(ConferenceCompleted)
async def ask_family_for_feedback(
    context: Context, events: Sequence[CloudEvent[ConferenceCompleted]]
) -> None:
    """After the conference, thank the student's guardians and ask how it went (portfolio opens
    the feedback), each with a link of their own for two weeks."""
    now = context.env.now()
    zones = await site_zones(context.session, {event.site for event in events})
    await notify_guardians(
        context.session,
        [
            Message(
                guardian_id=event.data.guardian_id,
                student_id=event.data.student_id,
                whole_family=True,
                template="feedback_requested",
                cause=event,
                timezone=zones.get(event.site, context.env.settings.timezone),
                link_until=now + FEEDBACK_LINK_LIFETIME,
            )
            for event in events
        ],
        now=now,
        family_links=context.env.family_links,
    )
