"""Conference windows: the office's list of its schools' windows, the form that sets up a new
one, a window's page with its settings and its teachers' conference times, opening it (every
family is invited, so a page of its own asks first), giving a teacher's times and taking back
ones given by mistake (``staff/block_removal``). Each form posts, then goes to the window's page
(post/redirect/get)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.forms import checked_form
from services.web.office.cycles import CycleForm, read_cycle, school_cycles
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.office.signed_in import OfficeDep, School, schools_of
from services.web.office.times_form import (
    FORMATS,
    MODES,
    TeachersDay,
    TimesForm,
    availability_body,
    empty_times_form,
    teachers_days,
)
from services.web.office.window_form import (
    TOLD_AT_OPENING,
    WindowForm,
    empty_form,
    form_of_window,
    window_body,
    window_changes,
)
from services.web.office.windows_view import open_other_than, teacher_names, window_view
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import Answer, is_id
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.block_removal import RemovalPages, confirm_page, remove
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
DONE = frozenset({"created", "opened", "times", "removed", "changed", "day_cancelled"})
LIST_DONE = frozenset({"window_removed", "cycle_started"})


async def windows_of(api: SchedulingApi, who: Visitor, sites: list[str]) -> list[dict[str, Any]]:
    """The windows of the office's schools, each school's by first day."""
    found: list[dict[str, Any]] = []
    for site in sites:
        answer = accepted(await api.windows(token_of(who), site=site))
        if answer.ok and isinstance(answer.body, list):
            found += [one for one in answer.body if isinstance(one, dict)]
    return found


@router.get("/office")
async def office_home(who: OfficeDep) -> Response:
    """The office's pages begin with its conference windows."""
    return RedirectResponse("/office/windows", status_code=303)


@router.get("/office/windows")
async def windows_page(
    request: Request,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The schools' conference windows, and a link to set up a new one; their conference
    cycles, and the form that starts one."""
    return await _windows_page(
        request, who, api, portfolio, done=done if done in LIST_DONE else None
    )


@router.post("/office/cycles")
async def start_cycle(
    request: Request, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Start a conference cycle at one of the office's schools (portfolio keeps it)."""
    fields = await checked_form(request, who)
    form, cycle = read_cycle(fields)
    schools = await schools_of(portfolio, who)
    if form.site not in {school.id for school in schools}:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    if cycle is None:
        return await _windows_page(request, who, api, portfolio, cycle_form=form, status=422)
    answer = accepted(
        await portfolio.open_cycle(
            token_of(who),
            site=form.site,
            name=cycle.name,
            starts_on=cycle.starts_on.isoformat(),
            ends_on=cycle.ends_on.isoformat(),
        )
    )
    if answer.ok:
        return RedirectResponse("/office/windows?done=cycle_started#cycles", status_code=303)
    form.refusal = office_refusal_of(answer)
    return await _windows_page(
        request, who, api, portfolio, cycle_form=form, status=answer.refused_status
    )


async def _windows_page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    portfolio: PortfolioApi,
    *,
    done: str | None = None,
    cycle_form: CycleForm | None = None,
    status: int = 200,
) -> Response:
    schools = await schools_of(portfolio, who)
    windows = await windows_of(api, who, [school.id for school in schools])
    return page(
        request,
        who,
        "office_windows.html.j2",
        status=status,
        windows=[window_view(one, language=who.language) for one in windows],
        schools={school.id: school.name for school in schools},
        cycles=await school_cycles(portfolio, who, schools),
        cycle_form=cycle_form or CycleForm(),
        section="windows",
        done=done,
    )


@router.get("/office/windows/new")
async def new_window_page(request: Request, who: OfficeDep, portfolio: PortfolioDep) -> Response:
    """The form that sets up a conference window."""
    schools = await schools_of(portfolio, who)
    form = empty_form(site=schools[0].id if schools else "")
    return await _form_page(request, who, portfolio, schools, form)


