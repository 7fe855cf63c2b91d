"""The jobs that hand queued messages to their channel, after the commit that queued them.

A delivery written alone has its job (``deliver_message``, its key the delivery's id), and those
jobs are run in batches: one call takes up to ``DELIVERIES_PER_JOB`` of them. Deliveries written
together and due together (a window's invitations) share a job per chunk of that many
(``deliver_chunk``): one job row for 500 messages instead of 500. Either way one call reads its
deliveries and checks in a few queries who may still hear (the roster still links the guardian
to the student, who is still enrolled; nothing is texted to a number that said STOP), and hands
the rest to their channels, many messages over each connection. Each message the channel's
medium accepts is recorded sent, with its ``delivery.sent`` event, in a transaction shared with
whatever the other connections had handed over meanwhile (on PostgreSQL one statement,
``_RECORD_SENT``), and its connection hands over no
other message until then: a notifier that dies leaves at most one message per connection
accepted and not recorded, which is sent again (with the same Message-ID or idempotency key).
A worker hands a message over only while it surely still holds its job (``surely_held``): one
frozen past its lease holds the rest back rather than send what another worker may have taken
over, or given up on and recorded failed; they are tried again soon, that run not counted.

A message the medium refuses for a while (an SMTP 4xx, a dropped connection, a timeout) is
tried again with backoff, alone; one it refuses for good (an SMTP 5xx, no address), or whose
last attempt failed, is recorded failed with the reason, and ``delivery.failed`` says so. What
the others of its batch did is kept. A chunk's run is the first attempt of each of its
deliveries: those it leaves queued (asked to wait, or the run stopped midway) go on as a
``deliver_message`` job each, with the attempts left, so one family's trouble never holds the
other 499 back and every delivery has the same number of attempts. A job given up (its worker
died in each of its runs, or its last run raised) fails what it left queued, with why
(``not_sent``), in the transaction that fails the job: no message stays queued with nothing
left to send it (unless recording that fails too, which is logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, Table, bindparam, case, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.channels import Channel, Undeliverable, kind_of_failure
from services.notifications.delivery import (
    DELIVER,
    DELIVER_CHUNK,
    DELIVERIES_PER_JOB,
)
from services.notifications.environment import NotificationsEnvironment
from services.notifications.escalation import (
    CONFIRM,
    confirm_later,
    escalate_if_unconfirmed,
    escalate_or_give_up,
    reached,
)
from services.notifications.preferences import Kind, kind_of
from services.notifications.sms import NumberOptedOut
from services.notifications.tables import Delivery, KnownStudent, SmsOptOut
from shared.contact_details import without_contact_details
from shared.database import UTCDateTime, is_sqlite, utcnow
from shared.events import DeliveryFailed, DeliverySent
from shared.jobs.context import BatchJobContext, JobContext
from shared.jobs.handlers import GivenUp, JobHandlers, JobRun, NotRun, PermanentFailure
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job, JobState
from shared.messaging.outbox import checked_events, outbox_row, record_events
from shared.messaging.unit_of_work import UnitOfWork
from shared.roster import link_states
from shared.supervision import wait_for_event

log = logging.getLogger(__name__)
jobs: JobHandlers[NotificationsEnvironment] = JobHandlers()
Context = BatchJobContext[NotificationsEnvironment]
DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]


DELIVER_ATTEMPTS = 6
RETRY_BACKOFF_SECONDS = 30.0
# How long the first message handed over waits for the other connections' before they are
# recorded together (if they do not all come sooner): fewer, larger transactions.
LINGER_SECONDS = 0.005
OPTED_OUT = "not sent: this number replied STOP to the school's text messages"
WITHHELD = "not sent: the guardian is no longer linked to the student (or the student left)"


@jobs.handles_batch(
    DELIVER,
    batch_size=DELIVERIES_PER_JOB,
    max_attempts=DELIVER_ATTEMPTS,
    retry_backoff_seconds=RETRY_BACKOFF_SECONDS,
)
async def deliver_messages(context: Context, runs: Sequence[JobRun]) -> None:
    """Hand rendered messages to their channels, then record each sent (and say so on the
    stream); a message that cannot go is tried again later, or recorded failed, alone."""
    await _deliver(context, {run.payload["delivery_id"]: run for run in runs})


# A chunk's runs after its first only hand what is left on (cheap, and safe to repeat): it is
# allowed more of them than a message's attempts, so that a worker dying again and again on a
# chunk leaves no 500 messages without a job.
CHUNK_ATTEMPTS = 2 * DELIVER_ATTEMPTS


@jobs.handles_batch(
    DELIVER_CHUNK,
    batch_size=1,
    max_attempts=CHUNK_ATTEMPTS,
    retry_backoff_seconds=RETRY_BACKOFF_SECONDS,
)
async def deliver_chunk(context: Context, runs: Sequence[JobRun]) -> None:
    """Hand a chunk of messages written together (a window's invitations) to their channels,
    as ``deliver_message`` jobs do; those its first run leaves queued (asked to wait, or the run
    stopped midway) go on as one ``deliver_message`` job each, with the attempts left."""
    for run in runs:
        if run.attempt == 1:
            await _deliver(context, dict.fromkeys(run.payload["delivery_ids"], run))
            continue
        # An earlier run stopped midway: what it left goes on alone, now (as a message's own
        # job would be taken back), counting the runs that stopped.
        attempts = min(run.attempt - 1, DELIVER_ATTEMPTS - 1)
        async with context.finish([run]) as session:
            still = await session.exec(
                select(Delivery.id).where(
                    col(Delivery.id).in_(run.payload["delivery_ids"]),
                    col(Delivery.status) == "queued",
                )
            )
            await _one_job_each(session, still.all(), attempts=attempts, due_at=context.env.now())


async def _one_job_each(
    session: AsyncSession, delivery_ids: Sequence[str], *, attempts: int, due_at: datetime
) -> None:
    """A ``deliver_message`` job for each of a chunk's deliveries, its ``attempts`` already
    counted, so that it is backed off and given up as a message queued alone would be (a
    delivery that has a job already keeps it)."""
    await enqueue_many(
        session,
        [
            NewJob(
                kind=DELIVER,
                key=delivery_id,
                payload={"delivery_id": delivery_id},
                due_at=due_at,
                attempts=attempts,
            )
            for delivery_id in delivery_ids
        ],
    )


def _after_backoff(context: Context, attempts: int) -> datetime:
    """When a message that failed its ``attempts``-th attempt is tried again."""
    return context.env.now() + timedelta(seconds=jobs.for_kind(DELIVER).backoff(attempts))


def _of_one(run: JobRun) -> bool:
    """Whether the run is a ``deliver_message`` job's (one delivery, settled with it); a chunk's
    run is settled when the handler returns."""
    return run.kind == DELIVER


def _alone(runs: Iterable[JobRun]) -> list[JobRun]:
    """The runs settled with their delivery (``_of_one``)."""
    return [run for run in runs if _of_one(run)]


async def _deliver(context: Context, by_delivery: Mapping[str, JobRun]) -> None:
    async with context.uow.read() as session:
        # Those no longer queued were recorded by an earlier run: their jobs are simply done.
        deliveries = (
            await session.exec(
                select(Delivery).where(
                    col(Delivery.id).in_(sorted(by_delivery)), col(Delivery.status) == "queued"
                )
            )
        ).all()
        linked = await still_linked(session, deliveries)
        stopped = await _opted_out(session, deliveries)
    withheld: list[tuple[JobRun, Delivery]] = []
    failures: list[Failure] = []
    by_channel: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        run = by_delivery[delivery.id]
        if delivery.id in stopped:
            failures.append(Failure(run, delivery, "sms", OPTED_OUT, status="opted_out"))
        elif delivery.id not in linked:
            # Unlinked (or the student withdrawn) between queueing and sending: not sent.
            withheld.append((run, delivery))
        elif delivery.channel not in context.env.channels:
            reason = f"the school system has no {delivery.channel} service configured"
            failures.append(Failure(run, delivery, delivery.channel, reason, kind="no_channel"))
        else:
            by_channel.setdefault(delivery.channel, []).append(delivery)
    await _withhold(context, withheld)
    await _failed(context, failures)
    async with asyncio.TaskGroup() as sending:
        for name, queued in by_channel.items():
            channel = context.env.channels[name]
            sending.create_task(_send(context, channel, queued, by_delivery))


async def _send(
    context: Context,
    channel: Channel,
    deliveries: Sequence[Delivery],
    runs: Mapping[str, JobRun],
) -> None:
    """One channel's share of the batch: sent, each accepted one recorded as it goes; then
    the refused ones tried again later or recorded failed."""
    recorder = SentRecorder(
        context.uow,
        context.env,
        channel=channel.name,
        connections=channel.connections,
        ours=lambda delivery: context.surely_held(runs[delivery.id]),
    )
    try:
        await channel.send_each(deliveries, recorder)
    finally:
        await recorder.drained()
    later = _Later(context)
    for delivery in deliveries:
        if delivery.id in recorder.held_back:
            later.add(runs[delivery.id], delivery, NotHandedOver())
        elif delivery.id not in recorder.told:  # (a channel must tell; not told is not sent)
            later.add(
                runs[delivery.id],
                delivery,
                RuntimeError(f"{channel.name} neither sent it nor refused it"),
            )
    failures = []
    for delivery, error in recorder.refusals:
        run = runs[delivery.id]
        if isinstance(error, PermanentFailure):
            status = error.status if isinstance(error, Undeliverable) else "failed"
            failures.append(
                Failure(
                    run,
                    delivery,
                    channel.name,
                    str(error),
                    status=status,
                    kind=kind_of_failure(error),
                    provider_stop=isinstance(error, NumberOptedOut),
                )
            )
        elif run.attempt >= DELIVER_ATTEMPTS:
            reason = f"{type(error).__name__}: {error}"
            failures.append(Failure(run, delivery, channel.name, reason))
        else:
            later.add(run, delivery, error)
    await _failed(context, failures)
    await later.settle()


class _Later:
    """The messages to try again after the backoff: a ``deliver_message`` run is retried by the
    worker; a chunk's deliveries get a job each, due after the backoff of the chunk's attempt
    and counting it. Messages held back (``NotRun``: the worker may no longer hold the job)
    are left to their job, put back uncounted by the worker only if it still holds it: a
    chunk's run is then run again whole, sending what is still queued."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._chunked: dict[str, tuple[JobRun, list[str], Exception]] = {}

    def add(self, run: JobRun, delivery: Delivery, error: Exception) -> None:
        if _of_one(run) or isinstance(error, NotRun):
            if run.id not in self._context.failures:  # (a chunk's run: once, for all of them)
                self._context.failed(run, error)
            return
        _, ids, _ = self._chunked.setdefault(run.id, (run, [], error))
        ids.append(delivery.id)

    async def settle(self) -> None:
        for run, ids, error in self._chunked.values():
            due_at = _after_backoff(self._context, run.attempt)
            log.warning(
                "%d message(s) of job %s (%s %s) tried again alone at %s: %s",
                *(len(ids), run.id, run.kind, run.key, due_at.isoformat(timespec="seconds")),
                f"{type(error).__name__}: {error}",
            )
            async with self._context.uow.transaction() as session:
                await _one_job_each(session, ids, attempts=run.attempt, due_at=due_at)


# How soon a message held back (``NotHandedOver``) is tried again.
HELD_BACK_SECONDS = 5.0


class NotHandedOver(NotRun):
    """A message held back because its job may be passing to another worker: not an attempt,
    tried again soon (by whichever worker holds its job then)."""

    def __init__(self) -> None:
        super().__init__(
            "not handed over: this worker could not be sure it still held the message's job"
            " (its lease was not renewed in time), so another worker may be sending it",
            retry_after_seconds=HELD_BACK_SECONDS,
        )


class SentRecorder:
    """Records the messages a channel hands over as sent (the channel's ``Outcomes``).

    A message is handed over only while ``ours`` says its job is surely still this worker's
    (``JobContext.surely_held``): a worker whose lease ran short (its event loop blocked, or
    the database out of reach while renewing) holds the rest back rather than send what
    another worker may be sending too, or may have given up on and recorded failed.

    A group commit: the messages the channel's connections hand over while one transaction
    commits, or within ``LINGER_SECONDS`` of the first (until every connection has handed one
    over), are recorded together in the next. Each connection waits for its message's before
    handing over another. The jobs of the messages recorded are left to be done when the batch
    returns (one statement for all): a delivery recorded sent is never sent again, whatever
    becomes of its job."""

    def __init__(
        self,
        uow: UnitOfWork,
        env: NotificationsEnvironment,
        *,
        channel: str,
        connections: int,
        ours: Callable[[Delivery], bool],
    ) -> None:
        self._uow = uow
        self._env = env
        self._channel = channel
        self._connections = connections
        self._ours = ours
        self._handed_over: list[tuple[Delivery, str | None, asyncio.Future[None]]] = []
        self._all_in = asyncio.Event()  # every connection is waiting for its record
        self._recording: asyncio.Task[None] | None = None
        self.refusals: list[tuple[Delivery, Exception]] = []
        self.told: set[str] = set()  # the deliveries the channel said were accepted or refused
        self.held_back: set[str] = set()  # those not handed over (``may_hand_over``)

    def may_hand_over(self, delivery: Delivery) -> bool:
        if self._ours(delivery):
            return True
        self.held_back.add(delivery.id)
        return False

    async def accepted(self, delivery: Delivery, provider_id: str | None) -> None:
        self.told.add(delivery.id)
        recorded = asyncio.get_running_loop().create_future()
        self._handed_over.append((delivery, provider_id, recorded))
        if len(self._handed_over) >= self._connections:
            self._all_in.set()
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record())
        await recorded

    async def refused(self, delivery: Delivery, error: Exception) -> None:
        self.told.add(delivery.id)
        self.refusals.append((delivery, error))

    async def drained(self) -> None:
        """Once every message handed over so far is recorded (or could not be)."""
        if self._recording is not None:
            await self._recording

    async def _record(self) -> None:
        while self._handed_over:
            await wait_for_event(self._all_in, timeout=LINGER_SECONDS)
            group, self._handed_over = self._handed_over, []
            self._all_in.clear()
            try:
                await _record_sent(
                    self._uow,
                    self._env,
                    [(d, provider_id) for d, provider_id, _ in group],
                    self._channel,
                )
            except Exception as error:  # the database: their runs fail, to be tried again
                for *_, recorded in group:
                    if not recorded.done():  # (its connection may have been cancelled)
                        recorded.set_exception(error)
            else:
                for *_, recorded in group:
                    if not recorded.done():
                        recorded.set_result(None)


