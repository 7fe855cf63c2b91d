"""A school office as notifications' ``GET /sites/{site}/office`` gives it, read once for the
office's own page (``office/contact.py``) and the family's pages (``family/offices.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OfficeView:
    school: str | None  # (None until notifications has the roster's name for it)
    phone: str | None  # as families read it: "(503) 555-0100 ext. 2"
    phone_uri: str | None  # "tel:+1-503-555-0100;ext=2"
    email: str | None
    hours: str | None
    written_by: str | None
    written_at: str | None  # (ISO 8601, as notifications wrote it)

    @property
    def reachable(self) -> bool:
        """Whether the office wrote a way to reach it (a phone number or an email address)."""
        return bool(self.phone or self.email)


def office_view(body: Any) -> OfficeView | None:
    """The answer's office; None for an answer that is not one (a refusal, nothing)."""
    if not isinstance(body, dict):
        return None

    def text(name: str) -> str | None:
        value = body.get(name)
        return value if isinstance(value, str) and value else None

    return OfficeView(
        school=text("school"),
        phone=text("phone_display"),
        phone_uri=text("phone_uri"),
        email=text("email"),
        hours=text("hours"),
        written_by=text("updated_by"),
        written_at=text("updated_at"),
    )
