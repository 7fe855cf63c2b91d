"""Siblings back to back from the family's page: a family with two children books both
conferences one after the other in one form, all or nothing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.portfolio.tables import StaffMember
from services.scheduling.tables import RosterStudent
from services.scheduling.windows.tables import ConferenceWindow
from shared.auth import Role
from tests.integration.conftest import (
    FamilyLinkKeys,
    System,
    enroll,
    register_site,
    teaching_at,
)
from tests.scheduling_support import conference_window, open_times
from tests.support import auth, eventually
from tests.web.conftest import (
    Family,
    NewFamily,
    csrf_token,
    mint_link,
    signed_in,
    taken_by_others,
)
from tests.web.test_in_a_browser import (
    CHROMIUM,
    PHONE,
    passes_axe_in_spanish_on_a_phone,
    web_address,
)

__all__ = ["web_address"]  # (a fixture used here)


async def _two_children(system: System, keys: FamilyLinkKeys) -> tuple[Family, str]:
    """A guardian with two children in t-rivera's classes; returns the family (for the first
    child) and the second child's id."""
    tag = uuid.uuid4().hex[:8]
    guardian = f"g-{tag}"
    for n, name in enumerate(("Lia", "Max")):
        await enroll(
            system,
            student_id=f"s-{tag}-{n}",
            site="conway",
            given_name=name,
            guardian_id=guardian,
            teacher_id="t-rivera",
        )
    family = Family(f"s-{tag}-0", guardian, "Lia", mint_link(keys, guardian))
    return family, f"s-{tag}-1"


async def _bookings(system: System, student_id: str) -> list[dict[str, Any]]:
    response = await system.scheduling.get(
        "/bookings",
        params={"student_id": student_id},
        headers=auth("it-admin", Role.DISTRICT_ADMIN),
    )
    assert response.status_code == 200, response.text
    return [b for b in response.json() if b["status"] == "booked"]


async def test_a_family_books_two_children_one_after_the_other(
    web: httpx.AsyncClient,
    system: System,
    family_link_keys: FamilyLinkKeys,
    conference_times: list[dict[str, Any]],
) -> None:
    family, second = await _two_children(system, family_link_keys)
    home = await signed_in(web, family)
    assert "Come to school once" in home.text
    choose = await web.get("/family/together")
    assert choose.status_code == 200
    assert "Lia:" in choose.text and "Max:" in choose.text
    assert "Conway Elementary" not in choose.text  # one school: not named on every line
    chains = re.findall(r'name="chain" value="([^"]+)"', choose.text)
    assert chains, choose.text
    # The first, right one after the other, says no wait between them.
    first_option = choose.text.split('<div class="radio">')[1]
    assert "after the conference before" not in first_option, first_option

    # Nothing chosen, or something that is not one of the offers: asked again, nothing booked.
    for chain in ("", "not a chain", f"{conference_times[0]['id']}:{family.student_id}"):
        refused = await web.post(
            "/family/together", data={"csrf_token": csrf_token(choose), "chain": chain}
        )
        assert refused.status_code == 422, chain
        assert "There is a problem" in refused.text
    assert await _bookings(system, family.student_id) == []

    booked = await web.post(
        "/family/together", data={"csrf_token": csrf_token(choose), "chain": chains[0]}
    )
    assert booked.status_code == 303
    assert booked.headers["location"] == "/family?done=booked_together"
    assert "booked, one after another" in (await web.get(booked.headers["location"])).text
    [first] = await _bookings(system, family.student_id)
    [then] = await _bookings(system, second)
    assert first["chain_id"] and first["chain_id"] == then["chain_id"]
    assert {f"{first['slot_id']}:{family.student_id}", f"{then['slot_id']}:{second}"} == set(
        chains[0].split(",")
    )

    # Booked: the page no longer offers times together, and the same chain again is refused.
    again = await web.post(
        "/family/together", data={"csrf_token": csrf_token(choose), "chain": chains[0]}
    )
    assert again.status_code == 409, again.text
    assert "There is a problem" in again.text
    assert "Come to school once" not in (await web.get("/family")).text


async def test_a_time_taken_meanwhile_offers_the_times_together_still_free(
    web: httpx.AsyncClient,
    system: System,
    family_link_keys: FamilyLinkKeys,
    new_family: NewFamily,
    conference_times: list[dict[str, Any]],
) -> None:
    family, second = await _two_children(system, family_link_keys)
    await signed_in(web, family)
    choose = await web.get("/family/together")
    chain = re.findall(r'name="chain" value="([^"]+)"', choose.text)[0]
    taken_slot = chain.split(",")[1].partition(":")[0]
    await taken_by_others(system, new_family, [taken_slot])

    refused = await web.post(
        "/family/together", data={"csrf_token": csrf_token(choose), "chain": chain}
    )
    assert refused.status_code == 409, refused.text
    assert "One of those times has just been taken. Choose other times below." in refused.text
    assert "Join the waitlist" not in refused.text  # (no such link on this page)
    still = re.findall(r'name="chain" value="([^"]+)"', refused.text)
    assert still and chain not in still
    assert all(taken_slot not in offer for offer in still)
    assert await _bookings(system, family.student_id) == []
    assert await _bookings(system, second) == []


