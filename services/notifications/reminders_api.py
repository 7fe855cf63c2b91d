"""The school office's reminder times (``/sites/{site}/reminders``) and a conference's reminders
as staff see them (``/conferences/{conference_id}/reminders``); ``reminders.py`` keeps them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.environment import NotificationsEnvironment
from services.notifications.reminder_times import (
    DURATION_PATTERN,
    MOST_REMINDERS,
    REFUSAL_KINDS,
    ReminderTimesRefused,
    check_reminder_times,
    iso_duration,
    parse_duration,
    parse_reminder_times,
)
from services.notifications.reminders import PENDING, change_site_reminders, put_back
from services.notifications.sites import check_site_admin, check_site_known
from services.notifications.tables import (
    ConferenceReminder,
    SiteReminderPolicy,
    UpcomingConference,
)
from shared.api_types import IdPath
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal, Role
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["reminders"])

Duration = Annotated[
    str,
    Field(
        max_length=20,
        pattern=DURATION_PATTERN,
        description="An ISO 8601 duration in weeks, days, hours and minutes: `P2D`, `PT2H`,"
        " `P1DT12H`, `PT90M`.",
        examples=["P2D"],
    ),
]


# The kinds of refused reminder times this API answers (a duration its pattern admits is whole
# minutes; one it does not is the field error ``string_pattern_mismatch``).
ANSWERED_KINDS = {
    kind: REFUSAL_KINDS[kind]
    for kind in ("reminders_too_many", "reminders_range", "reminders_twice")
}


class ReminderTimesIn(BaseModel):
    before: list[Duration] = Field(
        description=f"How long before each conference its families are reminded: at most"
        f" {MOST_REMINDERS}, each from 5 minutes (`PT5M`) to 14 days (`P14D`), none twice (an"
        " empty list: no reminders). Times refused answer 422, the field error's `type` naming"
        " why: "
        + "; ".join(f"`{kind}`, {meaning}" for kind, meaning in ANSWERED_KINDS.items())
        + "; `string_pattern_mismatch`, a time that is not such a duration.",
        examples=[["P2D", "PT2H"]],
        json_schema_extra={"maxItems": MOST_REMINDERS},
    )

    @field_validator("before", mode="before")
    @classmethod
    def _not_too_many(cls, value: Any) -> Any:
        # (Before the items are read, and under its own kind rather than pydantic's too_long.)
        if isinstance(value, list) and len(value) > MOST_REMINDERS:
            raise PydanticCustomError(
                "reminders_too_many", f"at most {MOST_REMINDERS} reminders, not {len(value)}"
            )
        return value

    @field_validator("before")
    @classmethod
    def _within_limits(cls, value: list[str]) -> list[str]:
        try:
            check_reminder_times(parse_duration(text) for text in value)
        except ReminderTimesRefused as refused:
            # (The error's type names the kind: a caller acts on it without reading the words.)
            raise PydanticCustomError(refused.kind, str(refused)) from None
        return value

    def times(self) -> tuple[timedelta, ...]:
        return check_reminder_times(parse_duration(text) for text in self.before)


class SiteReminderTimes(BaseModel):
    site: str = Field(description="The school (its sourcedId).", examples=["conway"])
    before: list[str] = Field(
        description="How long before each conference its families are reminded (ISO 8601"
        " durations, earliest reminder first).",
        examples=[["P2D", "PT2H"]],
    )
    chosen_by: str | None = Field(
        description="Who at the school chose them; none: the district's default"
        " (`NOTIFICATIONS_REMINDERS`).",
        examples=["a-lee"],
    )
    chosen_at: datetime | None = Field(description="When they were chosen.")


class SiteReminderTimesSaved(SiteReminderTimes):
    conferences_planned_anew: int = Field(
        description="Conferences still to come whose reminders not yet sent follow the new"
        " times (a reminder already sent stays sent; one whose new time has passed is"
        " skipped).",
        examples=[42],
    )


class ReminderOut(BaseModel):
    before: str = Field(description="How long before the conference (ISO 8601).", examples=["PT2H"])
    due_at: datetime = Field(description="When it goes (UTC).")
    status: Literal["pending", "sent", "cancelled", "skipped", "failed"] = Field(
        description="`pending` until it goes; `sent` (its messages are in the mailbox, by "
        "`cause_event_id`: this reminder's id); `cancelled` when the conference moved or was "
        "cancelled, or the school changed its reminder times, before it went, or an operator "
        "cancelled its job (`slc-jobs cancel`); `skipped` when its time had passed as it was "
        "planned (a conference booked or moved at short notice), or came only once the "
        "conference had begun; `failed` when writing it failed in each of its attempts, or "
        "the notifier died each time it began (the `send_reminder` job's error says why, "
        "`slc-jobs show`): nothing was sent. A failed or cancelled reminder whose job an "
        "operator puts back (`slc-jobs retry`) is `pending` again, for its time (at once if "
        "that has passed)."
    )
    sent_at: datetime | None = Field(description="When it was sent.")
    id: str = Field(description="The reminder's id: its messages' `cause_event_id`.")


class ConferenceReminders(BaseModel):
    conference_id: str = Field(description="The booking's id.")
    site: str = Field(description="The school (its sourcedId).", examples=["conway"])
    status: Literal["booked", "cancelled"] = Field(description="As scheduling last said.")
    starts_at: datetime = Field(description="When the conference begins (UTC), as last known.")
    reminders: list[ReminderOut] = Field(
        description="Its reminders for its current time first (soonest first), then those"
        " planned before it moved (cancelled, or sent)."
    )


def _env(request: Request) -> NotificationsEnvironment:
    env: NotificationsEnvironment = request.app.state.runtime.env
    return env


async def _site_times(
    session: AsyncSession, env: NotificationsEnvironment, site: str
) -> SiteReminderTimes:
    chosen = await session.get(SiteReminderPolicy, site)
    times = parse_reminder_times(chosen.before) if chosen else env.settings.reminders
    return SiteReminderTimes(
        site=site,
        before=[iso_duration(time) for time in times],
        chosen_by=chosen.updated_by if chosen else None,
        chosen_at=chosen.updated_at if chosen else None,
    )


@router.get(
    "/sites/{site}/reminders", response_model=SiteReminderTimes, responses=refusals(403, 404)
)
async def read_site_reminders(
    site: IdPath, request: Request, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> SiteReminderTimes:
    """How long before each conference a school's families are reminded (its office, or a
    district admin)."""
    check_site_admin(principal, site, setting="a school's reminder times")
    async with uow.read() as session:
        await check_site_known(session, principal, site)
        return await _site_times(session, _env(request), site)


@router.put(
    "/sites/{site}/reminders", response_model=SiteReminderTimesSaved, responses=refusals(403, 404)
)
async def choose_site_reminders(
    site: IdPath,
    body: ReminderTimesIn,
    request: Request,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> SiteReminderTimesSaved:
    """Choose how long before each conference a school's families are reminded (its office,
    or a district admin). Conferences booked from now on follow the new times, and so do the
    reminders not yet sent of those already booked."""
    check_site_admin(principal, site, setting="a school's reminder times")
    env = _env(request)
    async with uow.transaction() as session:
        await check_site_known(session, principal, site)
        planned_anew = await change_site_reminders(
            session,
            district=principal.district,
            site=site,
            before=body.times(),
            changed_by=principal.subject,
            now=env.now(),
        )
        saved = await _site_times(session, env, site)
    return SiteReminderTimesSaved(**saved.model_dump(), conferences_planned_anew=planned_anew)


def _may_see(principal: Principal, conference: UpcomingConference) -> bool:
    """The conference's teacher (at the sites their token names, if any), or an admin of its
    site."""
    if principal.role is Role.TEACHER and principal.subject == conference.teacher_id:
        return conference.district == principal.district and (
            not principal.narrowed_out(conference.site)
        )
    return principal.is_admin and principal.can_act_for_site(conference.district, conference.site)


@router.get(
    "/conferences/{conference_id}/reminders",
    response_model=ConferenceReminders,
    responses=refusals(403, 404),
)
async def list_conference_reminders(
    conference_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> ConferenceReminders:
    """A conference's reminders, when each goes and whether it went (its teacher, or its
    school's admins)."""
    if not principal.is_staff:
        raise forbidden("a conference's reminders are listed for the school's staff")
    async with uow.read() as session:
        conference = await session.get(UpcomingConference, conference_id)
        if conference is None or not _may_see(principal, conference):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no conference {conference_id!r} that you may see"
            )
        reminders = (
            await session.exec(
                select(ConferenceReminder)
                .where(ConferenceReminder.conference_id == conference_id)
                .order_by(col(ConferenceReminder.round).desc(), col(ConferenceReminder.due_at))
            )
        ).all()
        again = await put_back(session, conference, reminders)
    return ConferenceReminders(
        conference_id=conference.id,
        site=conference.site,
        status=conference.status,  # type: ignore[arg-type]
        starts_at=conference.starts_at,
        reminders=[
            ReminderOut(
                id=reminder.id,
                before=iso_duration(timedelta(minutes=reminder.before_minutes)),
                due_at=reminder.due_at,
                status=PENDING if reminder.id in again else reminder.status,  # type: ignore[arg-type]
                sent_at=reminder.sent_at,
            )
            for reminder in reminders
        ],
    )
