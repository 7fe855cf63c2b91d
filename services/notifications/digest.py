"""The daily portfolio digest: one message per family with the day's news (goals set and
reached, work approved, reflections the family may read), with the guardian's own link to see
it all, at the hour the guardian chose, instead of a message per event.

News is kept as ``DigestItem`` rows by ``delivery.keep_for_digest``, each with a
``send_digest`` job due at the guardian's hour. The first of the guardian's jobs to run claims
everything waiting (marking it with the digest's id, which comes from the job's key) and writes
the one message in the same transaction; the guardian's other jobs then find nothing. A job run
again writes nothing more, and news that arrives while a digest is written has its own job.
A digest job given up (or cancelled by an operator) leaves no news waiting for news that may
never come: ``digest_not_sent`` plans the guardian's next day's digest for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.delivery import (
    DIGEST,
    Message,
    digest_job_key,
    notify_guardians,
    preferences_from_row,
)
from services.notifications.environment import NotificationsEnvironment
from services.notifications.messages import Authored, Names
from services.notifications.preferences import NO_PREFERENCES, next_digest_at
from services.notifications.sending import jobs
from services.notifications.tables import DigestItem, GuardianPreference, KnownStudent
from shared.database import utcnow
from shared.jobs.context import JobContext
from shared.jobs.handlers import GivenUp, JobRun
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job
from shared.roster import link_states

# How long the link in a digest works: a week, for a family that reads its news late.
DIGEST_LINK_LIFETIME = timedelta(days=7)
_DIGESTS = uuid.UUID("6f1c7a52-1d0b-4d0e-9a57-3c1b7f3f2a10")


@dataclass(frozen=True)
class DigestRound:
    """The cause of one digest: its id is the same however often its job runs."""

    id: str
    district: str
    site: str


async def still_theirs(
    session: AsyncSession, guardian_id: str, waiting: Sequence[DigestItem]
) -> tuple[list[DigestItem], dict[str, KnownStudent]]:
    """The news about students the roster still links the guardian to and still enrolls (what
    a digest may tell them), and those students by id."""
    links = await link_states(session, {(guardian_id, item.student_id) for item in waiting})
    students = {
        student.id: student
        for student in (
            await session.exec(
                select(KnownStudent).where(
                    col(KnownStudent.id).in_(sorted({item.student_id for item in waiting}))
                )
            )
        ).all()
        if student.active and links.get((guardian_id, student.id))
    }
    return [item for item in waiting if item.student_id in students], students


@jobs.handles(DIGEST, max_attempts=6, retry_backoff_seconds=60.0)
async def send_digest(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
    """Write the guardian's digest from the news waiting for it (about students the roster
    still links them to), and queue it for sending."""
    guardian_id = job.payload["guardian_id"]
    cause = DigestRound(
        id=str(uuid.uuid5(_DIGESTS, f"{job.kind}:{job.key}")),
        district=job.payload["district"],
        site=job.payload["site"],
    )
    async with context.finish() as session:
        # Claimed first, in this transaction: another job of the guardian's running at the
        # same time (or on another replica) waits for this one and then finds nothing.
        await session.exec(
            update(DigestItem)
            .where(col(DigestItem.guardian_id) == guardian_id, col(DigestItem.digest_id).is_(None))
            .values(digest_id=cause.id)
        )
        waiting = (
            await session.exec(
                select(DigestItem)
                .where(DigestItem.guardian_id == guardian_id, DigestItem.digest_id == cause.id)
                .order_by(col(DigestItem.created_at))
            )
        ).all()
        news, students = await still_theirs(session, guardian_id, waiting)
        if not news:
            return
        names = list(dict.fromkeys(students[item.student_id].given_name for item in news))
        await notify_guardians(
            session,
            [
                Message(
                    guardian_id=guardian_id,
                    student_id=news[0].student_id,
                    template="portfolio_digest",
                    cause=cause,
                    timezone=job.payload["timezone"],
                    values={
                        "children": Names(tuple(names)),
                        "items": [
                            {
                                "student": students[item.student_id].given_name,
                                "kind": item.kind,
                                # (A reflection on the term has no title.)
                                "title": Authored(item.title) if item.title else None,
                            }
                            for item in news
                        ],
                    },
                    # (Their own link, to see the work and hear what the child said.)
                    link_until=context.env.now() + DIGEST_LINK_LIFETIME,
                )
            ],
            now=context.env.now(),
            family_links=context.env.family_links,
        )


@jobs.gives_up(DIGEST)
async def digest_not_sent(session: AsyncSession, job: GivenUp) -> None:
    """A digest given up (writing it failed in each attempt, or an operator cancelled it) leaves
    the guardian's news waiting: a digest is planned at their digest hour after this one's, so
    the news goes a day late instead of waiting for news that may never come. Its key is that
    hour's and the oldest news waiting's, so the guardian's jobs given up together (they share
    their hour, and fail alike, with the same news waiting) plan it once, and a digest that
    has since claimed that news leaves the next give-up a key of its own."""
    guardian_id = job.payload["guardian_id"]
    oldest = (
        await session.exec(
            select(DigestItem.id)
            .where(col(DigestItem.guardian_id) == guardian_id, col(DigestItem.digest_id).is_(None))
            .order_by(col(DigestItem.created_at), col(DigestItem.id))
            .limit(1)
        )
    ).first()
    if oldest is None:
        return
    row = await session.get(GuardianPreference, guardian_id)
    chosen = preferences_from_row(row) if row is not None else NO_PREFERENCES
    given_up = await session.get(Job, job.id)
    after = max(utcnow(), given_up.due_at) if given_up is not None else utcnow()
    due = next_digest_at(chosen, after, job.payload["timezone"])
    key = digest_job_key(guardian_id, due, f"{AGAIN}-{oldest}")
    if key == job.key:  # (itself planned so, then moved earlier by a new digest hour)
        key = digest_job_key(guardian_id, due, f"{AGAIN}-{job.id}")
    await enqueue_many(
        session,
        [
            NewJob(
                kind=DIGEST,
                key=key,
                due_at=due,
                payload=job.payload,
            )
        ],
    )


# What a digest planned again for news a given-up digest left waiting is keyed by, with the
# oldest news waiting, in place of a piece of news (``digest_job_key``).
AGAIN = "again"