# PostgreSQL: a group of messages handed over recorded sent, their families taken off the
# could-not-reach list and their ``delivery.sent`` events queued, in one statement that is its
# own transaction: one round trip instead of five (BEGIN, three statements, COMMIT). Only a
# delivery still queued is marked, and only a delivery marked is announced. The rows are
# locked in id order, as the transaction's ``IN`` list did: two replicas recording the same
# deliveries (after a lost lease) wait for each other instead of deadlocking.
_RECORD_SENT = text(
    """
    WITH marked AS (
        UPDATE delivery SET status = 'sent', provider_id = handed.provider_id
        FROM unnest(:ids, :provider_ids) AS handed(id, provider_id)
        WHERE delivery.id = handed.id AND delivery.status = 'queued'
        RETURNING delivery.id, delivery.recipient_id
    ),
    resolved AS (  -- (``escalation.reached``, in this statement)
        UPDATE could_not_reach SET resolved_at = :now
        WHERE resolved_at IS NULL AND guardian_id IN (SELECT recipient_id FROM marked)
    )
    INSERT INTO outbox (event_id, stream, fields, created_at)
    SELECT event.event_id, event.stream, event.fields, event.created_at
    FROM unnest(:delivery_ids, :event_ids, :streams, :fields, :times) WITH ORDINALITY
        AS event(delivery_id, event_id, stream, fields, created_at, n)
    JOIN marked ON marked.id = event.delivery_id
    ORDER BY event.n
    """
).bindparams(
    *(bindparam(name, type_=ARRAY(String)) for name in ("ids", "provider_ids", "delivery_ids")),
    *(bindparam(name, type_=ARRAY(String)) for name in ("event_ids", "streams", "fields")),
    bindparam("times", type_=ARRAY(DateTime(timezone=True))),
    bindparam("now", type_=UTCDateTime),
)


