"""The office's view of a window: who has not booked, reminders to book, and the figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from services.scheduling.booking.rules import Refused
from services.scheduling.refusals import OFFICE_REFUSED, NotFound, as_http
from services.scheduling.reports.nudges import nudge_families
from services.scheduling.reports.queries import nudges_of, window_standing
from services.scheduling.reports.rules import reminded_again_from, selection_for, taught_by
from services.scheduling.reports.standing import (
    Counts,
    Selection,
    Standing,
    figures,
    invited_in,
    not_booked,
)
from services.scheduling.reports.tables import Nudge
from services.scheduling.windows.queries import visible_window
from shared.api_types import ID_PATTERN, Id, IdPath
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Principal, Role
from shared.messaging.unit_of_work import UnitOfWork
from shared.problems import refusals
from shared.roster_classes import teacher_names
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["reports"])

OptionalId = Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)]


class NotBookedOut(BaseModel):
    student_id: str
    given_name: str
    class_ids: list[str]
    teacher_ids: list[str] = Field(description="The teachers of the student's classes.")
    guardian_ids: list[str] = Field(description="The guardians the roster links to them.")
    missed_conference: bool = Field(
        description="A conference of theirs in this window was recorded a no-show."
    )
    waitlisted: bool = Field(description="Their family is on the window's waitlist.")
    last_nudged_at: datetime | None = Field(description="When their family was last reminded.")
    reminded_again_from: datetime | None = Field(
        description="When their family may be reminded again, if it was reminded too recently"
        " to be now (at most once an hour); none: a nudge reminds them now."
    )


class StandingOut(NotBookedOut):
    conference: str | None = Field(
        description="The status of the conference that holds their place in the window:"
        " `booked`, `checked_in` or `completed` (held); none if none does (not booked, or"
        " recorded a no-show: `missed_conference`)."
    )


class NudgeIn(BaseModel):
    teacher_id: Id | None = Field(None, description="Only the students of this teacher's classes.")
    class_id: Id | None = Field(None, description="Only the students of this class.")
    student_ids: list[Id] | None = Field(None, max_length=5000, description="Only these students.")


class NudgeOut(BaseModel):
    id: str
    window_id: str
    nudged_by: str
    nudged_at: datetime
    teacher_id: str | None = Field(description="The selection: a teacher's classes, if named.")
    class_id: str | None = Field(description="The selection: a class, if named.")
    student_ids: list[str] = Field(
        description="The students whose families were reminded (for a teacher, those of their"
        " own classes)."
    )
    students: int = Field(description="How many students.")
    families: int = Field(description="How many guardians were reminded.")


class CountsOut(BaseModel):
    invited: int = Field(description="Active students with a guardian linked.")
    booked: int = Field(description="Of them, with a conference (booked, checked in, held).")
    attended: int = Field(description="Of the booked, whose conference was held.")
    no_show: int = Field(description="Of the not booked, who missed a conference in the window.")
    not_booked: int = Field(description="Of the invited, with no conference (invited - booked).")
    waitlisted: int = Field(description="Of the invited, on the waitlist.")


class TeacherFiguresOut(CountsOut):
    teacher_id: str
    teacher_name: str | None = Field(
        None, description="As the roster's classes name the teacher (`teacher_names`)."
    )


class ClassFiguresOut(CountsOut):
    class_id: str
    title: str
    teacher_ids: list[str]


class FiguresOut(BaseModel):
    window_id: str
    site: str
    totals: CountsOut | None = Field(
        description="The whole site, each student once (administrators only)."
    )
    teachers: list[TeacherFiguresOut] = Field(
        description="Per teacher: the students of their classes."
    )
    classes: list[ClassFiguresOut]


def _counts(counts: Counts) -> dict[str, int]:
    return {name: getattr(counts, name) for name in CountsOut.model_fields}


def _nudge_out(nudge: Nudge, *, only: set[str] | None = None) -> NudgeOut:
    """The nudge as a reader sees it: with ``only``, the students named are those of them (a
    teacher's own classes), though the counts say how many the nudge reached in all."""
    out = NudgeOut(
        **nudge.model_dump(exclude={"district", "site"}), students=len(nudge.student_ids)
    )
    if only is not None:
        out.student_ids = [student for student in out.student_ids if student in only]
    return out


@router.get(
    "/windows/{window_id}/not-booked",
    response_model=list[NotBookedOut],
    responses=refusals(403, 404),
)
async def list_not_booked(
    window_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    teacher_id: OptionalId = None,
    class_id: OptionalId = None,
) -> list[NotBookedOut]:
    """The students whose families have not booked in this window (a no-show counts as not
    booked), for the site's staff; a teacher sees the students of their own classes."""
    standings, selection = await _selected(uow, principal, window_id, teacher_id, class_id)
    now = datetime.now(UTC)
    return [NotBookedOut(**_standing(one, now=now)) for one in not_booked(standings, selection)]


@router.get(
    "/windows/{window_id}/standing",
    response_model=list[StandingOut],
    responses=refusals(403, 404),
)
async def list_standing(
    window_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    teacher_id: OptionalId = None,
    class_id: OptionalId = None,
) -> list[StandingOut]:
    """Where each invited student stands in this window (a family linked): their conference's
    status (booked, checked in, held), or missed, on the waitlist, not booked; for the site's
    staff, a teacher the students of their own classes. `not-booked` is the part of it with
    no conference."""
    standings, selection = await _selected(uow, principal, window_id, teacher_id, class_id)
    now = datetime.now(UTC)
    return [
        StandingOut(**_standing(one, now=now), conference=one.held)
        for one in invited_in(standings, selection)
    ]


async def _selected(
    uow: UnitOfWork,
    principal: Principal,
    window_id: str,
    teacher_id: str | None,
    class_id: str | None,
) -> tuple[list[Standing], Selection]:
    """The window's students and the part of them the reader asked for and may see."""
    try:
        async with uow.read() as session:
            window = await visible_window(session, principal, window_id)
            standing = await window_standing(session, window)
        selection = selection_for(
            principal, classes=standing.classes, teacher_id=teacher_id, class_id=class_id
        )
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return standing.standings, selection


def _standing(one: Standing, *, now: datetime) -> dict[str, Any]:
    return {
        "student_id": one.student_id,
        "given_name": one.given_name,
        "class_ids": sorted(one.classes),
        "teacher_ids": sorted(one.teachers),
        "guardian_ids": sorted(one.guardians),
        "missed_conference": one.missed,
        "waitlisted": one.waitlisted,
        "last_nudged_at": one.last_nudged_at,
        "reminded_again_from": reminded_again_from(one.last_nudged_at, now=now),
    }


@router.post(
    "/windows/{window_id}/nudges",
    response_model=NudgeOut,
    status_code=status.HTTP_201_CREATED,
    responses={**refusals(403, 404), 409: OFFICE_REFUSED},
)
async def nudge(
    window_id: IdPath, body: NudgeIn, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> NudgeOut:
    """Remind the families of a selection's students who have not booked yet (the site's
    administrators; a teacher, for their own classes), each with their link; 409 when they
    all have, before the window is opened or booking begins, or once booking has closed."""
    try:
        async with uow.transaction() as session:
            window = await visible_window(session, principal, window_id, lock=True)
            sent = await nudge_families(
                session,
                principal,
                window=window,
                teacher_id=body.teacher_id,
                class_id=body.class_id,
                student_ids=body.student_ids,
            )
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    return _nudge_out(sent)


@router.get(
    "/windows/{window_id}/nudges", response_model=list[NudgeOut], responses=refusals(403, 404)
)
async def list_nudges(
    window_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> list[NudgeOut]:
    """The reminders sent for this window, newest first: when, by whom, to how many (a teacher
    sees those that reached their classes' families)."""
    try:
        async with uow.read() as session:
            window = await visible_window(session, principal, window_id)
            sent = await nudges_of(session, window.id)
            if principal.is_admin:  # (every nudge, whole: no need of who is in which class)
                return [_nudge_out(one) for one in sent]
            standing = await window_standing(session, window)
        selection = selection_for(principal, classes=standing.classes)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    theirs = {one.student_id for one in standing.standings if selection.includes(one)}
    return [
        _nudge_out(one, only=theirs)
        for one in sent
        if one.nudged_by == principal.subject or theirs & set(one.student_ids)
    ]


@router.get("/windows/{window_id}/figures", response_model=FiguresOut, responses=refusals(403, 404))
async def window_figures(
    window_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> FiguresOut:
    """How the window stands, per site, per teacher and per class: invited, booked, attended,
    no-show, not booked, waitlisted (a teacher gets their own row and classes)."""
    try:
        async with uow.read() as session:
            window = await visible_window(session, principal, window_id)
            standing = await window_standing(session, window)
            names = await teacher_names(
                session, {t for one in standing.classes.values() for t in one.teachers}
            )
        selection_for(principal, classes=standing.classes)
    except (Refused, NotFound) as error:
        raise as_http(error) from error
    counted = figures(standing.standings, standing.classes)
    teacher = principal.subject if principal.role is Role.TEACHER else None
    own_classes = taught_by(teacher, standing.classes) if teacher else None
    return FiguresOut(
        window_id=window.id,
        site=window.site,
        totals=CountsOut(**_counts(counted.site)) if teacher is None else None,
        teachers=[
            TeacherFiguresOut(
                teacher_id=teacher_id, teacher_name=names.get(teacher_id), **_counts(counts)
            )
            for teacher_id, counts in counted.teachers.items()
            if teacher is None or teacher_id == teacher
        ],
        classes=[
            ClassFiguresOut(
                class_id=class_id,
                title=standing.classes[class_id].title,
                teacher_ids=sorted(standing.classes[class_id].teachers),
                **_counts(counts),
            )
            for class_id, counts in counted.classes.items()
            if own_classes is None or class_id in own_classes
        ],
    )
