"""Booking a time, moving it, cancelling it: each a form that posts, then goes back to the
family's page (post/redirect/get); a refusal is shown on the form's page, saying what to do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.choosing import choose_time_page, interpreter_languages
from services.web.family.offices import school_offices
from services.web.family.signed_in import (
    FamilyDep,
    accepted,
    child_of_family,
    child_with_booking,
    session_of,
    with_times_to_move_to,
)
from services.web.family.view import ChildView, days_of_times
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.refusals import Refusal, moment_of_refusal, refusal_of
from services.web.scheduling_api import SchedulingApi, is_id
from services.web.service_clients import SchedulingDep

router = APIRouter()


def _done(what: str) -> Response:
    return RedirectResponse(f"/family?done={what}", status_code=303)


@router.get("/family/children/{student_id}/book")
async def choose_time(
    request: Request,
    student_id: str,
    who: FamilyDep,
    api: SchedulingDep,
    interpreter: Annotated[str | None, Query(max_length=35)] = None,
) -> Response:
    """The free times for a child, to choose one (and an interpreter, if the school has any);
    with ``interpreter``, only the times an interpreter in that language is free for (the
    times next to the interpreter's other conferences first)."""
    child = await child_of_family(api, who, student_id)
    if child.conference is not None:
        return RedirectResponse(
            f"/family/bookings/{child.conference.booking_id}/move", status_code=303
        )
    if not child.open_windows:
        # (Booking not open, yet or any more: the family's page says when, or whom to call.)
        return RedirectResponse("/family", status_code=303)
    languages = await interpreter_languages(api, who, child)
    if interpreter not in {tag for tag, _ in languages}:
        interpreter = None
    elif interpreter is not None:
        child = await child_of_family(api, who, student_id, interpreter_language=interpreter)
    return await choose_time_page(
        request,
        who,
        child=child,
        action=f"/family/children/{child.student_id}/book",
        days=child.free_days,
        moving=False,
        languages=languages,
        interpreter=interpreter,
    )


@router.post("/family/children/{student_id}/book")
async def book_time(
    request: Request, student_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Book the chosen time for the child."""
    fields = await checked_form(request, who)
    child = await child_of_family(api, who, student_id)
    languages = await interpreter_languages(api, who, child)
    slot_id = fields.get("slot_id")
    interpreter = fields.get("interpreter") or None
    refusal: Refusal | None = None
    refusal_when: str | None = None
    change_href: str | None = None
    nearest_only = False
    status = 422
    days = child.free_days
    if interpreter is not None and interpreter not in {tag for tag, _ in languages}:
        refusal, interpreter = Refusal.INVALID, None
    elif child.clashes_at(slot_id):
        refusal, status = Refusal.SIBLING_SAME_TIME, 409
    elif not is_id(slot_id):
        refusal = Refusal.NOT_CHOSEN
        if interpreter is not None:  # (the times the page says it shows)
            days = (
                await child_of_family(api, who, student_id, interpreter_language=interpreter)
            ).free_days
    else:
        assert slot_id is not None
        answer = accepted(
            await api.book(
                session_of(who).credential,
                slot_id=slot_id,
                student_id=child.student_id,
                interpreter_language=interpreter,
            )
        )
        if answer.ok:
            return _done("booked")
        refusal, status = refusal_of(answer), answer.refused_status
        refusal_when = moment_of_refusal(answer, language=who.language)
        if refusal is Refusal.FULL and interpreter is None:
            days = days_of_times(
                answer.body.get("nearest_times", []),
                language=who.language,
                names=child.teacher_names,
            )
            nearest_only = True
        else:  # (with an interpreter: only the times one is free for, as the page says)
            now = await child_of_family(api, who, student_id, interpreter_language=interpreter)
            days = now.free_days
            if refusal is Refusal.ALREADY_BOOKED and now.conference is not None:
                # (Booked meanwhile, from another tab or by another guardian: change it there.)
                change_href = f"/family/bookings/{now.conference.booking_id}/move"
    return await choose_time_page(
        request,
        who,
        child=child,
        action=f"/family/children/{child.student_id}/book",
        days=days,
        moving=False,
        languages=languages,
        interpreter=interpreter,
        refusal=refusal,
        refusal_when=refusal_when,
        status=status,
        change_href=change_href,
        nearest_only=nearest_only,
    )


@router.get("/family/bookings/{booking_id}/move")
async def choose_new_time(
    request: Request,
    booking_id: str,
    who: FamilyDep,
    api: SchedulingDep,
    without_interpreter: Annotated[bool, Query()] = False,
    interpreter: Annotated[str | None, Query(max_length=35)] = None,
) -> Response:
    """The free times a child's conference can move to (with its interpreter free, when it
    has one; every free time with ``without_interpreter``, the move then leaving the
    interpreter out where none is free; with ``interpreter``, a language the conference has no
    interpreter in, the times one in it is free, the move asking for one)."""
    booked = await child_with_booking(api, who, booking_id)
    asked = await _interpreter_asked(api, who, booked, interpreter)
    child, interpreter_times = await _times_to_move_to(
        api, who, booked, without_interpreter and asked is None, asked
    )
    return await choose_time_page(
        request,
        who,
        child=child,
        action=f"/family/bookings/{booking_id}/move",
        days=child.move_days,
        moving=True,
        without_interpreter=without_interpreter and asked is None,
        interpreter_times=interpreter_times,
        asked_interpreter=asked,
    )


async def _interpreter_asked(
    api: SchedulingApi, who: Visitor, booked: ChildView, language: str | None
) -> tuple[str, str] | None:
    """``language``, with its name, if the school has interpreters in it and the conference
    has none in it yet (a move may ask for one); else None."""
    conference = booked.conference
    if not language or conference is None or conference.interpreter_language == language:
        return None
    name = dict(await interpreter_languages(api, who, booked)).get(language)
    return (language, name) if name else None


async def _times_to_move_to(
    api: SchedulingApi,
    who: Visitor,
    booked: ChildView,
    without_interpreter: bool,
    asked: tuple[str, str] | None = None,
) -> tuple[ChildView, frozenset[str]]:
    """The child with the times its conference can move to (those its interpreter, or the
    one ``asked`` for, is free for, or every time), and with every time, those its
    interpreter is free for."""
    if asked is not None:
        language, _ = asked
        return (
            await child_of_family(api, who, booked.student_id, interpreter_language=language),
            frozenset(),
        )
    with_one = await with_times_to_move_to(api, who, booked)
    if not without_interpreter:
        return with_one, frozenset()
    return booked, frozenset(time.slot_id for day in with_one.free_days for time in day.times)


@router.post("/family/bookings/{booking_id}/move")
async def move_to_time(
    request: Request, booking_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Move the conference to the chosen time (the old time is freed only if the new one is
    taken). A time chosen from every time keeps the interpreter if one is free then, as
    scheduling decides at the move; only if none is does it go without."""
    fields = await checked_form(request, who)
    booked = await child_with_booking(api, who, booking_id)
    asked = await _interpreter_asked(api, who, booked, fields.get("interpreter"))
    without_interpreter = fields.get("without_interpreter") == "1" and asked is None
    slot_id = fields.get("slot_id")
    refusal, status, nearest = Refusal.NOT_CHOSEN, 422, None
    nearest_only = False
    refusal_when: str | None = None
    wanted = fields.get("interpreter")
    if (
        wanted
        and asked is None
        and not (booked.conference and booked.conference.interpreter_language == wanted)
    ):
        refusal = Refusal.INVALID  # (a language the school has no interpreter in: choose again)
    elif booked.clashes_at(slot_id):
        refusal, status = Refusal.SIBLING_SAME_TIME, 409
    elif is_id(slot_id):
        assert slot_id is not None
        credential = session_of(who).credential
        answer = accepted(
            await api.move(
                credential,
                booking_id=booking_id,
                slot_id=slot_id,
                interpreter_language=asked[0] if asked else None,
            )
        )
        dropped = (
            without_interpreter
            and not answer.ok
            and refusal_of(answer) is Refusal.NO_INTERPRETER
            and bool(booked.conference and booked.conference.interpreter_language)
        )
        if dropped:
            answer = accepted(
                await api.move(
                    credential, booking_id=booking_id, slot_id=slot_id, without_interpreter=True
                )
            )
        if answer.ok:
            return _done("moved_no_interpreter" if dropped else "moved")
        refusal, status = refusal_of(answer), answer.refused_status
        refusal_when = moment_of_refusal(answer, language=who.language)
        if refusal is Refusal.FULL:
            nearest = answer.body.get("nearest_times", [])
        # (The page again, with the times as they are now.)
        booked = await child_with_booking(api, who, booking_id)
    child, interpreter_times = await _times_to_move_to(api, who, booked, without_interpreter, asked)
    days = child.move_days
    conference = booked.conference
    if nearest is not None and (
        without_interpreter or not (asked or (conference and conference.interpreter_language))
    ):
        # (A time taken meanwhile, every time shown: the nearest free times scheduling gave.)
        days = days_of_times(nearest, language=who.language, names=child.teacher_names)
        nearest_only = True
    return await choose_time_page(
        request,
        who,
        child=child,
        action=f"/family/bookings/{booking_id}/move",
        days=days,
        moving=True,
        without_interpreter=without_interpreter,
        interpreter_times=interpreter_times,
        asked_interpreter=asked,
        refusal=refusal,
        refusal_when=refusal_when,
        status=status,
        nearest_only=nearest_only,
    )


@router.get("/family/bookings/{booking_id}/cancel")
async def confirm_cancel(
    request: Request, booking_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Ask the family to confirm they are cancelling the conference."""
    child = await child_with_booking(api, who, booking_id)
    return page(
        request,
        who,
        "confirm_cancel.html.j2",
        child=child,
        conference=child.conference,
        refusal=None,
        error_field="confirm",
    )


@router.post("/family/bookings/{booking_id}/cancel")
async def cancel_conference(
    request: Request, booking_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Cancel the conference; its time is free for another family."""
    await checked_form(request, who)
    child = await child_with_booking(api, who, booking_id)
    answer = accepted(await api.cancel(session_of(who).credential, booking_id=booking_id))
    if answer.ok:
        return _done("cancelled")
    return page(
        request,
        who,
        "confirm_cancel.html.j2",
        status=answer.refused_status,
        child=child,
        # (Refused: too late to cancel online, "call the school office".)
        offices=await school_offices(request, who, [child.site]),
        conference=child.conference,
        refusal=refusal_of(answer).value,
        refusal_when=moment_of_refusal(answer, language=who.language),
        error_field="confirm",
        days=[],
    )
