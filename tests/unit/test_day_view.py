"""The teacher's day page offers the attendance buttons scheduling says apply now (its rules
decide when: tests/unit/test_conference_day_rules.py), and says when check-in opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.web.staff.day_view import conference_day

STARTS = datetime(2026, 12, 11, 23, 0, tzinfo=UTC)


def test_a_family_days_ahead_is_told_when_check_in_opens_instead_of_buttons() -> None:
    slot = {
        "starts_at": STARTS.isoformat(),
        "ends_at": (STARTS + timedelta(minutes=20)).isoformat(),
        "timezone": "America/Los_Angeles",
        "room": "Room 4",
        "bookings": [{"id": "b-1", "status": "booked", "student_id": "s-ava", "given_name": "Ava"}],
    }
    early = conference_day({"slots": [slot]}, day=STARTS.date(), language="en")
    [family] = early.times[0].families
    assert (family.steps, family.check_in_later) == ((), True)
    slot["bookings"][0]["steps"] = ["check_in", "complete", "no_show"]
    begun = conference_day({"slots": [slot]}, day=STARTS.date(), language="en")
    [family] = begun.times[0].families
    assert (family.steps, family.check_in_later) == (("check-in", "complete", "no-show"), False)
