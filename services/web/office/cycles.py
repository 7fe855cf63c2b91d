"""A school's conference cycles, on the office's page of conference windows: each round of
conferences ("Fall 2026"), the weeks whose work, reflections and goals belong to it (what the
students plan their conference from), and the form that starts one. Portfolio keeps them
(``POST /sites/{id}/cycles``); a window may name one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime

from services.web.forms import typed_day
from services.web.office.refusals import OfficeRefusal
from services.web.office.signed_in import School
from services.web.pages import Visitor
from services.web.portfolio_api import PortfolioApi
from services.web.staff.signed_in import accepted, token_of
from services.web.written_times import written_day_of, zone

NAME_MAX_LENGTH = 100  # (as portfolio takes it)
FIELDS = ("name", "starts_on", "ends_on")


@dataclass(frozen=True)
class CycleView:
    name: str
    days: tuple[str, str]  # its first and last day, written
    current: bool  # today is one of its days


@dataclass(frozen=True)
class SchoolCycles:
    school: School
    cycles: list[CycleView]


@dataclass
class CycleForm:
    """The form that starts a cycle at ``site``, as typed, and what is wrong with it."""

    site: str = ""
    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FIELDS, ""))
    refusal: OfficeRefusal | None = None


@dataclass(frozen=True)
class NewCycle:
    name: str
    starts_on: date
    ends_on: date


def read_cycle(fields: dict[str, str]) -> tuple[CycleForm, NewCycle | None]:
    """The form posted, and the cycle it asks for if nothing is missing or out of order."""
    form = CycleForm(
        site=fields.get("site", ""),
        values={
            "name": " ".join(fields.get("name", "").split())[:NAME_MAX_LENGTH],
            "starts_on": fields.get("starts_on", "")[:10],
            "ends_on": fields.get("ends_on", "")[:10],
        },
    )
    name = form.values["name"]
    starts, ends = typed_day(form.values["starts_on"]), typed_day(form.values["ends_on"])
    if not name or len(" ".join(fields.get("name", "").split())) > NAME_MAX_LENGTH:
        form.refusal = OfficeRefusal.CYCLE_NAME_MISSING
    elif starts is None or ends is None:
        form.refusal = OfficeRefusal.CYCLE_DAYS_MISSING
    elif ends < starts:
        form.refusal = OfficeRefusal.CYCLE_DAYS_IN_ORDER
    if form.refusal is not None or starts is None or ends is None:
        return form, None
    return form, NewCycle(name, starts, ends)


async def school_cycles(
    portfolio: PortfolioApi, who: Visitor, schools: list[School]
) -> list[SchoolCycles]:
    """Each school's cycles, oldest first, the one under way on the school's calendar marked
    (none listed if portfolio does not answer)."""
    answers = await asyncio.gather(
        *(portfolio.cycles(token_of(who), site=school.id) for school in schools)
    )
    found = []
    for school, answer in zip(schools, map(accepted, answers), strict=True):
        listed = answer.body if answer.ok and isinstance(answer.body, list) else []
        today = datetime.now(zone(school.timezone)).date()
        views = []
        for one in listed:
            starts, ends = date.fromisoformat(one["starts_on"]), date.fromisoformat(one["ends_on"])
            views.append(
                CycleView(
                    name=str(one["name"]),
                    days=(
                        written_day_of(starts, language=who.language),
                        written_day_of(ends, language=who.language),
                    ),
                    current=starts <= today <= ends,
                )
            )
        found.append(SchoolCycles(school, views))
    return found
