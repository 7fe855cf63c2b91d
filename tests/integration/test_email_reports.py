"""An email the relay accepted and the family's mail server returned later, on SQLite and
PostgreSQL: the relay asks for delivery reports (DSN) naming the delivery, the district's mail
system hands the report it gets back to ``POST /email/reports``, and notifications records the
message bounced (then sends it by text, or lists the family as not reached) or delivered, and
says so on the stream, with no address in the event."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from sqlalchemy import update
from sqlmodel import col, select

from devstack.mail_server import delivery_report
from services.notifications.email import SmtpChannel, SmtpRelay
from services.notifications.receipts import NotAReport, read_report
from services.notifications.tables import Delivery
from shared.auth import Role
from shared.auth.tokens import mint_token
from shared.events import DeliveryDelivered, DeliveryFailed
from shared.jobs.tables import Job
from shared.settings import DEV_JWT_SECRET
from tests.integration.conftest import System
from tests.integration.test_conference_week import guardian
from tests.integration.test_escalation import booked_family, settled
from tests.mail_support import LocalMailServer
from tests.support import auth, eventually

# Reports come back to a bounce address of their own (and are asked for only then).
pytestmark = [
    pytest.mark.notifications_settings(bounce_address="slc-bounces@district.example"),
    pytest.mark.usefixtures("offices"),
]
IT = auth("it-admin", Role.DISTRICT_ADMIN)
OTHER_DISTRICT = {
    "Authorization": "Bearer "
    + mint_token(
        secret=DEV_JWT_SECRET, subject="it-elsewhere", role=Role.DISTRICT_ADMIN, district="other"
    )
}
OFFICE = auth("office-conway", Role.SITE_ADMIN, sites=("conway",))
REPORT = {"Content-Type": "message/rfc822"}
LA = ZoneInfo("America/Los_Angeles")


def dsn(**report: str) -> bytes:
    """A delivery status notification as Postfix writes one (``make run`` prints the same)."""
    return delivery_report(recipient="maria@example.org", **report)


async def events_on(redis_client: aioredis.Redis, stream: str) -> list[dict[str, Any]]:
    return [
        {key.decode(): value.decode() for key, value in fields.items()}
        for _, fields in await redis_client.xrange(stream)
    ]


async def test_a_bounce_after_the_relay_accepted_goes_by_text_and_is_announced(
    system: System, mail_server: LocalMailServer, redis_client: aioredis.Redis
) -> None:
    address = f"maria-{uuid.uuid4().hex[:8]}@example.org"
    guardian_id, _ = await booked_family(system, 10, email=address, phone="+15035550142")
    (sent,) = await settled(system, guardian_id, until=lambda d: [x.status for x in d] == ["sent"])
    # The relay was asked for a report naming the delivery, when delivered or failed for good.
    (received,) = mail_server.envelopes_to(address)
    assert f"ENVID=DELIVERY-{sent.id.upper()}" in received.mail_options
    assert "RET=HDRS" in received.mail_options
    assert received.rcpt_options == ["NOTIFY=FAILURE"]  # (a success report: critical ones only)

    # (The remote server repeats the address in its words: it must not reach the stream.)
    bounce = dsn(
        message_id=received.message["Message-ID"],
        diagnostic=f"smtp; 550 5.1.1 <{address}>: Recipient address rejected",
    )
    answer = await system.notifications.post(
        "/email/reports", content=bounce, headers={**IT, **REPORT}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "delivery_id": sent.id,
        "status": "bounced",
        "changed": True,
        "action": "failed",
    }
    email, text = await settled(
        system, guardian_id, until=lambda d: [x.status for x in d] == ["bounced", "sent"]
    )
    assert "5.1.1" in (email.error or "") and "Recipient address rejected" in (email.error or "")
    assert (text.channel, text.escalated_from) == ("sms", email.id)

    async def announced() -> list[dict[str, Any]]:
        return await events_on(redis_client, DeliveryFailed.stream())

    (event,) = await eventually(
        announced, until=lambda found: any(sent.id in e["data"] for e in found)
    )
    data = json.loads(event["data"])
    assert (data["delivery_id"], data["channel"]) == (sent.id, "email")
    assert "5.1.1" in data["error"] and "example.org" not in json.dumps(event)

    # The same report again (mail systems retry) changes nothing.
    again = await system.notifications.post(
        "/email/reports", content=bounce, headers={**IT, **REPORT}
    )
    assert again.json()["changed"] is False and again.json()["status"] == "bounced"


async def test_a_bounce_in_the_familys_quiet_hours_waits_for_them_to_end_by_text(
    system: System, mail_server: LocalMailServer
) -> None:
    """Reports come back at any hour: the text standing in for a returned confirmation waits for
    the end of the family's quiet hours, as the email would have."""
    address = f"rosa-{uuid.uuid4().hex[:8]}@example.org"
    guardian_id, _ = await booked_family(system, 12, email=address, phone="+15035550143")
    await settled(system, guardian_id, until=lambda d: [x.status for x in d] == ["sent"])
    now = datetime.now(LA)
    quiet = {
        "from": (now - timedelta(hours=1)).strftime("%H:00"),
        "until": (now + timedelta(hours=2)).strftime("%H:00"),
    }
    saved = await system.notifications.put(
        f"/guardians/{guardian_id}/preferences",
        json={"quiet_hours": quiet, "timezone": "America/Los_Angeles"},
        headers=guardian(guardian_id),
    )
    assert saved.status_code == 200, saved.text
    (received,) = mail_server.envelopes_to(address)
    bounce = dsn(
        message_id=received.message["Message-ID"], diagnostic="smtp; 550 5.1.1 no such mailbox"
    )
    answer = await system.notifications.post(
        "/email/reports", content=bounce, headers={**IT, **REPORT}
    )
    assert answer.status_code == 200, answer.text
    email, text = await settled(system, guardian_id, until=lambda d: len(d) == 2)
    ends = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    assert (email.status, text.channel, text.status) == ("bounced", "sms", "queued")
    assert text.not_before == ends.astimezone(UTC)
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        job = (await session.exec(select(Job).where(Job.key == text.id))).one()
    assert job.due_at == text.not_before


