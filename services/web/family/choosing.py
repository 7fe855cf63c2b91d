"""The page where a family chooses a time (to book, or to move to), as first shown and after a
refusal."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from starlette.responses import Response

from services.web.family.offices import school_offices
from services.web.family.signed_in import session_of
from services.web.family.view import ChildView, DayOfTimes
from services.web.pages import Visitor, page
from services.web.refusals import Refusal
from services.web.scheduling_api import SchedulingApi
from shared.translations import language_name


async def interpreter_languages(
    api: SchedulingApi, who: Visitor, child: ChildView
) -> list[tuple[str, str]]:
    """The languages the child's school has interpreters for in the window the family books or
    moves in, each named in the page's language."""
    return await school_languages(
        api,
        who,
        credential=session_of(who).credential,
        site=child.site,
        window_id=child.window_in_use,
    )


async def school_languages(
    api: SchedulingApi,
    who: Visitor,
    *,
    credential: str,
    site: str,
    window_id: str | None = None,
) -> list[tuple[str, str]]:
    """The languages ``site`` has interpreters for (with hours in ``window_id``, if named), as
    the holder of ``credential`` (a family's link, a staff member's token) asks, each named in
    the page's language."""
    answer = await api.interpreter_languages(credential, site=site, window_id=window_id)
    languages = answer.body.get("languages", []) if answer.ok and answer.body else []
    return [
        (tag, language_name(tag, in_language=who.language))
        for tag in languages
        if isinstance(tag, str)
    ]


async def choose_time_page(
    request: Request,
    who: Visitor,
    *,
    child: ChildView,
    action: str,
    days: list[DayOfTimes],
    moving: bool,
    languages: Sequence[tuple[str, str]] = (),
    interpreter: str | None = None,
    refusal: Refusal | None = None,
    refusal_when: str | None = None,
    status: int = 200,
    change_href: str | None = None,
    without_interpreter: bool = False,
    interpreter_times: frozenset[str] = frozenset(),
    asked_interpreter: tuple[str, str] | None = None,
    nearest_only: bool = False,
) -> Response:
    """The times to choose from; ``interpreter``: the language they are shown for (the
    booking's own when moving, which keeps its interpreter unless ``without_interpreter``;
    ``asked_interpreter``, tag and name, one the move asks for)."""
    first = next((day.times[0].slot_id for day in days if day.times), None)
    conference = child.conference
    interpreter_name = dict(languages).get(interpreter or "") or (
        conference.interpreter if moving and conference is not None else None
    )
    if asked_interpreter is not None:
        interpreter_name = asked_interpreter[1]
    waitlist_href = None
    if child.can_wait and not moving and not child.waiting:
        waitlist_href = f"/family/children/{child.student_id}/waitlist" + (
            f"?interpreter={interpreter}" if interpreter else ""
        )
    return page(
        request,
        who,
        "choose_time.html.j2",
        status=status,
        child=child,
        offices=await school_offices(request, who, [child.site]),
        action=action,
        days=days,
        moving=moving,
        interpreter_languages=list(languages),
        interpreter=interpreter,
        interpreter_name=interpreter_name,
        refusal=refusal.value if refusal else None,
        refusal_when=refusal_when,
        error_field=f"time-{first}" if first else "main",
        waitlist_href=waitlist_href,
        change_href=change_href,
        without_interpreter=without_interpreter and interpreter_name is not None,
        interpreter_times=interpreter_times,
        asked_interpreter=asked_interpreter[0] if asked_interpreter else None,
        # (Only the nearest free times to the one taken: a link to every free time.)
        nearest_only=nearest_only,
    )