@router.post("/office/windows")
async def create_window(
    request: Request, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Set up the window with scheduling; its page follows (families are invited only once it
    is opened)."""
    fields = await checked_form(request, who)
    schools = await schools_of(portfolio, who)
    form, body = window_body(fields, timezones={school.id: school.timezone for school in schools})
    if body is None:
        return await _form_page(request, who, portfolio, schools, form, status=422)
    answer = accepted(await api.create_window(token_of(who), window=body))
    if answer.ok and isinstance(answer.body, dict):
        return RedirectResponse(f"/office/windows/{answer.body['id']}?done=created", 303)
    refusal = office_refusal_of(answer)
    form.errors["main"] = refusal
    return await _form_page(
        request, who, portfolio, schools, form, status=answer.refused_status, refusal=refusal
    )


@router.get("/office/windows/{window_id}")
async def window_page(
    request: Request,
    window_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    families: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    """A window's settings, with the button that opens it (``families``: how many a day
    cancelled told)."""
    return await _window_page(
        request, who, api, window_id, done=done if done in DONE else None, families=families
    )


@router.get("/office/windows/{window_id}/change")
async def change_window_page(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """The window's settings in a form, to change (once it is opened, only what families were
    not told)."""
    window = await office_window(api, who, window_id)
    schools = await schools_of(portfolio, who)
    return await _form_page(request, who, portfolio, schools, form_of_window(window), window=window)


@router.post("/office/windows/{window_id}/change")
async def change_window(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Send scheduling what changed; the window's page follows."""
    fields = await checked_form(request, who)
    window = await office_window(api, who, window_id)
    schools = await schools_of(portfolio, who)
    form, changes = window_changes(fields, window)
    if changes is None:
        return await _form_page(request, who, portfolio, schools, form, status=422, window=window)
    if not changes:
        return RedirectResponse(f"/office/windows/{window_id}", status_code=303)
    answer = accepted(await api.change_window(token_of(who), window_id=window_id, changes=changes))
    if answer.ok:
        return RedirectResponse(f"/office/windows/{window_id}?done=changed", status_code=303)
    # (The same kinds as setting one up, and two of their own: what families were told, and
    # the times already given.)
    refusal = {
        OfficeRefusal.ALREADY_OPENED: OfficeRefusal.CHANGE_TOLD,
        OfficeRefusal.WINDOW_IN_USE: OfficeRefusal.CHANGE_TIMES,
    }.get(office_refusal_of(answer), office_refusal_of(answer))
    form.errors["main"] = refusal
    return await _form_page(
        request,
        who,
        portfolio,
        schools,
        form,
        status=answer.refused_status,
        refusal=refusal,
        window=window,
    )


@router.get("/office/windows/{window_id}/open")
async def confirm_opening(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep, portfolio: PortfolioDep
) -> Response:
    """Before booking opens: whom it invites (it cannot be undone), and the button."""
    window = await office_window(api, who, window_id)
    if window.get("announced_at"):
        return RedirectResponse(f"/office/windows/{window_id}", status_code=303)
    known, figures, site_windows = await asyncio.gather(
        schools_of(portfolio, who),
        api.figures(token_of(who), window_id=window_id),
        api.windows(token_of(who), site=str(window["site"])),
    )
    schools = {school.id: school.name for school in known}
    figures = accepted(figures)
    totals = figures.body.get("totals") if figures.ok and isinstance(figures.body, dict) else None
    now = datetime.now(UTC)
    other = open_other_than(accepted(site_windows).body, window_id, now=now)
    return page(
        request,
        who,
        "office_confirm_open.html.j2",
        window=window_view(window, language=who.language),
        school=schools.get(str(window["site"]), str(window["site"])),
        # (Students with a family linked: each family of theirs is invited.)
        invited=totals.get("invited") if isinstance(totals, dict) else None,
        # (Invited now, they may book only from then.)
        books_later=datetime.fromisoformat(window["opens_at"]) > now,
        other=window_view(other, language=who.language) if other is not None else None,
        section="windows",
    )


@router.post("/office/windows/{window_id}/open")
async def open_window(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep
) -> Response:
    """Open booking: scheduling invites every family of the school."""
    return await _act_on_window(
        request,
        who,
        api,
        window_id,
        api.open_window,
        then=f"/office/windows/{window_id}?done=opened",
    )


@router.post("/office/windows/{window_id}/remove")
async def remove_window(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep
) -> Response:
    """Remove a window set up by mistake, before it is opened and before any times are in it."""
    return await _act_on_window(
        request, who, api, window_id, api.remove_window, then="/office/windows?done=window_removed"
    )


async def _act_on_window(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    window_id: str,
    act: Callable[..., Awaitable[Answer]],
    *,
    then: str,
) -> Response:
    """A button of the window's page: done, go to ``then``; refused, the page says why."""
    await checked_form(request, who)
    if not is_id(window_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await act(token_of(who), window_id=window_id))
    if answer.ok:
        return RedirectResponse(then, status_code=303)
    return await _window_page(
        request,
        who,
        api,
        window_id,
        refusal=office_refusal_of(answer),
        status=answer.refused_status,
    )


@router.post("/office/windows/{window_id}/times")
async def give_times(
    request: Request, window_id: str, who: OfficeDep, api: SchedulingDep
) -> Response:
    """Give a teacher's conference times on one of the window's days."""
    fields = await checked_form(request, who)
    window = await office_window(api, who, window_id)
    form, block = availability_body(fields, timezone=window.get("timezone"))
    if block is None:
        return await _window_page(request, who, api, window_id, times=form, status=422)
    answer = accepted(await api.give_availability(token_of(who), window_id=window_id, block=block))
    if answer.ok:
        return RedirectResponse(f"/office/windows/{window_id}?done=times", status_code=303)
    refusal = office_refusal_of(answer)
    # (Until before From: said at the field; what else is wrong with the times, at the form.)
    form.errors["until" if refusal is OfficeRefusal.TIMES_IN_ORDER else "times"] = refusal
    return await _window_page(
        request, who, api, window_id, times=form, status=answer.refused_status
    )


