"""How the family pages write what scheduling says of a family."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.web.family.view import child_view, children


def _slot(slot_id: str, teacher: str, hour: int) -> dict[str, object]:
    return {
        "id": slot_id,
        "starts_at": f"2026-12-11T{hour}:00:00+00:00",
        "ends_at": f"2026-12-11T{hour}:20:00+00:00",
        "timezone": "America/Los_Angeles",
        "room": "Room 4",
        "mode": "in_person",
        "teacher_id": teacher,
    }


def test_each_free_time_names_its_teacher_as_the_roster_names_them() -> None:
    child = child_view(
        {
            "student_id": "s-ava",
            "given_name": "Ava",
            "site": "conway",
            "teacher_names": {"t-rivera": "Ana Rivera"},
            "free_times": [_slot("one", "t-rivera", 23), _slot("two", "t-cohen", 22)],
        },
        language="en",
    )
    [day] = child.free_days
    assert day.heading == "Fri, December 11"
    # Named when the roster gives a name; else the roster's id, never nothing.
    assert [(time.slot_id, time.teacher) for time in day.times] == [
        ("one", "Ana Rivera"),
        ("two", "t-cohen"),
    ]
    assert child.teacher_names == {"t-rivera": "Ana Rivera"}


def test_a_conference_names_the_school_of_its_time_when_the_family_has_two() -> None:
    conference = {
        "booking_id": "b-1",
        "status": "booked",
        "starts_at": "2026-12-11T23:00:00+00:00",
        "ends_at": "2026-12-11T23:20:00+00:00",
        "timezone": "America/Los_Angeles",
        "teacher_id": "t-rivera",
        "room": "Room 4",
        "mode": "in_person",
    }
    family = {
        "children": [
            {
                "student_id": "s-ava",
                "given_name": "Ava",
                "site": "mjds",
                "school": "MJDS",
                # Booked at Conway before Ava moved to MJDS.
                "conferences": [conference | {"site": "conway", "school": "Conway Elementary"}],
            },
            {
                "student_id": "s-max",
                "given_name": "Max",
                "site": "conway",
                # (An answer naming no site for its conference: the child's school, not a 500.)
                "conferences": [conference | {"booking_id": "b-2"}],
            },
        ]
    }
    ava, max_ = children(family, language="en")
    assert [c.school for c in ava.conferences] == ["Conway Elementary"]
    assert [c.school for c in max_.conferences] == ["conway"]


def test_a_conference_begun_outside_the_familys_windows_never_keeps_them_from_booking() -> None:
    """Held (checked in or completed) in a window the family was not invited to (the school
    booked it before opening booking), a recent conference is shown; a stale one, or one while
    another window is open to book, is not."""
    now = datetime.now(UTC)

    def begun(status: str, ended_ago: timedelta) -> dict[str, object]:
        ends = now - ended_ago
        return {
            "booking_id": f"b-{status}",
            "status": status,
            "starts_at": (ends - timedelta(minutes=20)).isoformat(),
            "ends_at": ends.isoformat(),
            "timezone": "America/Los_Angeles",
            "teacher_id": "t-rivera",
            "room": "Room 4",
            "window_id": "w-before-opening",
        }

    def minh(conference: dict[str, object], *windows: dict[str, object]) -> Any:
        return child_view(
            {
                "student_id": "s-minh",
                "given_name": "Minh",
                "site": "conway",
                "conferences": [conference],
                "windows": list(windows),
            },
            language="en",
        ).held

    open_window = {"id": "w-spring", "name": "Spring", "booking": "open"}
    for status in ("checked_in", "completed"):
        assert minh(begun(status, timedelta(minutes=5))) is not None, status
        assert minh(begun(status, timedelta(days=15))) is None, status
        assert minh(begun(status, timedelta(minutes=5)), open_window) is None, status
    # Its own window among the family's: shown, as it always was.
    known = {"id": "w-before-opening", "name": "Fall", "booking": "open"}
    assert minh(begun("completed", timedelta(days=30)), known) is not None


def test_a_time_at_a_brothers_conference_is_marked_and_one_close_to_another_school_says_how_close() -> (
    None
):
    """Noa at MJDS is booked 3:00-3:20 pm: Sam's times at Conway at the same moment cannot be
    chosen, one 10 minutes after says so; one at Noa's own school right after is not marked, nor
    is anything once Noa's conference has been cancelled."""
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()

    def at(hour: int, minute: int) -> str:
        return f"{day}T{hour:02d}:{minute:02d}:00+00:00"

    def time(slot_id: str, site: str, hour: int, minute: int) -> dict[str, Any]:
        end_minute = minute + 20
        return {
            "id": slot_id,
            "site": site,
            "starts_at": at(hour, minute),
            "ends_at": at(hour + end_minute // 60, end_minute % 60),
            "timezone": "UTC",
            "room": "Room 4",
            "mode": "in_person",
            "teacher_id": "t-rivera",
        }

    noa = {
        "student_id": "s-noa",
        "given_name": "Noa",
        "site": "mjds",
        "school": "MJDS",
        "conferences": [
            {
                "booking_id": "b-noa",
                "status": "booked",
                "site": "mjds",
                "school": "MJDS",
                "starts_at": at(15, 0),
                "ends_at": at(15, 20),
                "timezone": "UTC",
                "teacher_id": "t-cohen",
                "room": "Room 1",
                "mode": "in_person",
            }
        ],
    }
    sam = {
        "student_id": "s-sam",
        "given_name": "Sam",
        "site": "conway",
        "school": "Conway Elementary",
        "free_times": [
            time("same", "conway", 15, 10),
            time("soon-after", "conway", 15, 30),
            time("at-mjds", "mjds", 15, 20),
            time("later", "conway", 16, 0),
            time("just-before", "conway", 14, 25),
        ],
    }
    family = {"children": [noa, sam], "sibling_travel_minutes": 20}
    _, sam_view = children(family, language="en")
    marks = {
        choice.slot_id: sam_view.beside(choice)
        for day in sam_view.free_days
        for choice in day.times
    }
    assert marks["same"] is not None and (marks["same"].kind, marks["same"].name) == (
        "same_time",
        "Noa",
    )
    after = marks["soon-after"]
    assert after is not None and (after.kind, after.minutes, after.after, after.school) == (
        "near",
        10,
        True,
        "MJDS",
    )
    before = marks["just-before"]
    assert before is not None and (before.minutes, before.after) == (15, False)
    assert marks["at-mjds"] is None and marks["later"] is None
    # A form sent for the clashing time all the same is refused by the page (``clashes_at``).
    assert sam_view.clashes_at("same") and not sam_view.clashes_at("soon-after")
    assert not sam_view.clashes_at("no-such-time") and not sam_view.clashes_at(None)
    # Noa's own page marks nothing: Sam has no conference.
    noa_view, _ = children(family, language="en")
    assert noa_view.others == ()
    cancelled = noa | {"conferences": [noa["conferences"][0] | {"status": "cancelled"}]}
    _, free = children(family | {"children": [cancelled, sam]}, language="en")
    assert all(free.beside(choice) is None for day in free.free_days for choice in day.times)
