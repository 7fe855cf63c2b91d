"""A family calls the school office, or talks to a teacher: the office finds the student by name
(a teacher, from their classes) and, on the student's page, books a time for the family, moves or
cancels the conference, puts the family on the waitlist, or asks for an interpreter or gives one
up. Scheduling decides each, with the family's own rules for seats and interpreters and the
school's deadlines (staff may act until the conference starts, booking open or not); the family
is told as when they act themselves. The office acts for every teacher of the student; a teacher,
at their own times only (``/teacher/students/<id>``: the same page, showing a teacher only what
scheduling lets them do). Each form posts, then comes back to the student's page
(post/redirect/get); a refusal is said next to its form."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.choosing import school_languages
from services.web.family.portfolio_view import GoalView, goal_views
from services.web.family.view import ChildView, WindowView, child_view
from services.web.family.waitlist import PARTS_OF_DAY
from services.web.feedback_view import FamilyWords, family_words
from services.web.forms import checked_form
from services.web.guardians import ContactView, GuardianView, contact_view, guardian_views
from services.web.languages import locale_of
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OFFICE_ROLE, OfficeDep, schools_of
from services.web.pages import Visitor, VisitorDep, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import Answer, is_id
from services.web.service_clients import PortfolioDep, SchedulingDep, notifications
from services.web.staff.signed_in import accepted, person_of, signed_in_as, token_of
from services.web.student.school import school_cycle, school_timezone
from services.web.student.view import WorkView, work_views
from services.web.troubles import Trouble, TroublePage
from shared.translations import in_words

router = APIRouter()
PAGE = "/office/students"
TEACHER_PAGE = "/teacher/students"  # (a teacher's pages of a student: plans/ is theirs too)
DONE = frozenset(
    {
        "booked",
        "moved",
        "interpreter",
        "no_interpreter",
        "cancelled",
        "waitlisted",
        "left_waitlist",
        "booked_together",
        "new_link",
    }
)

NAME_LENGTH = 100  # (as portfolio takes it)
MOST_FOUND = 50  # students listed by a search
Language = Annotated[str | None, Query(max_length=35)]


@dataclass(frozen=True)
class Found:
    id: str
    name: str
    grade: str


@dataclass(frozen=True)
class SiblingView:
    id: str
    name: str
    guardian_id: str  # (the guardian they share with the student)
    booked: bool  # (holds a booked conference still ahead)


@dataclass(frozen=True)
class Desk:
    """Who acts for the family, from which pages: the school office, for every teacher of the
    student, or a teacher, at their own conference times (scheduling decides; the page shows a
    teacher only the forms it lets them use)."""

    who: Visitor
    kind: str  # "office" or "teacher"

    @property
    def pages(self) -> str:
        return TEACHER_PAGE if self.kind == "teacher" else PAGE

    @property
    def teacher(self) -> str | None:
        """The teacher acting; None for the office."""
        return person_of(self.who).subject if self.kind == "teacher" else None

    def page(self, request: Request, template: str, **context: Any) -> Response:
        """One of the desk's student pages: its menu (the item the pages are under), its
        addresses (``pages``)."""
        return page(
            request,
            self.who,
            template,
            kind=self.kind,
            pages=self.pages,
            section="classes" if self.kind == "teacher" else "students",
            **context,
        )


def _desk(request: Request, who: VisitorDep) -> Desk:
    """The desk of the page asked for (by its route): a teacher's pages are a teacher's, the
    office's an administrator's (anyone else is told the page is not theirs)."""
    route = str(getattr(request.scope.get("route"), "path", ""))
    kind = "teacher" if route.startswith(TEACHER_PAGE + "/") else "office"
    return Desk(signed_in_as("teacher" if kind == "teacher" else OFFICE_ROLE)(who), kind)


DeskDep = Annotated[Desk, Depends(_desk)]


@dataclass(frozen=True)
class StudentPage:
    """The student as the staff's page shows them: their name from the roster, their family,
    and what scheduling says of their conferences (``child``), for ``desk``."""

    id: str
    name: str
    grade: str
    site: str
    school: str
    guardians: list[GuardianView]
    child: ChildView
    languages: list[tuple[str, str]]  # the school's interpreter languages: (tag, name)
    desk: Desk
    siblings: list[SiblingView]  # (those the desk sees)

    def speaks(self, language: str | None) -> bool:
        """Whether the student's school has an interpreter in ``language``."""
        return language is not None and language in dict(self.languages)

    def has_guardian(self, guardian_id: str | None) -> bool:
        """Whether the roster links ``guardian_id`` to the student (the page offers only them)."""
        return any(one.id == guardian_id for one in self.guardians)

    def acts_with(self, teacher_id: str) -> bool:
        """Whether the desk acts on conferences and waitlist places with ``teacher_id`` (a
        teacher, only on their own)."""
        return self.desk.teacher in (None, teacher_id)

    def together(self) -> list[tuple[GuardianView, str]]:
        """Each guardian of the student with other children the desk sees who have no
        conference yet, with the names of those children and the student ("Gio and Ava"):
        the family may come once, for conferences one after another."""
        locale = locale_of(self.desk.who.language)
        return [
            (guardian, in_words(names, locale))
            for guardian in self.guardians
            if len(names := self.children_of(guardian)) > 1
        ]

    def with_siblings(self, guardian_id: str) -> GuardianView | None:
        """The student's guardian ``guardian_id``, if the desk sees other children of theirs."""
        return next(
            (
                guardian
                for guardian in self.guardians
                if guardian.id == guardian_id
                and any(one.guardian_id == guardian_id for one in self.siblings)
            ),
            None,
        )

    def children_of(self, guardian: GuardianView) -> list[str]:
        """The names of the guardian's children the desk sees with no conference yet, the
        student first."""
        names = [self.child.name] if self.child.conference is None else []
        return names + [
            one.name for one in self.siblings if one.guardian_id == guardian.id and not one.booked
        ]

    @property
    def wait_teachers(self) -> list[str]:
        """The student's teachers the desk may put the family on the waitlist of."""
        return [one for one in self.child.teachers if self.acts_with(one)]


