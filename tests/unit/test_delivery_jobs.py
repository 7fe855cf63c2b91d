"""Which jobs send a batch of queued deliveries: a chunk job per 500 due together (a window's
invitations), a job each for a few (two guardians' confirmations), and a job that takes over
from another starts with the attempts already made."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.delivery import (
    CHUNK_AT_LEAST,
    DELIVER,
    DELIVER_CHUNK,
    DELIVERIES_PER_JOB,
    delivery_jobs,
)
from shared.jobs.queue import NewJob, _row

LATER = datetime(2026, 12, 8, 7, tzinfo=UTC)


def queued(count: int, *, due: datetime | None = None, start: int = 0) -> list[dict[str, object]]:
    return [{"id": f"d-{n:05d}", "not_before": due} for n in range(start, start + count)]


def test_deliveries_due_together_go_a_chunk_at_a_time_and_the_rest_alone() -> None:
    jobs = delivery_jobs(queued(2 * DELIVERIES_PER_JOB + 30))
    chunks = [job for job in jobs if job.kind == DELIVER_CHUNK]
    alone = [job for job in jobs if job.kind == DELIVER]
    assert [len(job.payload["delivery_ids"]) for job in chunks] == [DELIVERIES_PER_JOB] * 2
    assert [job.key for job in chunks] == ["d-00000", f"d-{DELIVERIES_PER_JOB:05d}"]
    # The 30 after the last full chunk are fewer than a chunk's least: a job each.
    assert [job.payload for job in alone] == [
        {"delivery_id": f"d-{n:05d}"}
        for n in range(2 * DELIVERIES_PER_JOB, 2 * DELIVERIES_PER_JOB + 30)
    ]
    named = [i for job in chunks for i in job.payload["delivery_ids"]] + [j.key for j in alone]
    assert sorted(named) == [row["id"] for row in queued(2 * DELIVERIES_PER_JOB + 30)]


def test_a_few_deliveries_get_a_job_each_and_different_times_are_never_one_job() -> None:
    assert {job.kind for job in delivery_jobs(queued(CHUNK_AT_LEAST - 1))} == {DELIVER}
    assert [job.kind for job in delivery_jobs(queued(CHUNK_AT_LEAST))] == [DELIVER_CHUNK]
    jobs = delivery_jobs(
        queued(CHUNK_AT_LEAST) + queued(CHUNK_AT_LEAST, due=LATER, start=CHUNK_AT_LEAST)
    )
    assert [(job.kind, job.due_at) for job in jobs] == [
        (DELIVER_CHUNK, None),
        (DELIVER_CHUNK, LATER),  # (held for quiet hours until then)
    ]


def test_a_job_taking_over_starts_with_the_attempts_already_made() -> None:
    now = datetime.now(UTC)
    row = _row(NewJob(kind=DELIVER, key="d-1", attempts=1), now=now)
    assert (row["attempts"], row["max_attempts"], row["due_at"]) == (1, None, now)
    with pytest.raises(ValueError, match="attempts"):
        _row(NewJob(kind=DELIVER, key="d-1", attempts=5, max_attempts=5), now=now)
    with pytest.raises(ValueError, match="attempts"):
        _row(NewJob(kind=DELIVER, key="d-1", attempts=-1), now=now)
