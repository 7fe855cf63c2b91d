"""Handing guardians' contact details to notifications, which owns them.

An export's ``users.csv`` carries each guardian's email, phone and language. They are not
portfolio's to keep and never go on a shared stream: the import sends them straight to
notifications' own API (``PUT /contacts``, a district administrator's call, over HTTP inside the
district's network) and keeps only a salted digest of what it sent (``Guardian.contact_hash``),
so an unchanged contact is not sent again. Notifications checks each contact on its own and
answers which it refused and why; the import reports those against the row they came from.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True, slots=True)
class Contact:
    guardian_id: str
    site: str
    display_name: str
    email: str | None
    phone: str | None
    language: str | None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "guardian_id": self.guardian_id,
            "site": self.site,
            "display_name": self.display_name,
            "email": self.email,
            "phone": self.phone,
        }
        if self.language:
            body["language"] = self.language
        return body


class HandoffFailed(Exception):
    """Notifications could not be reached or refused the whole batch: the import stops, and
    running it again sends what was not acknowledged."""


class ContactHandoff(Protocol):
    async def hand_over(self, contacts: Sequence[Contact]) -> dict[str, str]:
        """Send a batch; returns the guardians whose contact was refused, with the reason."""
        ...


def contact_digest(contact: Contact, *, salt: str | None = None) -> str:
    """``salt:digest`` of what is sent (a fresh salt each time unless one is given), so the
    digest alone does not reveal a common email address."""
    salt = salt or secrets.token_hex(4)
    text = repr(
        (contact.site, contact.display_name, contact.email, contact.phone, contact.language)
    )
    return f"{salt}:{hashlib.blake2b(text.encode(), digest_size=8, key=salt.encode()).hexdigest()}"


def unchanged(contact: Contact, held: str | None) -> bool:
    if not held or ":" not in held:
        return False
    return contact_digest(contact, salt=held.split(":", 1)[0]) == held


class NotificationsContacts:
    """Notifications' ``PUT /contacts``, as a district administrator (``token`` gives a bearer
    token; it is asked for each batch so a short-lived one can be renewed)."""

    def __init__(self, base_url: str, *, token: Callable[[], str], timeout: float = 30.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._token = token

    async def hand_over(self, contacts: Sequence[Contact]) -> dict[str, str]:
        try:
            response = await self._http.put(
                "/contacts",
                json={"contacts": [contact.as_json() for contact in contacts]},
                headers={"Authorization": f"Bearer {self._token()}"},
            )
        except httpx.HTTPError as error:
            raise HandoffFailed(f"notifications at {self._http.base_url}: {error}") from error
        if response.status_code != 200:
            raise HandoffFailed(
                f"notifications answered {response.status_code}: {_detail(response)}"
            )
        return {item["guardian_id"]: item["reason"] for item in response.json()["refused"]}

    async def close(self) -> None:
        await self._http.aclose()


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))[:300]
    except ValueError:
        return response.text[:300]
