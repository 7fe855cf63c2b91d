"""Each service's dead letters over HTTP, for district IT: an event its consumer group really gave
up on is listed and shown (without its payload), replayed to that group alone, and consumed."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest

from services.scheduling.consumers import consumers as scheduling_consumers
from services.scheduling.tables import RosterStudent
from shared.auth import Role
from shared.events import StudentEnrolled
from tests.integration.conftest import ADMIN, System, register_site
from tests.support import auth, eventually

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

ENROLLED = StudentEnrolled.stream()


def break_handler(monkeypatch: pytest.MonkeyPatch, system: System) -> dict[str, bool]:
    """Scheduling's handler of ``StudentEnrolled`` fails while ``broken["now"]`` (a bug, a
    deployment gone wrong), and scheduling gives an event up after its first failure."""
    broken = {"now": True}
    subscription = scheduling_consumers.for_stream(ENROLLED)

    @functools.wraps(subscription.handler)
    async def failing(context: Any, events: Any) -> None:
        if broken["now"]:
            raise RuntimeError("scheduling cannot keep students today")
        await subscription.handler(context, events)

    monkeypatch.setitem(
        scheduling_consumers._subscriptions,
        ENROLLED,
        dataclasses.replace(subscription, handler=failing),
    )
    consumer = system.apps["scheduling"].state.runtime.consumer
    monkeypatch.setattr(consumer, "policy", dataclasses.replace(consumer.policy, max_deliveries=1))
    return broken


async def student_known(system: System, student_id: str) -> bool:
    async with system.apps["scheduling"].state.runtime.uow.read() as session:
        return await session.get(RosterStudent, student_id) is not None


@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_district_it_lists_shows_and_replays_a_services_dead_letter(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_site(system, "conway")
    broken = break_handler(monkeypatch, system)
    enrolled = await system.portfolio.put(
        "/roster/students/s-dead",
        json={"site": "conway", "given_name": "Dee", "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert enrolled.status_code == 200, enrolled.text

    async def letters() -> list[dict[str, Any]]:
        listed = await system.scheduling.get("/dead-letters", headers=ADMIN)
        assert listed.status_code == 200, listed.text
        return list(listed.json())

    [letter] = await eventually(letters, until=lambda found: len(found) == 1, timeout=15)
    assert letter["stream"] == ENROLLED
    assert letter["event_type"] == StudentEnrolled.event_type()
    assert (letter["group"], letter["attempts"]) == ("scheduling", 1)
    assert "scheduling cannot keep students today" in letter["error"]
    assert not await student_known(system, "s-dead")
    # Only scheduling gave it up: notifications' group has none of it.
    assert (await system.notifications.get("/dead-letters", headers=ADMIN)).json() == []

    where = f"/dead-letters/{ENROLLED}/{letter['id']}"
    shown = await system.scheduling.get(where, headers=ADMIN)
    assert shown.status_code == 200, shown.text
    detail = shown.json()
    assert detail["attributes"]["id"] == letter["event_id"]
    assert detail["attributes"]["subject"] == "s-dead"
    assert "data" not in detail["attributes"] and detail["data_bytes"] > 0
    assert "Dee" not in shown.text  # the payload (the student's name) is not shown

    # District IT only: no token is 401, another role 403.
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))
    site_admin = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    for method, path in (("GET", "/dead-letters"), ("GET", where), ("POST", f"{where}/replay")):
        assert (await system.scheduling.request(method, path)).status_code == 401, path
        for caller in (teacher, site_admin):
            refused = await system.scheduling.request(method, path, headers=caller)
            assert refused.status_code == 403, (path, refused.text)
    assert len(await letters()) == 1

    broken["now"] = False  # the cause is fixed: replay
    replayed = await system.scheduling.post(f"{where}/replay", headers=ADMIN)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["event_id"] == letter["event_id"]
    assert replayed.json()["replay_stream"] == f"{ENROLLED}:replay:scheduling"
    await eventually(lambda: student_known(system, "s-dead"), until=bool, timeout=15)
    assert await letters() == []
    again = await system.scheduling.post(f"{where}/replay", headers=ADMIN)
    assert again.status_code == 404, again.text

    # A stream the service does not read, and ids that are not entry ids, are refused.
    assert (
        await system.scheduling.get(f"/dead-letters/slc.no.such.v1/{letter['id']}", headers=ADMIN)
    ).status_code == 404
    assert (
        await system.scheduling.get(f"/dead-letters/{ENROLLED}/not-an-id", headers=ADMIN)
    ).status_code == 422


async def test_the_dead_letter_routes_are_documented(system: System) -> None:
    document = (await system.notifications.get("/openapi.json")).json()
    listing = document["paths"]["/dead-letters"]["get"]
    replay = document["paths"]["/dead-letters/{stream}/{letter_id}/replay"]["post"]
    assert listing["summary"] and replay["summary"]
    assert {"200", "401", "403", "503"} <= set(listing["responses"])
    assert {"200", "401", "403", "404"} <= set(replay["responses"])
    assert "/dead-letters/{stream}/{letter_id}" in document["paths"]
