"""Invitations to book when a window opens, written a chunk of families at a time.

The ``scheduling.window.opened`` handler only lists the site's guardians and asks for one
``invite_families`` job per ``invitations_per_job`` of them, in the event's transaction. Each
job writes its families' invitations (with their links, minted here) and queues them for
sending in a transaction of its own: a district's largest school is not one transaction of
tens of thousands of messages, and its first invitations go out while the rest are written.
The job's key names the event and the chunk, so an event handled twice asks for no more jobs,
and ``notify_guardians`` writes a family's invitation once however often a job runs.

A child whose conference in the window the school booked before the family was invited (the
office may book before booking opens) is named with its time instead of in the invitation to
choose one, as this service knows the conferences when the job runs: a booking it has not heard
of yet is sent its confirmation after the invitation, and a cancellation heard late is sent
with a link to book again, so every family is always given its link.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.delivery import Message, notify_guardians
from services.notifications.environment import NotificationsEnvironment
from services.notifications.family_links import children_counted, families_at_sites
from services.notifications.messages import Days, Names
from services.notifications.reminders import BOOKED
from services.notifications.sending import jobs
from services.notifications.tables import CouldNotReach, Delivery, UpcomingConference
from shared.auth.family_links import window_links_until
from shared.events import CloudEvent, WindowOpened
from shared.jobs.context import BatchJobContext
from shared.jobs.handlers import GivenUp, JobRun
from shared.jobs.queue import NewJob

INVITE = "invite_families"
TEMPLATE = "conference_invitation"


@dataclass(frozen=True)
class WindowOpening:
    """The cause of a window's invitations: the ``window.opened`` event, by its id."""

    id: str
    district: str
    site: str


def invitation_jobs(
    event: CloudEvent[WindowOpened], guardian_ids: Sequence[str], *, per_job: int
) -> list[NewJob]:
    """The jobs that invite these guardians to book in the window the event opened (the window
    goes in the payload; the links are minted when each job runs, never stored)."""
    window = event.data.model_dump(mode="json")
    return [
        NewJob(
            kind=INVITE,
            key=f"{event.id}/{number}",
            payload={
                "cause": {"id": event.id, "district": event.district, "site": event.site},
                "window": window,
                "guardian_ids": list(guardian_ids[start : start + per_job]),
            },
        )
        for number, start in enumerate(range(0, len(guardian_ids), per_job))
    ]


# A batch handler taking one job at a time: a worker's round then claims one chunk of
# invitations beside its batch of messages to send, so that writing and sending take turns
# instead of every chunk being written before anything is sent.
@jobs.handles_batch(INVITE, batch_size=1, max_attempts=6, retry_backoff_seconds=30.0)
async def invite_families(
    context: BatchJobContext[NotificationsEnvironment], runs: Sequence[JobRun]
) -> None:
    """Write the invitations of one chunk of the site's families, each with their own link
    (valid until booking closes), and queue them for sending."""
    for job in runs:
        await _invite(context, job)


async def _invite(context: BatchJobContext[NotificationsEnvironment], job: JobRun) -> None:
    cause = WindowOpening(**job.payload["cause"])
    window = WindowOpened.model_validate(job.payload["window"])
    now = context.env.now()
    async with context.finish([job]) as session:
        families = await families_at_sites(
            session, {(cause.district, cause.site)}, guardians=job.payload["guardian_ids"]
        )
        here = families.get((cause.district, cause.site), {})
        counted = await children_counted(session, cause.district, list(here))
        booked = await booked_in_window(
            session,
            cause.district,
            window.window_id,
            {child.id for children in here.values() for child in children},
        )
        await notify_guardians(
            session,
            [
                Message(
                    guardian_id=guardian_id,
                    student_id=children[0].id,
                    template=TEMPLATE,
                    cause=cause,
                    timezone=window.timezone,
                    values=_invitation(
                        window,
                        children=tuple(child.given_name for child in children),
                        booked=tuple(
                            Booked(child.given_name, *booked[child.id])
                            for child in children
                            if child.id in booked
                        ),
                        to_choose=tuple(
                            child.given_name for child in children if child.id not in booked
                        ),
                        in_the_district=counted.get(guardian_id, len(children)),
                        now=now,
                        link=context.env.family_links.url(
                            guardian_id=guardian_id,
                            district=cause.district,
                            expires_at=window_links_until(window.last_day, window.timezone),
                            now=now,
                        ),
                    ),
                )
                for guardian_id, children in sorted(here.items())
            ],
            now=now,
        )


