"""The teacher's availability and conference times: for each conference window of their
schools, the availability they gave and the times made from it, a form to give more (scheduling
makes the times and judges the rules: no overlap, the window's days, a free room), a way to take
a block given by mistake back (``block_removal``), their video call link, and the secret address
of their calendar feed with a way to replace it. Each form posts, then comes back here
(post/redirect/get); a refusal is said in words next to the form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import is_id
from services.web.service_clients import SchedulingDep
from services.web.staff.availability_refusals import (
    FIELD,
    AvailabilityRefusal,
    block_refusal_of,
    form_refusal,
    link_refusal_of,
)
from services.web.staff.availability_view import (
    BlockForm,
    FormProblem,
    block_request,
    read_block_form,
    today_at,
    window_view,
)
from services.web.staff.block_removal import RemovalPages, confirm_page, remove
from services.web.staff.calendar_feeds import public_feed_address
from services.web.staff.signed_in import TeacherDep, accepted, person_of, token_of, working_sites
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
DONE = frozenset({"block", "link", "link_removed", "feed", "removed"})
PAGE = "/teacher/availability"
MAX_LINK = 500


@router.get(PAGE)
async def availability(
    request: Request,
    who: TeacherDep,
    api: SchedulingDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The teacher's conference windows, availability and times; their video call link and
    calendar feed."""
    return await _page(request, who, api, done=done if done in DONE else None)


@router.post(PAGE + "/{window_id}/blocks")
async def add_block(
    request: Request, window_id: str, who: TeacherDep, api: SchedulingDep
) -> Response:
    """Give availability on one of the window's days: scheduling makes its conference times."""
    fields = await checked_form(request, who)
    if not is_id(window_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    form = read_block_form(fields)
    token = token_of(who)
    window = accepted(await api.window(token, window_id=window_id))
    if not window.ok or not isinstance(window.body, dict):
        return await _page(request, who, api, refusal=AvailabilityRefusal.NOT_FOUND, status=404)
    asked = block_request(form, timezone=str(window.body.get("timezone") or "UTC"))
    if isinstance(asked, FormProblem):
        return await _page(
            request,
            who,
            api,
            refusal=form_refusal(asked),
            status=422,
            window_id=window_id,
            form=form,
        )
    answer = accepted(await api.give_availability(token, window_id=window_id, block=asked))
    if answer.ok:
        return RedirectResponse(f"{PAGE}?done=block#window-{window_id}", status_code=303)
    return await _page(
        request,
        who,
        api,
        refusal=block_refusal_of(answer),
        status=answer.refused_status,
        window_id=window_id,
        form=form,
    )


@router.get(PAGE + "/{window_id}/blocks/{block_id}/remove")
async def confirm_removal(
    request: Request, window_id: str, block_id: str, who: TeacherDep, api: SchedulingDep
) -> Response:
    """Before availability given by mistake is taken back: the block, and a button."""
    return await confirm_page(
        request, who, api, _removal(who, window_id), window_id=window_id, block_id=block_id
    )


@router.post(PAGE + "/{window_id}/blocks/{block_id}/remove")
async def remove_block(
    request: Request, window_id: str, block_id: str, who: TeacherDep, api: SchedulingDep
) -> Response:
    """Take back the teacher's block: its conference times are no longer offered."""
    return await remove(
        request, who, api, _removal(who, window_id), window_id=window_id, block_id=block_id
    )


def _removal(who: Visitor, window_id: str) -> RemovalPages:
    return RemovalPages(
        back=f"{PAGE}#window-{window_id}",
        nav="_teacher_nav.html.j2",
        section="availability",
        teacher_id=person_of(who).subject,
    )


@router.post(PAGE + "/video-call-link")
async def set_video_call_link(request: Request, who: TeacherDep, api: SchedulingDep) -> Response:
    """Save (or, empty, remove) the link of the teacher's video call conferences."""
    fields = await checked_form(request, who)
    link = fields.get("meeting_link", "").strip()
    if len(link) > MAX_LINK:
        return await _page(
            request,
            who,
            api,
            refusal=AvailabilityRefusal.LINK_INVALID,
            status=422,
            link=link[:MAX_LINK],
        )
    answer = accepted(
        await api.set_teacher_profile(
            token_of(who), teacher_id=person_of(who).subject, meeting_link_template=link or None
        )
    )
    if answer.ok:
        done = "link" if link else "link_removed"
        return RedirectResponse(f"{PAGE}?done={done}#video-call", status_code=303)
    return await _page(
        request, who, api, refusal=link_refusal_of(answer), status=answer.refused_status, link=link
    )


@router.post(PAGE + "/calendar-feed")
async def new_calendar_address(request: Request, who: TeacherDep, api: SchedulingDep) -> Response:
    """Give the teacher's calendar feed a new secret address; the old one stops working."""
    await checked_form(request, who)
    answer = accepted(
        await api.rotate_calendar_feed(token_of(who), teacher_id=person_of(who).subject)
    )
    if answer.ok:
        return RedirectResponse(f"{PAGE}?done=feed#calendar", status_code=303)
    refusal = AvailabilityRefusal.NOT_ALLOWED if answer.status == 403 else AvailabilityRefusal.OTHER
    return await _page(request, who, api, refusal=refusal, status=answer.refused_status)


async def _page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    *,
    done: str | None = None,
    refusal: AvailabilityRefusal | None = None,
    status: int = 200,
    window_id: str | None = None,
    form: BlockForm | None = None,
    link: str | None = None,
) -> Response:
    person, token = person_of(who), token_of(who)
    now = datetime.now(UTC)
    windows = []
    for window in await _windows(api, token, sites=await working_sites(api, who)):
        blocks = accepted(
            await api.blocks(token, window_id=str(window["id"]), teacher_id=person.subject)
        )
        windows.append(
            window_view(
                window,
                blocks.body if blocks.ok and isinstance(blocks.body, list) else [],
                language=who.language,
                today=today_at(window, now=now),
            )
        )
    profile = accepted(await api.teacher_profile(token, teacher_id=person.subject))
    feed = accepted(await api.calendar_feed(token, teacher_id=person.subject))
    if link is None and profile.ok and isinstance(profile.body, dict):
        link = profile.body.get("meeting_link_template") or ""
    if window_id is not None and not any(window.id == window_id for window in windows):
        window_id = None
    if refusal in FIELD and window_id is not None:
        error_field = f"{FIELD[refusal]}-{window_id}"
    elif refusal in (AvailabilityRefusal.LINK_INVALID, AvailabilityRefusal.LINK_IN_USE):
        error_field = "meeting-link"
    else:
        error_field = "main"
    return page(
        request,
        who,
        "teacher_availability.html.j2",
        status=status,
        windows=windows,
        done=done,
        refusal=refusal.value if refusal else None,
        error_field=error_field,
        refused_window=window_id,
        form=form or BlockForm(),
        blank=BlockForm(),
        link=link or "",
        feed=public_feed_address(request, str(feed.body["url"]))
        if feed.ok and isinstance(feed.body, dict) and feed.body.get("url")
        else None,
        section="availability",
    )


async def _windows(
    api: SchedulingApi, token: str, *, sites: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The conference windows of the teacher's schools, by first day."""
    windows: list[dict[str, Any]] = []
    for site in sites:
        answer = accepted(await api.windows(token, site=site))
        if answer.ok and isinstance(answer.body, list):
            windows += answer.body
    return sorted(windows, key=lambda window: str(window["first_day"]))
