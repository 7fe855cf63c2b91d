"""Interpreters' rules: who manages them, their hours, what a change must leave standing, the
free time in their day and the languages a site offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduling.booking.rules import Invalid, NotAllowed, Refused
from services.scheduling.interpreters.rules import (
    check_change,
    check_hours,
    check_hours_removal,
    check_manages_interpreters,
    covers,
    distinct_languages,
    gaps,
    languages_offered,
    may_see_interpreters,
    speaks,
)
from services.scheduling.windows.rules import Span
from shared.auth.principal import Role
from tests.support import principal

NINE = datetime(2030, 5, 1, 16, 0, tzinfo=UTC)
SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"s-1"}))
OTHER_SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-2", sites=frozenset({"s-2"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
OTHER_DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-2", district="d-2")
TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
GUARDIAN = principal(Role.GUARDIAN, subject="g-1")


def hours(start: int, end: int) -> Span:
    """From ``start`` to ``end`` hours after nine."""
    return Span(NINE + timedelta(hours=start), NINE + timedelta(hours=end))


def minutes(start: int, end: int) -> Span:
    return Span(NINE + timedelta(minutes=start), NINE + timedelta(minutes=end))


@pytest.mark.parametrize("caller", [SITE_ADMIN, DISTRICT_ADMIN])
def test_a_sites_administrators_manage_its_interpreters(caller: object) -> None:
    check_manages_interpreters(caller, district="d-1", site="s-1")  # type: ignore[arg-type]


@pytest.mark.parametrize("caller", [OTHER_SITE_ADMIN, OTHER_DISTRICT_ADMIN, TEACHER, GUARDIAN])
def test_nobody_else_manages_them(caller: object) -> None:
    with pytest.raises(NotAllowed, match="administrators of site 's-1'"):
        check_manages_interpreters(caller, district="d-1", site="s-1")  # type: ignore[arg-type]


def test_a_sites_staff_see_its_interpreters_and_nobody_else() -> None:
    assert may_see_interpreters(TEACHER, district="d-1", site="s-1")
    assert may_see_interpreters(DISTRICT_ADMIN, district="d-1", site="s-1")
    assert not may_see_interpreters(OTHER_SITE_ADMIN, district="d-1", site="s-1")
    assert not may_see_interpreters(GUARDIAN, district="d-1", site="s-1")
    assert not may_see_interpreters(OTHER_DISTRICT_ADMIN, district="d-1", site="s-1")


def test_hours_end_after_they_start() -> None:
    with pytest.raises(Invalid, match="end before they start"):
        check_hours(hours(2, 2), others=[])
    with pytest.raises(Invalid, match="end before they start"):
        check_hours(hours(3, 1), others=[])


def test_hours_last_at_most_fourteen_hours() -> None:
    check_hours(hours(0, 14), others=[])
    with pytest.raises(Invalid, match="at most 14 hours"):
        check_hours(Span(NINE, NINE + timedelta(hours=14, minutes=1)), others=[])


def test_hours_are_moments_not_wall_clock_times() -> None:
    with pytest.raises(Invalid, match="time zone"):
        check_hours(Span(datetime(2030, 5, 1, 9), datetime(2030, 5, 1, 12)), others=[])


def test_hours_overlapping_the_interpreters_other_hours_are_refused() -> None:
    with pytest.raises(Refused, match="already has hours") as refused:
        check_hours(hours(2, 5), others=[hours(0, 3)])
    assert refused.value.status == 409
    with pytest.raises(Refused):
        check_hours(hours(1, 2), others=[hours(0, 3)])


def test_hours_next_to_other_hours_are_fine() -> None:
    check_hours(hours(3, 5), others=[hours(0, 3), hours(5, 8)])


def test_hours_go_only_while_no_conference_falls_in_them() -> None:
    check_hours_removal(0)
    with pytest.raises(Refused, match=r"2 conferences .* move or cancel those conferences first"):
        check_hours_removal(2)
    with pytest.raises(Refused, match=r"^1 conference with this interpreter falls in these hours"):
        check_hours_removal(1)


def test_an_interpreter_with_conferences_ahead_stays_active() -> None:
    check_change(active=False, languages=["es"], upcoming=[])
    with pytest.raises(Refused, match=r"^1 conference ahead is booked with this interpreter"):
        check_change(active=False, languages=["es"], upcoming=["es"])


def test_an_interpreter_keeps_the_languages_their_conferences_ahead_need() -> None:
    check_change(active=True, languages=["es", "vi"], upcoming=["es-MX", "vi"])
    with pytest.raises(Refused, match="in vi; move or cancel"):
        check_change(active=True, languages=["es"], upcoming=["es", "vi"])


def test_a_regional_tag_is_served_by_an_interpreter_of_its_language() -> None:
    assert speaks(["es"], "es-MX")
    assert speaks(["ES-mx"], "es")
    assert speaks(["zh_Hant"], "zh-Hans")
    assert not speaks(["es", "vi"], "so")


def test_a_language_by_its_three_letter_code_is_the_same_language() -> None:
    """``spa`` is ``es`` (ISO 639-2 and -1): an interpreter listed either way serves a family
    asking either way, and a school's languages are offered once, by the shorter code."""
    assert speaks(["spa"], "es-MX") and speaks(["es"], "spa") and speaks(["lo"], "lao")
    assert not speaks(["mon"], "mnw")  # (Mongolian is not Mon)
    assert distinct_languages(["spa", "es-MX", "ES", "lao", "hmn"]) == ["es", "lo", "hmn"]
    assert languages_offered([["spa"], ["es"], ["lao"]]) == ["es", "lo"]


def test_languages_are_kept_once_each_in_the_order_given() -> None:
    assert distinct_languages(["es-MX", "vi", "es", "VI"]) == ["es-MX", "vi"]
    assert distinct_languages(["es-mx", "zh-hant"]) == ["es-MX", "zh-Hant"]  # (as BCP 47 writes)


def test_a_site_offers_each_language_its_interpreters_speak_once() -> None:
    assert languages_offered([["es-MX", "vi"], ["es"], ["so"], []]) == ["es", "so", "vi"]
    assert languages_offered([]) == []


def test_gaps_are_the_free_stretches_of_the_hours_in_time_order() -> None:
    day = [hours(0, 2), hours(4, 6)]
    busy = [minutes(20, 40), minutes(40, 60), minutes(90, 130), minutes(250, 270)]
    assert gaps(day, busy) == [
        minutes(0, 20),
        minutes(60, 90),
        minutes(240, 250),
        minutes(270, 360),
    ]


def test_a_day_without_conferences_is_all_gap_and_a_full_one_has_none() -> None:
    assert gaps([hours(0, 2)], []) == [hours(0, 2)]
    assert gaps([hours(0, 1)], [minutes(0, 20), minutes(20, 40), minutes(40, 60)]) == []
    assert gaps([], [minutes(0, 20)]) == []


def test_hours_that_touch_cover_a_conference_across_them() -> None:
    nine, one, three = (datetime(2026, 12, 8, h, tzinfo=UTC) for h in (9, 13, 15))
    hours = [Span(one, three), Span(nine, one)]
    assert covers(hours, Span(one - timedelta(minutes=10), one + timedelta(minutes=10)))
    assert not covers(hours, Span(three - timedelta(minutes=10), three + timedelta(minutes=10)))
    assert not covers(
        [Span(nine, one - timedelta(minutes=5)), Span(one, three)],
        Span(one - timedelta(minutes=10), one + timedelta(minutes=10)),
    )
    assert not covers([], Span(nine, one))
