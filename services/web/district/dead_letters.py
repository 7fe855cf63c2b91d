"""The services' dead letters for district IT: per service, the events its consumer group gave
up on (why, after how many attempts, when), each with a button that replays it to that group
(a form that posts, then comes back to the list: post/redirect/get)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.district.operations_api import SERVICES, OperationsApi, listed
from services.web.district.roster_imports_view import written_moment
from services.web.district.signed_in import DistrictDep, OperationsDep
from services.web.forms import checked_form
from services.web.pages import Visitor, page
from services.web.staff.signed_in import accepted, token_of
from services.web.troubles import Trouble, TroublePage

router = APIRouter()
PAGE = "/district/dead-letters"
# As the services name them (shared/messaging/dead_letters_api.py): nothing else goes in a path.
_STREAM = re.compile(r"[A-Za-z0-9._-]{1,200}")
_LETTER = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


@dataclass(frozen=True)
class LetterView:
    stream: str
    id: str
    event_type: str
    event_id: str
    attempts: int
    error: str
    when: str


@dataclass(frozen=True)
class ServiceLetters:
    name: str
    answered: bool
    letters: list[LetterView]


@router.get(PAGE)
async def dead_letters(
    request: Request,
    who: DistrictDep,
    apis: OperationsDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Every service's dead letters, oldest first."""
    return await _letters_page(request, who, apis, done=done == "replayed")


@router.post(PAGE + "/{service}/{stream}/{letter_id}/replay")
async def replay_letter(
    request: Request,
    service: str,
    stream: str,
    letter_id: str,
    who: DistrictDep,
    apis: OperationsDep,
) -> Response:
    """Hand the event back to the service's consumer group."""
    await checked_form(request, who)
    if service not in SERVICES or not _STREAM.fullmatch(stream) or not _LETTER.fullmatch(letter_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await apis[service].replay(token_of(who), stream=stream, letter_id=letter_id))
    if answer.ok:
        return RedirectResponse(f"{PAGE}?done=replayed#service-{service}", status_code=303)
    refusal = {403: "not_allowed", 404: "gone"}.get(answer.status, "refused")
    status = answer.refused_status
    return await _letters_page(request, who, apis, refusal=refusal, status=status)


async def _letters_page(
    request: Request,
    who: Visitor,
    apis: dict[str, OperationsApi],
    *,
    done: bool = False,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    services = await asyncio.gather(  # (asked at once: one slow to answer holds up no other)
        *(_letters_of(name, apis[name], token_of(who), language=who.language) for name in SERVICES)
    )
    return page(
        request,
        who,
        "district_dead_letters.html.j2",
        status=status,
        services=services,
        done=done,
        refusal=refusal,
        section="dead_letters",
    )


async def _letters_of(
    name: str, api: OperationsApi, token: str, *, language: str
) -> ServiceLetters:
    """A service's letters; one that does not answer is said so, the others still shown."""
    body = await listed(api.dead_letters(token))
    if body is None:
        return ServiceLetters(name, answered=False, letters=[])
    return ServiceLetters(
        name,
        answered=True,
        letters=[
            LetterView(
                stream=str(letter["stream"]),
                id=str(letter["id"]),
                event_type=str(letter.get("event_type", "")),
                event_id=str(letter.get("event_id", "")),
                attempts=int(letter.get("attempts", 0)),
                error=str(letter.get("error", "")),
                when=written_moment(str(letter.get("dead_lettered_at", "")), language=language),
            )
            for letter in body
            if isinstance(letter, dict)
        ],
    )
