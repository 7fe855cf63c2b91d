"""Families' links in the messages notifications writes: minted here, with the private key only
this service holds, and written only into the message (a delivery row in this service's
database). A link never goes on a stream, into a job's payload or into a log.

Without a private key (``NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY``), messages go without a link:
the family is told to ask the school; this is logged once, at start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.settings import NotificationsSettings
from services.notifications.tables import KnownStudent
from shared.auth.family_links import MAX_LIFETIME, FamilyLinkIssuer
from shared.roster import RosterGuardianLink

log = logging.getLogger(__name__)

# A new link must be newer than the revocation it replaces the old ones after (scheduling
# refuses links issued at or before ``revoked_before``).
AFTER_REVOCATION = timedelta(milliseconds=1)
_TAG_BYTES = 10  # 80 bits: a code cannot be guessed by trying
# A delivery's id (16 bytes) and its tag, base64url without padding: 35 characters.
_CODE = re.compile(r"[A-Za-z0-9_-]{35}")


@dataclass(frozen=True)
class FamilyLinks:
    """Makes the address a family's link opens, if this service can mint links."""

    issuer: FamilyLinkIssuer | None = None
    url_template: str = "{token}"
    # The short address a text message's link goes by (``{code}``: ``short_url``), if any.
    short_url_template: str | None = None

    @classmethod
    def from_settings(cls, settings: NotificationsSettings) -> FamilyLinks:
        key = settings.family_link_private_key
        if key is None:
            log.warning(
                "NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY is not set: invitations and reminders"
                " are sent without the family's link"
            )
            return cls()
        return cls(
            FamilyLinkIssuer(key.get_secret_value()),
            settings.family_link_url,
            settings.sms_link_url,
        )

    # --- Short addresses, for text messages ------------------------------------------------
    # A family's link is some 300 characters: a text in Vietnamese, Chinese or Arabic (UCS-2,
    # 67 characters a part) could not carry it in three parts with any words. A text carries a
    # short address instead, ``short_url_template`` with the message's code: its delivery's id
    # and a tag only this service can make (HMAC, with a key derived from the private key), so
    # codes cannot be guessed or made from the delivery ids events carry. Opening it, the web
    # front asks this service for the link in that message (``GET /family-links/{code}``):
    # nothing more is stored, and a code opens no more than its message's own link did.

    @cached_property
    def _short_key(self) -> bytes | None:
        return self.issuer.derived_key("short-link") if self.issuer is not None else None

    def short_url(self, delivery_id: str) -> str | None:
        """The short address of the link in the delivery's message; None without a template
        (or a key)."""
        if self.short_url_template is None or self._short_key is None:
            return None
        try:
            raw = uuid.UUID(delivery_id).bytes
        except ValueError:
            return None
        code = base64.urlsafe_b64encode(raw + self._tag(raw)).rstrip(b"=").decode()
        return self.short_url_template.replace("{code}", code)

    def delivery_of(self, code: str) -> str | None:
        """The delivery whose short address has ``code``, if this service made it."""
        if self._short_key is None or not _CODE.fullmatch(code):
            return None
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))[:16]
        # (Exactly the code made: the last character's spare bits may not differ either.)
        made = base64.urlsafe_b64encode(raw + self._tag(raw)).rstrip(b"=").decode()
        if not hmac.compare_digest(made.encode(), code.encode()):
            return None
        return str(uuid.UUID(bytes=raw))

    def _tag(self, raw: bytes) -> bytes:
        assert self._short_key is not None
        return hmac.new(self._short_key, raw, hashlib.sha256).digest()[:_TAG_BYTES]

    def url(
        self,
        *,
        guardian_id: str,
        district: str,
        expires_at: datetime,
        now: datetime,
        issued_at: datetime | None = None,
    ) -> str | None:
        """The guardian's link, valid until ``expires_at`` (at most 180 days from when it is
        issued); None if links cannot be minted here or it would already have expired."""
        if self.issuer is None:
            return None
        issued = max(issued_at or now, now)
        expires = min(expires_at, issued + MAX_LIFETIME)
        if expires <= issued:
            return None
        token = self.issuer.mint(
            guardian_id=guardian_id, district=district, expires_at=expires, issued_at=issued
        )
        return self.url_template.replace("{token}", token)


