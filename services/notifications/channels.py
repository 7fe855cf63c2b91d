"""How a message reaches a family: a channel per medium, behind one small interface.

A channel is called by the ``deliver_message`` job, after the commit that rendered the message,
never inside an event handler's transaction; it is given the job's idempotency key to pass to
the provider (an email's Message-ID, an SMS provider's idempotency header), so a job run again
after its worker died is not sent twice. Email (``email.py``) and SMS (``sms.py``)
are channels; voice or push would be a new class, not a change to the rules.
"""

from __future__ import annotations

from typing import Protocol

from services.notifications.tables import Delivery


class Channel(Protocol):
    name: str

    async def send(self, delivery: Delivery, *, idempotency_key: str) -> str | None:
        """Hand the rendered message to the medium; raise if it was not accepted
        (``PermanentFailure`` when trying again cannot help). Returns the provider's id for the
        message, when its delivery receipts will name it."""
        ...


class MailboxChannel:
    """The development channel: the message is stored, readable at ``GET /mailbox`` exactly as
    the family would read it; nothing leaves the service."""

    name = "mailbox"

    async def send(self, delivery: Delivery, *, idempotency_key: str) -> str | None:
        return None
