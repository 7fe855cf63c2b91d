"""Conference week against the services running as processes (``make run``'s launcher and its
demo district), with every event checked on its Redis stream as another district system reads
it.

The demo opens conference week at MJDS and Conway's office opens its own; every family is
invited with its own link.
Wei books Ava's conference from his link and moves it; María finds that time full and joins the
waitlist; Wei cancels and María's Gio is booked in his place, which she hears in Spanish. Dana,
whose Noa is at MJDS and Sam at Conway, books both back to back in one request. Snow closes MJDS on the last day: Marcus's conference is cancelled and he goes to
the front of the waitlist. On a conference day at Conway, Gio is checked in and his conference
completed, and Ava's family does not come.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.e2e.test_make_run import Launcher
from tests.e2e.test_portfolio_story import Story, until
from tests.support import wait_for_room_today

pytestmark = pytest.mark.e2e

LA = ZoneInfo("America/Los_Angeles")
WINDOW_OPENED = "slc.scheduling.window.opened.v1"
BOOKED = "slc.scheduling.conference.booked.v1"
MOVED = "slc.scheduling.conference.moved.v1"
CANCELLED = "slc.scheduling.conference.cancelled.v1"
CHECKED_IN = "slc.scheduling.conference.checked_in.v1"
COMPLETED = "slc.scheduling.conference.completed.v1"
NO_SHOW = "slc.scheduling.conference.no_show.v1"
NUDGED = "slc.scheduling.families.nudged.v1"


class Week(Story):
    def ask(
        self, method: str, url: str, headers: dict[str, str], status: int = 200, **kwargs: Any
    ) -> Any:
        response = self.http.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, (method, url, response.status_code, response.text)
        return response.json() if response.content else None

    def mailbox(self, guardian: str) -> list[dict[str, Any]]:
        return list(
            self.ask(
                "GET", f"{self.env['NOTIFICATIONS_URL']}/mailbox", bearer(guardian_token(guardian))
            )
        )

    def link_of(self, guardian: str) -> dict[str, str]:
        """The family's link, as its invitation carries it."""
        invitations = until(
            lambda: [m for m in self.mailbox(guardian) if "link=" in m["body"]], bool
        )
        assert invitations, f"no invitation with a link for {guardian}"
        token = re.search(r"link=([A-Za-z0-9_.-]+)", invitations[-1]["body"])
        assert token
        return bearer(token.group(1))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def guardian_token(guardian: str) -> str:
    return mint_token(
        secret=DEV_JWT_SECRET,
        subject=guardian,
        role=Role.GUARDIAN,
        district="demo",
        ttl=timedelta(hours=1),
    )


