"""Sending a family a new link: every link they were given until now stops working, and
notifications sends them a new one (``scheduling.family_link.reissued``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.family_links.rules import check_reissuer, new_link_expiry
from services.scheduling.tables import RosterSite, RosterStudent
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth.family_links import window_links_until
from shared.auth.principal import Principal
from shared.events import FamilyLinkReissued
from shared.link_revocations import record_revocations
from shared.messaging.outbox import record_event
from shared.roster import RosterGuardianLink


@dataclass(frozen=True)
class Reissued:
    guardian_id: str
    revoked_before: datetime
    expires_at: datetime


async def reissue_link(
    session: AsyncSession, principal: Principal, *, guardian_id: str, now: datetime
) -> Reissued:
    """Revoke the guardian's links issued until ``now`` and ask for a new one, valid until the
    last opened window at their children's sites ends (its last day)."""
    children = await _children(session, guardian_id=guardian_id, district=principal.district)
    check_reissuer(
        principal,
        guardian_id=guardian_id,
        district=principal.district,
        children_sites={site for _, site in children},
    )
    expires_at = new_link_expiry(
        await _open_windows_end(
            session, district=principal.district, sites={site for _, site in children}, now=now
        ),
        now=now,
    )
    await record_revocations(
        session,
        [
            {
                "guardian_id": guardian_id,
                "district": principal.district,
                "revoked_before": now,
                "revoked_by": principal.subject,
            }
        ],
    )
    # The event is about one of the family's children at a site the caller acts for:
    # notifications writes to the family about that child.
    student_id, site = next(
        (student, site)
        for student, site in children
        if principal.can_act_for_site(principal.district, site)
    )
    known = await session.get(RosterSite, site)
    record_event(
        session,
        FamilyLinkReissued(
            guardian_id=guardian_id,
            revoked_before=now,
            expires_at=expires_at,
            reissued_by=principal.subject,
            timezone=known.timezone if known else None,
        ),
        subject=student_id,
        district=principal.district,
        site=site,
    )
    return Reissued(guardian_id=guardian_id, revoked_before=now, expires_at=expires_at)


async def _children(
    session: AsyncSession, *, guardian_id: str, district: str
) -> list[tuple[str, str]]:
    """``(student, site)`` of each enrolled student the roster links the guardian to."""
    rows = (
        await session.exec(
            select(RosterStudent.id, RosterStudent.site)
            .join(RosterGuardianLink, col(RosterGuardianLink.student_id) == col(RosterStudent.id))
            .where(
                RosterGuardianLink.guardian_id == guardian_id,
                col(RosterGuardianLink.active),
                col(RosterStudent.active),
                RosterStudent.district == district,
            )
            .order_by(col(RosterStudent.id))
        )
    ).all()
    return [(student, site) for student, site in rows]


async def _open_windows_end(
    session: AsyncSession, *, district: str, sites: set[str], now: datetime
) -> list[datetime]:
    """When each opened window at ``sites`` ends (its links work until then)."""
    if not sites:
        return []
    rows = await session.exec(
        select(col(ConferenceWindow.last_day), col(ConferenceWindow.timezone)).where(
            ConferenceWindow.district == district,
            col(ConferenceWindow.site).in_(sorted(sites)),
            col(ConferenceWindow.announced_at).is_not(None),
            col(ConferenceWindow.last_day) >= (now - timedelta(days=2)).date(),
        )
    )
    return [window_links_until(last_day, timezone) for last_day, timezone in rows.all()]
