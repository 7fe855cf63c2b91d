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