@router.get(PAGE)
async def find_student(
    request: Request,
    who: OfficeDep,
    portfolio: PortfolioDep,
    name: Annotated[str, Query(max_length=NAME_LENGTH)] = "",
    site: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Find a student of the office's schools by part of their name."""
    schools = await schools_of(portfolio, who)
    school = next((one for one in schools if one.id == site), schools[0] if schools else None)
    wanted = name.strip()
    found: list[Found] | None = None
    more = False  # (more students than those listed have it in their name)
    refusal: OfficeRefusal | None = None
    status = 200
    if wanted and school is not None:
        answer = accepted(
            await portfolio.find_students(
                token_of(who), site=school.id, name=wanted, limit=MOST_FOUND + 1
            )
        )
        if answer.ok and isinstance(answer.body, list):
            found = [
                Found(
                    id=str(one["id"]),
                    name=f"{one['given_name']} {one['family_name']}",
                    grade=str(one.get("grade") or ""),
                )
                for one in answer.body
            ]
            more, found = len(found) > MOST_FOUND, found[:MOST_FOUND]
        else:
            refusal, status = office_refusal_of(answer), answer.refused_status
    return page(
        request,
        who,
        "office_students.html.j2",
        status=status,
        schools=schools,
        school=school,
        name=wanted,
        found=found,
        more=more,
        refusal=refusal.value if refusal else None,
        error_field="name",
        section="students",
    )


@router.get(PAGE + "/{student_id}")
@router.get(TEACHER_PAGE + "/{student_id}")
async def student_page(
    request: Request,
    student_id: str,
    desk: DeskDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    interpreter: Language = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The student's conference, with what the desk can do for the family; with
    ``interpreter``, the times to book are those an interpreter in it is free for."""
    student = await read_student(api, portfolio, desk, student_id, interpreter=interpreter)
    return await _page(
        request,
        student,
        portfolio,
        interpreter=interpreter if student.speaks(interpreter) else None,
        done=done if done in DONE else None,
    )


@router.post(PAGE + "/{student_id}/book")
@router.post(TEACHER_PAGE + "/{student_id}/book")
async def book(
    request: Request, student_id: str, desk: DeskDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Book the chosen time for the family's guardian chosen (and an interpreter, if asked)."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "book")
    interpreter = form.fields.get("interpreter") or None
    form = replace(form, interpreter=interpreter)
    student = await read_student(api, portfolio, desk, student_id, interpreter=interpreter)
    slot_id, guardian_id = form.fields.get("slot_id"), form.fields.get("guardian_id")
    if interpreter is not None and not student.speaks(interpreter):
        return await form.refused(OfficeRefusal.INVALID, student=student)
    if not student.has_guardian(guardian_id):
        return await form.refused(OfficeRefusal.GUARDIAN_NOT_CHOSEN, student=student)
    if not is_id(slot_id):
        return await form.refused(OfficeRefusal.TIME_NOT_CHOSEN, student=student)
    assert slot_id is not None and guardian_id is not None
    answer = await api.book(
        token_of(desk.who),
        slot_id=slot_id,
        student_id=student_id,
        guardian_id=guardian_id,
        interpreter_language=interpreter,
    )
    return await form.answered(answer, done="booked")


@router.post(PAGE + "/{student_id}/new-link")
async def new_link(
    request: Request, student_id: str, desk: DeskDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Send one of the family's guardians a new link (a phone lost, a message forwarded): every
    link they were sent until now stops working, and notifications sends the new one."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "new_link")
    student = await read_student(api, portfolio, desk, student_id)
    guardian_id = form.fields.get("guardian_id")
    if not student.has_guardian(guardian_id):
        return await form.refused(OfficeRefusal.NEW_LINK_TO, student=student)
    if form.fields.get("confirm") != "yes":
        return await form.refused(OfficeRefusal.NEW_LINK_CONFIRM, student=student)
    assert guardian_id is not None
    answer = await api.reissue_link(token_of(desk.who), guardian_id=guardian_id)
    return await form.answered(answer, done="new_link")


@router.post(PAGE + "/{student_id}/bookings/{booking_id}/move")
@router.post(TEACHER_PAGE + "/{student_id}/bookings/{booking_id}/move")
async def move(
    request: Request,
    student_id: str,
    booking_id: str,
    desk: DeskDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Move the conference to the chosen time (keeping its interpreter: only times one is free
    are offered)."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "move", booking_id)
    slot_id = form.fields.get("slot_id")
    if not is_id(slot_id):
        return await form.refused(OfficeRefusal.TIME_NOT_CHOSEN)
    assert slot_id is not None
    answer = await api.move(
        token_of(desk.who),
        booking_id=booking_id,
        slot_id=slot_id,
        at_family_request=form.fields.get("asked_by") != "school",
    )
    return await form.answered(answer, done="moved")


@router.post(PAGE + "/{student_id}/bookings/{booking_id}/interpreter")
@router.post(TEACHER_PAGE + "/{student_id}/bookings/{booking_id}/interpreter")
async def change_interpreter(
    request: Request,
    student_id: str,
    booking_id: str,
    desk: DeskDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Ask for an interpreter at the conference's time, in the language chosen, or give the
    interpreter up (``none``)."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "interpreter", booking_id)
    chosen = form.fields.get("language", "")
    student = await read_student(api, portfolio, desk, student_id)
    conference = student.child.conference
    kept = conference is not None and chosen == conference.interpreter_language
    if chosen != "none" and not kept and not student.speaks(chosen):
        return await form.refused(OfficeRefusal.INVALID, student=student)
    language = None if chosen == "none" else chosen
    if (
        conference is not None
        and conference.booking_id == booking_id
        and (language == conference.interpreter_language)
    ):
        # (What the conference has already: nothing changes, nobody is told.)
        return RedirectResponse(f"{desk.pages}/{student_id}", status_code=303)
    answer = await api.ask_for_interpreter(
        token_of(desk.who),
        booking_id=booking_id,
        language=language,
        at_family_request=form.fields.get("asked_by") != "school",
    )
    return await form.answered(answer, done="interpreter" if language else "no_interpreter")


@router.post(PAGE + "/{student_id}/bookings/{booking_id}/cancel")
@router.post(TEACHER_PAGE + "/{student_id}/bookings/{booking_id}/cancel")
async def cancel(
    request: Request,
    student_id: str,
    booking_id: str,
    desk: DeskDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Cancel the conference, once it is ticked that the family asked to."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "cancel", booking_id)
    if form.fields.get("confirm") != "yes":
        return await form.refused(OfficeRefusal.CONFIRM_MISSING)
    answer = await api.cancel(token_of(desk.who), booking_id=booking_id)
    return await form.answered(answer, done="cancelled")


@router.post(PAGE + "/{student_id}/waitlist")
@router.post(TEACHER_PAGE + "/{student_id}/waitlist")
async def join_waitlist(
    request: Request, student_id: str, desk: DeskDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Put the student on the waitlist of the teacher chosen, for the part of the day the
    family would like (and with an interpreter): a time that comes free is booked for them."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "waitlist")
    fields = form.fields
    student = await read_student(api, portfolio, desk, student_id)
    interpreter = fields.get("interpreter") or None
    window_id, teacher_id = fields.get("window_id", ""), fields.get("teacher_id", "")
    guardian_id = fields.get("guardian_id", "")
    if (
        fields.get("part_of_day") not in PARTS_OF_DAY
        or window_id not in {window.id for window in student.child.windows}
        or (interpreter is not None and not student.speaks(interpreter))
    ):
        return await form.refused(OfficeRefusal.INVALID, student=student)
    if not student.has_guardian(guardian_id):
        return await form.refused(OfficeRefusal.GUARDIAN_NOT_CHOSEN, student=student)
    if teacher_id not in student.wait_teachers:
        return await form.refused(OfficeRefusal.TEACHER_NOT_CHOSEN, student=student)
    answer = await api.join_waitlist(
        token_of(desk.who),
        window_id=window_id,
        student_id=student_id,
        part_of_day=fields["part_of_day"],
        interpreter_language=interpreter,
        teacher_id=teacher_id,
        guardian_id=guardian_id,
    )
    return await form.answered(answer, done="waitlisted")


@router.post(PAGE + "/{student_id}/waitlist/{entry_id}/leave")
@router.post(TEACHER_PAGE + "/{student_id}/waitlist/{entry_id}/leave")
async def leave_waitlist(
    request: Request,
    student_id: str,
    entry_id: str,
    desk: DeskDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Take the student off the waitlist (the family no longer waits, or waits for another
    part of the day)."""
    form = await _Form.posted(request, desk, api, portfolio, student_id, "waiting", entry_id)
    student = await read_student(api, portfolio, desk, student_id)
    if entry_id not in {place.id for place in student.child.waiting}:
        # (Left already, booked from it meanwhile, or another student's place.)
        return await form.refused(OfficeRefusal.NOT_FOUND, status=404, student=student)
    answer = await api.leave_waitlist(token_of(desk.who), entry_id=entry_id)
    return await form.answered(answer, done="left_waitlist")


@dataclass(frozen=True)
class _Form:
    """One of the student page's forms, posted (``name``: its id on the page), with what
    answering it needs."""

    request: Request
    desk: Desk
    api: SchedulingApi
    portfolio: PortfolioApi
    student_id: str
    name: str
    fields: dict[str, str]
    interpreter: str | None = None  # (the language the times to book are shown for)

    @classmethod
    async def posted(
        cls,
        request: Request,
        desk: Desk,
        api: SchedulingApi,
        portfolio: PortfolioApi,
        student_id: str,
        name: str,
        booking_id: str | None = None,
    ) -> _Form:
        """The form, once its CSRF token is the signed-in person's (and the booking's, or the
        waitlist place's, id is one)."""
        fields = await checked_form(request, desk.who)
        if booking_id is not None and not is_id(booking_id):
            raise TroublePage(Trouble.NOT_FOUND, 404)
        return cls(request, desk, api, portfolio, student_id, name, fields)

    async def answered(self, answer: Answer, *, done: str) -> Response:
        """Back to the student's page, saying what was done; or the page again, saying why
        scheduling refused (with the times as they are now)."""
        answer = accepted(answer)
        if answer.ok:
            query = urlencode({"done": done})
            return RedirectResponse(f"{self.desk.pages}/{self.student_id}?{query}", status_code=303)
        return await self.refused(office_refusal_of(answer), status=answer.refused_status)

    async def refused(
        self, refusal: OfficeRefusal, *, status: int = 422, student: StudentPage | None = None
    ) -> Response:
        """The student's page again, as it is now, with ``refusal`` next to the form and what
        was chosen in it (``student``: as read for this form, scheduling not asked since, with
        the times for the form's interpreter)."""
        if student is None:
            student = await read_student(
                self.api, self.portfolio, self.desk, self.student_id, interpreter=self.interpreter
            )
        return await _page(
            self.request,
            student,
            self.portfolio,
            interpreter=self.interpreter if student.speaks(self.interpreter) else None,
            refusal=refusal,
            error_field=self.name,
            status=status,
            typed={name: value[:64] for name, value in self.fields.items() if name != "csrf_token"},
        )


def _forms_shown(student: StudentPage) -> frozenset[str]:
    """The forms the student's page shows now (the template shows those named here)."""
    child, conference = student.child, student.child.conference
    shown: set[str] = set()
    if conference is not None:
        if student.acts_with(conference.teacher_id):
            shown |= {"move", "cancel"}
            if student.languages or conference.interpreter:
                shown.add("interpreter")
    elif child.held is None and child.windows and student.guardians:
        shown.add("book")
        if student.wait_teachers and _windows_to_wait_in(child):
            shown.add("waitlist")
    if student.desk.kind == "office" and student.guardians:
        shown.add("new_link")  # (the school's administrators send a family a new link)
    if any(student.acts_with(place.teacher_id) for place in child.waiting):
        shown.add("waiting")  # (each place's "Take off the waitlist")
    return frozenset(shown)


def _windows_to_wait_in(child: ChildView) -> list[WindowView]:
    """The windows the student holds no waitlist place in (one place per window)."""
    waiting = {place.window_id for place in child.waiting}
    return [window for window in child.windows if window.id not in waiting]


async def _page(
    request: Request,
    student: StudentPage,
    portfolio: PortfolioApi,
    *,
    interpreter: str | None,
    done: str | None = None,
    refusal: OfficeRefusal | None = None,
    error_field: str = "book",
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    conference = student.child.conference
    forms = _forms_shown(student)
    plan, goals, work = await _portfolio(portfolio, student)
    if refusal is not None and error_field not in forms:
        # (Its form is gone: the conference was booked, changed or cancelled meanwhile. The
        # refusal is said where the conference is.)
        error_field = "conference"
    return student.desk.page(
        request,
        "office_student.html.j2",
        forms=forms,
        wait_windows=_windows_to_wait_in(student.child),
        status=status,
        student=student,
        child=student.child,
        conference=conference,
        interpreter=interpreter,
        interpreter_name=dict(student.languages).get(interpreter or ""),
        family_words=await _family_words(portfolio, student),
        contacts=await _contacts(request, student),
        # (A teacher's page links the student's plan for this term's conferences.)
        plan_href=f"{TEACHER_PAGE}/{student.id}/plans/{plan['id']}" if plan else None,
        goals=goals,
        work=work,
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        typed=typed or {},
    )


async def _contacts(request: Request, student: StudentPage) -> dict[str, ContactView]:
    """For the office (a teacher's page has none): how it reaches each guardian, to call a
    family back (notifications keeps contact details: they travel on no stream)."""
    if student.desk.kind != "office" or not student.guardians:
        return {}
    who = student.desk.who
    api = notifications(request)
    answers = await asyncio.gather(
        *(api.contact(token_of(who), guardian_id=one.id) for one in student.guardians)
    )
    views = {
        one.id: contact_view(answer.body if answer.ok else None, language=who.language)
        for one, answer in zip(student.guardians, answers, strict=True)
    }
    return {guardian_id: view for guardian_id, view in views.items() if view is not None}


async def _portfolio(
    portfolio: PortfolioApi, student: StudentPage
) -> tuple[dict[str, Any] | None, list[GoalView] | None, list[WorkView] | None]:
    """For their teacher (the office's page has none of it): the student's conference cycle
    to plan for (its plan is linked), and their goals and work at a glance (None: portfolio
    refused to say), asked at once."""
    if student.desk.kind != "teacher":
        return None, None, None
    who = student.desk.who
    cycle, goals, pieces = await asyncio.gather(
        school_cycle(portfolio, who, site=student.site),
        portfolio.goals(token_of(who), student_id=student.id),
        portfolio.evidence(token_of(who), student_id=student.id),
    )
    goals, pieces = accepted(goals), accepted(pieces)
    return (
        cycle,
        goal_views(goals.body, language=who.language, timezone=None) if goals.ok else None,
        work_views(pieces.body, language=who.language, timezone=None) if pieces.ok else None,
    )


async def _family_words(portfolio: PortfolioApi, student: StudentPage) -> list[FamilyWords]:
    """What the family said after each conference, read only for the page that shows it (not
    for each form that checks the student first)."""
    who = student.desk.who
    feedback, goals = (
        accepted(answer)
        for answer in await asyncio.gather(
            portfolio.family_feedback(token_of(who), student_id=student.id),
            portfolio.goals(token_of(who), student_id=student.id),
        )
    )
    return family_words(
        feedback.body if feedback.ok else None,
        goals=goals.body if goals.ok else None,
        guardians=student.guardians,
        language=who.language,
        timezone=await school_timezone(portfolio, who, site=student.site),
    )


async def read_student(
    api: SchedulingApi,
    portfolio: PortfolioApi,
    desk: Desk,
    student_id: str,
    *,
    interpreter: str | None = None,
) -> StudentPage:
    """The student, their family and their conferences (404 for a student the desk does not
    see); with ``interpreter``, the free times are those an interpreter in it is free for."""
    if not is_id(student_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    who = desk.who
    token, language = token_of(who), who.language
    roster, options, family = (
        accepted(answer)
        for answer in await asyncio.gather(
            portfolio.student(token, student_id=student_id),
            api.booking_options(token, student_id=student_id),
            portfolio.guardians(token, student_id=student_id),
        )
    )
    if not roster.ok or not isinstance(roster.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    site = str(roster.body["site"])
    if not options.ok or not isinstance(options.body, dict):
        raise not_shown(options)
    child = child_view(times_in_order(options.body), language=language)
    # (With a conference, the languages of interpreters with hours in its window.)
    languages = await school_languages(
        api,
        who,
        credential=token,
        site=site,
        window_id=child.conference.window_id if child.conference is not None else None,
    )
    # The times shown: with a conference, those it may move to (those its interpreter is free
    # for: a move keeps them); else, with ``interpreter``, those one in it is free for.
    conference = child.conference
    shown_for = (
        conference.interpreter_language
        if conference is not None
        else (interpreter if interpreter in dict(languages) else None)
    )
    if shown_for:
        filtered = accepted(
            await api.booking_options(token, student_id=student_id, interpreter_language=shown_for)
        )
        if filtered.ok and isinstance(filtered.body, dict):
            shown_times = child_view(times_in_order(filtered.body), language=language).free_days
            child = replace(child, free_days=shown_times)
    return StudentPage(
        id=student_id,
        name=f"{roster.body['given_name']} {roster.body['family_name']}",
        grade=str(roster.body.get("grade") or ""),
        site=site,
        school=str(options.body.get("school") or site),
        guardians=guardian_views(family.body if family.ok else None),
        child=child,
        languages=languages,
        desk=desk,
        siblings=[
            SiblingView(
                id=str(one["student_id"]),
                name=str(one["given_name"]),
                guardian_id=str(one["guardian_id"]),
                booked=bool(one.get("booked")),
            )
            for one in options.body.get("siblings") or []
            if isinstance(one, dict)
        ],
    )


def times_in_order(options: dict[str, Any]) -> dict[str, Any]:
    """Scheduling's booking options with their free times by day and time: with an interpreter
    asked for, it gives those next to the interpreter's other conferences first (to suggest
    them); a desk finds a time the family asks for in a list in order."""
    times = [one for one in options.get("free_times") or [] if isinstance(one, dict)]
    return options | {
        "free_times": sorted(times, key=lambda one: datetime.fromisoformat(str(one["starts_at"])))
    }


def not_shown(answer: Answer) -> TroublePage:
    """The page for scheduling's refusal to show a student or family: not found to a desk that
    may not see them, else an error."""
    status = Trouble.NOT_FOUND if answer.status in (403, 404) else Trouble.ERROR
    return TroublePage(status, answer.refused_status)