async def _record_sent(
    uow: UnitOfWork,
    env: NotificationsEnvironment,
    sent: Sequence[tuple[Delivery, str | None]],
    channel: str,
) -> None:
    """The deliveries recorded sent (with the provider's id for each, if it gave one) and
    announced with ``delivery.sent``: one transaction. Only those still queued are: a delivery
    is announced once, however often it was handed over."""
    if not is_sqlite(uow.sessions) and not any(delivery.critical for delivery, _ in sent):
        # (A critical message is also checked on later, by a job: ``confirm_later`` below.)
        await _record_sent_in_one_statement(uow, env, sent, channel)
        return
    provider_ids = {delivery.id: provider_id for delivery, provider_id in sent if provider_id}
    async with uow.transaction() as session:
        connection = await session.connection()
        marked = await connection.execute(
            update(DELIVERY)
            .where(
                DELIVERY.c.id.in_([delivery.id for delivery, _ in sent]),
                DELIVERY.c.status == "queued",
            )
            .values(
                status="sent",
                provider_id=case(provider_ids, value=DELIVERY.c.id, else_=None)
                if provider_ids
                else None,
            )
            .returning(DELIVERY.c.id)
        )
        recorded = set(marked.scalars())
        # Reached: off the could-not-reach list; a critical one is checked on later.
        now = env.now()
        reaching = [delivery for delivery, _ in sent if delivery.id in recorded]
        await reached(session, {delivery.recipient_id for delivery in reaching}, now=now)
        await confirm_later(session, reaching, now=now, after=env.settings.escalate_after)
        await record_events(
            session,
            [_sent(delivery, channel) for delivery, _ in sent if delivery.id in recorded],
        )


