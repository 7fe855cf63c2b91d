"""Who has not booked in a window, by teacher and class, with a reminder to their families and
the reminders sent so far: for the office (its whole school) at ``/office/not-booked`` and for a
teacher (scheduling shows them their own classes' students only) at ``/teacher/not-booked``.
A reminder is offered only to the families a nudge would remind now (scheduling says when each
may be reminded again), and confirmed on a page of its own first, the office's as a teacher's
(it cannot be taken back). The reminder posts, then comes back to the list (post/redirect/get)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.guardians import roster_names
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep
from services.web.office.windows import windows_of
from services.web.office.windows_view import teacher_names, window_to_show, written_moment
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import ServiceUnavailable, is_id
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.signed_in import (
    TeacherDep,
    accepted,
    person_of,
    token_of,
    working_sites,
)
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import written_moment_of

router = APIRouter()
OptionalId = Annotated[str | None, Query(max_length=64)]
PAGES = {"office": "/office/not-booked", "teacher": "/teacher/not-booked"}


@dataclass(frozen=True)
class StudentNotBooked:
    id: str
    name: str
    classes: list[str]
    teachers: list[str]
    last_nudged: str | None
    missed: bool
    waitlisted: bool
    guardians: frozenset[str] = frozenset()
    # When a nudge may remind their family again (scheduling's rule); None: a nudge does now.
    reminded_again_from: datetime | None = None


@dataclass(frozen=True)
class NudgePlan:
    """What a nudge of the students listed would do now: remind the families of ``due`` of
    them (``families`` guardians); the others' were reminded too recently, the first of them
    may be reminded again at ``again_from``."""

    due: int
    waiting: int
    families: int
    again_from: str | None


def nudge_plan(students: list[StudentNotBooked], *, timezone: Any, language: str) -> NudgePlan:
    """Who a nudge of ``students`` reminds now, as scheduling says of each."""
    due = [one for one in students if one.reminded_again_from is None]
    later = [one.reminded_again_from for one in students if one.reminded_again_from is not None]
    return NudgePlan(
        due=len(due),
        waiting=len(later),
        families=len({guardian for one in due for guardian in one.guardians}),
        again_from=written_moment_of(min(later), timezone=timezone, language=language)
        if later
        else None,
    )


@dataclass(frozen=True)
class NudgeSent:
    when: str
    # A teacher by name (the roster's classes), an administrator by name (the office's page),
    # the reader ("you"); None: the school office (an administrator a teacher's page cannot
    # name).
    by: str | None
    by_reader: bool
    teacher_id: str | None
    class_title: str | None
    students: int
    families: int


@router.get(PAGES["office"])
async def office_not_booked(
    request: Request,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    window: OptionalId = None,
    teacher: OptionalId = None,
    class_id: Annotated[str | None, Query(alias="class", max_length=64)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The school's students with no conference in the window, and the reminders sent."""
    return await not_booked_page(
        request,
        who,
        api,
        "office",
        window=window,
        teacher=teacher,
        class_id=class_id,
        done=done,
        colleagues=await colleagues_of(portfolio, who),
        portfolio=portfolio,
    )


@router.post(PAGES["office"] + "/nudges")
async def office_nudge(
    request: Request, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Remind the families of the students listed to book."""
    return await nudge(
        request,
        who,
        api,
        "office",
        colleagues=await colleagues_of(portfolio, who),
        portfolio=portfolio,
    )


@router.get(PAGES["office"] + "/nudges")
async def confirm_office_nudge(
    request: Request,
    who: OfficeDep,
    api: SchedulingDep,
    window: OptionalId = None,
    teacher: OptionalId = None,
    class_id: Annotated[str | None, Query(alias="class", max_length=64)] = None,
) -> Response:
    """Before the office reminds the families listed: to whom, how many, and the button."""
    return await confirm_nudge(
        request, who, api, "office", window=window, teacher=teacher, class_id=class_id
    )


async def confirm_nudge(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    kind: str,
    *,
    window: str | None,
    teacher: str | None,
    class_id: str | None,
) -> Response:
    """The page that asks before a nudge (``kind``: whose list, the office's or a teacher's):
    to whom, how many families, and the button that sends it."""
    found = await read_not_booked(api, who, window=window, teacher=teacher, class_id=class_id)
    shown = found.window
    plan = (
        nudge_plan(found.students, timezone=shown.get("timezone"), language=who.language)
        if shown is not None and shown.get("id") == window and may_nudge_in(shown)
        else None
    )
    back = f"{PAGES[kind]}?{found.address}"
    if plan is None or not plan.due:
        # (Nobody a nudge would remind now: the list says why.)
        return RedirectResponse(back, status_code=303)
    return page(
        request,
        who,
        "office_confirm_nudge.html.j2",
        kind=kind,
        action=PAGES[kind] + "/nudges",
        window=shown,
        teacher=found.teacher,
        teacher_name=found.names.get(found.teacher or "", found.teacher),
        class_id=found.class_id,
        class_title=found.classes.get(found.class_id or ""),
        plan=plan,
        back=back,
        section="not_booked",
    )


def may_nudge_in(window: dict[str, Any]) -> bool:
    """Whether families may be reminded to book in the window, as scheduling gives its state:
    invited, and booking begun and not closed (it refuses a nudge otherwise)."""
    return bool(window.get("announced_at")) and window.get("booking") == "open"


async def colleagues_of(portfolio: PortfolioApi, who: Visitor) -> dict[str, str]:
    """The school's administrators by name, to say who sent a reminder (none while the roster
    cannot be read: the page says "the school office")."""
    try:
        answer = accepted(await portfolio.administrators(token_of(who)))
    except ServiceUnavailable:
        return {}
    found = answer.body if answer.ok and isinstance(answer.body, list) else []
    return {str(one["id"]): f"{one['given_name']} {one['family_name']}" for one in found}


@router.get(PAGES["teacher"])
async def teacher_not_booked(
    request: Request,
    who: TeacherDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    window: OptionalId = None,
    class_id: Annotated[str | None, Query(alias="class", max_length=64)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The teacher's students with no conference in the window, and the reminders sent."""
    return await not_booked_page(
        request,
        who,
        api,
        "teacher",
        window=window,
        teacher=None,
        class_id=class_id,
        done=done,
        portfolio=portfolio,
    )


