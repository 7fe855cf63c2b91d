"""When a family may begin to book, as its page says it: the window's opening, or its early
access for a family with several children; nothing once that moment has passed."""

from datetime import UTC, datetime, timedelta

from services.web.family.view import window_view
from services.web.written_times import site_timezone, written_moment_of


def window(*, opens_in: timedelta, early_in: timedelta | None) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": "w-1",
        "name": "Fall conferences",
        "booking": "upcoming",
        "timezone": "America/Los_Angeles",
        "opens_at": (now + opens_in).isoformat(),
        "early_access_at": (now + early_in).isoformat() if early_in is not None else None,
    }


def test_a_family_of_one_child_waits_for_the_opening() -> None:
    upcoming = window(opens_in=timedelta(days=3), early_in=timedelta(days=1))
    opening = datetime.fromisoformat(str(upcoming["opens_at"]))
    assert window_view(upcoming, language="en", several=False).opens == written_moment_of(
        opening, timezone="America/Los_Angeles", language="en"
    )


def test_a_family_of_several_children_is_told_its_early_access() -> None:
    upcoming = window(opens_in=timedelta(days=3), early_in=timedelta(days=1))
    early = datetime.fromisoformat(str(upcoming["early_access_at"]))
    assert window_view(upcoming, language="es", several=True).opens == written_moment_of(
        early, timezone="America/Los_Angeles", language="es"
    )


def test_once_its_early_access_began_nothing_is_said_to_wait_for() -> None:
    begun = window(opens_in=timedelta(days=2), early_in=-timedelta(hours=1))
    assert window_view(begun, language="en", several=True).opens == ""
    assert window_view(begun, language="en", several=False).opens != ""
    opened = window(opens_in=-timedelta(minutes=5), early_in=None)
    assert window_view(opened, language="en", several=False).opens == ""


def test_a_schools_time_zone_is_read_from_portfolios_sites_or_is_none() -> None:
    sites = [
        {"id": "mjds", "timezone": "America/New_York"},
        {"id": "conway", "timezone": "America/Los_Angeles"},
        "not a site",
    ]
    assert site_timezone(sites, "conway") == "America/Los_Angeles"
    assert site_timezone(sites, "elsewhere") is None
    assert site_timezone([{"id": "conway", "timezone": None}], "conway") is None
    assert site_timezone({"detail": "refused"}, "conway") is None
    assert site_timezone(None, "conway") is None
