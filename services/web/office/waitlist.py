"""A window's waitlist, for the office: each teacher's line of families waiting, in order, with
the part of the day each waits for, the interpreter they asked for and since when. Each
student's page is a link away: there the office books a time, or takes the family off."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.guardians import roster_names
from services.web.office.signed_in import OfficeDep
from services.web.office.windows import office_window
from services.web.office.windows_view import teacher_names, window_view
from services.web.pages import page
from services.web.service_clients import PortfolioDep, SchedulingDep
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import written_date, written_day_of
from shared.translations import language_name

router = APIRouter()


@dataclass(frozen=True)
class Waiting:
    position: int
    student_id: str
    student: str
    family: str
    day: str | None  # the one day the family waits for, if it named one
    part_of_day: str
    interpreter: str | None
    joined: str


@dataclass(frozen=True)
class Line:
    teacher: str
    waiting: list[Waiting]


@router.get("/office/windows/{window_id}/waitlist")
async def waitlist_page(
    request: Request,
    window_id: str,
    who: OfficeDep,
    api: SchedulingDep,
    portfolio: PortfolioDep,
) -> Response:
    """The families waiting in the window, by teacher, first in line first."""
    window = await office_window(api, who, window_id)
    listed, figures = map(
        accepted,
        await asyncio.gather(
            api.waitlist(token_of(who), window_id=window_id, status="waiting"),
            api.figures(token_of(who), window_id=window_id),
        ),
    )
    if listed.status >= 500:
        raise TroublePage(Trouble.UNAVAILABLE, 503)
    if not listed.ok or not isinstance(listed.body, list):  # (the window is the office's)
        raise TroublePage(Trouble.NOT_FOUND, 404)
    entries = [one for one in listed.body if isinstance(one, dict)]
    names = await roster_names(
        portfolio, who, site=str(window["site"]), student_ids=[one["student_id"] for one in entries]
    )
    teachers = teacher_names(figures.body if figures.ok else None)
    timezone = str(window.get("timezone") or "UTC")
    lines: dict[str, list[Waiting]] = {}
    for one in entries:
        student_id, guardian_id = str(one["student_id"]), str(one["guardian_id"])
        guardian = names.guardians.get((student_id, guardian_id))
        lines.setdefault(str(one["teacher_id"]), []).append(
            Waiting(
                position=int(one.get("position") or 0),
                student_id=student_id,
                student=names.student(student_id, student_id),
                family=guardian.name if guardian else guardian_id,
                day=_day(one.get("day"), language=who.language),
                part_of_day=str(one.get("part_of_day") or "any"),
                interpreter=_language(one.get("interpreter_language"), reader=who.language),
                joined=written_date(
                    datetime.fromisoformat(str(one["joined_at"])),
                    timezone=timezone,
                    language=who.language,
                ),
            )
        )
    return page(
        request,
        who,
        "office_waitlist.html.j2",
        window=window_view(window, language=who.language),
        lines=sorted(
            (
                Line(teachers.get(teacher, teacher), sorted(waiting, key=lambda w: w.position))
                for teacher, waiting in lines.items()
            ),
            key=lambda line: line.teacher.casefold(),
        ),
        waiting=len(entries),
        section="windows",
    )


def _day(value: Any, *, language: str) -> str | None:
    return written_day_of(date.fromisoformat(str(value)), language=language) if value else None


def _language(tag: Any, *, reader: str) -> str | None:
    return language_name(str(tag), in_language=reader) if tag else None
