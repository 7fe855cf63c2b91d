"""The family's message preferences against the real services: read from notifications with the
family's link, saved and read back, notifications' refusals said in words next to the field,
CSRF, and odd input."""

from __future__ import annotations

import html
from typing import Any

import httpx

from services.notifications.tables import SmsOptOut
from tests.integration.conftest import ADMIN, System, add_contact
from tests.web.conftest import Family, csrf_token, signed_in


async def preferences_of(system: System, family: Family) -> dict[str, Any]:
    response = await system.notifications.get(
        f"/guardians/{family.guardian_id}/preferences",
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def checked(page: httpx.Response, field_id: str) -> bool:
    """Whether the radio or checkbox with this id is checked on the page."""
    return f'id="{field_id}" ' in page.text and any(
        f'id="{field_id}"' in line and " checked" in line for line in page.text.splitlines()
    )


def selected(page: httpx.Response, value: str) -> bool:
    return f'<option value="{value}" selected>' in page.text


async def test_preferences_are_saved_and_read_back(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await add_contact(system, guardian_id=family.guardian_id, site="conway", language="en")
    home = await signed_in(web, family)
    assert "/family/preferences" in home.text
    form = await web.get("/family/preferences")
    assert form.status_code == 200
    assert checked(form, "logistics-usual") and checked(form, "news-usual")
    assert not checked(form, "quiet") and selected(form, "18")
    assert "6:00\u202fPM" in form.text or "6:00 PM" in form.text

    saved = await web.post(
        "/family/preferences",
        data={
            "csrf_token": csrf_token(form),
            "logistics": "email",
            "news": "none",
            "quiet": "on",
            "quiet_from": "21:30",
            "quiet_until": "07:00",
            "digest_hour": "19",
            "timezone": "America/Chicago",
            "language": "es",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/family?done=preferences"
    assert "Your message preferences are saved." in (await web.get("/family?done=preferences")).text
    kept = await preferences_of(system, family)
    assert kept["channels"] == {"logistics": ["email"]}
    assert kept["opted_out"] == ["news"]
    assert kept["quiet_hours"] == {"from": "21:30:00", "until": "07:00:00"}
    assert kept["digest_hour"] == 19
    assert kept["timezone"] == "America/Chicago"
    assert kept["language"] == "es"  # (the messages', not the pages')

    again = await web.get("/family/preferences", params={"lang": "es"})
    assert checked(again, "logistics-email") and checked(again, "news-none")
    assert checked(again, "quiet")
    assert selected(again, "21:30") and selected(again, "07:00") and selected(again, "19")
    assert "Cómo le envía mensajes la escuela" in html.unescape(again.text)
    # Each language in its own words, the one chosen selected.
    assert '<option value="es" lang="es" selected>Español</option>' in html.unescape(again.text)
    assert '<option value="vi" lang="vi">Tiếng Việt</option>' in html.unescape(again.text)
    # The zone, named by its place in the family's language (the school's is the first choice).
    assert '<option value="America/Chicago" selected>hora de Estados Unidos (Chicago)</option>' in (
        html.unescape(again.text)
    )
    back = await web.post(
        "/family/preferences",
        data={"csrf_token": csrf_token(again), "digest_hour": "19", "timezone": ""},
    )
    assert back.status_code == 303, back.text
    assert (await preferences_of(system, family))["timezone"] is None
    # (Left out: the language the school has on file again.)
    assert (await preferences_of(system, family))["language"] is None
    # A zone the list does not offer, saved elsewhere (the API), is shown and kept on saving.
    saved_elsewhere = await system.notifications.put(
        f"/guardians/{family.guardian_id}/preferences",
        json={"timezone": "UTC", "digest_hour": 19},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert saved_elsewhere.status_code == 200, saved_elsewhere.text
    shown = await web.get("/family/preferences")
    assert '<option value="UTC" selected>' in shown.text
    kept = await web.post(
        "/family/preferences",
        data={"csrf_token": csrf_token(shown), "digest_hour": "20", "timezone": "UTC"},
    )
    assert kept.status_code == 303, kept.text
    assert (await preferences_of(system, family))["timezone"] == "UTC"


async def test_a_refusal_from_notifications_is_said_next_to_the_field_in_the_familys_language(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await add_contact(system, guardian_id=family.guardian_id, site="conway", language="en")
    await signed_in(web, family)
    form = await web.get("/family/preferences")
    refused = await web.post(
        "/family/preferences",
        data={"csrf_token": csrf_token(form), "logistics": "usual", "news": "sms"},
        params={"lang": "es"},
    )
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert 'id="news-error"' in refused.text and 'href="#news-usual"' in refused.text
    assert "no tiene un número de teléfono móvil" in text
    assert checked(refused, "news-sms")  # (the family's choice is kept on the page)

    same = await web.post(
        "/family/preferences",
        data={
            "csrf_token": csrf_token(form),
            "quiet": "on",
            "quiet_from": "21:00",
            "quiet_until": "21:00",
        },
        params={"lang": "en"},
    )
    assert same.status_code == 422
    assert 'id="quiet-error"' in same.text
    assert "Quiet hours must begin and end at different times." in same.text
    assert (await preferences_of(system, family))["channels"] == {}


async def test_without_csrf_or_with_odd_input_nothing_changes(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    await signed_in(web, family)
    form = await web.get("/family/preferences")
    forged = await web.post("/family/preferences", data={"news": "none"})
    assert forged.status_code == 403
    for data in (
        {"logistics": "fax"},
        {"digest_hour": "99"},
        {"digest_hour": "-1"},
        {"quiet": "on", "quiet_from": "25:00"},
        {"quiet": "on", "quiet_until": "7 o'clock"},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "Etc/GMT+55"},
        {"timezone": "x" * 300},  # (a name no file system holds: Babel raised OSError)
        {"language": "fr"},  # (no message is written in it)
    ):
        refused = await web.post(
            "/family/preferences", data={"csrf_token": csrf_token(form), **data}
        )
        assert refused.status_code == 422, data
        assert "These choices could not be saved." in refused.text
    assert (await preferences_of(system, family))["opted_out"] == []
    web.cookies.clear()
    assert (await web.get("/family/preferences")).status_code == 401


async def test_a_family_whose_number_replied_stop_is_told_texts_are_off_and_how_to_restart(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """Marcus replied STOP: his preferences page says no text goes to his number whatever he
    chooses, and that replying START brings them back (notifications' ``texts_stopped``)."""
    saved = await system.notifications.put(
        f"/contacts/{family.guardian_id}",
        json={
            "site": "conway",
            "display_name": "Marcus",
            "phone": "+15035550177",
            "language": "en",
        },
        headers=ADMIN,
    )
    assert saved.status_code == 200, saved.text
    await signed_in(web, family)
    before = await web.get("/family/preferences")
    assert 'id="texts-stopped"' not in before.text
    async with system.apps["notifications"].state.runtime.uow.transaction() as session:
        session.add(SmsOptOut(phone="+15035550177", keyword="STOP"))
    after = await web.get("/family/preferences")
    said = html.unescape(after.text)
    assert "asked the school to stop its text messages (STOP)" in said
    assert "reply START to a text from the school" in said
    assert (await preferences_of(system, family))["texts_stopped"] is True
