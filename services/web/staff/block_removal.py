"""Taking back availability given by mistake (a wrong day, a wrong room), for the teacher's
availability page and the office's window page alike: a page that shows the block (its day, times
and room) and asks to confirm, and the form that asks scheduling to remove it (``DELETE
/windows/{id}/blocks/{block_id}``; the teacher, their own; the office, any of its teachers'),
then goes back to the page it came from with a banner (post/redirect/get). Scheduling refuses
while families are booked in it: the confirmation page says so in words, and how many."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import is_id
from services.web.staff.availability_view import BlockView, block_view
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage


@dataclass(frozen=True)
class RemovalPages:
    """Whose page a removal starts from: where it goes back to (``back``, with ``?done=removed``
    once done), the navigation shown, and, for the office, the teachers' names."""

    back: str
    nav: str
    section: str
    teacher_id: str | None = None
    teacher_names: dict[str, str] | None = None


async def confirm_page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    pages: RemovalPages,
    *,
    window_id: str,
    block_id: str,
    refusal: StaffRefusal | None = None,
    status: int = 200,
) -> Response:
    """The block as it stands, and the button that removes it (posted to this page's own
    address; 404 if the block is not there). After a refusal, its words, and the block only if
    it is still there to show."""
    block = await _block(api, who, pages, window_id=window_id, block_id=block_id)
    if block is None and refusal is None:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return page(
        request,
        who,
        "confirm_remove_block.html.j2",
        status=status,
        block=block,
        teacher=_teacher(pages, block),
        action=request.url.path,
        back=pages.back,
        nav=pages.nav,
        section=pages.section,
        refusal=refusal.value if refusal else None,
        # (A refusal for booked conferences leaves the block as it was: its count says how many.)
        booked=block.booked if block is not None else 0,
        error_field="confirm",
    )


async def remove(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    pages: RemovalPages,
    *,
    window_id: str,
    block_id: str,
) -> Response:
    """Ask scheduling to remove the block; back to the page with a banner, or the refusal in
    words on the confirmation page."""
    await checked_form(request, who)
    if not (is_id(window_id) and is_id(block_id)):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await api.remove_block(token_of(who), window_id=window_id, block_id=block_id))
    if answer.ok:
        return RedirectResponse(_done(pages.back), status_code=303)
    return await confirm_page(
        request,
        who,
        api,
        pages,
        window_id=window_id,
        block_id=block_id,
        refusal=staff_refusal_of(answer),
        status=answer.refused_status,
    )


async def _block(
    api: SchedulingApi, who: Visitor, pages: RemovalPages, *, window_id: str, block_id: str
) -> BlockView | None:
    if not (is_id(window_id) and is_id(block_id)):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    token = token_of(who)
    window = accepted(await api.window(token, window_id=window_id))
    blocks = accepted(await api.blocks(token, window_id=window_id, teacher_id=pages.teacher_id))
    if not (window.ok and isinstance(window.body, dict) and blocks.ok):
        return None
    listed = blocks.body if isinstance(blocks.body, list) else []
    found = next(
        (one for one in listed if isinstance(one, dict) and one.get("id") == block_id), None
    )
    if found is None:
        return None
    timezone = str(window.body.get("timezone") or "UTC")
    return block_view(found, timezone=timezone, language=who.language)


def _teacher(pages: RemovalPages, block: BlockView | None) -> str | None:
    """The block's teacher, named on the office's page (the teacher's own page names nobody)."""
    if block is None or pages.teacher_id is not None:
        return None
    return (pages.teacher_names or {}).get(block.teacher_id, block.teacher_id)


def _done(back: str) -> str:
    """``back`` with the banner asked for, keeping its anchor."""
    path, _, anchor = back.partition("#")
    joined = "&" if "?" in path else "?"
    return f"{path}{joined}done=removed" + (f"#{anchor}" if anchor else "")
