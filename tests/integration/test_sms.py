"""Text messages through the local SMS provider (a real HTTP peer speaking the provider's API,
``devstack/sms_provider.py``), on SQLite and PostgreSQL: a family with only a phone hears by
text, delivery receipts settle each message, STOP is recorded at once and confirmed in the
family's language and nothing is texted after it until START, HELP answers, a number that
cannot be reached fails with the carrier's error, and forged callbacks change nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import select

from devstack.redis_server import free_port
from devstack.sms_provider import LocalSmsProvider
from services.notifications.sms import SmsChannel, SmsProvider, signature
from services.notifications.sms_text import segments
from services.notifications.tables import Delivery, SmsOptOut
from shared.auth import Role
from tests.integration.conftest import (
    System,
    family_with_contact,
    times_before_any_family,
)
from tests.integration.test_conference_week import book, guardian, ok
from tests.integration.test_family_links_across_services import open_window
from tests.scheduling_support import in_three_days_at
from tests.support import auth, eventually

ADMIN = auth("it-admin", Role.DISTRICT_ADMIN)
OFFICE = {"phone": "(503) 555-0100"}  # (how families reach Conway's office)
NOTIFICATIONS_PORT = free_port()
PUBLIC_URL = f"http://127.0.0.1:{NOTIFICATIONS_PORT}"
PROVIDER = LocalSmsProvider(inbound_url=f"{PUBLIC_URL}/sms/inbound")
pytestmark = [
    pytest.mark.notifications_settings(
        sms_api_url=PROVIDER.url,
        sms_account_sid=PROVIDER.account_sid,
        sms_auth_token=PROVIDER.auth_token,
        sms_from=PROVIDER.number,
        public_url=PUBLIC_URL,
        sms_link_url="https://slc.district.example/l/{code}",
    ),
    pytest.mark.usefixtures("offices"),
]


@pytest.fixture(scope="module", autouse=True)
def provider() -> Iterator[LocalSmsProvider]:
    PROVIDER.start()
    yield PROVIDER
    PROVIDER.stop()


@pytest.fixture
async def reachable(system: System) -> AsyncIterator[System]:
    """Notifications also served over HTTP on ``PUBLIC_URL``, where the provider calls back."""
    server = uvicorn.Server(
        uvicorn.Config(
            system.apps["notifications"],
            host="127.0.0.1",
            port=NOTIFICATIONS_PORT,
            lifespan="off",
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started, until=bool)
    yield system
    server.should_exit = True
    await task


async def phone_family(system: System, *, phone: str, language: str) -> tuple[str, str]:
    return await family_with_contact(
        system,
        given_name="Minh",
        contact={"display_name": "Lan", "phone": phone, "language": language},
    )


def a_phone(ending: str = "") -> str:
    digits = f"{uuid.uuid4().int % 10**7:07d}"
    return f"+1503{digits[: 7 - len(ending)]}{ending}"


async def deliveries(system: System, guardian_id: str) -> list[Delivery]:
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        return list(
            (await session.exec(select(Delivery).where(Delivery.recipient_id == guardian_id))).all()
        )


async def settled_as(system: System, guardian_id: str, statuses: list[str]) -> list[Delivery]:
    """The guardian's deliveries, once their statuses are ``statuses``."""

    async def recorded() -> list[Delivery]:
        return await deliveries(system, guardian_id)

    return await eventually(
        recorded, until=lambda found: [d.status for d in found] == statuses, timeout=15
    )


async def unreached_rows(system: System, guardian_id: str) -> list[dict[str, Any]]:
    """The guardian's rows on Conway's office's could-not-reach list."""
    office = auth("office-conway", Role.SITE_ADMIN, sites=("conway",))
    listed = ok(await system.notifications.get("/could-not-reach", headers=office))
    return [row for row in listed if row["guardian_id"] == guardian_id]


async def reply(body: str, phone: str) -> list[str]:
    return (await reply_with_sid(body, phone))[1]


async def reply_with_sid(body: str, phone: str) -> tuple[str, list[str]]:
    """The family's reply: its MessageSid, and what the provider texted back."""
    return await _replied({"From": phone, "Body": body})


async def reply_again(sid: str) -> list[str]:
    """The provider handing a reply over again (its retry of a webhook call): what it texted
    back."""
    return (await _replied({"MessageSid": sid}))[1]


async def _replied(form: dict[str, str]) -> tuple[str, list[str]]:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{PROVIDER.url}/dev/reply", data=form)
    assert answer.status_code == 200, answer.text
    return answer.json()["sid"], list(answer.json()["replies"])