async def test_a_delivered_report_by_envelope_id_records_it_delivered(
    system: System, mail_server: LocalMailServer, redis_client: aioredis.Redis
) -> None:
    guardian_id, _ = await booked_family(
        system, 11, email=f"ana-{uuid.uuid4().hex[:8]}@example.org"
    )
    (sent,) = await settled(system, guardian_id, until=lambda d: [x.status for x in d] == ["sent"])
    delayed = dsn(envelope_id=f"delivery-{sent.id}", action="delayed", status="4.4.1")
    answer = await system.notifications.post(
        "/email/reports", content=delayed, headers={**IT, **REPORT}
    )
    assert answer.json() == {
        "delivery_id": sent.id,
        "status": "sent",
        "changed": False,
        "action": "other",
    }
    delivered = dsn(envelope_id=f"delivery-{sent.id}", action="delivered", status="2.0.0")
    answer = await system.notifications.post(
        "/email/reports", content=delivered, headers={**IT, **REPORT}
    )
    assert answer.json()["status"] == "delivered", answer.text
    (recorded,) = await settled(
        system, guardian_id, until=lambda d: [x.status for x in d] == ["delivered"]
    )
    assert recorded.error is None

    async def announced() -> list[dict[str, Any]]:
        return await events_on(redis_client, DeliveryDelivered.stream())

    await eventually(announced, until=lambda found: any(sent.id in e["data"] for e in found))
    # A bounce after it was delivered (out of order) does not undo it.
    late = dsn(envelope_id=f"delivery-{sent.id}")
    answer = await system.notifications.post(
        "/email/reports", content=late, headers={**IT, **REPORT}
    )
    assert (answer.json()["status"], answer.json()["changed"]) == ("delivered", False)


async def test_reports_are_checked_and_only_district_it_may_send_them(
    system: System, mail_server: LocalMailServer
) -> None:
    guardian_id, _ = await booked_family(system, 12, email=f"li-{uuid.uuid4().hex[:8]}@example.org")
    (sent,) = await settled(system, guardian_id, until=lambda d: [x.status for x in d] == ["sent"])
    report = dsn(envelope_id=f"delivery-{sent.id}")

    async def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        answer = await system.notifications.post(
            "/email/reports", content=body, headers={**headers, **REPORT}
        )
        return answer.status_code, answer.text

    assert (await post(report, {}))[0] == 401
    for someone in (OFFICE, guardian(guardian_id)):
        status, text = await post(report, someone)
        assert status == 403 and "district IT" in text
    # (A token of another district is not one this deployment accepts at all.)
    assert (await post(report, OTHER_DISTRICT))[0] == 401
    status, text = await post(b"Subject: hello\n\nnot a report", IT)
    assert status == 422 and "not a delivery status notification" in text
    status, text = await post(b"", IT)
    assert status == 422 and "empty" in text
    status, text = await post(dsn(message_id="<somebody-else@example.org>"), IT)
    assert status == 422 and "names no message this service sent" in text
    status, text = await post(dsn(envelope_id="delivery-not-a-real-one"), IT)
    assert status == 422 and "'not-a-real-one'" in text
    status, text = await post(dsn(envelope_id="delivery-a\x00b"), IT)  # (no NUL reaches a query)
    assert status == 422 and "names no message this service sent" in text
    # A report about a message of another district is not this caller's to record.
    runtime = system.apps["notifications"].state.runtime

    async def move_to(district: str) -> None:
        async with runtime.uow.transaction() as session:
            await session.exec(
                update(Delivery).where(col(Delivery.id) == sent.id).values(district=district)
            )

    await move_to("elsewhere")
    status, text = await post(report, IT)
    assert status == 422 and "in your district" in text
    await move_to(sent.district)
    # None of that touched the message.
    (still,) = await settled(system, guardian_id, until=lambda d: len(d) == 1)
    assert still.status == "sent"
    # A remote server's words with control characters (a NUL no database keeps) are recorded
    # without them.
    odd = dsn(envelope_id=f"delivery-{sent.id}", diagnostic="smtp; 550 no\x00such\x07 mailbox")
    status, text = await post(odd, IT)
    assert status == 200, text
    (bounced, *_) = await settled(system, guardian_id, until=lambda d: d[0].status == "bounced")
    assert "550 no such mailbox" in (bounced.error or "")


