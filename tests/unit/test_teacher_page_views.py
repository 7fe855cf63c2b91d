"""The teacher pages' pure parts: a sibling the teacher may not see is only a time on the day
view; a capacity that is not a number is said so on the availability form; a student of
another school stands on the classes page as their own school's window says."""

from __future__ import annotations

from datetime import date

import pytest

from services.web.staff.availability_view import FormProblem, block_request, read_block_form
from services.web.staff.classes_view import Bookings, class_view, conference_state
from services.web.staff.day_view import SiblingView, conference_day
from services.web.staff.review_view import pieces_to_review

SLOT = {
    "site": "conway",
    "timezone": "America/Los_Angeles",
    "starts_at": "2026-12-09T00:00:00+00:00",
    "ends_at": "2026-12-09T00:20:00+00:00",
    "room": "Room 4",
    "mode": "in_person",
    "seats_left": 0,
}
BOOKING = {"id": "b-1", "student_id": "s-ava", "given_name": "Ava", "status": "booked"}
LEO = {
    "booking_id": "b-2",
    "student_id": "s-leo",
    "given_name": "Leo",
    "teacher_id": "t-park",
    "site": "conway",
    "school": "Conway Elementary",
    "room": "Room 7",
    "starts_at": "2026-12-09T00:20:00+00:00",
    "ends_at": "2026-12-09T00:40:00+00:00",
    "status": "booked",
}
HIDDEN = LEO | {"student_id": None, "given_name": None, "teacher_id": None, "room": None}


def test_a_sibling_is_named_only_when_scheduling_names_them() -> None:
    day = conference_day(
        {"slots": [SLOT | {"bookings": [BOOKING | {"siblings": [LEO, HIDDEN]}]}]},
        day=date(2026, 12, 8),
        language="en",
    )
    seen, hidden = day.times[0].families[0].siblings
    assert seen == SiblingView(name="Leo", time=seen.time, room="Room 7", teacher="t-park")
    assert hidden == SiblingView(name=None, time=seen.time, room=None, teacher=None)
    assert "4:20" in seen.time and "4:40" in seen.time


def test_a_siblings_conference_at_another_school_names_that_school() -> None:
    """Dana's Noa at MJDS, then Sam at Conway: Sam's teacher sees why the family comes when it
    does (a time at another school, with the way between), not just a time."""
    at_mjds = HIDDEN | {"site": "mjds", "school": "MJDS"}
    unnamed = HIDDEN | {"site": "parks", "school": None}
    day = conference_day(
        {"slots": [SLOT | {"bookings": [BOOKING | {"siblings": [at_mjds, LEO, unnamed]}]}]},
        day=date(2026, 12, 8),
        language="en",
    )
    other, same, not_named = day.times[0].families[0].siblings
    assert (other.name, other.school) == (None, "MJDS")
    assert (same.name, same.school) == ("Leo", None)
    # (A school the roster has not named yet is called by its id.)
    assert not_named.school == "parks"


def test_a_sibling_is_with_the_teacher_the_roster_names_and_a_video_call_says_so() -> None:
    named = LEO | {"teacher_name": "Sam Park", "mode": "virtual", "room": "Online"}
    day = conference_day(
        {"slots": [SLOT | {"bookings": [BOOKING | {"siblings": [named]}]}]},
        day=date(2026, 12, 8),
        language="es",
    )
    (sibling,) = day.times[0].families[0].siblings
    assert (sibling.teacher, sibling.virtual) == ("Sam Park", True)


def test_a_capacity_that_python_calls_a_digit_but_is_no_number_is_refused_in_words() -> None:
    fields = {"day": "2026-12-09", "starts": "15:00", "ends": "16:00", "room": "Gym"}
    for capacity in ("³", "x", ""):
        form = read_block_form(fields | {"format": "stations", "capacity": capacity})
        problem = block_request(form, timezone="America/Los_Angeles")
        assert problem == FormProblem.CAPACITY_NOT_A_NUMBER, capacity
    form = read_block_form(fields | {"format": "stations", "capacity": "4"})
    assert isinstance(block_request(form, timezone="America/Los_Angeles"), dict)


def test_a_student_of_another_school_stands_as_their_own_schools_window_says() -> None:
    """Mia is in a Conway class but enrolled at MJDS, where her conference is: not on Conway's
    not-booked list does not make her booked; MJDS's list says she has not booked."""

    def student(student_id: str, site: str) -> dict[str, object]:
        return {
            "student_id": student_id,
            "given_name": student_id,
            "family_name": "Test",
            "site": site,
            "guardians": 1,
            "evidence": {"total": 0, "submitted": 0},
            "reflections": 0,
            "goals": {"active": 0, "achieved": 0},
            "plan": "none",
        }

    overview = {
        "id": "c-1",
        "title": "Room 4",
        "site": "conway",
        "cycle": None,
        "students": [student("s-ava", "conway"), student("s-mia", "mjds")],
    }
    conway = Bookings(
        window_name="Fall at Conway", invited=True, standing={"s-ava": {"conference": "booked"}}
    )
    mjds = Bookings(window_name="Fall at MJDS", invited=True, standing={"s-mia": {}})
    view = class_view(overview, bookings={"conway": conway, "mjds": mjds})
    assert [row.conference for row in view.students] == ["booked", "not_booked"]
    assert view.window == "Fall at Conway"
    alone = class_view(overview, bookings={"conway": conway})
    assert [row.conference for row in alone.students] == ["booked", "no_window"]


@pytest.mark.parametrize(
    ("standing", "shown"),
    [
        ({"conference": "booked"}, "booked"),
        ({"conference": "checked_in"}, "checked_in"),
        ({"conference": "completed"}, "held"),
        ({"conference": None, "missed_conference": True}, "missed"),
        ({"conference": None, "waitlisted": True, "missed_conference": True}, "waitlisted"),
        ({"conference": None}, "not_booked"),
        # Not listed by scheduling yet (the roster's news on its way): not known, not booked.
        (None, "unknown"),
    ],
)
def test_a_students_row_says_where_their_conference_stands(
    standing: dict[str, object] | None, shown: str
) -> None:
    student = {"student_id": "s-ava", "guardians": ["g-wei"]}
    bookings = Bookings(
        window_name="Fall", invited=True, standing={"s-ava": standing} if standing else {}
    )
    assert conference_state(student, bookings=bookings) == shown


def review_piece(added_at: str, site: str = "conway") -> dict[str, object]:
    return {
        "id": "e-1",
        "student_id": "s-ava",
        "site": site,
        "title": "My volcano",
        "kind": "text",
        "text": "It erupts.",
        "added_at": added_at,
    }


def test_a_piece_added_in_the_evening_is_dated_by_its_schools_day_not_utcs() -> None:
    # 8:30 pm on Friday, December 4 in Los Angeles is already Saturday in UTC.
    evening = review_piece("2026-12-05T04:30:00+00:00")
    (shown,) = pieces_to_review(
        [evening],
        names={"s-ava": "Ava"},
        zones={"conway": "America/Los_Angeles"},
        language="en",
    )
    assert shown.added == "Friday, December 4, 2026"
    (unknown,) = pieces_to_review(
        [review_piece("2026-12-05T04:30:00+00:00", "mjds")], names={}, language="en"
    )
    assert unknown.added == "Saturday, December 5, 2026"  # (no zone known: UTC)
