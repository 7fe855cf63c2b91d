"""A family told when: booking that has not opened says when it opens, a change too close to the
conference says until when it was possible online and to call the office, both in the
family's language on the school's clock (scheduling refuses; the page says it in words)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.integration.conftest import System, register_site
from tests.scheduling_support import conference_window, open_times
from tests.web.conftest import Family, NewFamily, csrf_token, offered_times, signed_in, text_of

CONWAY = ZoneInfo("America/Los_Angeles")


def at_eight_in_three_days() -> datetime:
    day = datetime.now(CONWAY).date() + timedelta(days=3)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=CONWAY)


async def test_before_booking_opens_the_family_is_told_when_it_opens(
    web: httpx.AsyncClient, system: System, new_family: NewFamily
) -> None:
    await register_site(system, "conway")
    opens = at_eight_in_three_days()
    await conference_window(
        system.scheduling,
        site="conway",
        opens_at=opens.isoformat(),
        first_day=(opens.date() + timedelta(days=1)).isoformat(),
        last_day=(opens.date() + timedelta(days=3)).isoformat(),
        closes_at=(opens + timedelta(days=3)).isoformat(),
    )
    family: Family = await new_family()

    home = text_of(await signed_in(web, family))

    day = f"{opens:%A}, {opens:%B} {opens.day}, {opens.year}"
    assert f"Booking opens on {day}, 8:00\u202fAM" in home, home
    spanish = text_of(await web.get("/family", params={"lang": "es"}))
    assert "Las reservas se abren el" in spanish, spanish
    assert "8:00" in spanish


async def test_a_change_too_close_to_the_conference_says_until_when_and_to_call_the_office(
    web: httpx.AsyncClient, system: System, new_family: NewFamily
) -> None:
    await register_site(system, "conway")
    window = await conference_window(
        system.scheduling, site="conway", change_cutoff_minutes=7 * 24 * 60
    )
    starts = datetime.now(UTC).replace(hour=22, minute=0, second=0, microsecond=0)
    starts += timedelta(days=2)
    await open_times(
        system.scheduling,
        site="conway",
        starts_at=starts,
        count=2,
        teacher_id="t-rivera",
        window=window,
    )
    family = await new_family()
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    booked = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(choose), "slot_id": offered_times(choose)[0]},
    )
    assert booked.status_code == 303, booked.text
    home = await web.get("/family")
    booking_id = home.text.split("/family/bookings/", 1)[1].split("/", 1)[0]
    # Scheduling says until when it could change online; the page offers no change or
    # cancellation it would refuse, and says whom to call.
    listed = await system.scheduling.get(
        "/family", headers={"Authorization": f"Bearer {family.link}"}
    )
    (conference,) = listed.json()["children"][0]["conferences"]
    assert datetime.fromisoformat(conference["changes_until"]) == starts - timedelta(days=7)
    shown = text_of(home)
    assert "Change the time" not in shown and "Cancel the conference" not in shown, shown
    assert (
        "It is too near the conference to change it here. To change or cancel it, call the"
        " school office." in shown
    ), shown

    confirm = await web.get(f"/family/bookings/{booking_id}/cancel")
    refused = await web.post(
        f"/family/bookings/{booking_id}/cancel", data={"csrf_token": csrf_token(confirm)}
    )

    assert refused.status_code == 409
    cutoff = (starts - timedelta(days=7)).astimezone(CONWAY)
    said = text_of(refused)
    assert "This conference could be changed online until" in said, said
    assert f"{cutoff:%B} {cutoff.day}, {cutoff.year}" in said
    assert "Please call the school office to change or cancel it." in said
    assert "try again" not in said

    move = await web.get(f"/family/bookings/{booking_id}/move")
    moved = await web.post(
        f"/family/bookings/{booking_id}/move",
        data={"csrf_token": csrf_token(move), "slot_id": offered_times(move)[0]},
    )
    assert moved.status_code == 409
    assert "could be changed online until" in text_of(moved)
    # (Last: the page's language stays the one chosen.)
    spanish = text_of(await web.get("/family", params={"lang": "es"}))
    assert "Ya no se puede cambiar aquí porque la conferencia es muy pronto." in spanish, spanish
