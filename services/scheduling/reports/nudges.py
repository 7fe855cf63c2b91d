"""Reminding the families who have not booked yet: one ``Nudge`` row and one
``families.nudged`` event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import Refused
from services.scheduling.reports.queries import window_standing
from services.scheduling.reports.rules import check_nudge_time, not_just_reminded, selection_for
from services.scheduling.reports.standing import not_booked
from services.scheduling.reports.tables import Nudge
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth.family_links import window_links_until
from shared.auth.principal import Principal
from shared.events import FamiliesNudged, NudgedFamily
from shared.messaging.outbox import record_event


async def nudge_families(
    session: AsyncSession,
    principal: Principal,
    *,
    window: ConferenceWindow,
    teacher_id: str | None = None,
    class_id: str | None = None,
    student_ids: Collection[str] | None = None,
) -> Nudge:
    """Remind the families of the selection's students with no conference yet to book; refused
    when the selection has no invited student, or when every one of them has booked. (The
    caller has locked the window: two reminders at once take turns.)"""
    standing = await window_standing(session, window)
    selection = selection_for(
        principal,
        classes=standing.classes,
        teacher_id=teacher_id,
        class_id=class_id,
        student_ids=student_ids,
    )
    now = datetime.now(UTC)
    check_nudge_time(
        announced_at=window.announced_at,
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        now=now,
    )
    if not any(one.invited and selection.includes(one) for one in standing.standings):
        raise Refused(
            "nobody in this selection was invited to book in this window: no student of it has"
            " a family on the roster",
            code="nobody_selected",
        )
    reminded = sorted(not_booked(standing.standings, selection), key=lambda one: one.student_id)
    if not reminded:
        raise Refused(
            "every family in this selection has booked: nobody is left to remind",
            code="everyone_booked",
        )
    reminded = not_just_reminded(reminded, now=now)
    nudge = Nudge(
        district=window.district,
        site=window.site,
        window_id=window.id,
        teacher_id=teacher_id,
        class_id=class_id,
        student_ids=[one.student_id for one in reminded],
        families=len({guardian for one in reminded for guardian in one.guardians}),
        nudged_by=principal.subject,
        nudged_at=now,
    )
    session.add(nudge)
    await session.flush()
    record_event(
        session,
        FamiliesNudged(
            nudge_id=nudge.id,
            window_id=window.id,
            nudged_by=principal.subject,
            families=[
                NudgedFamily(
                    student_id=one.student_id,
                    guardian_ids=sorted(one.guardians),
                    waitlisted=one.waitlisted,
                )
                for one in reminded
            ],
            closes_at=window.closes_at,
            timezone=window.timezone,
            links_until=window_links_until(window.last_day, window.timezone),
        ),
        subject=window.id,
        district=window.district,
        site=window.site,
    )
    return nudge
