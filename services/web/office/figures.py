"""The window's figures (scheduling's ``GET /windows/{id}/figures``) as charts: invited,
booked, attended and no-show per teacher and per class, each chart with the same numbers in a
table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.web.office.charts import bar_chart
from services.web.office.signed_in import OfficeDep
from services.web.office.windows import windows_of
from services.web.office.windows_view import window_to_show
from services.web.pages import page
from services.web.service_api import is_id
from services.web.service_clients import SchedulingDep
from services.web.staff.signed_in import accepted, token_of, working_sites

router = APIRouter()
CHARTED = ("invited", "booked", "attended", "no_show")
COUNTS = (*CHARTED, "not_booked", "waitlisted")


@router.get("/office/figures")
async def figures_page(
    request: Request,
    who: OfficeDep,
    api: SchedulingDep,
    window: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """How the window stands, per teacher and per class, as charts and tables."""
    windows = await windows_of(api, who, list(await working_sites(api, who)))
    shown = window_to_show(windows, window if is_id(window) else None)
    figures: dict[str, Any] = {}
    if shown is not None:
        answer = accepted(await api.figures(token_of(who), window_id=str(shown["id"])))
        figures = answer.body if answer.ok and isinstance(answer.body, dict) else {}
    teachers = [
        (str(one.get("teacher_name") or one["teacher_id"]), _counts(one))
        for one in figures.get("teachers", [])
    ]
    classes = [(str(one["title"]), _counts(one)) for one in figures.get("classes", [])]
    totals = figures.get("totals")
    return page(
        request,
        who,
        "office_figures.html.j2",
        windows=[(str(one["id"]), str(one["name"])) for one in windows],
        window=shown,
        totals=_counts(totals) if isinstance(totals, dict) else None,
        charts=[
            ("teachers", bar_chart("teachers", teachers, measures=CHARTED), teachers),
            ("classes", bar_chart("classes", classes, measures=CHARTED), classes),
        ],
        measures=CHARTED,
        counts=COUNTS,
        section="figures",
    )


def _counts(row: dict[str, Any]) -> dict[str, int]:
    return {name: int(row.get(name, 0)) for name in COUNTS}
