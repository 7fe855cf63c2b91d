"""A family calls the school office: the office finds the student by name and, on the student's
page, books a time for the family, moves or cancels the conference, or asks for an interpreter or
gives one up. Scheduling decides each, with the family's own rules for seats and interpreters
and the school's deadlines (the office may act until the conference starts, booking open or
not); the family is told as when they act themselves. Each form posts, then comes back to the
student's page (post/redirect/get); a refusal is said next to its form."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.choosing import school_languages
from services.web.family.view import ChildView, child_view
from services.web.forms import checked_form
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep, schools_of
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import Answer, is_id
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
PAGE = "/office/students"
DONE = frozenset({"booked", "moved", "interpreter", "no_interpreter", "cancelled"})
NAME_LENGTH = 100  # (as portfolio takes it)
Language = Annotated[str | None, Query(max_length=35)]


@dataclass(frozen=True)
class Found:
    id: str
    name: str
    grade: str


@dataclass(frozen=True)
class GuardianView:
    id: str
    name: str
    relationship: str


@dataclass(frozen=True)
class StudentPage:
    """The student as the office's page shows them: their name from the roster, their family,
    and what scheduling says of their conferences (``child``)."""

    id: str
    name: str
    grade: str
    school: str
    guardians: list[GuardianView]
    child: ChildView
    languages: list[tuple[str, str]]  # the school's interpreter languages: (tag, name)


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
    refusal: OfficeRefusal | None = None
    status = 200
    if wanted and school is not None:
        answer = accepted(await portfolio.find_students(token_of(who), site=school.id, name=wanted))
        if answer.ok and isinstance(answer.body, list):
            found = [
                Found(
                    id=str(one["id"]),
                    name=f"{one['given_name']} {one['family_name']}",
                    grade=str(one.get("grade") or ""),
                )
                for one in answer.body
            ]
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
        refusal=refusal.value if refusal else None,
        error_field="name",
        section="students",
    )


@router.get(PAGE + "/{student_id}")
async def student_page(
    request: Request,
    student_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    interpreter: Language = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The student's conference, with what the office can do for the family; with
    ``interpreter``, the times to book are those an interpreter in it is free for."""
    student = await _student(api, portfolio, who, student_id, interpreter=interpreter)
    return _page(
        request,
        who,
        student,
        interpreter=interpreter if _speaks(student, interpreter) else None,
        done=done if done in DONE else None,
    )


