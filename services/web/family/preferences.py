"""The family's message preferences: how the school sends each kind of message, quiet hours,
and the hour of the daily portfolio digest; read from and saved to notifications with the
family's link (notifications decides, and says why it refuses)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from services.web.family.preferences_view import (
    DIGEST_HOURS,
    KINDS,
    PreferencesForm,
    PreferencesRefusal,
    field_of_refusal,
    form_of,
    posted_form,
    preferences_body,
    refusal_of_preferences,
    times_offered,
    zone_named,
    zones_offered,
)
from services.web.family.signed_in import FamilyDep, accepted, family_data, session_of
from services.web.forms import checked_form
from services.web.languages import LANGUAGES, own_name
from services.web.notifications_api import NotificationsApi
from services.web.pages import Visitor, page
from services.web.scheduling_api import SchedulingApi
from services.web.service_api import is_id
from services.web.service_clients import NotificationsDep, SchedulingDep
from services.web.troubles import Trouble, TroublePage
from services.web.written_times import written_time_of_day

router = APIRouter()


async def guardian_of(api: SchedulingApi, who: Visitor) -> str:
    """The guardian the family's link stands for, as scheduling verified it."""
    guardian_id = (await family_data(api, who)).get("guardian_id")
    if not isinstance(guardian_id, str) or not is_id(guardian_id):
        raise TroublePage(Trouble.LINK_REFUSED, 403, sign_out=True)
    return guardian_id


async def saved_preferences(
    api: NotificationsApi, who: Visitor, guardian_id: str
) -> dict[str, Any]:
    """The guardian's preferences as notifications keeps them."""
    answer = accepted(await api.preferences(session_of(who).credential, guardian_id=guardian_id))
    if not answer.ok or not isinstance(answer.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return answer.body


def _preferences_page(
    request: Request,
    who: Visitor,
    form: PreferencesForm,
    *,
    refusal: PreferencesRefusal | None = None,
    error_at: str = "main",
    status: int = 200,
) -> Response:
    language = who.language
    return page(
        request,
        who,
        "preferences.html.j2",
        status=status,
        form=form,
        kinds=KINDS,
        times=[
            (value, written_time_of_day(int(value[:2]), int(value[3:]), language=language))
            for value in times_offered(form)
        ],
        digest_hours=[
            (hour, written_time_of_day(int(hour), 0, language=language)) for hour in DIGEST_HOURS
        ],
        zones=_zones(form, language),
        # (The languages the messages are written in, each in its own words.)
        message_languages=[(tag, own_name(tag)) for tag in LANGUAGES],
        refusal=refusal.value if refusal else None,
        error_at=error_at,
        error_field={
            "logistics": "logistics-usual",
            "news": "news-usual",
            "quiet": "quiet_from",
        }.get(error_at, "main"),
    )


def _zones(form: PreferencesForm, language: str) -> list[tuple[str, str]]:
    """The zones to choose from, with the guardian's own first if the list has no name for it."""
    zones = list(zones_offered(language))
    if form.timezone and form.timezone not in dict(zones):
        zones.insert(0, (form.timezone, zone_named(form.timezone, language)))
    return zones


@router.get("/family/preferences")
async def preferences_form(
    request: Request, who: FamilyDep, scheduling: SchedulingDep, api: NotificationsDep
) -> Response:
    """How the guardian hears from the school, to see and change."""
    guardian_id = await guardian_of(scheduling, who)
    return _preferences_page(request, who, form_of(await saved_preferences(api, who, guardian_id)))


@router.post("/family/preferences")
async def save_preferences(
    request: Request, who: FamilyDep, scheduling: SchedulingDep, api: NotificationsDep
) -> Response:
    """Save the guardian's choices with notifications."""
    fields = await checked_form(request, who)
    guardian_id = await guardian_of(scheduling, who)
    saved = await saved_preferences(api, who, guardian_id)
    form = posted_form(fields)
    if form is not None:
        form = replace(form, texts_stopped=form_of(saved).texts_stopped)
    if form is None:
        return _preferences_page(
            request, who, form_of(saved), refusal=PreferencesRefusal.INVALID, status=422
        )
    answer = accepted(
        await api.save_preferences(
            session_of(who).credential, guardian_id=guardian_id, preferences=preferences_body(form)
        )
    )
    if answer.ok:
        return RedirectResponse("/family?done=preferences", status_code=303)
    refusal = refusal_of_preferences(answer)
    status = answer.refused_status
    return _preferences_page(
        request,
        who,
        form,
        refusal=refusal,
        error_at=field_of_refusal(refusal, form),
        status=status,
    )
