"""The demo district's conference today: it begins a few minutes after the demo is loaded, on a
five-minute mark, and on one day (a block of availability is on one day)."""

from __future__ import annotations

from datetime import datetime

import pytest

from devstack.demo import TIMEZONE, todays_conference_time


@pytest.mark.parametrize(
    ("now", "starts"),
    [
        ("2026-12-07 15:00:00", "2026-12-07 15:05"),
        ("2026-12-07 15:01:30", "2026-12-07 15:05"),
        ("2026-12-07 15:02:00", "2026-12-07 15:05"),
        ("2026-12-07 15:02:01", "2026-12-07 15:10"),
        ("2026-12-07 23:36:00", "2026-12-07 23:40"),
        # Twenty minutes from 23:45 would run past midnight: it begins at midnight.
        ("2026-12-07 23:42:00", "2026-12-08 00:00"),
        ("2026-12-07 23:59:00", "2026-12-08 00:05"),
    ],
)
def test_todays_conference_begins_soon_on_a_five_minute_mark(now: str, starts: str) -> None:
    local = datetime.fromisoformat(now).replace(tzinfo=TIMEZONE)
    begins = todays_conference_time(local).astimezone(TIMEZONE)
    assert begins.strftime("%Y-%m-%d %H:%M") == starts
    assert (begins - local).total_seconds() >= 180
