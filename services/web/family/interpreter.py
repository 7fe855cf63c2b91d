"""Asking for an interpreter after booking (or for none any more), at the conference's own
time; where none is free then, the times one is free at, to move to."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.choosing import interpreter_languages
from services.web.family.offices import school_offices
from services.web.family.signed_in import FamilyDep, accepted, child_with_booking, session_of
from services.web.family.view import ChildView
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.refusals import Refusal, moment_of_refusal, refusal_of
from services.web.scheduling_api import SchedulingApi
from services.web.service_clients import SchedulingDep
from shared.translations import language_name, primary_language

router = APIRouter()


@router.get("/family/bookings/{booking_id}/interpreter")
async def choose_interpreter(
    request: Request, booking_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """The languages the school has interpreters for, to ask for one at the conference's time
    (or for none, when it has one)."""
    child = await child_with_booking(api, who, booking_id)
    return await _page(request, who, child, await _offered(api, who, child))


@router.post("/family/bookings/{booking_id}/interpreter")
async def change_interpreter(
    request: Request, booking_id: str, who: FamilyDep, api: SchedulingDep
) -> Response:
    """Ask scheduling for the interpreter chosen (or none); refused, the page again, saying
    why and, when none is free at that time, where to find a time one is."""
    fields = await checked_form(request, who)
    child = await child_with_booking(api, who, booking_id)
    languages = await _offered(api, who, child)
    wanted = fields.get("interpreter") or None
    if "interpreter" not in fields or (wanted is not None and wanted not in dict(languages)):
        return await _page(request, who, child, languages, refusal=Refusal.INVALID, status=422)
    if wanted == _current(child, languages):  # (nothing to change, nothing to confirm)
        return RedirectResponse("/family", status_code=303)
    answer = accepted(
        await api.ask_for_interpreter(
            session_of(who).credential, booking_id=booking_id, language=wanted
        )
    )
    if answer.ok:
        done = "interpreter" if wanted else "no_interpreter"
        return RedirectResponse(f"/family?done={done}", status_code=303)
    return await _page(
        request,
        who,
        child,
        languages,
        chosen=wanted,
        refusal=refusal_of(answer),
        refusal_when=moment_of_refusal(answer, language=who.language),
        status=answer.refused_status,
    )


async def _offered(api: SchedulingApi, who: Visitor, child: ChildView) -> list[tuple[str, str]]:
    """The languages the school has interpreters for, and the conference's own (kept as it is
    if chosen again, even when no interpreter in it has hours ahead any more)."""
    languages = await interpreter_languages(api, who, child)
    current = _current(child, languages)
    if current is not None and current not in dict(languages):
        languages.append((current, language_name(current, in_language=who.language)))
    return languages


async def _page(
    request: Request,
    who: Visitor,
    child: ChildView,
    languages: list[tuple[str, str]],
    *,
    chosen: str | None = None,
    refusal: Refusal | None = None,
    refusal_when: str | None = None,
    status: int = 200,
) -> Response:
    conference = child.conference
    assert conference is not None  # (``child_with_booking``)
    return page(
        request,
        who,
        "choose_interpreter.html.j2",
        status=status,
        child=child,
        offices=await school_offices(request, who, [child.site]),
        conference=conference,
        interpreter_languages=languages,
        # (After a refusal, the choice sent; else, or with none sent, what the conference has.)
        interpreter=chosen if chosen is not None else _current(child, languages),
        chosen_name=dict(languages).get(chosen or ""),
        refusal=refusal.value if refusal else None,
        refusal_when=refusal_when,
        error_field="interpreter-none" if languages else "main",
    )


def _current(child: ChildView, languages: list[tuple[str, str]]) -> str | None:
    """The language the conference has an interpreter in, as the school lists it (``es`` for
    an ``es-MX`` asked), or None."""
    conference = child.conference
    current = conference.interpreter_language if conference else None
    if current is None:
        return None
    return next((tag for tag, _ in languages if tag == primary_language(current)), current)
