"""What happened to a message after its channel accepted it: a carrier's delivery receipt for a
text (``sms_api.py``), a mail server's delivery status notification for an email (RFC 3464,
``POST /email/reports``).

An email the district's relay accepted can still come back: the family's mail server refuses
the address a day later, the mailbox is full. The relay then sends a report (a
``multipart/report; report-type=delivery-status`` message) to the envelope sender, and asked
for it (the relay speaks DSN), one when it was delivered too. The district's mail system hands
those reports to notifications, which finds the delivery by the returned message's
``Message-ID`` (or the envelope id it gave the relay) and records it: delivered, or bounced
with the remote server's reason, then sent by the guardian's other channel or put on the
office's could-not-reach list, as any message that fails for good.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.email import envelope_id
from services.notifications.escalation import escalate_or_give_up
from services.notifications.tables import Delivery
from shared.contact_details import without_contact_details
from shared.events import DeliveryDelivered, DeliveryFailed
from shared.messaging.outbox import record_event

_ID = r"[A-Za-z0-9_-]{1,64}"
_ENVELOPE_ID = re.compile(envelope_id(f"({_ID})"))  # (as email.py names a delivery)
_MESSAGE_ID = re.compile(rf"<{_ENVELOPE_ID.pattern}@[^>]*>")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_DECISIVE = ("failed", "delivered")  # (delayed, relayed and expanded change nothing)


class NotAReport(ValueError):
    """The message is not a delivery status notification this service can read."""


@dataclass(frozen=True)
class Report:
    """What a delivery status notification says about one message."""

    delivery_id: str
    delivered: bool | None  # None: only delayed, relayed or expanded so far
    status: str  # the RFC 3463 status code, e.g. 5.1.1
    diagnostic: str  # the remote server's words, if given

    @property
    def reason(self) -> str:
        """Why, for the school office: the status and the remote server's own words."""
        said = f": {self.diagnostic}" if self.diagnostic else ""
        return f"{self.announced_reason}{said}"[:500]

    @property
    def announced_reason(self) -> str:
        """Why, for the shared stream: the status alone (the remote server's words may repeat
        the address)."""
        return f"the family's mail server returned it ({self.status})"


def read_report(raw: bytes) -> Report:
    """The report in ``raw`` (the whole DSN message, as received); ``NotAReport`` says why not."""
    if not raw.strip():
        raise NotAReport("the body is empty: send the whole report message (message/rfc822)")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if message.get_content_type() != "multipart/report" or (
        str(message.get_param("report-type") or "").lower() != "delivery-status"
    ):
        raise NotAReport(
            "not a delivery status notification: expected multipart/report;"
            f" report-type=delivery-status, got {message.get_content_type()}"
        )
    parts = message.get_payload()
    top = [part for part in parts if isinstance(part, Message)] if isinstance(parts, list) else []
    status = next(
        (part for part in top if part.get_content_type() == "message/delivery-status"), None
    )
    payload = status.get_payload() if status is not None else None
    blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    if len(blocks) < 2:
        raise NotAReport("the report has no per-recipient delivery status")
    per_message, recipients = blocks[0], blocks[1:]
    delivery_id = _from_envelope_id(per_message) or _from_returned_message(top)
    if delivery_id is None:
        raise NotAReport(
            "the report names no message this service sent (no Original-Envelope-Id, and no"
            " returned Message-ID of the form <delivery-...@...>)"
        )
    actions = [(str(block.get("Action", "")).strip().lower(), block) for block in recipients]
    decisive = [(action, block) for action, block in actions if action in _DECISIVE]
    action, block = (decisive or actions)[0]
    return Report(
        delivery_id=delivery_id,
        delivered=None if action not in _DECISIVE else action == "delivered",
        status=_printable(block.get("Status", ""))[:20] or "no status",
        diagnostic=_printable(block.get("Diagnostic-Code", ""))[:300],
    )


def _printable(value: object) -> str:
    """A header's words on one line, without control characters (a NUL no database keeps)."""
    return " ".join(_UNPRINTABLE.sub(" ", str(value)).split())


def _from_envelope_id(per_message: Message) -> str | None:
    """The delivery id in the envelope id notifications gave the relay (``delivery-<id>``)."""
    found = _ENVELOPE_ID.fullmatch(str(per_message.get("Original-Envelope-Id", "")).strip())
    return found.group(1) if found else None


def _from_returned_message(parts: list[Message]) -> str | None:
    """The delivery id in the ``Message-ID`` of the returned message (or of its headers): a
    part of the report itself, never one nested in what it returns."""
    for part in parts:
        kind = part.get_content_type()
        headers: Message | None = None
        if kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                headers = email.message_from_bytes(text, policy=email.policy.compat32)
        elif kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                headers = inner[0]
        found = _MESSAGE_ID.search(str(headers.get("Message-ID", ""))) if headers else None
        if found:
            return found.group(1)
    return None


async def settle(
    session: AsyncSession,
    delivery: Delivery,
    *,
    delivered: bool,
    reason: str,
    announced: str | None = None,
    failed_as: str = "failed",
) -> bool:
    """Record a sent message ``delivered``, or failed (``failed_as``) with ``reason`` and sent by
    the guardian's other channel or put on the could-not-reach list; announced either way (the
    failure with ``announced``, default ``reason``, without contact details). False (nothing
    changes) when it is no longer just ``sent``: an earlier report settled it."""
    settled = await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery.id, col(Delivery.status) == "sent")
        .values(status="delivered" if delivered else failed_as, error=None if delivered else reason)
        .execution_options(synchronize_session=False)
    )
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if not delivered:  # by the other channel instead, or on the office's list
        # (The medium took it, and the family's mail server or the carrier then did not.)
        kind = "returned" if delivery.channel == "email" else "not_delivered"
        await escalate_or_give_up(session, delivery, reason, kind)
    common = {
        "delivery_id": delivery.id,
        "recipient_id": delivery.recipient_id,
        "channel": delivery.channel,
        "template": delivery.template,
        "cause_event_id": delivery.cause_event_id,
    }
    record_event(
        session,
        DeliveryDelivered(**common)  # type: ignore[arg-type]
        if delivered
        else DeliveryFailed(**common, error=without_contact_details(announced or reason)),  # type: ignore[arg-type]
        subject=delivery.student_id,
        district=delivery.district,
        site=delivery.site,
    )
    return True
