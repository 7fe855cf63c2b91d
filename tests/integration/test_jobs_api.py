"""Each service's jobs over HTTP, for district IT (``shared/jobs/api.py``): notifications' failed
jobs are listed with why (never their payload), run again, and cancelled; a cancelled message
job records its message not sent and its family not reached, as ``slc-jobs cancel`` does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select, update

from services.notifications.delivery import DELIVER
from services.notifications.tables import ContactPoint, CouldNotReach, Delivery
from shared.auth import Role
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job
from tests.integration.conftest import ADMIN, System
from tests.integration.test_conference_week import ok
from tests.notifications_support import queued_message
from tests.support import auth

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

OFFICE = auth("office-conway", Role.SITE_ADMIN, sites=("conway",))


async def a_message_waiting_for_tomorrow(system: System) -> tuple[Delivery, Job]:
    """A queued message whose job is due tomorrow (held for the family's quiet hours)."""
    uow = system.apps["notifications"].state.runtime.uow
    message = queued_message(not_before=datetime.now(UTC) + timedelta(days=1))
    async with uow.transaction() as session:
        contact = ContactPoint(
            guardian_id="g-wei",
            district="demo",
            site="conway",
            display_name="Wei Chen",
            email="wei@example.org",
            phone="+15035550142",
        )
        await session.merge(contact)  # (texts too: an SMS could stand in for the email)
        session.add(message)
        job = NewJob(
            kind=DELIVER,
            key=message.id,
            payload={"delivery_id": message.id},
            due_at=datetime.now(UTC) + timedelta(days=1),
        )
        await enqueue_many(session, [job])
    async with uow.read() as session:
        (row,) = (await session.exec(select(Job).where(Job.key == message.id))).all()
    return message, row


async def test_district_it_lists_retries_and_cancels_a_services_jobs(system: System) -> None:
    http = system.notifications
    uow = system.apps["notifications"].state.runtime.uow
    message, job = await a_message_waiting_for_tomorrow(system)
    async with uow.transaction() as session:
        await session.exec(
            update(Job)
            .where(col(Job.id) == job.id)
            .values(
                status="failed",
                attempts=6,
                last_error="SMTPRecipientsRefused: {'wei@example.org': (450, '4.2.1 try later')}",
            )
        )

    (failed,) = ok(await http.get("/jobs", headers=ADMIN))
    assert {key: failed[key] for key in ("id", "kind", "key", "status", "attempts")} == {
        "id": job.id,
        "kind": DELIVER,
        "key": message.id,
        "status": "failed",
        "attempts": 6,
    }
    # The relay's refusal repeated the address: it is not shown.
    assert failed["last_error"] == "SMTPRecipientsRefused: {'<address>': (450, '4.2.1 try later')}"
    assert failed["max_attempts"] == 6 and failed["description"].startswith(
        "Hand rendered messages to their channels"
    )
    assert "payload" not in failed
    assert ok(await http.get("/jobs", params={"status": "pending"}, headers=ADMIN)) == []

    retried = ok(await http.post(f"/jobs/{job.id}/retry", headers=ADMIN))
    # Back for its own time (tomorrow), from its first attempt.
    assert (retried["status"], retried["attempts"], retried["last_error"]) == ("pending", 0, None)
    assert retried["due_at"] == failed["due_at"]
    refused = await http.post(f"/jobs/{job.id}/retry", headers=ADMIN)
    assert refused.status_code == 409
    assert "only failed or cancelled jobs can be retried" in refused.json()["detail"]

    # Cancelled only if still failed (as the page lists it): refused, it was put back.
    put_back = await http.post(f"/jobs/{job.id}/cancel?only_if=failed", headers=ADMIN)
    assert put_back.status_code == 409
    assert put_back.json()["detail"] == (
        f"job {job.id} is pending: only failed jobs can be cancelled"
    )
    assert (
        await http.post(f"/jobs/{job.id}/cancel?only_if=done", headers=ADMIN)
    ).status_code == 422
    # Cancelled while pending: its message is recorded not sent, its family not reached.
    cancelled = ok(await http.post(f"/jobs/{job.id}/cancel", headers=ADMIN))
    assert cancelled["status"] == "cancelled"
    async with uow.read() as session:
        after = await session.get(Delivery, message.id)
        listed = (await session.exec(select(CouldNotReach))).all()
    assert after is not None
    assert (after.status, after.error) == ("failed", "not sent: an operator cancelled it")
    assert [(row.guardian_id, row.reason) for row in listed] == [
        ("g-wei", "not sent: an operator cancelled it")
    ]
    async with uow.read() as session:
        to_wei = (
            await session.exec(select(Delivery).where(Delivery.recipient_id == "g-wei"))
        ).all()
    assert [d.id for d in to_wei] == [message.id]  # not sent by text instead
    again = await http.post(f"/jobs/{job.id}/cancel", headers=ADMIN)
    assert again.status_code == 409 and "is cancelled" in again.json()["detail"]


async def test_only_district_it_handles_jobs_and_bad_input_is_refused(system: System) -> None:
    http = system.notifications
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/jobs", {}),
        ("POST", "/jobs/0b6c3d0e-0000-0000-0000-000000000000/retry", {}),
        ("POST", "/jobs/0b6c3d0e-0000-0000-0000-000000000000/cancel", {}),
    ]
    for method, path, _ in attempts:
        assert (await http.request(method, path)).status_code == 401, path
        refused = await http.request(method, path, headers=OFFICE)
        assert refused.status_code == 403, path
        assert "only district IT handles a service's jobs" in refused.text
    missing = await http.post("/jobs/0b6c3d0e-0000-0000-0000-000000000000/retry", headers=ADMIN)
    assert missing.status_code == 404
    assert "no job 0b6c3d0e-0000-0000-0000-000000000000" in missing.json()["detail"]
    for bad in ("/jobs?status=lost", "/jobs?limit=0", "/jobs?kind=" + "k" * 101):
        assert (await http.get(bad, headers=ADMIN)).status_code == 422, bad
    assert (await http.post("/jobs/not%20an%20id/retry", headers=ADMIN)).status_code == 422
    # Each service has the routes, on its own jobs.
    assert ok(await system.portfolio.get("/jobs", headers=ADMIN)) == []
    assert ok(await system.scheduling.get("/jobs", headers=ADMIN)) == []
