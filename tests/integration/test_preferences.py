"""A guardian's message preferences over HTTP and what they do to real messages, on SQLite and
PostgreSQL: both channels for conference logistics, an opt-out recorded and obeyed, quiet hours
that hold a confirmation (queued, due when they end) rather than drop it, and clear refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update

from services.notifications.delivery import DIGEST, digest_job_key
from services.notifications.digest import AGAIN
from services.notifications.preferences import NO_PREFERENCES, next_digest_at
from services.notifications.sending import jobs
from services.notifications.tables import Delivery, DigestItem
from shared.auth import Role
from shared.jobs.admin import cancel_job
from shared.jobs.queue import NewJob, enqueue_many
from shared.jobs.tables import Job
from tests.integration.conftest import (
    System,
    add_contact,
    digests_due_now,
    enroll,
    family_with_contact,
    register_site,
    times_before_any_family,
)
from tests.integration.test_conference_week import LA, book, guardian, ok
from tests.scheduling_support import in_three_days_at
from tests.support import auth, eventually

ADMIN = auth("it-admin", Role.DISTRICT_ADMIN)


async def family(system: System, **contact: str) -> tuple[str, str]:
    return await family_with_contact(
        system,
        given_name="Ana",
        contact={"display_name": "Rosa", "language": "es", **contact},
    )


async def messages(system: System, guardian_id: str, count: int) -> list[Delivery]:
    async def recorded() -> list[Delivery]:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            query = select(Delivery).where(Delivery.recipient_id == guardian_id)
            return list((await session.exec(query)).all())

    return await eventually(recorded, until=lambda found: len(found) >= count, timeout=15)


async def put(system: System, guardian_id: str, body: dict[str, Any], headers: Any) -> Any:
    return await system.notifications.put(
        f"/guardians/{guardian_id}/preferences", json=body, headers=headers
    )


async def test_preferences_are_saved_read_back_and_checked(system: System) -> None:
    _, guardian_id = await family(system, email="rosa@example.org")
    mine = guardian(guardian_id)
    defaults = ok(
        await system.notifications.get(f"/guardians/{guardian_id}/preferences", headers=mine)
    )
    assert defaults == {
        "guardian_id": guardian_id,
        "channels": {},
        "opted_out": [],
        "quiet_hours": None,
        "timezone": None,
        "digest_hour": 18,
        "language": None,
        "texts_stopped": False,
    }
    chosen = {
        "channels": {"logistics": ["email"]},
        "opted_out": ["news"],
        "quiet_hours": {"from": "21:00", "until": "07:00"},
        "timezone": "America/Chicago",
        "digest_hour": 7,
        "language": "vi",
    }
    saved = ok(await put(system, guardian_id, chosen, mine))
    assert saved == {
        "guardian_id": guardian_id,
        **chosen,
        "quiet_hours": {"from": "21:00:00", "until": "07:00:00"},
        "texts_stopped": False,
    }
    assert (
        ok(await system.notifications.get(f"/guardians/{guardian_id}/preferences", headers=ADMIN))
        == saved
    )

    # A regional tag is kept as the language the messages are written in.
    regional = ok(await put(system, guardian_id, {"language": "es-MX"}, mine))
    assert regional["language"] == "es"
    refusals = [
        ({"channels": {"logistics": ["sms"]}}, "there is no phone number on file"),
        ({"channels": {"logistics": ["sms"]}}, '"refusal":"no_phone"'),
        ({"channels": {"logistics": ["pigeon"]}}, "logistics"),
        ({"channels": {"logistics": ["email", "email"]}}, "listed twice"),
        ({"opted_out": ["everything"]}, "opted_out"),
        ({"timezone": "Mars/Olympus"}, "must be an IANA time zone"),
        ({"quiet_hours": {"from": "21:00", "until": "21:00"}}, "different times"),
        ({"quiet_hours": {"from": "21:00", "until": "21:00"}}, '"type":"quiet_hours_same"'),
        ({"digest_hour": 24}, "digest_hour"),
        ({"language": "fr"}, '"type":"language_not_written"'),
        ({"language": "fr"}, "messages are not written in fr"),
        ({"language": "no language"}, "language"),
    ]
    for body, reason in refusals:
        refused = await put(system, guardian_id, body, mine)
        assert refused.status_code == 422, (body, refused.text)
        assert reason in refused.text, (body, refused.text)
    # Someone else's preferences, or a guardian the roster does not know: the same 404.
    for other in ("g-nobody", guardian_id):
        refused = await put(system, other, {}, guardian("g-someone-else"))
        assert refused.status_code == 404, refused.text
        assert refused.json()["detail"] == (
            f"no guardian {other!r} on the roster whose message preferences you may manage"
        )
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))
    assert (await put(system, guardian_id, {}, teacher)).status_code == 404
    digest = await system.notifications.get(f"/guardians/{guardian_id}/digest", headers=teacher)
    assert digest.status_code == 404, digest.text
    assert "whose digest you may manage" in digest.json()["detail"]


async def test_logistics_by_email_and_text_and_news_opted_out(system: System) -> None:
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(15))
    student, guardian_id = await family(system, email="rosa@example.org", phone="+15035550188")
    ok(
        await put(
            system,
            guardian_id,
            {"channels": {"logistics": ["email", "sms"]}, "opted_out": ["news"]},
            guardian(guardian_id),
        )
    )
    booked = ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    both = await messages(system, guardian_id, 2)
    assert sorted((d.template, d.channel, d.address) for d in both) == [
        ("conference_booked", "email", "rosa@example.org"),
        ("conference_booked", "sms", "+15035550188"),
    ]
    assert {d.body for d in both} == {both[0].body}  # the same words on both channels

    # Opted out of logistics: recorded, not sent.
    ok(await put(system, guardian_id, {"opted_out": ["logistics"]}, guardian(guardian_id)))
    ok(await system.scheduling.delete(f"/bookings/{booked['id']}", headers=guardian(guardian_id)))
    everything = await messages(system, guardian_id, 3)
    (cancelled,) = [d for d in everything if d.template == "conference_cancelled"]
    assert (cancelled.status, cancelled.channel) == ("opted_out", "email")
    assert cancelled.error == "not sent: the guardian opted out of logistics messages"


async def test_messages_come_in_the_language_the_family_chose_not_the_one_on_file(
    system: System,
) -> None:
    """The school has Spanish on file for Rosa; she chooses Vietnamese on her preferences: the
    confirmation is written in Vietnamese; choosing nothing again brings back the school's
    language."""
    (first, second) = await times_before_any_family(system, starts_at=in_three_days_at(15), count=2)
    student, guardian_id = await family(system, email="rosa@example.org")
    mine = guardian(guardian_id)
    ok(await put(system, guardian_id, {"language": "vi"}, mine))
    booked = ok(await book(system, mine, first["id"], student), 201)
    (confirmed,) = await messages(system, guardian_id, 1)
    assert confirmed.language == "vi", confirmed.body
    assert confirmed.subject.startswith("Đã xác nhận: buổi họp của Ana"), confirmed.subject
    ok(await put(system, guardian_id, {}, mine))
    ok(
        await system.scheduling.post(
            f"/bookings/{booked['id']}/move", json={"slot_id": second["id"]}, headers=mine
        )
    )
    moved = [d for d in await messages(system, guardian_id, 2) if d.template == "conference_moved"]
    assert [d.language for d in moved] == ["es"]


async def test_quiet_hours_hold_a_confirmation_until_they_end(system: System) -> None:
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(16))
    student, guardian_id = await family(system, email="rosa@example.org")
    now = datetime.now(LA)
    quiet = {
        "from": (now - timedelta(hours=1)).strftime("%H:00"),
        "until": (now + timedelta(hours=2)).strftime("%H:00"),
    }
    ok(
        await put(
            system,
            guardian_id,
            {"quiet_hours": quiet, "timezone": "America/Los_Angeles"},
            guardian(guardian_id),
        )
    )
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    (held,) = await messages(system, guardian_id, 1)
    ends = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    assert held.status == "queued"
    assert held.not_before == ends.astimezone(UTC)
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        job = (await session.exec(select(Job).where(Job.key == held.id))).one()
    assert job.due_at == held.not_before  # waits in the database, not in memory


async def news_waiting(
    system: System,
) -> tuple[str, str, Callable[[], Awaitable[dict[str, Any]]]]:
    """A student and their guardian, with a goal of the student's waiting for the guardian's
    digest, and what ``GET /guardians/{id}/digest`` says of it."""
    student, guardian_id = await family(system, email="rosa@example.org")
    goal = await system.portfolio.post(
        f"/students/{student}/goals",
        json={"title": "Tie my shoes", "area": "habits"},
        headers=ADMIN,
    )
    assert goal.status_code == 201, goal.text

    async def digest() -> dict[str, Any]:
        answer = await system.notifications.get(
            f"/guardians/{guardian_id}/digest", headers=guardian(guardian_id)
        )
        return dict(ok(answer))

    return student, guardian_id, digest


async def test_a_new_digest_hour_moves_the_digest_already_waiting(system: System) -> None:
    _, guardian_id, digest = await news_waiting(system)
    waiting = await eventually(digest, until=lambda found: len(found["news"]) == 1)
    assert datetime.fromisoformat(waiting["next_at"]).astimezone(LA).hour == 18
    ok(await put(system, guardian_id, {"digest_hour": 7}, guardian(guardian_id)))
    moved = datetime.fromisoformat((await digest())["next_at"]).astimezone(LA)
    assert (moved.hour, moved.minute) == (7, 0)
    assert moved - datetime.now(LA) <= timedelta(days=1)


async def test_two_pieces_of_news_make_one_digest_however_many_jobs_run(system: System) -> None:
    student, guardian_id = await family(system, email="rosa@example.org")
    for title in ("Tie my shoes", "Read to my sister"):
        goal = await system.portfolio.post(
            f"/students/{student}/goals", json={"title": title, "area": "habits"}, headers=ADMIN
        )
        assert goal.status_code == 201, goal.text
    await digests_due_now(system, pending=2)  # two jobs, due at once: one claims both
    (digest,) = await messages(system, guardian_id, 1)
    assert digest.template == "portfolio_digest"
    assert '"Tie my shoes"' in digest.body and '"Read to my sister"' in digest.body
    await asyncio.sleep(1)  # the other job has run too, and found nothing
    assert len(await messages(system, guardian_id, 1)) == 1


async def test_news_of_a_digest_an_operator_cancels_goes_in_the_next_days_digest(
    system: System,
) -> None:
    """``slc-jobs cancel`` of the guardian's only digest job does not leave the news waiting
    for news that may never come: the next day's digest is planned for it, and sends it."""
    _, guardian_id, digest = await news_waiting(system)
    waiting = await eventually(digest, until=lambda found: len(found["news"]) == 1)
    today = datetime.fromisoformat(waiting["next_at"])
    uow = system.apps["notifications"].state.runtime.uow
    async with uow.read() as session:
        (only,) = (await session.exec(select(Job).where(Job.kind == DIGEST))).all()
    await cancel_job(uow, only.id, handlers=jobs)

    after = await digest()
    assert [item["title"] for item in after["news"]] == ["Tie my shoes"]
    tomorrow = datetime.fromisoformat(after["next_at"]).astimezone(LA)
    assert tomorrow.date() - today.astimezone(LA).date() == timedelta(days=1)
    assert (tomorrow.hour, tomorrow.minute) == (18, 0)  # the school's evening, a day later
    await digests_due_now(system)
    (sent,) = await messages(system, guardian_id, 1)
    assert sent.template == "portfolio_digest" and '"Tie my shoes"' in sent.body