@router.get(PAGES["teacher"] + "/nudges")
async def confirm_teacher_nudge(
    request: Request,
    who: TeacherDep,
    api: SchedulingDep,
    window: OptionalId = None,
    class_id: Annotated[str | None, Query(alias="class", max_length=64)] = None,
) -> Response:
    """Before the teacher reminds the families of their students listed."""
    return await confirm_nudge(
        request, who, api, "teacher", window=window, teacher=None, class_id=class_id
    )


@router.post(PAGES["teacher"] + "/nudges")
async def teacher_nudge(
    request: Request, who: TeacherDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Remind the families of the teacher's students listed to book."""
    return await nudge(request, who, api, "teacher", portfolio=portfolio)


async def nudge(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    kind: str,
    *,
    colleagues: Mapping[str, str] | None = None,
    portfolio: PortfolioApi | None = None,
) -> Response:
    fields = await checked_form(request, who)
    window_id = fields.get("window", "")
    teacher = _id_or_none(fields.get("teacher")) if kind == "office" else None
    class_id = _id_or_none(fields.get("class"))
    if not is_id(window_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(
        await api.nudge(token_of(who), window_id=window_id, teacher_id=teacher, class_id=class_id)
    )
    chosen = {"window": window_id, "teacher": teacher, "class": class_id}
    if answer.ok:
        query = urlencode({k: v for k, v in chosen.items() if v} | {"done": "nudged"})
        return RedirectResponse(f"{PAGES[kind]}?{query}", status_code=303)
    return await not_booked_page(
        request,
        who,
        api,
        kind,
        window=window_id,
        teacher=teacher,
        class_id=class_id,
        refusal=office_refusal_of(answer),
        status=answer.refused_status,
        colleagues=colleagues,
        portfolio=portfolio,
    )


@dataclass(frozen=True)
class NotBookedList:
    """The window shown and its students not booked, of the teacher and class asked for (those
    the figures know of; None otherwise), with the names the page gives teachers and classes."""

    windows: list[dict[str, Any]]
    window: dict[str, Any] | None
    teacher: str | None
    class_id: str | None
    teachers: list[str]
    names: dict[str, str]
    classes: dict[str, str]
    students: list[StudentNotBooked]
    invited: int | None
    refusal: OfficeRefusal | None
    status: int

    @property
    def address(self) -> str:
        """The list's query: the window, teacher and class shown."""
        chosen = {
            "window": self.window["id"] if self.window else None,
            "teacher": self.teacher,
            "class": self.class_id,
        }
        return urlencode({name: value for name, value in chosen.items() if value})


async def read_not_booked(
    api: SchedulingApi,
    who: Visitor,
    *,
    window: str | None,
    teacher: str | None,
    class_id: str | None,
) -> NotBookedList:
    token, language = token_of(who), who.language
    windows = await windows_of(api, who, list(await working_sites(api, who)))
    shown = window_to_show(windows, window if is_id(window) else None)
    teacher, class_id = _id_or_none(teacher), _id_or_none(class_id)
    students: list[StudentNotBooked] = []
    teachers: list[str] = []
    names: dict[str, str] = {}
    classes: dict[str, str] = {}
    invited: int | None = None
    refusal: OfficeRefusal | None = None
    status = 200
    if shown is not None:
        timezone, window_id = shown.get("timezone"), str(shown["id"])
        figures = accepted(await api.figures(token, window_id=window_id))
        if figures.ok and isinstance(figures.body, dict):
            teachers = [str(one["teacher_id"]) for one in figures.body.get("teachers", [])]
            names = teacher_names(figures.body)
            classes = {
                str(one["class_id"]): str(one["title"]) for one in figures.body.get("classes", [])
            }
        if class_id not in classes:
            class_id = None
        if teacher not in teachers:
            teacher = None
        if figures.ok and isinstance(figures.body, dict):
            invited = _invited(figures.body, teacher=teacher, class_id=class_id)
        listed = accepted(
            await api.not_booked(token, window_id=window_id, teacher_id=teacher, class_id=class_id)
        )
        if not listed.ok:
            refusal, status = office_refusal_of(listed), listed.refused_status
        for one in listed.body if listed.ok and isinstance(listed.body, list) else []:
            again = one.get("reminded_again_from")
            students.append(
                StudentNotBooked(
                    id=str(one["student_id"]),
                    name=str(one["given_name"] or one["student_id"]),
                    classes=[classes.get(c, c) for c in one.get("class_ids", [])],
                    teachers=[names.get(t, t) for t in one.get("teacher_ids", [])],
                    last_nudged=_moment(one.get("last_nudged_at"), timezone, language),
                    missed=bool(one.get("missed_conference")),
                    waitlisted=bool(one.get("waitlisted")),
                    guardians=frozenset(str(g) for g in one.get("guardian_ids", [])),
                    reminded_again_from=datetime.fromisoformat(again)
                    if isinstance(again, str)
                    else None,
                )
            )
    return NotBookedList(
        windows=windows,
        window=shown,
        teacher=teacher,
        class_id=class_id,
        teachers=teachers,
        names=names,
        classes=classes,
        students=students,
        invited=invited,
        refusal=refusal,
        status=status,
    )


async def not_booked_page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    kind: str,
    *,
    window: str | None,
    teacher: str | None,
    class_id: str | None,
    done: str | None = None,
    refusal: OfficeRefusal | None = None,
    status: int = 200,
    colleagues: Mapping[str, str] | None = None,
    portfolio: PortfolioApi | None = None,
) -> Response:
    """``colleagues``: the school's administrators by name (the office's page); ``portfolio``:
    to name each student by their full name, as the roster does."""
    found = await read_not_booked(api, who, window=window, teacher=teacher, class_id=class_id)
    students = found.students
    if portfolio is not None and found.window is not None and students:
        full = await roster_names(
            portfolio,
            who,
            site=str(found.window["site"]),
            student_ids=(student.id for student in students),
        )
        students = [replace(one, name=full.student(one.id, one.name)) for one in students]
    if refusal is None and found.refusal is not None:
        refusal, status = found.refusal, found.status
    shown, names, classes = found.window, found.names, found.classes
    sent: list[NudgeSent] = []
    plan: NudgePlan | None = None
    if shown is not None:
        timezone = shown.get("timezone")
        plan = nudge_plan(found.students, timezone=timezone, language=who.language)
        nudges = accepted(await api.nudges(token_of(who), window_id=str(shown["id"])))
        for one in nudges.body if nudges.ok and isinstance(nudges.body, list) else []:
            sent.append(
                NudgeSent(
                    when=_moment(one["nudged_at"], timezone, who.language) or "",
                    by=names.get(str(one["nudged_by"]))
                    or (colleagues or {}).get(str(one["nudged_by"])),
                    by_reader=one["nudged_by"] == person_of(who).subject,
                    teacher_id=one.get("teacher_id"),
                    class_title=classes.get(one["class_id"], one["class_id"])
                    if one.get("class_id")
                    else None,
                    students=int(one["students"]),
                    families=int(one["families"]),
                )
            )
    return page(
        request,
        who,
        "office_not_booked.html.j2",
        status=status,
        kind=kind,
        page_address=PAGES[kind],
        windows=[(str(one["id"]), str(one["name"])) for one in found.windows],
        window=shown,
        teacher=found.teacher,
        class_id=found.class_id,
        teachers=found.teachers,
        teacher_names=names,
        classes=classes,
        students=students,
        plan=plan,
        nobody_invited=found.invited == 0,
        sent=sent,
        done=done if done == "nudged" else None,
        refusal=refusal.value if refusal else None,
        error_field="nudge",
        section="not_booked",
    )


def _invited(figures: dict[str, Any], *, teacher: str | None, class_id: str | None) -> int:
    """How many students of the selection were invited (have a family to remind), from the
    window's figures: the class's, the teacher's, the school's, or a teacher's own."""
    if class_id is not None:
        rows = [one for one in figures.get("classes", []) if one.get("class_id") == class_id]
    elif teacher is not None:
        rows = [one for one in figures.get("teachers", []) if one.get("teacher_id") == teacher]
    elif isinstance(figures.get("totals"), dict):
        rows = [figures["totals"]]
    else:
        rows = list(figures.get("teachers", []))
    return sum(int(one.get("invited") or 0) for one in rows)


def _id_or_none(value: str | None) -> str | None:
    return value if value and is_id(value) else None


def _moment(value: Any, timezone: Any, language: str) -> str | None:
    if not isinstance(value, str):
        return None
    return written_moment(value, timezone=timezone, language=language)
