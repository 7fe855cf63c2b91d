"""The teacher's day page's pure part: a sibling the teacher may not see is only a time."""

from __future__ import annotations

from datetime import date

from services.web.staff.day_view import SiblingView, conference_day

SLOT = {
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
