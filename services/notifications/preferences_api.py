"""A guardian's message preferences over HTTP: channels per kind, opt-outs, quiet hours, and the
hour of the daily portfolio digest.

The guardian sets their own, also from the family's link (the family pages offer it: the link
lets its holder choose how the family hears, never read or change where messages go); an admin
of a site where one of their children is enrolled can set them for a family that asks the
office.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.api import may_manage_guardian, no_guardian
from services.notifications.delivery import DIGEST, preferences_from_row
from services.notifications.digest import still_theirs
from services.notifications.messages import SUPPORTED_LANGUAGES
from services.notifications.preferences import (
    DEFAULT_DIGEST_HOUR,
    ChannelName,
    Kind,
    Preferences,
    next_digest_at,
)
from services.notifications.tables import (
    ContactPoint,
    DigestItem,
    GuardianPreference,
    KnownStudent,
    SmsOptOut,
)
from shared.api_types import IdPath, Language, TimeZone
from shared.auth.http import CurrentPrincipal
from shared.database import utcnow
from shared.jobs.queue import reschedule
from shared.jobs.tables import Job, JobState
from shared.problems import Problem, problem_with, refusal_member, refusals, refused_as
from shared.roster import guardian_sites
from shared.service import UnitOfWorkDep
from shared.translations import best_language

# The kinds of refusal of preferences (the problem document's ``refusal``); quiet hours that
# begin and end together are the field error type ``quiet_hours_same`` instead.
REFUSAL_CODES = {
    "no_phone": "texts are chosen, and no phone number is on file for the guardian",
    "no_email": "email is chosen, and no email address is on file for the guardian",
    "no_contact": "texts and email are chosen, and neither is on file for the guardian",
}


class PreferencesRefused(Problem):
    """Preferences refused, with the kind of refusal."""

    refusal: str | None = refusal_member(
        REFUSAL_CODES,
        then="A field's error names its kind in its `type` (e.g. `quiet_hours_same`).",
    )


PREFERENCES_INVALID = problem_with(
    PreferencesRefused,
    "Not valid: `errors` names each invalid field, or `refusal` says which rule refuses it.",
)

router = APIRouter(tags=["preferences"])

Channels = Annotated[list[ChannelName], Field(min_length=1, max_length=2)]


class QuietHours(BaseModel):
    from_: time = Field(
        alias="from", description="When quiet hours begin, local time.", examples=["21:00"]
    )
    until: time = Field(description="When they end (may be the next morning).", examples=["07:00"])

    model_config = {"populate_by_name": True}

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.from_ == self.until:
            raise PydanticCustomError(
                "quiet_hours_same", "quiet hours must begin and end at different times"
            )
        if self.from_.tzinfo or self.until.tzinfo:
            raise ValueError("quiet hours are local times, without a UTC offset")
        return self


class PreferencesBody(BaseModel):
    channels: dict[Kind, Channels] = Field(
        default_factory=dict,
        description="Per kind of message (`logistics`: conference invitations, confirmations,"
        " moves, cancellations, reminders; `news`: the portfolio digest), the channels to use."
        " A kind left out goes by email if there is an address, else by text message.",
        examples=[{"logistics": ["email", "sms"], "news": ["email"]}],
    )
    opted_out: list[Kind] = Field(
        default_factory=list,
        description="Kinds the guardian does not want. A message that cannot wait (a"
        " conference cancelled or moved on the day) still comes.",
        examples=[["news"]],
    )
    quiet_hours: QuietHours | None = Field(
        None,
        description="Messages arriving in these hours wait until they end (except one that"
        " cannot wait).",
    )
    timezone: TimeZone | None = Field(
        None,
        description="IANA time zone of the quiet hours and the digest hour (default: the"
        " child's school's).",
        examples=["America/Los_Angeles"],
    )
    digest_hour: int = Field(
        DEFAULT_DIGEST_HOUR,
        ge=0,
        le=23,
        description="Hour of the day (local) the daily portfolio digest goes.",
    )
    language: Language | None = Field(
        None,
        description="The language messages are written in, one of those they are written in ("
        + ", ".join(f"`{tag}`" for tag in SUPPORTED_LANGUAGES)
        + "; `es-MX` is written, and kept, as `es`). Default: the language the school has on file"
        " for the guardian.",
        examples=["es"],
    )

    @field_validator("language")
    @classmethod
    def _written_in(cls, value: str | None) -> str | None:
        if value is None:
            return None
        written = best_language(value, SUPPORTED_LANGUAGES)
        if written is None:
            raise PydanticCustomError(
                "language_not_written",
                "messages are not written in {language}: choose one of {written}",
                {"language": value, "written": ", ".join(SUPPORTED_LANGUAGES)},
            )
        return written  # (kept as the language they are written in: `es-MX` is `es`)

    @field_validator("channels")
    @classmethod
    def _no_repeats(cls, value: dict[Kind, list[ChannelName]]) -> dict[Kind, list[ChannelName]]:
        for kind, channels in value.items():
            if len(set(channels)) != len(channels):
                raise ValueError(f"{kind.value}: a channel is listed twice")
        return value


class PreferencesOut(PreferencesBody):
    guardian_id: str
    texts_stopped: bool = Field(
        False,
        description="The guardian's phone number replied STOP to the school's texts: none goes"
        " to it, whatever is chosen, until it replies START.",
    )


@router.get(
    "/guardians/{guardian_id}/preferences",
    response_model=PreferencesOut,
    response_model_by_alias=True,
    responses=refusals(403, 404),
)
async def get_preferences(
    guardian_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> PreferencesOut:
    """A guardian's message preferences (the defaults if they chose none)."""
    async with uow.read() as session:
        sites = await guardian_sites(session, KnownStudent, guardian_id)
        if not may_manage_guardian(principal, guardian_id=guardian_id, sites=sites):
            raise no_guardian(guardian_id, "message preferences")
        row = await session.get(GuardianPreference, guardian_id)
        stopped = await _texts_stopped(session, guardian_id)
    return _out(
        guardian_id, preferences_from_row(row) if row else Preferences(), texts_stopped=stopped
    )