@pytest.mark.timeout(300)
def test_conference_week_from_invitation_to_no_show(tmp_path: Path) -> None:
    # (Its own conference day at Conway, not the demo's.)
    launcher = Launcher(tmp_path, args=["--no-conference-today"])
    launcher.start()
    try:
        week = Week(launcher.demo_env())
        env = week.env
        scheduling, portfolio = env["SCHEDULING_URL"], env["PORTFOLIO_URL"]
        district = bearer(env["DISTRICT_ADMIN_TOKEN"])
        conway_office = bearer(env["CONWAY_ADMIN_TOKEN"])
        teacher = bearer(env["TEACHER_TOKEN"])

        # The demo opened conference week at MJDS; Conway's office opens its own. Every family
        # is invited, each with a link of its own.
        windows = {
            site: week.ask("GET", f"{scheduling}/windows", district, params={"site": site})[0]
            for site in ("conway", "mjds")
        }
        assert (windows["conway"]["booking"], windows["mjds"]["booking"]) == (
            "not_announced",
            "open",
        )
        windows["conway"] = week.ask(
            "POST", f"{scheduling}/windows/{windows['conway']['id']}/open", conway_office
        )
        assert windows["conway"]["booking"] == "open"
        for window in windows.values():
            opened = week.announced(WINDOW_OPENED, window_id=window["id"])
            assert (opened["first_day"], opened["name"]) == (window["first_day"], window["name"])
        wei, maria = week.link_of("g-wei"), week.link_of("g-maria")
        dana, marcus = week.link_of("g-dana"), week.link_of("g-marcus")
        assert "link=" not in str(week.events(WINDOW_OPENED))  # no credential on a stream

        # Wei books Ava's first free time from his link (Lin's waits), then moves it.
        page = week.ask("GET", f"{scheduling}/family", wei)
        ava, _lin = page["children"]
        assert (ava["student_id"], _lin["student_id"]) == ("s-ava", "s-lin")
        first, later = ava["free_times"][0], ava["free_times"][1]
        booked = week.ask(
            "POST",
            f"{scheduling}/bookings",
            wei,
            201,
            json={"slot_id": first["id"], "student_id": "s-ava"},
        )
        moved = week.ask(
            "POST",
            f"{scheduling}/bookings/{booked['id']}/move",
            wei,
            json={"slot_id": later["id"]},
        )
        assert (moved["id"], moved["slot_id"], moved["sequence"]) == (booked["id"], later["id"], 1)
        assert week.announced(BOOKED, booking_id=booked["id"])["slot_id"] == first["id"]
        assert week.announced(MOVED, booking_id=booked["id"])["previous_slot_id"] == first["id"]
        ics = week.http.get(f"{scheduling}/bookings/{booked['id']}/calendar.ics", headers=wei)
        assert ics.status_code == 200 and "SEQUENCE:1" in ics.text, ics.text

        # María wants the same time for Gio: full, so she joins the waitlist for that day.
        full = week.http.post(
            f"{scheduling}/bookings",
            headers=maria,
            json={"slot_id": later["id"], "student_id": "s-gio"},
        )
        assert full.status_code == 409 and full.json()["nearest_times"], full.text
        day = datetime.fromisoformat(later["starts_at"]).astimezone(LA).date().isoformat()
        waiting = week.ask(
            "POST",
            f"{scheduling}/waitlist",
            maria,
            201,
            json={"window_id": windows["conway"]["id"], "student_id": "s-gio", "day": day},
        )
        assert waiting["position"] == 1

        # Wei cancels: the freed seat goes to Gio at once, and María hears it in Spanish.
        week.ask("DELETE", f"{scheduling}/bookings/{booked['id']}", wei)
        assert week.announced(CANCELLED, booking_id=booked["id"])["student_id"] == "s-ava"
        promoted = week.announced(BOOKED, student_id="s-gio")
        assert (promoted["slot_id"], promoted["guardian_id"]) == (later["id"], "g-maria")
        (entry,) = week.ask(
            "GET", f"{scheduling}/waitlist", maria, params={"window_id": windows["conway"]["id"]}
        )
        assert (entry["status"], entry["booking_id"]) == ("booked", promoted["booking_id"])
        spanish = until(
            lambda: [m for m in week.mailbox("g-maria") if "horario" in m["subject"]], bool
        )
        assert spanish, week.mailbox("g-maria")

        # Dana, whose Noa is at MJDS and Sam at Conway, books both back to back in one request.
        family = until(
            lambda: week.ask("GET", f"{scheduling}/family", dana),
            lambda page: len(page["children"]) == 2 and page["sibling_options"],
        )
        chain = [
            {"slot_id": time_["slot"]["id"], "student_id": time_["student_id"]}
            for time_ in family["sibling_options"][0]
        ]
        assert {c["student_id"] for c in chain} == {"s-noa", "s-sam"}
        siblings = week.ask(
            "POST", f"{scheduling}/sibling-bookings", dana, 201, json={"bookings": chain}
        )["bookings"]
        chain_ids = {week.announced(BOOKED, booking_id=b["id"])["chain_id"] for b in siblings}
        assert len(chain_ids) == 1 and None not in chain_ids

        # Snow closes MJDS on the last day: Marcus's conference is cancelled, and he is first
        # on the waitlist.
        eli = week.ask("GET", f"{scheduling}/family", marcus)["children"][0]
        last_day = windows["mjds"]["last_day"]
        on_last_day = next(
            t
            for t in eli["free_times"]
            if datetime.fromisoformat(t["starts_at"]).astimezone(LA).date().isoformat() == last_day
        )
        snowed = week.ask(
            "POST",
            f"{scheduling}/bookings",
            marcus,
            201,
            json={"slot_id": on_last_day["id"], "student_id": "s-eli"},
        )
        week.ask(
            "POST",
            f"{scheduling}/windows/{windows['mjds']['id']}/days/{last_day}/cancel",
            district,
            json={"reason": "Snow day: school is closed"},
        )
        cancelled = week.announced(CANCELLED, booking_id=snowed["id"])
        assert cancelled["reason"] == "Snow day: school is closed", cancelled
        assert (cancelled["by_school"], cancelled["waitlisted"]) == (True, True)
        # (The family's link to book again is of use until the window's last day ends.)
        after = date.fromisoformat(last_day) + timedelta(days=1)
        assert datetime.fromisoformat(cancelled["links_until"]) == datetime(
            after.year, after.month, after.day, tzinfo=LA
        )
        (front,) = week.ask(
            "GET", f"{scheduling}/waitlist", district, params={"window_id": windows["mjds"]["id"]}
        )
        assert (front["student_id"], front["position"]) == ("s-eli", 1)

        # The office sees who has not booked at Conway, and nudges them.
        not_booked = week.ask(
            "GET", f"{scheduling}/windows/{windows['conway']['id']}/not-booked", conway_office
        )
        assert "s-ava" in str(not_booked)
        week.ask(
            "POST",
            f"{scheduling}/windows/{windows['conway']['id']}/nudges",
            conway_office,
            201,
            json={"student_ids": ["s-ava"]},
        )
        assert week.announced(NUDGED, window_id=windows["conway"]["id"])

        # Conference day at Conway: families at stations, Gio checked in and his conference
        # completed; Ava's family does not come.
        # (Booking closes ten minutes after it begins, on one day of the school's clock: just
        # before midnight, it waits. It begins far enough ahead for a busy machine to book it.)
        time.sleep(wait_for_room_today(11))
        starts = datetime.now(UTC) + timedelta(seconds=15)
        today = starts.astimezone(LA).date().isoformat()
        day_window = week.ask(
            "POST",
            f"{scheduling}/windows",
            conway_office,
            201,
            json={
                "site": "conway",
                "name": "Make-up conferences today",
                "first_day": today,
                "last_day": today,
                "opens_at": datetime.now(UTC).isoformat(),
                "closes_at": (starts + timedelta(minutes=10)).isoformat(),
                "change_cutoff_minutes": 0,
                "slot_minutes": 5,
                "buffer_minutes": 0,
            },
        )
        (station,) = week.ask(
            "POST",
            f"{scheduling}/windows/{day_window['id']}/blocks",
            conway_office,
            201,
            json={
                "teacher_id": "t-rivera",
                "room": "Library",
                "format": "stations",
                "capacity": 2,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=5)).isoformat(),
            },
        )["slots"]
        week.ask("POST", f"{scheduling}/windows/{day_window['id']}/open", conway_office)
        gio = week.ask(
            "POST",
            f"{scheduling}/bookings",
            maria,
            201,
            json={"slot_id": station["id"], "student_id": "s-gio"},
        )
        ava_today = week.ask(
            "POST",
            f"{scheduling}/bookings",
            wei,
            201,
            json={"slot_id": station["id"], "student_id": "s-ava"},
        )
        assert {gio["station"], ava_today["station"]} == {1, 2}
        week.ask("POST", f"{scheduling}/bookings/{gio['id']}/check-in", teacher)
        time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 0.3)
        day_view = week.ask(
            "GET", f"{scheduling}/teachers/t-rivera/day", teacher, params={"date": today}
        )
        (at_stations,) = [slot for slot in day_view["slots"] if slot["id"] == station["id"]]
        assert {(b["student_id"], b["status"]) for b in at_stations["bookings"]} == {
            ("s-gio", "checked_in"),
            ("s-ava", "booked"),
        }
        week.ask("POST", f"{scheduling}/bookings/{gio['id']}/complete", teacher)
        week.ask("POST", f"{scheduling}/bookings/{ava_today['id']}/no-show", teacher)
        assert week.announced(CHECKED_IN, booking_id=gio["id"])
        assert week.announced(COMPLETED, booking_id=gio["id"])["completed_by"] == "t-rivera"
        assert week.announced(NO_SHOW, booking_id=ava_today["id"])["student_id"] == "s-ava"

        # Portfolio opens María's feedback; notifications offers Wei a new time.
        assert until(
            lambda: week.ask(
                "GET",
                f"{portfolio}/students/s-gio/feedback-requests",
                bearer(env["GIO_GUARDIAN_TOKEN"]),
            ),
            bool,
        )
        assert until(
            lambda: [m for m in week.mailbox("g-wei") if "new time" in m["subject"].lower()], bool
        ), week.mailbox("g-wei")

        figures = week.ask("GET", f"{scheduling}/windows/{day_window['id']}/figures", conway_office)
        totals = figures["totals"]
        # Gio, Ava, Lin, Sam and Minh invited; Gio's conference held; Ava's family did not come.
        assert (totals["invited"], totals["booked"], totals["attended"], totals["no_show"]) == (
            5,
            1,
            1,
            1,
        ), figures
    finally:
        assert launcher.stop() == 0
    launcher.assert_stopped_cleanly_and_kept_its_secrets()