async def _record_sent_in_one_statement(
    uow: UnitOfWork,
    env: NotificationsEnvironment,
    sent: Sequence[tuple[Delivery, str | None]],
    channel: str,
) -> None:
    """``_record_sent`` on PostgreSQL, for messages none of which is critical: ``_RECORD_SENT``."""
    checked = checked_events([_sent(delivery, channel) for delivery, _ in sent])
    events = [
        outbox_row(event) | {"delivery_id": delivery.id}
        for (delivery, _), event in zip(sent, checked, strict=True)
    ]
    handed = sorted((delivery.id, provider_id or None) for delivery, provider_id in sent)
    async with uow.statement() as connection:
        await connection.execute(
            _RECORD_SENT,
            {
                "ids": [delivery_id for delivery_id, _ in handed],
                "provider_ids": [provider_id for _, provider_id in handed],
                "now": env.now(),
                "delivery_ids": [event["delivery_id"] for event in events],
                "event_ids": [event["event_id"] for event in events],
                "streams": [event["stream"] for event in events],
                "fields": [event["fields"] for event in events],
                "times": [event["created_at"] for event in events],
            },
        )


def _sent(delivery: Delivery, channel: str) -> tuple[DeliverySent, str, str, str]:
    """The ``delivery.sent`` event of a delivery handed over, as ``record_events`` takes it."""
    return (
        DeliverySent(
            delivery_id=delivery.id,
            recipient_id=delivery.recipient_id,
            channel=channel,  # type: ignore[arg-type]
            template=delivery.template,
            language=delivery.language,
            cause_event_id=delivery.cause_event_id,
        ),
        delivery.student_id,
        delivery.district,
        delivery.site,
    )