@router.put(
    "/guardians/{guardian_id}/preferences",
    response_model=PreferencesOut,
    response_model_by_alias=True,
    responses={**refusals(403, 404), 422: PREFERENCES_INVALID},
)
async def save_preferences(
    guardian_id: IdPath, body: PreferencesBody, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> PreferencesOut:
    """Set how a guardian hears from the school: the guardian (also from the family's link), or
    an admin of a site where one of their children is enrolled. Choosing text messages needs a
    phone number on file, email an address (422 otherwise, saying which)."""
    async with uow.transaction() as session:
        sites = await guardian_sites(session, KnownStudent, guardian_id)
        if not may_manage_guardian(principal, guardian_id=guardian_id, sites=sites):
            raise no_guardian(guardian_id, "message preferences")
        contact = await session.get(ContactPoint, guardian_id)
        _reachable(body, contact)
        row = await session.get(GuardianPreference, guardian_id) or GuardianPreference(
            guardian_id=guardian_id, district=principal.district
        )
        row.channels = {
            kind.value: [c.value for c in chosen] for kind, chosen in body.channels.items()
        } or None
        row.opted_out = sorted(kind.value for kind in set(body.opted_out))
        row.quiet_from = body.quiet_hours.from_ if body.quiet_hours else None
        row.quiet_until = body.quiet_hours.until if body.quiet_hours else None
        row.timezone = body.timezone
        row.digest_hour = body.digest_hour
        row.language = body.language
        row.updated_at = utcnow()
        session.add(row)
        saved = preferences_from_row(row)
        await _move_pending_digest(session, guardian_id, saved)
        stopped = await _texts_stopped(session, guardian_id)
    return _out(guardian_id, saved, texts_stopped=stopped)


async def _move_pending_digest(
    session: AsyncSession, guardian_id: str, preferences: Preferences
) -> None:
    """A digest already waiting goes at the newly chosen hour (and after the new quiet hours)."""
    for job in await _digest_jobs(session, guardian_id, [JobState.PENDING]):
        site_timezone = json.loads(job.payload)["timezone"]
        due = next_digest_at(preferences, utcnow(), site_timezone)
        await reschedule(session, DIGEST, key=job.key, due_at=due)


async def _digest_jobs(
    session: AsyncSession, guardian_id: str, states: list[JobState]
) -> list[Job]:
    """The guardian's digest jobs in these states (their keys start with ``<guardian>/``)."""
    found = (
        await session.exec(
            select(Job).where(
                Job.kind == DIGEST,
                col(Job.key).startswith(f"{guardian_id}/", autoescape=True),
                col(Job.status).in_([state.value for state in states]),
            )
        )
    ).all()
    # (LIKE ignores case on SQLite: the payload names the guardian exactly.)
    return [job for job in found if json.loads(job.payload)["guardian_id"] == guardian_id]


def _reachable(body: PreferencesBody, contact: ContactPoint | None) -> None:
    needs = {channel for chosen in body.channels.values() for channel in chosen}
    missing = [
        what
        for channel, what in (
            (ChannelName.SMS, "phone number"),
            (ChannelName.EMAIL, "email address"),
        )
        if channel in needs
        and not (contact and (contact.phone if channel is ChannelName.SMS else contact.email))
    ]
    if missing:
        only = {"phone number": "no_phone", "email address": "no_email"}
        kind = only[missing[0]] if len(missing) == 1 else "no_contact"
        raise refused_as(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"there is no {' or '.join(missing)} on file for this guardian: add it to the contact"
            " details first (PUT /contacts/{guardian_id})",
            kind,
            REFUSAL_CODES,
        )


async def _texts_stopped(session: AsyncSession, guardian_id: str) -> bool:
    """Whether the guardian's phone number replied STOP (and not START since)."""
    contact = await session.get(ContactPoint, guardian_id)
    return bool(contact and contact.phone and await session.get(SmsOptOut, contact.phone))


def _out(
    guardian_id: str, preferences: Preferences, *, texts_stopped: bool = False
) -> PreferencesOut:
    quiet = (
        QuietHours(from_=preferences.quiet_from, until=preferences.quiet_until)
        if preferences.quiet_from and preferences.quiet_until
        else None
    )
    return PreferencesOut(
        guardian_id=guardian_id,
        channels={
            kind: [ChannelName(c) for c in chosen]
            for kind, chosen in (preferences.channels or {}).items()
        },
        opted_out=sorted(preferences.opted_out),
        quiet_hours=quiet,
        timezone=preferences.timezone,
        digest_hour=preferences.digest_hour,
        language=preferences.language,
        texts_stopped=texts_stopped,
    )


class DigestNews(BaseModel):
    student_id: str
    kind: str = Field(
        description="`goal_set`, `goal_achieved`, `evidence_approved`, `reflection_added` or"
        " `reflection_spoken` (said aloud)."
    )
    title: str = Field(
        description="As the student or teacher wrote it (a reflection's: the work it is about;"
        " empty for one on the term)."
    )
    at: datetime


class DigestOut(BaseModel):
    guardian_id: str
    next_at: datetime | None = Field(
        description="When the next digest goes (the guardian's hour, after quiet hours); none"
        " while no news waits."
    )
    news: list[DigestNews] = Field(description="What it will carry, oldest first.")


@router.get(
    "/guardians/{guardian_id}/digest", response_model=DigestOut, responses=refusals(403, 404)
)
async def next_digest(
    guardian_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> DigestOut:
    """The portfolio news waiting for the guardian's next daily digest, and when it goes: only
    about children the roster still links them to and still enrolls, as the digest itself."""
    async with uow.read() as session:
        sites = await guardian_sites(session, KnownStudent, guardian_id)
        if not may_manage_guardian(principal, guardian_id=guardian_id, sites=sites):
            raise no_guardian(guardian_id, "digest")
        query = select(DigestItem).where(
            DigestItem.guardian_id == guardian_id, col(DigestItem.digest_id).is_(None)
        )
        if principal.students:  # a token naming some of their children: news of those only
            query = query.where(col(DigestItem.student_id).in_(sorted(principal.students)))
        if principal.is_admin:  # an office: news from its own schools
            query = query.where(
                col(DigestItem.site).in_(
                    sorted(s for s in sites if principal.can_act_for_site(principal.district, s))
                )
            )
        waiting, _ = await still_theirs(
            session,
            guardian_id,
            (await session.exec(query.order_by(col(DigestItem.created_at)))).all(),
        )
        jobs = await _digest_jobs(session, guardian_id, [JobState.PENDING, JobState.RUNNING])
    return DigestOut(
        guardian_id=guardian_id,
        next_at=min((job.due_at for job in jobs), default=None) if waiting else None,
        news=[
            DigestNews(student_id=i.student_id, kind=i.kind, title=i.title, at=i.created_at)
            for i in waiting
        ],
    )
