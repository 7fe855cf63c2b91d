"""Conference windows, availability blocks and the times they make; the waitlist's wishes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scheduling.booking.rules import Invalid, NotAllowed, Refused
from services.scheduling.interpreters.rules import speaks
from services.scheduling.waitlist.rules import PartOfDay, Wish, fits
from services.scheduling.windows.rules import (
    BlockPlan,
    Format,
    Mode,
    Span,
    WindowPlan,
    booking_is_open,
    check_availability_of,
    check_block,
    check_block_removal,
    check_booking_open,
    check_family_change,
    check_window,
    check_window_change,
    plan_slots,
)
from shared.auth.principal import Role
from tests.support import principal

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"conway"}))
OTHER_ADMIN = principal(Role.SITE_ADMIN, subject="a-2", sites=frozenset({"mjds"}))
TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"conway"}))
GUARDIAN = principal(Role.GUARDIAN, subject="g-1")

WINDOW = WindowPlan(
    site="conway",
    timezone="America/Los_Angeles",
    first_day=date(2026, 12, 8),
    last_day=date(2026, 12, 10),
    slot_minutes=20,
    buffer_minutes=5,
    opens_at=datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
    closes_at=datetime(2026, 12, 7, 16, 0, tzinfo=UTC),
    early_access_at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
    change_cutoff_minutes=120,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LA).astimezone(UTC)


BLOCK = BlockPlan(
    teacher_id="t-1",
    room="Room 12",
    starts_at=at(8, 15),
    ends_at=at(8, 17),
    breaks=[Span(at(8, 16), at(8, 16, 15))],
    format=Format.ONE_FAMILY,
    capacity=1,
    mode=Mode.IN_PERSON,
)


def test_a_sites_administrators_set_its_windows() -> None:
    check_window(ADMIN, WINDOW, district="d-1", now=NOW)
    with pytest.raises(NotAllowed):
        check_window(OTHER_ADMIN, WINDOW, district="d-1", now=NOW)
    with pytest.raises(NotAllowed):
        check_window(TEACHER, WINDOW, district="d-1", now=NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"closes_at": WINDOW.opens_at}, "open before it closes"),
        ({"closes_at": WINDOW.opens_at - timedelta(hours=1)}, "open before it closes"),
        ({"last_day": date(2026, 12, 7)}, "before the first"),
        ({"last_day": date(2027, 1, 30)}, "at most 31 days"),
        ({"closes_at": at(11, 0, 1)}, "by the end of the last conference day"),
        ({"early_access_at": WINDOW.opens_at}, "early access"),
    ],
)
def test_a_window_that_makes_no_sense_is_invalid(change: dict[str, object], reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        check_window(ADMIN, replace(WINDOW, **change), district="d-1", now=NOW)  # type: ignore[arg-type]


def test_a_window_already_closed_is_invalid() -> None:
    with pytest.raises(Invalid, match="already be closed"):
        check_window(ADMIN, WINDOW, district="d-1", now=WINDOW.closes_at)


def change(
    after: WindowPlan,
    *,
    announced: bool = False,
    has_times: bool = False,
    outside: int = 0,
    now: datetime = NOW,
) -> list[str]:
    return check_window_change(
        ADMIN,
        WINDOW,
        after,
        district="d-1",
        announced=announced,
        has_times=has_times,
        times_outside_days=outside,
        now=now,
    )


def test_a_window_not_opened_yet_changes_in_anything_its_times_allow() -> None:
    later_days = replace(WINDOW, first_day=date(2026, 12, 9), last_day=date(2026, 12, 11))
    assert change(later_days) == ["first_day", "last_day"]
    assert change(replace(WINDOW, slot_minutes=15, buffer_minutes=0)) == [
        "slot_minutes",
        "buffer_minutes",
    ]
    assert change(WINDOW) == []
    # Times already made: not how they are cut, nor days that leave some out.
    with pytest.raises(Refused, match="take them back") as refused:
        change(replace(WINDOW, slot_minutes=15), has_times=True)
    assert refused.value.code == "window_in_use"
    assert change(later_days, has_times=True) == ["first_day", "last_day"]
    with pytest.raises(Refused, match="leave 3 conference times outside") as refused:
        change(later_days, has_times=True, outside=3)
    assert refused.value.code == "window_in_use"
    # The same sense as a new window.
    with pytest.raises(Invalid, match="open before it closes"):
        change(replace(WINDOW, closes_at=WINDOW.opens_at))
    with pytest.raises(NotAllowed):
        check_window_change(
            OTHER_ADMIN,
            WINDOW,
            WINDOW,
            district="d-1",
            announced=False,
            has_times=False,
            times_outside_days=0,
            now=NOW,
        )


def test_an_opened_window_keeps_what_families_were_told_and_closes_later_not_earlier() -> None:
    later = replace(WINDOW, closes_at=WINDOW.closes_at + timedelta(days=1))
    assert change(later, announced=True) == ["closes_at"]
    assert change(replace(WINDOW, change_cutoff_minutes=60), announced=True) == [
        "change_cutoff_minutes"
    ]
    for told in (
        {"first_day": date(2026, 12, 9)},
        {"opens_at": WINDOW.opens_at + timedelta(hours=1)},
        {"early_access_at": None},
        {"slot_minutes": 15},
    ):
        with pytest.raises(Refused, match="families were invited") as refused:
            change(replace(WINDOW, **told), announced=True)  # type: ignore[arg-type]
        assert refused.value.code == "already_opened"
    with pytest.raises(Refused, match="close later, not earlier") as refused:
        change(replace(WINDOW, closes_at=WINDOW.closes_at - timedelta(hours=1)), announced=True)
    assert refused.value.code == "already_opened"
    # Its booking closed, a change that leaves its plan as it is (a new name, say) is taken,
    # but booking does not close again in the past.
    assert change(WINDOW, announced=True, now=WINDOW.closes_at + timedelta(days=1)) == []
    with pytest.raises(Invalid, match="already be closed"):
        change(later, announced=True, now=later.closes_at + timedelta(hours=1))


def test_slots_follow_one_another_with_the_buffer_and_skip_the_break() -> None:
    times = plan_slots(BLOCK, slot_minutes=20, buffer_minutes=5)
    starts = [span.starts_at.astimezone(LA).strftime("%H:%M") for span in times]
    # 15:00, 15:25 (15:50 would run into the 16:00 break), then 16:15, 16:40.
    assert starts == ["15:00", "15:25", "16:15", "16:40"]
    assert all(span.ends_at - span.starts_at == timedelta(minutes=20) for span in times)


def test_stations_seat_several_families_and_drop_in_is_one_time_per_stretch() -> None:
    stations = replace(BLOCK, format=Format.STATIONS, capacity=4)
    check_block(ADMIN, stations, district="d-1", window=WINDOW, meeting_link_template=None, now=NOW)
    drop_in = replace(BLOCK, format=Format.DROP_IN, capacity=10)
    assert plan_slots(drop_in, slot_minutes=20, buffer_minutes=5) == [
        Span(at(8, 15), at(8, 16)),
        Span(at(8, 16, 15), at(8, 17)),
    ]
    with pytest.raises(Invalid, match="capacity of 1"):
        check_block(
            ADMIN,
            replace(BLOCK, capacity=3),
            district="d-1",
            window=WINDOW,
            meeting_link_template=None,
            now=NOW,
        )
    with pytest.raises(Invalid, match="between 2 and 30"):
        check_block(
            ADMIN,
            replace(stations, capacity=1),
            district="d-1",
            window=WINDOW,
            meeting_link_template=None,
            now=NOW,
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"starts_at": at(7, 15), "ends_at": at(7, 17), "breaks": []}, "outside the window's days"),
        ({"starts_at": at(8, 23), "ends_at": at(9, 1), "breaks": []}, "one day"),
        ({"ends_at": at(8, 15)}, "end after it starts"),
        ({"breaks": [Span(at(8, 14), at(8, 15, 30))]}, "not inside"),
        (
            {"breaks": [Span(at(8, 16), at(8, 16, 30)), Span(at(8, 16, 20), at(8, 16, 40))]},
            "overlaps",
        ),
        ({"ends_at": at(8, 15, 10), "breaks": []}, "too short"),
        ({"mode": Mode.VIRTUAL}, "no meeting link"),
    ],
)
def test_availability_that_makes_no_sense_is_invalid(
    change: dict[str, object], reason: str
) -> None:
    with pytest.raises(Invalid, match=reason):
        check_block(
            ADMIN,
            replace(BLOCK, **change),
            district="d-1",
            window=WINDOW,
            meeting_link_template=None,  # type: ignore[arg-type]
            now=NOW,
        )


def test_a_teacher_gives_only_their_own_availability() -> None:
    check_block(TEACHER, BLOCK, district="d-1", window=WINDOW, meeting_link_template=None, now=NOW)
    with pytest.raises(NotAllowed, match="their own availability"):
        check_block(
            TEACHER,
            replace(BLOCK, teacher_id="t-2"),
            district="d-1",
            window=WINDOW,
            meeting_link_template=None,
            now=NOW,
        )
    with pytest.raises(NotAllowed):
        check_block(
            GUARDIAN, BLOCK, district="d-1", window=WINDOW, meeting_link_template=None, now=NOW
        )
    virtual = replace(BLOCK, mode=Mode.VIRTUAL)
    check_block(
        TEACHER,
        virtual,
        district="d-1",
        window=WINDOW,
        meeting_link_template="https://m/x",
        now=NOW,
    )


def test_booking_opens_on_time_with_early_access_for_families_of_several_children() -> None:
    before = WINDOW.opens_at - timedelta(minutes=1)
    with pytest.raises(
        Refused, match=r"booking opens 2026-12-01 08:00 \(America/Los_Angeles\)"
    ) as refused:
        check_booking_open(
            window=WINDOW, announced=True, now=before, early_access=False, is_staff=False
        )
    # The same, for a caller that does not read English: the kind and the moment.
    assert refused.value.extensions == {
        "refusal": "not_open",
        "at": "2026-12-01T08:00:00-08:00",
        "timezone": "America/Los_Angeles",
    }
    check_booking_open(window=WINDOW, announced=True, now=before, early_access=True, is_staff=False)
    with pytest.raises(Refused, match="opens 2026-11-30 08:00"):
        check_booking_open(
            window=WINDOW,
            announced=True,
            now=WINDOW.early_access_at - timedelta(seconds=1),  # type: ignore[operator]
            early_access=True,
            is_staff=False,
        )
    check_booking_open(
        window=WINDOW, announced=True, now=WINDOW.opens_at, early_access=False, is_staff=False
    )
    with pytest.raises(Refused, match="booking closed") as refused:
        check_booking_open(
            window=WINDOW, announced=True, now=WINDOW.closes_at, early_access=False, is_staff=False
        )
    assert refused.value.code == "closed" and refused.value.at == WINDOW.closes_at
    with pytest.raises(Refused, match="has not opened") as refused:
        check_booking_open(
            window=WINDOW, announced=False, now=WINDOW.opens_at, early_access=False, is_staff=False
        )
    assert refused.value.extensions == {"refusal": "not_open"}  # (no moment to name yet)
    check_booking_open(
        window=WINDOW, announced=False, now=before, early_access=False, is_staff=True
    )


def test_families_change_online_until_the_cutoff_and_staff_any_time() -> None:
    starts = at(8, 15)
    check_family_change(
        window=WINDOW, starts_at=starts, now=starts - timedelta(hours=3), is_staff=False
    )
    with pytest.raises(Refused, match="call the school office") as refused:
        check_family_change(
            window=WINDOW, starts_at=starts, now=starts - timedelta(hours=1), is_staff=False
        )
    cutoff = starts - timedelta(minutes=WINDOW.change_cutoff_minutes)
    assert (refused.value.code, refused.value.at) == ("too_late", cutoff)
    check_family_change(
        window=WINDOW, starts_at=starts, now=starts - timedelta(hours=1), is_staff=True
    )


@pytest.mark.parametrize(
    ("wish", "local_start", "expected"),
    [
        (Wish("t-1", None, PartOfDay.ANY), at(8, 15), True),
        (Wish("t-2", None, PartOfDay.ANY), at(8, 15), False),
        (Wish("t-1", date(2026, 12, 9), PartOfDay.ANY), at(8, 15), False),
        (Wish("t-1", date(2026, 12, 8), PartOfDay.AFTERNOON), at(8, 15), True),
        (Wish("t-1", None, PartOfDay.MORNING), at(8, 11, 59), True),
        (Wish("t-1", None, PartOfDay.MORNING), at(8, 12), False),
        (Wish("t-1", None, PartOfDay.EVENING), at(8, 17), True),
        (Wish("t-1", None, PartOfDay.AFTERNOON), at(8, 17), False),
    ],
)
def test_a_free_time_goes_to_a_wish_it_fits_on_the_sites_clock(
    wish: Wish, local_start: datetime, expected: bool
) -> None:
    assert (
        fits(wish, teacher_id="t-1", starts_at=local_start, timezone="America/Los_Angeles")
        is expected
    )


def test_an_interpreter_of_a_language_serves_its_regional_variants() -> None:
    assert speaks(["es"], "es-MX")
    assert speaks(["ES-mx"], "es")
    assert not speaks(["vi"], "es")


def test_a_family_sees_times_only_once_it_may_book_them() -> None:
    during_early_access = WINDOW.opens_at - timedelta(hours=1)
    assert booking_is_open(
        window=WINDOW, announced=True, now=during_early_access, early_access=True
    )
    assert not booking_is_open(
        window=WINDOW, announced=True, now=during_early_access, early_access=False
    )
    assert not booking_is_open(
        window=WINDOW, announced=False, now=WINDOW.opens_at, early_access=True
    )
    assert booking_is_open(window=WINDOW, announced=True, now=WINDOW.opens_at, early_access=False)


def test_who_gives_availability_takes_it_back_and_not_while_families_are_booked() -> None:
    check_availability_of(TEACHER, teacher_id="t-1", district="d-1", site="conway")
    check_availability_of(ADMIN, teacher_id="t-9", district="d-1", site="conway")
    for who, teacher in ((TEACHER, "t-9"), (OTHER_ADMIN, "t-1"), (GUARDIAN, "g-1")):
        with pytest.raises(NotAllowed):
            check_availability_of(who, teacher_id=teacher, district="d-1", site="conway")
    check_block_removal(removed_at=None, booked=0)
    with pytest.raises(Refused, match=r"^1 conference is booked .*move or cancel it first"):
        check_block_removal(removed_at=None, booked=1)
    with pytest.raises(Refused, match=r"^3 conferences are booked .*move or cancel them first"):
        check_block_removal(removed_at=None, booked=3)
    with pytest.raises(Refused, match="already removed"):
        check_block_removal(removed_at=NOW, booked=0)


def test_availability_that_is_over_is_refused() -> None:
    """A block on one of the window's days that ended already (set up late, or a day typed
    wrong) is refused with its own code: its times could never be booked."""
    after_it = at(8, 17, 30)
    with pytest.raises(Invalid) as refused:
        check_block(
            TEACHER, BLOCK, district="d-1", window=WINDOW, meeting_link_template=None, now=after_it
        )
    assert refused.value.code == "in_the_past"
    # Under way, with times still ahead: taken.
    check_block(
        TEACHER, BLOCK, district="d-1", window=WINDOW, meeting_link_template=None, now=at(8, 15)
    )