async def test_the_news_of_digests_given_up_together_is_planned_for_the_next_day_once(
    system: System,
) -> None:
    """Two pieces of news, a digest job each, both given up (they share their hour, and fail
    alike): one digest is planned for the next day, not two, nor none."""
    student, _, digest = await news_waiting(system)
    goal = await system.portfolio.post(
        f"/students/{student}/goals",
        json={"title": "Read to my sister", "area": "habits"},
        headers=ADMIN,
    )
    assert goal.status_code == 201, goal.text
    waiting = await eventually(digest, until=lambda found: len(found["news"]) == 2)
    uow = system.apps["notifications"].state.runtime.uow

    async def digest_jobs() -> list[Job]:
        async with uow.read() as session:
            return list((await session.exec(select(Job).where(Job.kind == DIGEST))).all())

    both = await eventually(digest_jobs, until=lambda found: len(found) == 2)
    # Given up at the same moment, each in its own transaction (as two workers' give-ups).
    await asyncio.gather(*(cancel_job(uow, job.id, handlers=jobs) for job in both))
    planned = [job for job in await digest_jobs() if job.status == "pending"]
    assert len(planned) == 1
    after = await digest()
    today = datetime.fromisoformat(waiting["next_at"]).astimezone(LA)
    assert datetime.fromisoformat(after["next_at"]).astimezone(LA).date() > today.date()
    assert len(after["news"]) == 2