class Booked(NamedTuple):
    """A child whose conference in the window is booked already: when it begins and ends."""

    name: str
    starts_at: datetime
    ends_at: datetime


async def booked_in_window(
    session: AsyncSession, district: str, window_id: str, student_ids: set[str]
) -> dict[str, tuple[datetime, datetime]]:
    """When each of these students' conference in the window begins and ends, of those booked
    as this service knows them (the first, should it know of more than one). It does not hear
    whether one that has ended was held or missed."""
    if not student_ids:
        return {}
    rows = await session.exec(
        select(
            UpcomingConference.student_id,
            UpcomingConference.starts_at,
            UpcomingConference.ends_at,
        )
        .where(
            col(UpcomingConference.district) == district,
            col(UpcomingConference.window_id) == window_id,
            col(UpcomingConference.status) == BOOKED,
            col(UpcomingConference.student_id).in_(sorted(student_ids)),
        )
        .order_by(col(UpcomingConference.starts_at).desc())
    )
    # (A booking's end is always known: only an old cancellation's may not be.)
    return {student: (starts, ends or starts) for student, starts, ends in rows.all()}


# The could-not-reach entry of a family whose invitation was never written has no delivery to
# be named by: its id is derived from the window's event and the guardian instead, so a
# give-up recorded again lists the family once.
_NOT_WRITTEN = uuid.UUID("0b6a7f0e-5d43-4c1e-9a52-2f1c3e8d7a10")


@jobs.gives_up(INVITE)
async def invitations_not_written(session: AsyncSession, job: GivenUp) -> None:
    """A chunk's invitations given up (writing them failed in each attempt, or the notifier died
    each time it began): each of its families not invited yet goes on the office's
    could-not-reach list with why, until a later message reaches them (``slc-jobs retry`` of the
    job writes and sends the invitations, which takes them off)."""
    cause = WindowOpening(**job.payload["cause"])
    families = await families_at_sites(
        session, {(cause.district, cause.site)}, guardians=job.payload["guardian_ids"]
    )
    invited = set(
        (
            await session.exec(
                select(Delivery.recipient_id).where(
                    col(Delivery.cause_event_id) == cause.id,
                    col(Delivery.template) == TEMPLATE,
                )
            )
        ).all()
    )
    for guardian_id, children in sorted(families.get((cause.district, cause.site), {}).items()):
        if guardian_id in invited:
            continue
        await session.merge(
            CouldNotReach(
                delivery_id=str(uuid.uuid5(_NOT_WRITTEN, f"{cause.id}/{guardian_id}")),
                district=cause.district,
                site=cause.site,
                guardian_id=guardian_id,
                student_id=children[0].id,
                template=TEMPLATE,
                reason=(
                    "the invitation to book was not written: an operator cancelled its job"
                    if job.cancelled
                    else f"the invitation to book could not be written ({job.error})"[:500]
                ),
                reason_kind="not_written",
                cause_event_id=cause.id,
            )
        )


def _invitation(
    window: WindowOpened,
    *,
    children: tuple[str, ...],
    booked: tuple[Booked, ...],
    to_choose: tuple[str, ...],
    in_the_district: int,
    now: datetime,
    link: str | None,
) -> dict[str, Any]:
    """What a family's invitation says: a family with several children (``in_the_district``:
    at any of its schools, as scheduling counts them) is told when its early access begins, if
    before everyone else's. The ``booked`` children are named with their times; the family is
    asked to choose a time for the others (``to_choose``), if any. One that has ended (held or
    missed: a family missed is sent a new time of its own) is said to have been."""
    early = window.early_access_at
    if max(in_the_district, len(children)) < 2 or early is None or early >= window.opens_at:
        early = None
    return {
        "children": Names(children),
        "several": len(children) > 1,
        "booked": [
            {"student": child.name, "starts_at": child.starts_at, "past": child.ends_at <= now}
            for child in booked
        ],
        "to_choose": Names(to_choose),
        "window": window.name,
        "days": Days(window.first_day, window.last_day),
        "opens_at": window.opens_at,
        "closes_at": window.closes_at,
        "early_access_at": early,
        "open_now": (early or window.opens_at) <= now,
        "link": link,
    }