@router.post(PAGE + "/{student_id}/book")
async def book(
    request: Request, student_id: str, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Book the chosen time for the family's guardian chosen (and an interpreter, if asked)."""
    fields = await checked_form(request, who)
    interpreter = fields.get("interpreter") or None
    student = await _student(api, portfolio, who, student_id)
    slot_id, guardian_id = fields.get("slot_id"), fields.get("guardian_id")
    refusal: OfficeRefusal | None = None
    if interpreter is not None and not _speaks(student, interpreter):
        refusal = OfficeRefusal.INVALID
    elif guardian_id not in {one.id for one in student.guardians}:
        refusal = OfficeRefusal.GUARDIAN_NOT_CHOSEN
    elif not is_id(slot_id):
        refusal = OfficeRefusal.TIME_NOT_CHOSEN
    if refusal is not None:
        return await _refused(
            request, who, api, portfolio, student_id, refusal, "book", fields, interpreter
        )
    assert slot_id is not None and guardian_id is not None
    answer = accepted(
        await api.book(
            token_of(who),
            slot_id=slot_id,
            student_id=student_id,
            guardian_id=guardian_id,
            interpreter_language=interpreter,
        )
    )
    return await _answered(
        request, who, api, portfolio, student_id, answer, "booked", "book", fields, interpreter
    )


@router.post(PAGE + "/{student_id}/bookings/{booking_id}/move")
async def move(
    request: Request,
    student_id: str,
    booking_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Move the conference to the chosen time (keeping its interpreter: only times one is free
    are offered)."""
    fields = await checked_form(request, who)
    slot_id = fields.get("slot_id")
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    if not is_id(slot_id):
        return await _refused(
            request, who, api, portfolio, student_id, OfficeRefusal.TIME_NOT_CHOSEN, "move", fields
        )
    assert slot_id is not None
    answer = accepted(await api.move(token_of(who), booking_id=booking_id, slot_id=slot_id))
    return await _answered(
        request, who, api, portfolio, student_id, answer, "moved", "move", fields
    )


@router.post(PAGE + "/{student_id}/bookings/{booking_id}/interpreter")
async def change_interpreter(
    request: Request,
    student_id: str,
    booking_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Ask for an interpreter at the conference's time, in the language chosen, or give the
    interpreter up (``none``)."""
    fields = await checked_form(request, who)
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    chosen = fields.get("language", "")
    student = await _student(api, portfolio, who, student_id)
    conference = student.child.conference
    kept = conference is not None and chosen == conference.interpreter_language
    if chosen != "none" and not kept and not _speaks(student, chosen):
        return await _refused(
            request, who, api, portfolio, student_id, OfficeRefusal.INVALID, "interpreter", fields
        )
    language = None if chosen == "none" else chosen
    answer = accepted(
        await api.ask_for_interpreter(token_of(who), booking_id=booking_id, language=language)
    )
    done = "interpreter" if language else "no_interpreter"
    return await _answered(
        request, who, api, portfolio, student_id, answer, done, "interpreter", fields
    )


@router.post(PAGE + "/{student_id}/bookings/{booking_id}/cancel")
async def cancel(
    request: Request,
    student_id: str,
    booking_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """Cancel the conference, once the office has ticked that the family asked to."""
    fields = await checked_form(request, who)
    if not is_id(booking_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    if fields.get("confirm") != "yes":
        return await _refused(
            request,
            who,
            api,
            portfolio,
            student_id,
            OfficeRefusal.CONFIRM_MISSING,
            "cancel",
            fields,
        )
    answer = accepted(await api.cancel(token_of(who), booking_id=booking_id))
    return await _answered(
        request, who, api, portfolio, student_id, answer, "cancelled", "cancel", fields
    )


async def _answered(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    student_id: str,
    answer: Answer,
    done: str,
    form: str,
    fields: dict[str, str],
    interpreter: str | None = None,
) -> Response:
    """Back to the student's page, saying what was done; or the page again, saying why
    scheduling refused (with the times as they are now)."""
    if answer.ok:
        return RedirectResponse(f"{PAGE}/{student_id}?{urlencode({'done': done})}", status_code=303)
    return await _refused(
        request,
        who,
        api,
        portfolio,
        student_id,
        office_refusal_of(answer),
        form,
        fields,
        interpreter,
        status=answer.refused_status,
    )


async def _refused(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    student_id: str,
    refusal: OfficeRefusal,
    form: str,
    fields: dict[str, str],
    interpreter: str | None = None,
    *,
    status: int = 422,
) -> Response:
    student = await _student(api, portfolio, who, student_id, interpreter=interpreter)
    interpreter = interpreter if _speaks(student, interpreter) else None
    return _page(
        request,
        who,
        student,
        interpreter=interpreter,
        refusal=refusal,
        error_field=form,
        status=status,
        typed={name: value[:64] for name, value in fields.items() if name != "csrf_token"},
    )


def _page(
    request: Request,
    who: Visitor,
    student: StudentPage,
    *,
    interpreter: str | None,
    done: str | None = None,
    refusal: OfficeRefusal | None = None,
    error_field: str = "book",
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    conference = student.child.conference
    return page(
        request,
        who,
        "office_student.html.j2",
        status=status,
        student=student,
        child=student.child,
        conference=conference,
        interpreter=interpreter,
        interpreter_name=dict(student.languages).get(interpreter or ""),
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        typed=typed or {},
        section="students",
    )


async def _student(
    api: SchedulingApi,
    portfolio: PortfolioApi,
    who: Visitor,
    student_id: str,
    *,
    interpreter: str | None = None,
) -> StudentPage:
    """The student, their family and their conferences (404 for a student the office does not
    see); with ``interpreter``, the free times are those an interpreter in it is free for."""
    if not is_id(student_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    token, language = token_of(who), who.language
    roster = accepted(await portfolio.student(token, student_id=student_id))
    if not roster.ok or not isinstance(roster.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    site = str(roster.body["site"])
    languages = await school_languages(api, who, credential=token, site=site)
    asked = interpreter if interpreter in {tag for tag, _ in languages} else None
    options = accepted(
        await api.booking_options(token, student_id=student_id, interpreter_language=asked)
    )
    if not options.ok or not isinstance(options.body, dict):
        raise TroublePage(
            Trouble.NOT_FOUND if options.status in (403, 404) else Trouble.ERROR,
            options.refused_status,
        )
    child = child_view(options.body, language=language)
    conference = child.conference
    if asked is None and conference is not None and conference.interpreter_language:
        # (A move keeps the interpreter: the times to move to are those one is free for.)
        kept = accepted(
            await api.booking_options(
                token, student_id=student_id, interpreter_language=conference.interpreter_language
            )
        )
        if kept.ok and isinstance(kept.body, dict):
            child = replace(child, free_days=child_view(kept.body, language=language).free_days)
    family = accepted(await portfolio.guardians(token, student_id=student_id))
    return StudentPage(
        id=student_id,
        name=f"{roster.body['given_name']} {roster.body['family_name']}",
        grade=str(roster.body.get("grade") or ""),
        school=str(options.body.get("school") or site),
        guardians=_guardians(family.body if family.ok else None),
        child=child,
        languages=languages,
    )


def _guardians(listed: Any) -> list[GuardianView]:
    if not isinstance(listed, list):
        return []
    return [
        GuardianView(
            id=str(one["id"]),
            name=f"{one.get('given_name', '')} {one.get('family_name', '')}".strip()
            or str(one["id"]),
            relationship=str(one.get("relationship") or ""),
        )
        for one in listed
        if isinstance(one, dict)
    ]


def _speaks(student: StudentPage, language: str | None) -> bool:
    """Whether the student's school has an interpreter in ``language``."""
    return language is not None and language in {tag for tag, _ in student.languages}