async def test_a_digest_planned_again_then_given_up_again_plans_the_next_one(
    system: System,
) -> None:
    """A digest planned for news a given-up one left (keyed by its hour and that news), moved
    earlier by a new digest hour, and given up in its turn: the next digest lands on its own
    key's hour, and is planned all the same (under a key of its own)."""
    _, guardian_id, digest = await news_waiting(system)
    await eventually(digest, until=lambda found: len(found["news"]) == 1)
    uow = system.apps["notifications"].state.runtime.uow
    async with uow.transaction() as session:
        (news,) = (await session.exec(select(DigestItem))).all()
        (first,) = (await session.exec(select(Job).where(Job.kind == DIGEST))).all()
        await session.exec(update(Job).where(col(Job.id) == first.id).values(status="done"))
        due = next_digest_at(NO_PREFERENCES, datetime.now(UTC), "America/Los_Angeles")
        again = NewJob(
            kind=DIGEST,
            key=digest_job_key(guardian_id, due, f"{AGAIN}-{news.id}"),
            payload=json.loads(first.payload),
            due_at=datetime.now(UTC) - timedelta(minutes=1),  # moved earlier
        )
        await enqueue_many(session, [again])
        (planned,) = (await session.exec(select(Job).where(Job.key == again.key))).all()

    await cancel_job(uow, planned.id, handlers=jobs)
    async with uow.read() as session:
        waiting = (
            await session.exec(select(Job).where(Job.kind == DIGEST, Job.status == "pending"))
        ).all()
    assert [job.key for job in waiting] == [
        digest_job_key(guardian_id, due, f"{AGAIN}-{planned.id}")
    ]


async def test_the_digest_goes_at_six_in_the_evening_at_the_childs_school(system: System) -> None:
    await register_site(system, "mjds")  # America/Chicago
    await enroll(system, student_id="s-eli", site="mjds", given_name="Eli", guardian_id="g-sam")
    await add_contact(system, guardian_id="g-sam", site="mjds", language="en")
    goal = await system.portfolio.post(
        "/students/s-eli/goals", json={"title": "Skip count by 5", "area": "math"}, headers=ADMIN
    )
    assert goal.status_code == 201, goal.text

    async def digest() -> dict[str, Any]:
        answer = await system.notifications.get("/guardians/g-sam/digest", headers=ADMIN)
        return dict(ok(answer))

    waiting = await eventually(digest, until=lambda found: len(found["news"]) == 1)
    evening = datetime.fromisoformat(waiting["next_at"]).astimezone(ZoneInfo("America/Chicago"))
    assert (evening.hour, evening.minute) == (18, 0)