async def texts(phone: str, count: int) -> list[dict[str, Any]]:
    async def sent() -> list[dict[str, Any]]:
        return [m for m in PROVIDER.sent_to(phone) if not m.get("reply")]

    return await eventually(sent, until=lambda found: len(found) >= count, timeout=15)


async def test_a_family_with_only_a_phone_hears_by_text_and_stop_is_obeyed(
    reachable: System,
) -> None:
    system, phone = reachable, a_phone()
    first, second = await times_before_any_family(system, starts_at=in_three_days_at(15), count=2)
    student, guardian_id = await phone_family(system, phone=phone, language="es")
    booked = ok(await book(system, guardian(guardian_id), first["id"], student), 201)

    (text,) = await texts(phone, 1)
    assert text["from"] == PROVIDER.number
    assert text["body"].startswith("Confirmad") and "Minh" in text["body"]  # in Spanish

    (delivery,) = await settled_as(system, guardian_id, ["delivered"])
    assert (delivery.channel, delivery.address, delivery.provider_id) == ("sms", phone, text["sid"])
    assert text["idempotency_key"] == delivery.id

    # STOP: recorded at once, confirmed in Spanish; the move that follows is not texted.
    (confirmation,) = await reply("stop", phone)
    assert "START" in confirmation and "Ya no recibirá" in confirmation
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        assert await session.get(SmsOptOut, phone) is not None
    ok(
        await system.scheduling.post(
            f"/bookings/{booked['id']}/move",
            json={"slot_id": second["id"]},
            headers=guardian(guardian_id),
        )
    )
    moved = await eventually(
        lambda: deliveries(system, guardian_id),
        until=lambda found: any(d.status == "opted_out" for d in found),
        timeout=15,
    )
    (stopped,) = [d for d in moved if d.template == "conference_moved"]
    assert "STOP" in (stopped.error or "")
    assert len(await texts(phone, 1)) == 1  # nothing texted after STOP
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        kept = await session.get(SmsOptOut, phone)
    assert kept is not None and kept.keyword == "STOP"  # (the family's own, kept as it was)
    # With no email either, the school office learns the family will not hear of the move.
    (unreached,) = await unreached_rows(system, guardian_id)
    assert (unreached["template"], unreached["reason_kind"]) == (
        "conference_moved",
        "texts_stopped",
    )

    # Stopped, a reply that is no keyword gets no answer (nothing is texted to the number);
    # HELP still does, as the carriers require.
    assert await reply("Thanks!", phone) == []
    (help_text,) = await reply("HELP", phone)
    assert "STOP" in help_text and "llame" not in help_text  # (no office number written)
    # Once the office has written its number, HELP says whom to call (as carriers ask).
    ok(await system.notifications.put("/sites/conway/office", json=OFFICE, headers=ADMIN))
    (help_text,) = await reply("HELP", phone)
    assert help_text.endswith("Para lo demás, llame a Conway Elementary: (503) 555-0100."), (
        help_text
    )
    (started,) = await reply("Start", phone)
    assert "Volverá" in started
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        assert await session.get(SmsOptOut, phone) is None
    ok(await system.scheduling.delete(f"/bookings/{booked['id']}", headers=guardian(guardian_id)))
    cancelled = (await texts(phone, 2))[1]
    assert "Minh" in cancelled["body"]

    # Reached again by text: off the list.
    await eventually(
        lambda: unreached_rows(system, guardian_id), until=lambda found: found == [], timeout=15
    )


async def test_a_reply_from_a_shared_number_is_answered_in_the_language_of_its_last_text(
    reachable: System,
) -> None:
    """Two guardians share a phone, one reading Spanish and one Vietnamese: a reply is answered
    in the language of the last text the number was sent (what the family is replying to)."""
    system, phone = reachable, a_phone()
    first, second = await times_before_any_family(system, starts_at=in_three_days_at(17), count=2)
    spanish = await phone_family(system, phone=phone, language="es")
    vietnamese = await phone_family(system, phone=phone, language="vi")
    ok(await book(system, guardian(spanish[1]), first["id"], spanish[0]), 201)
    await texts(phone, 1)
    (in_spanish,) = await reply("HELP", phone)
    assert "Responda STOP" in in_spanish
    ok(await book(system, guardian(vietnamese[1]), second["id"], vietnamese[0]), 201)
    await texts(phone, 2)
    (in_vietnamese,) = await reply("HELP", phone)
    assert "Trả lời STOP" in in_vietnamese