NESTED = b"""\
From: MAILER-DAEMON@mx.example.org
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

Returned.

--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; someone@example.org
Action: failed
Status: 5.1.1

--r
Content-Type: message/rfc822

From: someone-else@example.org
Message-ID: <theirs@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain

Forwarding this.

--m
Content-Type: message/rfc822

Message-ID: <delivery-abc123@district.example>
Subject: Confirmed

--m--

--r--
"""


def test_a_report_is_read_from_its_returned_headers_or_its_envelope_id() -> None:
    by_headers = read_report(dsn(message_id="<delivery-abc123@district.example>"))
    assert (by_headers.delivery_id, by_headers.delivered, by_headers.status) == (
        "abc123",
        False,
        "5.1.1",
    )
    assert by_headers.reason.startswith("the family's mail server returned it (5.1.1): smtp; 550")
    by_envelope = read_report(dsn(envelope_id="delivery-xyz", action="delivered", status="2.0.0"))
    assert (by_envelope.delivery_id, by_envelope.delivered) == ("xyz", True)
    assert read_report(dsn(envelope_id="delivery-q", action="relayed")).delivered is None
    # Our Message-ID inside someone else's returned message (an attachment of it) is not ours.
    nested = NESTED.replace(b"\n", b"\r\n")
    for garbage in (
        b"",
        b"\x00\xff" * 50,
        b"Content-Type: multipart/report\n\n--x--",
        dsn(envelope_id="not-ours-123"),
        nested,
    ):
        try:
            read_report(garbage)
        except NotAReport:
            continue
        raise AssertionError(f"{garbage!r} was read as a report")


def test_reports_go_to_the_bounce_address_and_message_ids_keep_the_from_domain() -> None:
    relay = SmtpRelay(host="127.0.0.1", port=25)
    sender = "Conferences <conferences@district.example>"
    bounces = SmtpChannel(relay, sender=sender, bounces_to="SLC bounces <slc-bounces@mx.example>")
    assert (bounces.envelope_sender, bounces.domain) == (
        "slc-bounces@mx.example",
        "district.example",
    )
    for unset in (None, ""):
        channel = SmtpChannel(relay, sender=sender, bounces_to=unset)
        assert channel.envelope_sender == "conferences@district.example"


MAIL_SYSTEM_SECRET = "s3cret-of-the-district-mail-system-0123456789"


@pytest.mark.notifications_settings(
    bounce_address="slc-bounces@district.example", mail_reports_token=MAIL_SYSTEM_SECRET
)
async def test_the_mail_system_hands_reports_over_with_its_own_secret_which_allows_nothing_else(
    system: System, mail_server: LocalMailServer
) -> None:
    guardian_id, _ = await booked_family(system, 13, email=f"ky-{uuid.uuid4().hex[:8]}@example.org")
    (sent,) = await settled(system, guardian_id, until=lambda d: [x.status for x in d] == ["sent"])
    secret = {"Authorization": f"Bearer {MAIL_SYSTEM_SECRET}", **REPORT}
    wrong = {"Authorization": f"Bearer {MAIL_SYSTEM_SECRET[:-1]}x", **REPORT}
    report = dsn(envelope_id=f"delivery-{sent.id}")
    refused = await system.notifications.post("/email/reports", content=report, headers=wrong)
    assert refused.status_code == 401
    answer = await system.notifications.post("/email/reports", content=report, headers=secret)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "bounced"
    # No phone on file: the office's list has the family, with the kind of reason.
    office = {"Authorization": IT["Authorization"]}
    listed = await system.notifications.get("/could-not-reach", headers=office)
    (row,) = [r for r in listed.json() if r["guardian_id"] == guardian_id]
    assert row["reason_kind"] == "returned" and "returned it" in row["reason"]
    # The secret is no token: it opens nothing else.
    for path in ("/could-not-reach", f"/guardians/{guardian_id}/preferences", "/mailbox"):
        elsewhere = await system.notifications.get(path, headers=secret)
        assert elsewhere.status_code == 401, (path, elsewhere.text)