async def still_linked(session: AsyncSession, deliveries: Sequence[Delivery]) -> set[str]:
    """The deliveries whose recipient the roster still links to their student, who is still
    enrolled (by id)."""
    states = await link_states(session, {(d.recipient_id, d.student_id) for d in deliveries})
    students = sorted({delivery.student_id for delivery in deliveries})
    enrolled = set(
        (
            await session.exec(
                select(KnownStudent.id).where(
                    col(KnownStudent.id).in_(students), col(KnownStudent.active)
                )
            )
        ).all()
    )
    return {
        d.id
        for d in deliveries
        if states.get((d.recipient_id, d.student_id), False) and d.student_id in enrolled
    }


async def _opted_out(session: AsyncSession, deliveries: Sequence[Delivery]) -> set[str]:
    """The text messages (by delivery id) to numbers that replied STOP."""
    phones = sorted({d.address for d in deliveries if d.channel == "sms" and d.address})
    if not phones:
        return set()
    stopped = set(
        (await session.exec(select(SmsOptOut.phone).where(col(SmsOptOut.phone).in_(phones)))).all()
    )
    return {d.id for d in deliveries if d.channel == "sms" and d.address in stopped}


async def _withhold(context: Context, withheld: Sequence[tuple[JobRun, Delivery]]) -> None:
    if not withheld:
        return
    async with context.finish(_alone(run for run, _ in withheld)) as session:
        await session.exec(
            update(Delivery)
            .where(
                col(Delivery.id).in_([delivery.id for _, delivery in withheld]),
                col(Delivery.status) == "queued",
            )
            .values(status="withheld", error=WITHHELD)
        )


