"""Secret calendar feed addresses, with no secret stored.

A feed's token is an HMAC-SHA256, under the service's ``calendar_feed_key``, of whose feed it is
and its generation (``teacher:<id>:<generation>``), url-safe base64: the service recomputes it
to check one, so the database holds no token to leak. Rotating raises the owner's
``feed_generation``, and the old address stops working at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.booking.rules import NotAllowed
from services.scheduling.calendar.conferences import teacher_conferences
from services.scheduling.interpreters.tables import Interpreter
from services.scheduling.teacher_sites import sites_of
from services.scheduling.windows.tables import TeacherProfile
from shared.auth.principal import Principal, Role

FeedOwner = Literal["teacher", "interpreter"]
FIRST_GENERATION = 1
# How far back a feed lists conferences.
FEED_HISTORY = timedelta(days=30)


def feed_token(key: str, *, owner: FeedOwner, owner_id: str, generation: int) -> str:
    """The token of the owner's feed address in this generation."""
    message = f"{owner}:{owner_id}:{generation}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_matches(
    key: str, token: str, *, owner: FeedOwner, owner_id: str, generation: int
) -> bool:
    """Whether ``token`` opens the owner's feed now (compared in constant time)."""
    expected = feed_token(key, owner=owner, owner_id=owner_id, generation=generation)
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))


def check_acts_for_teacher(
    principal: Principal, *, teacher_id: str, teacher_sites: Collection[str]
) -> None:
    """Who has a teacher's own things (their feed's address, their meeting link): the teacher,
    a district administrator, or an administrator of every site the teacher works at
    (``teacher_sites``: where they teach or meet families). Not one of only some: a teacher's
    feed lists their conferences at all their schools, and their meeting link serves them all."""
    if principal.role is Role.TEACHER and principal.subject == teacher_id:
        return
    if principal.role is Role.DISTRICT_ADMIN:
        return
    if (
        principal.role is Role.SITE_ADMIN
        and teacher_sites
        and set(teacher_sites) <= principal.sites
    ):
        return
    raise NotAllowed(
        "only the teacher, or an administrator of every school they work at, may do this"
    )


async def acts_for_teacher(session: AsyncSession, principal: Principal, teacher_id: str) -> None:
    """``check_acts_for_teacher``, with the sites the teacher works at (``sites_of``: the
    roster's classes they teach, and the availability schools' offices gave them) and those of
    the conferences their feed lists (held, ending within ``FEED_HISTORY`` or later: a school
    whose class they no longer teach may still have them booked there); raises ``NotAllowed``.
    A teacher no school knows yet: the teacher themself, or a district administrator."""
    sites: frozenset[str] = frozenset()
    if principal.role is Role.SITE_ADMIN:
        sites = await sites_of(await session.connection(), principal.district, teacher_id)
        listed = await teacher_conferences(
            session,
            teacher_id,
            district=principal.district,
            since=datetime.now(UTC) - FEED_HISTORY,
        )
        sites |= {conference.site for conference in listed}
    check_acts_for_teacher(principal, teacher_id=teacher_id, teacher_sites=sites)


async def teacher_generation(session: AsyncSession, teacher_id: str, *, district: str) -> int:
    """The teacher's current feed generation (the first, until they rotate)."""
    profile = await session.get(TeacherProfile, teacher_id)
    if profile is None or profile.district != district:
        return FIRST_GENERATION
    return profile.feed_generation


async def rotate_teacher_feed(session: AsyncSession, teacher_id: str, *, district: str) -> int:
    """Retire the teacher's feed address: the next generation (their profile is made if they
    have none yet)."""
    profile = (
        await session.exec(
            select(TeacherProfile).where(TeacherProfile.teacher_id == teacher_id).with_for_update()
        )
    ).first()
    if profile is None:
        profile = TeacherProfile(teacher_id=teacher_id, district=district)
    elif profile.district != district:
        raise NotAllowed(f"teacher {teacher_id!r} is not of your district")
    # The row is locked (PostgreSQL; SQLite writers always take turns): no rotation is lost.
    profile.feed_generation += 1
    profile.updated_at = datetime.now(UTC)
    session.add(profile)
    await session.flush()
    return profile.feed_generation


async def rotate_interpreter_feed(session: AsyncSession, interpreter: Interpreter) -> int:
    """Retire the interpreter's feed address: the next generation (``interpreter`` is locked)."""
    interpreter.feed_generation += 1
    session.add(interpreter)
    await session.flush()
    return interpreter.feed_generation
