"""The demo district's conference today: it begins a few minutes after the demo is loaded, on a
five-minute mark, and on one day (a block of availability is on one day), clock changes
included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.demo import TIMEZONE, todays_conference_time


@pytest.mark.parametrize(
    ("now", "starts"),
    [
        # On Conway's clock (Pacific time).
        ("2026-12-07 15:00:00-08:00", "2026-12-07 15:05-08:00"),
        ("2026-12-07 15:01:30-08:00", "2026-12-07 15:05-08:00"),
        ("2026-12-07 15:02:00-08:00", "2026-12-07 15:05-08:00"),
        ("2026-12-07 15:02:01-08:00", "2026-12-07 15:10-08:00"),
        ("2026-12-07 23:36:00-08:00", "2026-12-07 23:40-08:00"),  # (it ends at midnight)
        # Twenty minutes from 23:45 would run past midnight: it begins at midnight.
        ("2026-12-07 23:42:00-08:00", "2026-12-08 00:00-08:00"),
        ("2026-12-07 23:59:00-08:00", "2026-12-08 00:05-08:00"),
        # The hour clocks go back (1:00-2:00 twice, on 1 November 2026): in it, each time.
        ("2026-11-01 01:30:00-07:00", "2026-11-01 01:35-07:00"),
        ("2026-11-01 01:30:00-08:00", "2026-11-01 01:35-08:00"),
        ("2026-11-01 01:58:00-07:00", "2026-11-01 01:05-08:00"),
        # The hour clocks skip (2:00-3:00 on 8 March 2026).
        ("2026-03-08 01:58:00-08:00", "2026-03-08 03:05-07:00"),
    ],
)
def test_todays_conference_begins_soon_on_a_five_minute_mark(now: str, starts: str) -> None:
    moment = datetime.fromisoformat(now)
    begins = todays_conference_time(moment)
    assert begins == datetime.fromisoformat(starts), begins.astimezone(TIMEZONE)
    assert begins.tzinfo is UTC
    assert timedelta(minutes=3) <= begins - moment <= timedelta(minutes=25)
    ends = begins + timedelta(minutes=20)
    assert (ends - timedelta(microseconds=1)).astimezone(TIMEZONE).date() == begins.astimezone(
        TIMEZONE
    ).date()