async def test_times_together_at_two_schools_name_each_school_and_teacher(
    web: httpx.AsyncClient,
    system: System,
    family_link_keys: FamilyLinkKeys,
    conference_times: list[dict[str, Any]],
) -> None:
    # Lia at Conway (t-rivera's times from 3 pm), Max at MJDS with Ms. Cohen: a chain crosses
    # town, so the family must see which school each conference is at.
    tag = uuid.uuid4().hex[:8]
    guardian, teacher = f"g-{tag}", f"t-{tag}"
    # (On the roster with her name, which the class's event gives to the pages.)
    async with system.apps["portfolio"].state.runtime.uow.transaction() as session:
        session.add(
            StaffMember(
                id=teacher,
                district="demo",
                given_name="Miriam",
                family_name="Cohen",
                role="teacher",
                sites=["mjds"],
            )
        )
    await enroll(
        system,
        student_id=f"s-{tag}-0",
        site="conway",
        given_name="Lia",
        guardian_id=guardian,
        teacher_id="t-rivera",
    )
    await enroll(
        system,
        student_id=f"s-{tag}-1",
        site="mjds",
        given_name="Max",
        guardian_id=guardian,
        teacher_id=teacher,
    )
    await teaching_at(system, teacher, "mjds")
    await conference_window(system.scheduling, site="mjds")
    last_at_conway = datetime.fromisoformat(conference_times[-1]["ends_at"])
    await open_times(
        system.scheduling,
        site="mjds",
        starts_at=last_at_conway + timedelta(minutes=20),
        count=1,
        teacher_id=teacher,
        room="Room 12",
    )
    home = await signed_in(
        web, Family(f"s-{tag}-0", guardian, "Lia", mint_link(family_link_keys, guardian))
    )
    # Not "come to school once": two schools, with time to get from one to the other.
    assert "Come to school once" not in home.text
    assert "with time to get from one school to the other." in home.text
    choose = await web.get("/family/together")
    assert choose.status_code == 200
    assert "from one school to the other. Times are each school" in choose.text
    options = re.findall(r'<div class="radio">(.*?)</div>', choose.text, re.S)
    assert options, choose.text
    for option in options:
        lia, max_ = option.split('<span class="chain-part">')[1:]
        assert "Lia:" in lia and "Conway Elementary" in lia and "MJDS" not in lia, option
        assert "Max:" in max_ and "MJDS" in max_ and "Room 12" in max_, option
        assert "With Miriam Cohen, Room 12" in max_ and teacher not in max_, option
        # The time to get from one school to the other is said (never "right after").
        assert "minutes after the conference before" not in lia, option
        assert re.search(r"\d+ minutes after the conference before", max_), option

    # Booked: the family's page says at which school each conference is.
    chain = re.findall(r'name="chain" value="([^"]+)"', choose.text)[0]
    booked = await web.post(
        "/family/together", data={"csrf_token": csrf_token(choose), "chain": chain}
    )
    assert booked.status_code == 303, booked.text
    home = (await web.get("/family")).text
    wheres = re.findall(r"<dt>Where</dt>\s*<dd>(.*?)</dd>", home, re.S)
    assert len(wheres) == 2, home
    assert {" ".join(where.split()) for where in wheres} == {
        f"{conference_times[0]['room']}<br>Conway Elementary",
        "Room 12<br>MJDS",
    }, wheres


