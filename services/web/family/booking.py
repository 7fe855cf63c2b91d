"""Booking a time, moving it, cancelling it: each a form that posts, then goes back to the
family's page (post/redirect/get); a refusal is shown on the form's page, saying what to do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.choosing import choose_time_page, interpreter_languages
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
from services.web.pages import page
from services.web.refusals import Refusal, moment_of_refusal, refusal_of
from services.web.scheduling_api import is_id
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
    languages = await interpreter_languages(api, who, child)
    if interpreter not in {tag for tag, _ in languages}:
        interpreter = None
    elif interpreter is not None:
        child = await child_of_family(api, who, student_id, interpreter_language=interpreter)
    return choose_time_page(
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
    status = 422
    days = child.free_days
    if interpreter is not None and interpreter not in {tag for tag, _ in languages}:
        refusal, interpreter = Refusal.INVALID, None
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
        else:  # (with an interpreter: only the times one is free for, as the page says)
            now = await child_of_family(api, who, student_id, interpreter_language=interpreter)
            days = now.free_days
            if refusal is Refusal.ALREADY_BOOKED and now.conference is not None:
                # (Booked meanwhile, from another tab or by another guardian: change it there.)
                change_href = f"/family/bookings/{now.conference.booking_id}/move"
    return choose_time_page(
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
    )


@router.get("/family/bookings/{booking_id}/move")
async def choose_new_time(
    request: Request,
    booking_id: str,
    who: FamilyDep,
    api: SchedulingDep,
    without_interpreter: Annotated[bool, Query()] = False,
) -> Response:
    """The free times a child's conference can move to (with its interpreter free, when it
    has one; every free time with ``without_interpreter``, the move then leaving the
    interpreter out)."""
    booked = await child_with_booking(api, who, booking_id)
    with_one = await with_times_to_move_to(api, who, booked)
    child = booked if without_interpreter else with_one
    return choose_time_page(
        request,
        who,
        child=child,
        action=f"/family/bookings/{booking_id}/move",
        days=child.free_days,
        moving=True,
        without_interpreter=without_interpreter,
        interpreter_times=_times_of(with_one) if without_interpreter else frozenset(),
    )


def _times_of(child: ChildView) -> frozenset[str]:
    """The times the child's page offers (for a conference with an interpreter, those one is
    free for)."""
    return frozenset(time.slot_id for day in child.free_days for time in day.times)


@router.post("/family/bookings/{booking_id}/move")
async def move_to_time(
    request: Request, booking_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Move the conference to the chosen time (the old time is freed only if the new one is
    taken)."""
    fields = await checked_form(request, who)
    without_interpreter = fields.get("without_interpreter") == "1"
    booked = await child_with_booking(api, who, booking_id)
    with_one = await with_times_to_move_to(api, who, booked)
    child = booked if without_interpreter else with_one
    slot_id = fields.get("slot_id")
    refusal, status, days = Refusal.NOT_CHOSEN, 422, child.free_days
    refusal_when: str | None = None
    if is_id(slot_id):
        assert slot_id is not None
        answer = accepted(
            await api.move(session_of(who).credential, booking_id=booking_id, slot_id=slot_id)
        )
        # (A time chosen from every time keeps the interpreter if one is free then, as
        # scheduling decides at the move; only if none is does it go without.)
        dropped = (
            without_interpreter
            and not answer.ok
            and refusal_of(answer) is Refusal.NO_INTERPRETER
            and bool(booked.conference and booked.conference.interpreter_language)
        )
        if dropped:
            answer = accepted(
                await api.move(
                    session_of(who).credential,
                    booking_id=booking_id,
                    slot_id=slot_id,
                    without_interpreter=True,
                )
            )
        if answer.ok:
            return _done("moved_no_interpreter" if dropped else "moved")
        refusal, status = refusal_of(answer), answer.refused_status
        refusal_when = moment_of_refusal(answer, language=who.language)
        conference = child.conference
        if refusal is Refusal.FULL and (
            without_interpreter or (conference and conference.interpreter_language is None)
        ):
            days = days_of_times(
                answer.body.get("nearest_times", []),
                language=who.language,
                names=child.teacher_names,
            )
        elif refusal in (Refusal.FULL, Refusal.NO_INTERPRETER):
            # (The times its interpreter is free for, as they are now.)
            now = await child_with_booking(api, who, booking_id)
            days = (await with_times_to_move_to(api, who, now)).free_days
    return choose_time_page(
        request,
        who,
        child=child,
        action=f"/family/bookings/{booking_id}/move",
        days=days,
        moving=True,
        without_interpreter=without_interpreter,
        interpreter_times=_times_of(with_one) if without_interpreter else frozenset(),
        refusal=refusal,
        refusal_when=refusal_when,
        status=status,
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
        conference=child.conference,
        refusal=refusal_of(answer).value,
        refusal_when=moment_of_refusal(answer, language=who.language),
        error_field="confirm",
        days=[],
    )
