"""The teacher's day page offers only the attendance buttons that apply now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.web.staff.day_view import conference_day, steps_now

STARTS = datetime(2026, 12, 11, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "minutes_before", "steps"),
    [
        ("booked", 60 * 24 * 6, ()),  # days ahead: nothing to record yet
        ("booked", 31, ()),
        ("booked", 30, ("check-in",)),  # check-in opens half an hour before
        ("booked", 0, ("check-in", "complete", "no-show")),
        ("booked", -15, ("check-in", "complete", "no-show")),
        ("checked_in", 10, ()),
        ("checked_in", -1, ("complete",)),
        ("completed", -30, ()),
    ],
)
def test_the_buttons_are_those_the_rules_would_take_now(
    status: str, minutes_before: int, steps: tuple[str, ...]
) -> None:
    now = STARTS - timedelta(minutes=minutes_before)
    assert steps_now(status, starts=STARTS, now=now) == steps


def test_a_family_days_ahead_is_told_when_check_in_opens_instead_of_buttons() -> None:
    slot = {
        "starts_at": STARTS.isoformat(),
        "ends_at": (STARTS + timedelta(minutes=20)).isoformat(),
        "timezone": "America/Los_Angeles",
        "room": "Room 4",
        "bookings": [{"id": "b-1", "status": "booked", "student_id": "s-ava", "given_name": "Ava"}],
    }
    early = conference_day(
        {"slots": [slot]}, day=STARTS.date(), language="en", now=STARTS - timedelta(days=6)
    )
    [family] = early.times[0].families
    assert (family.steps, family.check_in_later) == ((), True)
    begun = conference_day({"slots": [slot]}, day=STARTS.date(), language="en", now=STARTS)
    [family] = begun.times[0].families
    assert family.steps and not family.check_in_later
