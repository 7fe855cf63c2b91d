"""A message as notifications writes one, for tests that need one row of it."""

from __future__ import annotations

import uuid
from typing import Any

from services.notifications.tables import Delivery


def queued_message(**fields: Any) -> Delivery:
    """A queued email to Wei Chen about Ava's conference at Conway (the demo district), with
    ``fields`` changed."""
    return Delivery(
        **{
            "district": "demo",
            "site": "conway",
            "recipient_id": "g-wei",
            "student_id": "s-ava",
            "channel": "email",
            "address": "wei@example.org",
            "language": "en",
            "template": "conference_booked",
            "subject": "Ava's conference is booked",
            "body": "Hello",
            "status": "queued",
            "cause_event_id": str(uuid.uuid4()),
            **fields,
        }
    )