async def test_a_stop_handed_over_again_after_a_start_leaves_the_number_reached(
    reachable: System,
) -> None:
    """The provider hands a reply over again when its call timed out, even after a later one:
    a STOP heard again after the family's START is applied once, and texts still reach them.
    The same STOP again while it is the last word is confirmed again (the first answer may be
    what was lost), and changes nothing."""
    system, phone = reachable, a_phone()
    first, _ = await times_before_any_family(system, starts_at=in_three_days_at(18), count=2)
    student, guardian_id = await phone_family(system, phone=phone, language="es")

    async def opted_out() -> bool:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            return await session.get(SmsOptOut, phone) is not None

    stop, (stopped,) = await reply_with_sid("STOP", phone)
    assert await opted_out()
    assert await reply_again(stop) == [stopped]
    assert await opted_out()
    start, (started,) = await reply_with_sid("START", phone)
    assert "Volverá" in started and not await opted_out()

    assert await reply_again(stop) == []  # nothing texted back
    assert not await opted_out()
    assert await reply_again(start) == [started]
    ok(await book(system, guardian(guardian_id), first["id"], student), 201)
    (confirmed,) = await texts(phone, 1)
    assert "Minh" in confirmed["body"]


async def test_a_phone_that_cannot_be_reached_fails_with_the_carriers_error(
    reachable: System,
) -> None:
    system, phone = reachable, a_phone(ending="0000")
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(16))
    student, guardian_id = await phone_family(system, phone=phone, language="en")
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)

    (delivery,) = await settled_as(system, guardian_id, ["failed"])
    assert "undelivered" in (delivery.error or "") and "30003" in (delivery.error or "")
    # No other channel: the school office is told it could not reach the family.
    (row,) = await unreached_rows(system, guardian_id)
    assert "30003" in row["reason"] and row["reason_kind"] == "not_delivered"


async def test_a_landline_the_provider_cannot_text_is_listed_as_a_number_to_correct(
    reachable: System,
) -> None:
    system, phone = reachable, a_phone(ending="9999")  # (the provider's landline: code 21614)
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(18))
    student, guardian_id = await phone_family(system, phone=phone, language="en")
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)

    (delivery,) = await settled_as(system, guardian_id, ["failed"])
    assert "21614" in (delivery.error or "")
    (row,) = await unreached_rows(system, guardian_id)
    assert row["reason_kind"] == "number_refused"  # (the office corrects the number)


async def test_a_stop_only_the_provider_knows_of_is_recorded_when_it_refuses_a_text(
    reachable: System,
) -> None:
    """The provider keeps its own record of STOP (as Twilio does). Should this service not have
    it (its reply lost, a database restored from before), the provider refuses the next text
    (code 21610): the delivery is recorded opted out and the STOP recorded here; with no email
    to send it by instead, the office learns the family will not hear of their conference."""
    system, phone = reachable, a_phone()
    (first,) = await times_before_any_family(system, starts_at=in_three_days_at(19))
    student, guardian_id = await phone_family(system, phone=phone, language="en")
    await reply("STOP", phone)
    async with system.apps["notifications"].state.runtime.uow.transaction() as session:
        forgotten = await session.get(SmsOptOut, phone)
        assert forgotten is not None
        await session.delete(forgotten)
    ok(await book(system, guardian(guardian_id), first["id"], student), 201)

    (delivery,) = await settled_as(system, guardian_id, ["opted_out"])
    assert "21610" in (delivery.error or "") and delivery.channel == "sms"
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        recorded = await session.get(SmsOptOut, phone)
    assert recorded is not None and recorded.keyword == "PROVIDER"
    (unreached,) = await unreached_rows(system, guardian_id)
    assert unreached["reason_kind"] == "texts_stopped"  # (no email to send it by instead)
    assert PROVIDER.sent_to(phone) == [m for m in PROVIDER.sent_to(phone) if m.get("reply")]


async def test_a_text_the_carrier_could_not_deliver_goes_by_email_instead(
    reachable: System,
) -> None:
    system, phone = reachable, a_phone(ending="0000")
    (slot,) = await times_before_any_family(system, starts_at=in_three_days_at(17))
    student, guardian_id = await family_with_contact(
        system,
        given_name="Minh",
        contact={"display_name": "Lan", "phone": phone, "email": f"lan-{phone[-7:]}@example.org"},
    )
    ok(
        await system.notifications.put(
            f"/guardians/{guardian_id}/preferences",
            json={"channels": {"logistics": ["sms"]}},
            headers=guardian(guardian_id),
        )
    )
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)

    async def settled() -> list[Delivery]:
        return sorted(await deliveries(system, guardian_id), key=lambda d: d.channel)

    email, text = await eventually(
        settled,
        until=lambda found: (
            [(d.channel, d.status) for d in found] == [("email", "sent"), ("sms", "failed")]
        ),
        timeout=15,
    )
    assert email.escalated_from == text.id and email.body == text.body


