"""How a message reaches a family: a channel per medium, behind one small interface.

A channel is called by the ``deliver_message`` jobs, a batch at a time, after the commit that
rendered the messages, never inside an event handler's transaction. It hands each message to
its medium with the delivery's id as the idempotency key (an email's Message-ID, an SMS
provider's ``Idempotency-Key`` header), so a message handed over again after its notifier died
is recognised as the same. It tells the sender each message's outcome as soon as it is known,
and waits until the sender has recorded an accepted message before handing over the next one
on the same connection: a notifier that dies can leave at most one message per connection
handed over and not recorded, hence sent again. Email (``email.py``) and SMS (``sms.py``) are
channels; voice or push would be a new class, not a change to the rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from services.notifications.tables import Delivery
from shared.jobs.handlers import PermanentFailure

# Why a family could not be reached, by kind (the could-not-reach list's ``reason_kind``, which
# the office's page says in words); the reason itself says it in English, with the details.
REASON_KINDS = {
    "no_contact": "no email address or phone number on file",
    "address_refused": "the relay refused the email address",
    "returned": "the family's mail server sent the email back after the relay took it",
    "number_refused": "the phone number cannot take text messages as written",
    "not_delivered": "the carrier did not deliver the text message",
    "message_refused": "the relay or the SMS provider refused the message itself",
    "texts_stopped": "the family's number replied STOP and no email reached them either",
    "no_channel": "no email or SMS service is configured for this kind of message",
    "not_written": "the message could not be written (`slc-jobs retry` of its job writes it)",
    "other": "anything else (the reason says what)",
}


class Undeliverable(PermanentFailure):
    """A message its channel cannot deliver, trying again or not, with the kind of reason."""

    status = "failed"  # as its delivery is recorded

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        assert kind in REASON_KINDS, kind
        self.kind = kind


def kind_of_failure(error: Exception) -> str:
    """The kind of reason a channel's permanent failure gives (``REASON_KINDS``)."""
    return error.kind if isinstance(error, Undeliverable) else "other"


class Outcomes(Protocol):
    """Where a channel reports what became of each message (the sender records it), and asks
    whether each is still its to hand over."""

    def may_hand_over(self, delivery: Delivery) -> bool:
        """Asked just before the message is handed over: False when the sender can no longer be
        sure it is the only one sending it (its job may be passing to another worker). The
        channel then neither hands it over nor reports on it; it is tried again later."""
        ...

    async def accepted(self, delivery: Delivery, provider_id: str | None) -> None:
        """The medium took the message (``provider_id``: its id for it, when its delivery
        receipts will name it). Returns once this is recorded."""
        ...

    async def refused(self, delivery: Delivery, error: Exception) -> None:
        """The message was not taken: ``PermanentFailure`` when trying again cannot help, any
        other error when a later try may succeed."""
        ...


class Channel(Protocol):
    name: str
    connections: int  # messages it hands over at once, at most

    async def send_each(self, deliveries: Sequence[Delivery], outcomes: Outcomes) -> None:
        """Hand each delivery to the medium, reporting each one's outcome to ``outcomes`` (and
        waiting for it) before the next message goes over the same connection. Ask
        ``outcomes.may_hand_over`` just before each: one it says no to is neither handed over
        nor reported (its job may be passing to another worker)."""
        ...


class MailboxChannel:
    """The development channel: the message is stored, readable at ``GET /mailbox`` exactly as
    the family would read it; nothing leaves the service."""

    name = "mailbox"
    connections = 1  # (none: it takes them all at once)

    async def send_each(self, deliveries: Sequence[Delivery], outcomes: Outcomes) -> None:
        # No connection to wait on: all of them are recorded together.
        taken = [delivery for delivery in deliveries if outcomes.may_hand_over(delivery)]
        await asyncio.gather(*(outcomes.accepted(delivery, None) for delivery in taken))