async def test_a_conference_names_its_own_school_once_the_child_has_changed_school(
    web: httpx.AsyncClient,
    system: System,
    family: Family,
    conference_times: list[dict[str, Any]],
) -> None:
    # Booked at Conway, then the child moves to MJDS: the conference is still at Conway, and
    # the page must not send the family to the new school.
    await signed_in(web, family)
    booked = await system.scheduling.post(
        "/bookings",
        json={"slot_id": conference_times[0]["id"], "student_id": family.student_id},
        headers={"Authorization": f"Bearer {family.link}"},
    )
    assert booked.status_code == 201, booked.text
    await register_site(system, "mjds")
    moved = await system.portfolio.put(
        f"/roster/students/{family.student_id}",
        json={"site": "mjds", "given_name": family.name, "family_name": "Test", "grade": "03"},
        headers=auth("it-admin", Role.DISTRICT_ADMIN),
    )
    assert moved.status_code == 200, moved.text

    async def at_mjds() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            student = await session.get(RosterStudent, family.student_id)
            return student is not None and student.site == "mjds"

    await eventually(at_mjds, until=bool, timeout=15)
    overview = await system.scheduling.get(
        "/family", headers={"Authorization": f"Bearer {family.link}"}
    )
    (child,) = overview.json()["children"]
    assert child["school"] == "MJDS"
    (conference,) = child["conferences"]
    assert (conference["site"], conference["school"]) == ("conway", "Conway Elementary")
    home = (await web.get("/family")).text
    (where,) = re.findall(r"<dt>Where</dt>\s*<dd>(.*?)</dd>", home, re.S)
    assert " ".join(where.split()) == f"{conference_times[0]['room']}<br>Conway Elementary"
    # Conway's times are not the child's to move to now: the office moves it.
    assert "Change the time" not in home
    assert "To change this time, call the school office." in home


async def test_early_access_opens_booking_and_the_waitlist_for_a_family_with_several_children(
    web: httpx.AsyncClient,
    system: System,
    family_link_keys: FamilyLinkKeys,
    conference_times: list[dict[str, Any]],
) -> None:
    # Booking opens for everyone tomorrow; families with several children may book from now.
    window_id = conference_times[0]["window_id"]
    async with system.apps["scheduling"].state.runtime.uow.transaction() as session:
        window = await session.get(ConferenceWindow, window_id)
        assert window is not None
        window.opens_at = datetime.now(UTC) + timedelta(days=1)
        window.early_access_at = datetime.now(UTC) - timedelta(hours=1)
        session.add(window)
    family, _ = await _two_children(system, family_link_keys)
    overview = await system.scheduling.get(
        "/family", headers={"Authorization": f"Bearer {family.link}"}
    )
    assert {w["booking"] for c in overview.json()["children"] for w in c["windows"]} == {"open"}
    home = await signed_in(web, family)
    assert "Choose a time" in home.text
    assert "None of the times suit you? Join the waitlist" in home.text
    path = f"/family/children/{family.student_id}/waitlist"
    form = await web.get(path)
    assert form.status_code == 200, form.text
    window_field = re.search(r'name="window_id" value="([^"]+)"', form.text)
    assert window_field is not None and window_field.group(1) == window_id
    joined = await web.post(
        path,
        data={"csrf_token": csrf_token(form), "part_of_day": "any", "window_id": window_id},
    )
    assert joined.status_code == 303, joined.text
    # A family with one child waits for tomorrow.
    tag = uuid.uuid4().hex[:8]
    await enroll(
        system,
        student_id=f"s-{tag}",
        site="conway",
        given_name="Una",
        guardian_id=f"g-{tag}",
        teacher_id="t-rivera",
    )
    web.cookies.clear()
    one = await signed_in(
        web, Family(f"s-{tag}", f"g-{tag}", "Una", mint_link(family_link_keys, f"g-{tag}"))
    )
    assert "Booking opens on" in one.text and "Choose a time" not in one.text


async def test_one_child_is_not_offered_times_together(
    web: httpx.AsyncClient, family: Family
) -> None:
    home = await signed_in(web, family)
    assert "Come to school once" not in home.text
    page = await web.get("/family/together")
    assert page.status_code == 200
    assert "no times one after another" in page.text


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found on PATH: apt-get install chromium")
@pytest.mark.parametrize("system", ["sqlite"], indirect=True)
async def test_times_together_pass_axe_on_a_phone_in_spanish(
    web_address: str,
    system: System,
    family_link_keys: FamilyLinkKeys,
    conference_times: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    family, _ = await _two_children(system, family_link_keys)
    axe = Axe()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(
                viewport=PHONE, locale="es-MX", java_script_enabled=False
            )
            page = await context.new_page()
            await page.goto(f"{web_address}/f?link={family.link}")
            await page.get_by_role("link", name="Elegir horas seguidas").click()
            await passes_axe_in_spanish_on_a_phone(
                page, axe, name="together", screenshot=tmp_path / "together.png"
            )
            await page.get_by_role("button", name="Reservar estas horas").click()
            await page.get_by_text("Hay un problema").first.wait_for()
            await passes_axe_in_spanish_on_a_phone(
                page, axe, name="together-refused", screenshot=tmp_path / "refused.png"
            )
            await page.locator("input[name=chain]").first.check()
            await page.get_by_role("button", name="Reservar estas horas").click()
            await page.get_by_role("status").get_by_text("una después de la otra").wait_for()
        finally:
            await browser.close()
