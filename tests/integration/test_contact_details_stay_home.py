"""Contact details belong to notifications: no event any service publishes carries them."""

from __future__ import annotations

import json
import re

import pytest
import redis.asyncio as aioredis
from sqlmodel import select

from shared.auth import Role
from shared.events import ALL_EVENTS
from shared.events.envelope import EventData
from shared.messaging.tables import OutboxMessage
from tests.integration.conftest import ADMIN, System, digests_due_now, enroll
from tests.integration.test_slices import mailbox, open_slot, sent
from tests.support import auth, eventually

EMAIL, PHONE = "wei.chen.private@example.org", "+15035550123"
CONTACT_WORDS = re.compile(r"mail|phone|address|contact", re.IGNORECASE)


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_no_event_has_a_field_for_contact_details(kind: type[EventData]) -> None:
    assert not [name for name in kind.model_fields if CONTACT_WORDS.search(name)]


async def test_no_published_event_carries_a_familys_email_or_phone(
    system: System, redis_client: aioredis.Redis
) -> None:
    father = auth("g-wei", Role.GUARDIAN, sites=("conway",), students=("s-ava",))
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    contact = await system.notifications.put(
        "/contacts/g-wei",
        json={"site": "conway", "display_name": "Wei Chen", "email": EMAIL, "phone": PHONE},
        headers=ADMIN,
    )
    assert contact.status_code == 200, contact.text
    goal = await system.portfolio.post(
        "/students/s-ava/goals",
        json={"title": "Read every night", "area": "reading"},
        headers=ADMIN,
    )
    assert goal.status_code == 201, goal.text
    slot = await open_slot(system)
    booking = await system.scheduling.post(
        "/bookings", json={"slot_id": slot, "student_id": "s-ava"}, headers=father
    )
    assert booking.status_code == 201, booking.text
    cancel = await system.scheduling.delete(
        f"/bookings/{booking.json()['id']}", params={"reason": "sick"}, headers=father
    )
    assert cancel.status_code == 200, cancel.text
    await digests_due_now(system)  # the goal goes in the evening's portfolio digest
    messages = await eventually(lambda: mailbox(system, father), until=lambda m: sent(m, 3))
    assert {m["address"] for m in messages} == {EMAIL}  # the contact was used...

    published: list[str] = []
    for app in system.apps.values():
        async with app.state.runtime.uow.read() as session:
            published += [row.fields for row in (await session.exec(select(OutboxMessage))).all()]
    for stream in await redis_client.keys("slc.*"):
        if await redis_client.type(stream) == b"stream":
            published += [json.dumps({k.decode(): v.decode() for k, v in f.items()})
                          for _, f in await redis_client.xrange(stream)]  # fmt: skip
    kinds = {json.loads(fields)["type"] for fields in published}
    assert {"slc.notifications.delivery.sent.v1", "slc.scheduling.conference.cancelled.v1"} <= kinds
    # ...and appears in none of the events, in any service's outbox or on any stream.
    leaks = [fields for fields in published if EMAIL in fields or PHONE in fields]
    assert leaks == []