def issued_after(revoked_before: datetime, *, now: datetime) -> datetime:
    """When a link replacing those revoked before ``revoked_before`` is issued: now, and
    strictly after the revocation even if this clock is behind scheduling's."""
    return max(now, revoked_before + AFTER_REVOCATION)


def _linked_at(sites: set[tuple[str, str]]) -> tuple[Any, ...]:
    """Active guardian links to active students at the sites (their districts checked after)."""
    return (
        col(KnownStudent.site).in_(sorted({site for _, site in sites})),
        col(KnownStudent.active),
        col(RosterGuardianLink.active),
    )


async def guardians_at_sites(
    session: AsyncSession, sites: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """Per ``(district, site)``, the ids of the guardians linked to an active student there,
    in order: what ``families_at_sites`` would give, without the students."""
    wanted = set(sites)
    if not wanted:
        return {}
    rows = (
        await session.exec(
            select(KnownStudent.district, KnownStudent.site, RosterGuardianLink.guardian_id)
            .join(KnownStudent, col(KnownStudent.id) == col(RosterGuardianLink.student_id))
            .where(*_linked_at(wanted))
            .distinct()
        )
    ).all()
    guardians: dict[tuple[str, str], list[str]] = defaultdict(list)
    for district, site, guardian_id in rows:
        if (district, site) in wanted:
            guardians[district, site].append(guardian_id)
    return {place: sorted(ids) for place, ids in guardians.items()}


async def families_at_sites(
    session: AsyncSession,
    sites: Iterable[tuple[str, str]],
    *,
    guardians: Collection[str] | None = None,
) -> dict[tuple[str, str], dict[str, list[KnownStudent]]]:
    """Per ``(district, site)``, each guardian linked to an active student there (of
    ``guardians`` only, if given), with those students (by name), from this service's copy of
    the roster."""
    wanted = set(sites)
    if not wanted or (guardians is not None and not guardians):
        return {}
    query = (
        select(RosterGuardianLink.guardian_id, KnownStudent)
        .join(KnownStudent, col(KnownStudent.id) == col(RosterGuardianLink.student_id))
        .where(*_linked_at(wanted))
        .order_by(col(KnownStudent.given_name), col(KnownStudent.id))
    )
    if guardians is not None:
        query = query.where(col(RosterGuardianLink.guardian_id).in_(sorted(guardians)))
    rows = (await session.exec(query)).all()
    families: dict[tuple[str, str], dict[str, list[KnownStudent]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for guardian_id, student in rows:
        if (student.district, student.site) in wanted:
            families[student.district, student.site][guardian_id].append(student)
    return families


async def children_counted(
    session: AsyncSession, district: str, guardians: Collection[str]
) -> dict[str, int]:
    """How many active students of the district the roster links each guardian to, at any of
    its schools (as scheduling counts them for early access: a family with several)."""
    if not guardians:
        return {}
    rows = (
        await session.exec(
            select(RosterGuardianLink.guardian_id, func.count())
            .join(KnownStudent, col(KnownStudent.id) == col(RosterGuardianLink.student_id))
            .where(
                col(RosterGuardianLink.guardian_id).in_(sorted(guardians)),
                col(RosterGuardianLink.active),
                col(KnownStudent.active),
                col(KnownStudent.district) == district,
            )
            .group_by(col(RosterGuardianLink.guardian_id))
        )
    ).all()
    return dict(rows)


async def roster_students(
    session: AsyncSession, student_ids: Iterable[str]
) -> dict[str, str | None]:
    """Those of these students whose roster entry this service has: the name families know
    each by, or None for one who has left the roster (withdrawn)."""
    wanted = sorted(set(student_ids))
    if not wanted:
        return {}
    rows = (
        await session.exec(
            select(KnownStudent.id, KnownStudent.given_name, KnownStudent.active).where(
                col(KnownStudent.id).in_(wanted)
            )
        )
    ).all()
    return {student: name if active else None for student, name, active in rows}