@router.get("/office/windows/{window_id}/blocks/{block_id}/remove")
async def confirm_removal(
    request: Request, window_id: str, block_id: str, who: OfficeDep, api: SchedulingDep
) -> Response:
    """Before a teacher's availability given by mistake is taken back: the block, a button."""
    pages = await _removal(api, who, window_id)
    return await confirm_page(request, who, api, pages, window_id=window_id, block_id=block_id)


@router.post("/office/windows/{window_id}/blocks/{block_id}/remove")
async def remove_block(
    request: Request, window_id: str, block_id: str, who: OfficeDep, api: SchedulingDep
) -> Response:
    """Take back a teacher's block: its conference times are no longer offered."""
    pages = await _removal(api, who, window_id)
    return await remove(request, who, api, pages, window_id=window_id, block_id=block_id)


async def _removal(api: SchedulingApi, who: Visitor, window_id: str) -> RemovalPages:
    """Removal from the window's page, which names the teachers."""
    if not is_id(window_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    figures = accepted(await api.figures(token_of(who), window_id=window_id))
    return RemovalPages(
        back=f"/office/windows/{window_id}#times-heading",
        nav="_office_nav.html.j2",
        section="windows",
        teacher_names=teacher_names(figures.body if figures.ok else None),
    )


async def office_window(api: SchedulingApi, who: Visitor, window_id: str) -> dict[str, Any]:
    """The window as scheduling gives it to the office (404 page for any other)."""
    if not is_id(window_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await api.window(token_of(who), window_id=window_id))
    if not answer.ok or not isinstance(answer.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return answer.body


@dataclass(frozen=True)
class TeachersTimes:
    """The window's teachers' times still ahead, a line per block, and its teachers by name."""

    days: list[TeachersDay]
    teachers: list[str]  # (the window's teachers, in the figures' order)
    names: dict[str, str]
    waiting: int = 0  # (students on the window's waitlist)


async def teachers_times(api: SchedulingApi, who: Visitor, window_id: str) -> TeachersTimes:
    """The window's blocks and figures, read at once."""
    token = token_of(who)
    blocks, figures = map(
        accepted,
        await asyncio.gather(
            api.blocks(token, window_id=window_id), api.figures(token, window_id=window_id)
        ),
    )
    return TeachersTimes(
        days=teachers_days(
            blocks.body if blocks.ok else [], now=datetime.now(UTC), language=who.language
        ),
        teachers=(
            [str(one["teacher_id"]) for one in figures.body.get("teachers", [])]
            if figures.ok and isinstance(figures.body, dict)
            else []
        ),
        names=teacher_names(figures.body if figures.ok else None),
        waiting=_waitlisted(figures.body if figures.ok else None),
    )


def _waitlisted(figures: object) -> int:
    totals = figures.get("totals") if isinstance(figures, dict) else None
    return int(totals.get("waitlisted") or 0) if isinstance(totals, dict) else 0


async def _window_page(
    request: Request,
    who: Visitor,
    api: SchedulingApi,
    window_id: str,
    *,
    done: str | None = None,
    refusal: OfficeRefusal | None = None,
    times: TimesForm | None = None,
    status: int = 200,
    families: int = 0,
) -> Response:
    window = await office_window(api, who, window_id)
    given = await teachers_times(api, who, window_id)
    times = times or empty_times_form()
    return page(
        request,
        who,
        "office_window.html.j2",
        status=status,
        window=window_view(window, language=who.language),
        days=given.days,
        teachers=given.teachers,
        teacher_names=given.names,
        waiting=given.waiting,
        times=times,
        times_errors={
            name if name == "times" else f"times-{name}": why for name, why in times.errors.items()
        },
        formats=FORMATS,
        modes=MODES,
        done=done,
        families=families,
        refusal=refusal.value if refusal else None,
        error_field="open",
        section="windows",
    )


async def _form_page(
    request: Request,
    who: Visitor,
    portfolio: PortfolioApi,
    schools: list[School],
    form: WindowForm,
    *,
    status: int = 200,
    refusal: OfficeRefusal | None = None,
    window: dict[str, Any] | None = None,
) -> Response:
    """The form that sets up a window, or (``window``) changes one."""
    cycles: dict[str, list[tuple[str, str]]] = {}
    for school in schools:
        answer = accepted(await portfolio.cycles(token_of(who), site=school.id))
        if answer.ok and isinstance(answer.body, list):
            cycles[school.id] = [
                (str(cycle["id"]), str(cycle["name"]))
                for cycle in answer.body
                if isinstance(cycle, dict) and "id" in cycle
            ]
    return page(
        request,
        who,
        "office_new_window.html.j2",
        status=status,
        form=form,
        schools=schools,
        cycles=cycles,
        refusal=refusal.value if refusal else None,
        section="windows",
        change=window_view(window, language=who.language) if window else None,
        locked=TOLD_AT_OPENING if window and window.get("announced_at") else frozenset(),
    )
