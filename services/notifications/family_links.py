"""Families' links in the messages notifications writes: minted here, with the private key only
this service holds, and written only into the message (a delivery row in this service's
database). A link never goes on a stream, into a job's payload or into a log.

Without a private key (``NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY``), messages go without a link:
the family is told to ask the school; this is logged once, at start.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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


@dataclass(frozen=True)
class FamilyLinks:
    """Makes the address a family's link opens, if this service can mint links."""

    issuer: FamilyLinkIssuer | None = None
    url_template: str = "{token}"

    @classmethod
    def from_settings(cls, settings: NotificationsSettings) -> FamilyLinks:
        key = settings.family_link_private_key
        if key is None:
            log.warning(
                "NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY is not set: invitations and reminders"
                " are sent without the family's link"
            )
            return cls()
        return cls(FamilyLinkIssuer(key.get_secret_value()), settings.family_link_url)

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


async def student_names(session: AsyncSession, student_ids: Iterable[str]) -> dict[str, str]:
    """The names families know these students by (those this service knows, active)."""
    wanted = sorted(set(student_ids))
    if not wanted:
        return {}
    rows = (
        await session.exec(
            select(KnownStudent.id, KnownStudent.given_name).where(
                col(KnownStudent.id).in_(wanted), col(KnownStudent.active)
            )
        )
    ).all()
    return dict(rows)