@dataclass(frozen=True)
class Failure:
    """A delivery that will not be sent, and why."""

    run: JobRun | None  # (none: its job was given up, ``not_sent``)
    delivery: Delivery
    channel: str
    reason: str
    status: str = "failed"  # or "bounced", "opted_out"
    kind: str = "other"  # the kind of reason, on the could-not-reach list (REASON_KINDS)
    provider_stop: bool = False  # the provider refused it: the number replied STOP to it


async def _failed(context: Context, failures: Sequence[Failure]) -> None:
    """Record each delivery failed for good (or opted out) with its reason; their jobs are
    done. Every way a delivery fails for good while its job runs comes here."""
    if not failures:
        return
    runs = [failure.run for failure in failures if failure.run is not None]
    async with context.finish(_alone(runs)) as session:
        await _record_failures(session, failures)


@jobs.gives_up(DELIVER, DELIVER_CHUNK)
async def not_sent(session: AsyncSession, job: GivenUp) -> None:
    """A message's job given up (its worker stopped each time it began, its last run failed, or
    an operator cancelled it) leaves no message queued with nothing left to send it: each of its
    deliveries still queued, and with no other job of its own, fails for good with why, as a
    bounce does."""
    ids = job.payload["delivery_ids"] if job.kind == DELIVER_CHUNK else [job.payload["delivery_id"]]
    own_job = (
        select(Job.id)
        .where(
            col(Job.kind) == DELIVER,
            col(Job.key) == Delivery.id,
            col(Job.status).in_([JobState.PENDING.value, JobState.RUNNING.value]),
        )
        .exists()
    )
    left = (
        await session.exec(
            select(Delivery).where(
                col(Delivery.id).in_(ids), col(Delivery.status) == "queued", ~own_job
            )
        )
    ).all()
    reason = (
        "not sent: an operator cancelled it"
        if job.cancelled
        else f"not sent: the notifier gave it up ({job.error})"
    )
    failures = [Failure(None, d, d.channel, reason) for d in left]
    # (A message an operator cancelled is not sent by the family's other channel either.)
    await _record_failures(session, failures, escalating=not job.cancelled)


async def _record_failures(
    session: AsyncSession, failures: Sequence[Failure], *, escalating: bool = True
) -> None:
    """Each delivery still queued recorded failed (or opted out) with its reason, the family
    escalated (if ``escalating``) or put on the could-not-reach list, and ``delivery.failed``
    said."""
    events = []
    for failure in failures:
        delivery, reason = failure.delivery, failure.reason[:500]
        failed = await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "queued")
            .values(status=failure.status, error=reason)
        )
        if failed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        # The provider knows of a STOP this service had not recorded: recorded now, as if the
        # family had sent it here (START undoes it, here and at the provider). One recorded
        # meanwhile is kept as it is.
        if (
            failure.provider_stop
            and delivery.address
            and await session.get(SmsOptOut, delivery.address) is None
        ):
            session.add(
                SmsOptOut(phone=delivery.address, keyword="PROVIDER", opted_out_at=utcnow())
            )
        if failure.status != "opted_out":
            await escalate_or_give_up(
                session, delivery, reason, failure.kind, escalating=escalating
            )
        elif kind_of(delivery.template) is Kind.LOGISTICS:
            # A STOP is the family's choice about texts, not about their conference: the
            # message goes by email if they have an address (and no email was tried), else the
            # office learns they will not hear of it. News to the number is not sent.
            await escalate_or_give_up(
                session, delivery, reason, "texts_stopped", escalating=escalating
            )
        events.append(
            (
                DeliveryFailed(
                    delivery_id=delivery.id,
                    recipient_id=delivery.recipient_id,
                    channel=failure.channel,  # type: ignore[arg-type]
                    template=delivery.template,
                    error=without_contact_details(reason),
                    cause_event_id=delivery.cause_event_id,
                ),
                delivery.student_id,
                delivery.district,
                delivery.site,
            )
        )
    await record_events(session, events)


@jobs.handles(CONFIRM, max_attempts=DELIVER_ATTEMPTS, retry_backoff_seconds=30.0)
async def confirm_delivered(context: JobContext[NotificationsEnvironment], job: JobRun) -> None:
    """A critical message not confirmed delivered in time goes by the guardian's other channel
    too (``escalation.py``)."""
    async with context.finish() as session:
        await escalate_if_unconfirmed(session, job.payload["delivery_id"])