async def signed_post(client: httpx.AsyncClient, path: str, form: dict[str, str]) -> httpx.Response:
    """A callback to notifications at ``path``, signed as the provider signs one."""
    url = f"{PUBLIC_URL}{path}"
    signed = {"X-Twilio-Signature": signature(PROVIDER.auth_token, url, form)}
    return await client.post(url, data=form, headers=signed)


async def test_a_forged_callback_is_refused_and_changes_nothing(reachable: System) -> None:
    phone = a_phone()
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            f"{PUBLIC_URL}/sms/inbound",
            data={"From": phone, "Body": "STOP"},
            headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        )
        unsigned = await client.post(
            f"{PUBLIC_URL}/sms/status", data={"MessageSid": "SMx", "MessageStatus": "delivered"}
        )
        not_ascii = await client.post(
            f"{PUBLIC_URL}/sms/status",
            data={"MessageSid": "SMx", "MessageStatus": "delivered"},
            headers={"X-Twilio-Signature": b"\xe9t\xe9"},
        )
        # A receipt for a message whose sending is not recorded yet: 503, which the provider
        # sends again (Twilio retries 5xx, and no 4xx).
        early = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
        unknown_yet = await signed_post(client, "/sms/status", early)
        signed_nonsense = await signed_post(
            client, "/sms/inbound", {"From": "x" * 100, "Body": "STOP"}
        )
    assert unknown_yet.status_code == 503 and unknown_yet.headers["Retry-After"] == "5"
    assert signed_nonsense.status_code == 422, signed_nonsense.text
    assert "E.164" in signed_nonsense.json()["detail"]
    assert forged.status_code == 403 and "X-Twilio-Signature" in forged.json()["detail"]
    assert unsigned.status_code == 403
    assert not_ascii.status_code == 403, not_ascii.text
    async with reachable.apps["notifications"].state.runtime.uow.read() as session:
        assert await session.get(SmsOptOut, phone) is None


async def test_an_invitation_by_text_carries_a_short_address_for_the_familys_link(
    reachable: System,
) -> None:
    """In Vietnamese (67 characters a part), the invitation's words and its link fit three
    parts: the link goes by a short address, which the web front opens through notifications
    (``GET /family-links/{code}``), and the link it gives is the family's own."""
    phone = a_phone()
    _, guardian_id = await phone_family(reachable, phone=phone, language="vi")
    await open_window(reachable)
    (text,) = await texts(phone, 1)
    body = text["body"]
    assert segments(body).parts <= 3, body
    words, address = body.rsplit(" ", 1)
    assert address.startswith("https://slc.district.example/l/") and "Minh" not in address
    assert words and not words.endswith("…")  # (nothing of the subject cut for the link)
    code = address.rsplit("/", 1)[1]

    async with httpx.AsyncClient() as client:
        opened = await client.get(f"{PUBLIC_URL}/family-links/{code}")
        flipped = code[:20] + ("A" if code[20] != "A" else "B") + code[21:]
        tampered = await client.get(f"{PUBLIC_URL}/family-links/{flipped}")
        made_up = await client.get(f"{PUBLIC_URL}/family-links/{'x' * 35}")
    assert opened.status_code == 200, opened.text
    assert opened.headers["cache-control"] == "no-store"
    assert opened.json()["language"] == "vi"
    family = await reachable.scheduling.get(
        "/family", headers={"Authorization": f"Bearer {opened.json()['link']}"}
    )
    assert family.status_code == 200 and family.json()["guardian_id"] == guardian_id
    assert {tampered.status_code, made_up.status_code} == {404}


async def test_the_providers_refusal_of_this_services_account_is_tried_again_not_given_up() -> None:
    """A wrong or rotated auth token is this service's fault, not the message's: the text is
    tried again (a job's retries) once the token is mended, never failed for good."""
    delivery = Delivery(
        id=str(uuid.uuid4()),
        district="demo",
        site="conway",
        recipient_id="g-1",
        student_id="s-1",
        channel="sms",
        address=a_phone(),
        language="en",
        template="conference_booked",
        subject="Confirmed: Minh's conference",
        body="Confirmed.",
        cause_event_id=str(uuid.uuid4()),
    )
    wrong = SmsChannel(
        SmsProvider(
            api_url=PROVIDER.url,
            account_sid=PROVIDER.account_sid,
            auth_token="not-the-token",
            sender=PROVIDER.number,
        )
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises(RuntimeError, match=r"refused this service's account.*trying again"):
            await wrong._post(client, delivery)
    assert PROVIDER.sent_to(delivery.address or "") == []
