"""What became of the school's messages (notifications' delivery reports): the counts by status,
each invitation round and nudge with its counts and the window it was about (by its name, from
scheduling), and the families no channel reached, with the reason (the office calls them).
Nothing of a family's contact details is shown beyond what notifications gives the office."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.office.signed_in import OfficeDep, School, schools_of
from services.web.office.windows import windows_of
from services.web.office.windows_view import written_moment
from services.web.pages import page
from services.web.service_clients import NotificationsDep, PortfolioDep, SchedulingDep
from services.web.staff.signed_in import accepted, token_of

router = APIRouter()
# The statuses shown, in this order: every one a report counts, so they add up to its total.
STATUSES = ("sent", "delivered", "bounced", "failed", "opted_out", "waiting", "queued", "withheld")
CAMPAIGNS = frozenset({"conference_invitation", "booking_reminder"})


@dataclass(frozen=True)
class Campaign:
    template: str
    window: str | None  # the window's name (None: a round from before rounds named one)
    started: str
    counts: dict[str, int]
    not_written: int  # families of the round with no message: theirs could not be written


@dataclass(frozen=True)
class Unreached:
    family: str | None  # the guardian's name, if notifications has one
    guardian_id: str
    student: str
    template: str
    why: str  # notifications' kind of reason, said in words by the page
    reason: str  # notifications' own words, for district IT
    when: str


@dataclass(frozen=True)
class SchoolMessages:
    school: School
    counts: dict[str, int]
    campaigns: list[Campaign]
    unreached: list[Unreached]
    answered: bool = True  # False: notifications did not answer, nothing above is known


@router.get("/office/messages")
async def messages_page(
    request: Request,
    who: OfficeDep,
    api: NotificationsDep,
    portfolio: PortfolioDep,
    scheduling: SchedulingDep,
) -> Response:
    """The schools' messages by status, each campaign's (with its window), and the families
    not reached."""
    token, language = token_of(who), who.language
    schools = []
    for school in await schools_of(portfolio, who):
        report = accepted(await api.delivery_report(token, site=school.id))
        campaigns = accepted(await api.campaigns(token, site=school.id))
        unreached = accepted(await api.could_not_reach(token, site=school.id))
        # (A round's window by its name; the report names it by its id.)
        names = {
            str(window["id"]): str(window["name"])
            for window in await windows_of(scheduling, who, [school.id])
            if "id" in window and "name" in window
        }

        def when(value: Any, school: School = school) -> str:
            return written_moment(str(value), timezone=school.timezone, language=language)

        schools.append(
            SchoolMessages(
                school=school,
                counts=_counts(report.body.get("counts") if _is(report, dict) else None),
                campaigns=[
                    Campaign(
                        template=str(one["template"]) if one["template"] in CAMPAIGNS else "",
                        window=names.get(str(one.get("window_id"))),
                        started=when(one["started_at"]),
                        counts=_counts(one.get("counts")),
                        not_written=_number(one.get("not_written")),
                    )
                    for one in (campaigns.body if _is(campaigns, list) else [])
                ],
                unreached=[
                    Unreached(
                        family=str(one["display_name"]) if one.get("display_name") else None,
                        guardian_id=str(one["guardian_id"]),
                        student=str(one.get("student_name") or one["student_id"]),
                        template=str(one["template"]),
                        why=str(one.get("reason_kind") or "other"),
                        reason=str(one["reason"]),
                        when=when(one["at"]),
                    )
                    for one in (unreached.body if _is(unreached, list) else [])
                ],
                answered=_is(report, dict) and _is(campaigns, list) and _is(unreached, list),
            )
        )
    return page(
        request,
        who,
        "office_messages.html.j2",
        schools=schools,
        statuses=STATUSES,
        section="messages",
    )


def _is(answer: Any, kind: type) -> bool:
    return bool(answer.ok and isinstance(answer.body, kind))


def _counts(counts: Any) -> dict[str, int]:
    counts = counts if isinstance(counts, dict) else {}
    return {name: _number(counts.get(name)) for name in ("total", *STATUSES)}


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
