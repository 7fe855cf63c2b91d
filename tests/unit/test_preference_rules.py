"""Preferences as pure rules: channels per kind, opt-outs, quiet hours, critical messages, the
digest's hour."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.notifications.preferences import (
    NO_PREFERENCES,
    ChannelName,
    Kind,
    Preferences,
    kind_of,
    next_digest_at,
    plan,
    quiet_hours_end,
)
from shared.contact_details import without_contact_details

SITE = "America/Los_Angeles"  # UTC-8 in December, UTC-7 in summer
EMAIL = "ana@example.org"
PHONE = "+15035550100"
NIGHTS = Preferences(quiet_from=time(21), quiet_until=time(7))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_kinds_of_messages() -> None:
    assert kind_of("goal_set") is Kind.NEWS
    assert kind_of("portfolio_digest") is Kind.NEWS
    assert kind_of("conference_cancelled") is Kind.LOGISTICS
    assert kind_of("conference_reminder") is Kind.LOGISTICS


@pytest.mark.parametrize(
    ("chosen", "email", "phone", "expected"),
    [
        (None, EMAIL, PHONE, ("email",)),  # nothing chosen: email first
        (None, None, PHONE, ("sms",)),
        (None, None, None, ()),  # no address at all: no channel (could not reach)
        ((ChannelName.SMS,), EMAIL, PHONE, ("sms",)),
        ((ChannelName.EMAIL, ChannelName.SMS), EMAIL, PHONE, ("email", "sms")),
        # A chosen channel without its address is passed over, never a message lost.
        ((ChannelName.SMS,), EMAIL, None, ("email",)),
        ((ChannelName.EMAIL, ChannelName.SMS), None, PHONE, ("sms",)),
    ],
)
def test_channels_chosen_per_kind(
    chosen: tuple[ChannelName, ...] | None,
    email: str | None,
    phone: str | None,
    expected: tuple[str, ...],
) -> None:
    preferences = Preferences(channels={Kind.LOGISTICS: chosen} if chosen else None)
    how = plan(
        preferences,
        kind=Kind.LOGISTICS,
        critical=False,
        email=email,
        phone=phone,
        now=utc(2026, 12, 7, 20),
        site_timezone=SITE,
    )
    assert how.channels == expected


def test_channels_of_one_kind_leave_the_other_alone() -> None:
    preferences = Preferences(channels={Kind.NEWS: (ChannelName.SMS,)})
    common = {"critical": False, "email": EMAIL, "phone": PHONE, "now": utc(2026, 12, 7, 20)}
    assert plan(preferences, kind=Kind.NEWS, site_timezone=SITE, **common).channels == ("sms",)
    assert plan(preferences, kind=Kind.LOGISTICS, site_timezone=SITE, **common).channels == (
        "email",
    )


def test_an_opt_out_stops_its_kind_unless_the_message_cannot_wait() -> None:
    preferences = Preferences(opted_out=frozenset({Kind.LOGISTICS}))
    common = {"email": EMAIL, "phone": PHONE, "now": utc(2026, 12, 7, 20), "site_timezone": SITE}
    assert plan(preferences, kind=Kind.LOGISTICS, critical=False, **common).opted_out
    assert not plan(preferences, kind=Kind.NEWS, critical=False, **common).opted_out
    assert not plan(preferences, kind=Kind.LOGISTICS, critical=True, **common).opted_out


def test_quiet_hours_across_midnight_hold_until_they_end_in_the_guardians_zone() -> None:
    # 22:30 in Los Angeles (06:30 UTC the next day): waits until 07:00 local, 15:00 UTC.
    assert quiet_hours_end(NIGHTS, utc(2026, 12, 8, 6, 30), SITE) == utc(2026, 12, 8, 15)
    # 03:00 local: the same morning's 07:00.
    assert quiet_hours_end(NIGHTS, utc(2026, 12, 8, 11), SITE) == utc(2026, 12, 8, 15)
    # Exactly 07:00 and the afternoon: not quiet.
    assert quiet_hours_end(NIGHTS, utc(2026, 12, 8, 15), SITE) is None
    assert quiet_hours_end(NIGHTS, utc(2026, 12, 8, 23), SITE) is None
    # 21:00 sharp is quiet.
    assert quiet_hours_end(NIGHTS, utc(2026, 12, 9, 5), SITE) == utc(2026, 12, 9, 15)


def test_quiet_hours_within_a_day_and_in_the_guardians_own_zone() -> None:
    lunch = Preferences(quiet_from=time(12), quiet_until=time(13), timezone="Asia/Ho_Chi_Minh")
    # 12:30 in Ho Chi Minh City (UTC+7) is 05:30 UTC: waits until 13:00 there, 06:00 UTC.
    assert quiet_hours_end(lunch, utc(2026, 12, 8, 5, 30), SITE) == utc(2026, 12, 8, 6)
    assert quiet_hours_end(lunch, utc(2026, 12, 8, 6, 1), SITE) is None


def test_quiet_hours_keep_their_wall_clock_across_a_daylight_saving_change() -> None:
    # The night of 7-8 March 2026 Los Angeles moves from UTC-8 to UTC-7: 07:00 is 14:00 UTC.
    assert quiet_hours_end(NIGHTS, utc(2026, 3, 8, 6), SITE) == utc(2026, 3, 8, 14)


def test_quiet_hours_hold_a_message_but_not_one_that_cannot_wait() -> None:
    late = utc(2026, 12, 8, 6, 30)
    common = {"kind": Kind.LOGISTICS, "email": EMAIL, "phone": None, "site_timezone": SITE}
    assert plan(NIGHTS, critical=False, now=late, **common).not_before == utc(2026, 12, 8, 15)
    assert plan(NIGHTS, critical=True, now=late, **common).not_before is None
    assert plan(NO_PREFERENCES, critical=False, now=late, **common).not_before is None


def test_the_digest_goes_at_the_chosen_hour_today_or_tomorrow() -> None:
    evening = Preferences(digest_hour=18)
    # 10:00 local (18:00 UTC): today at 18:00 local, 02:00 UTC the next day.
    assert next_digest_at(evening, utc(2026, 12, 8, 18), SITE) == utc(2026, 12, 9, 2)
    # 19:00 local: tomorrow's.
    assert next_digest_at(evening, utc(2026, 12, 9, 3), SITE) == utc(2026, 12, 10, 2)


def test_a_digest_hour_inside_quiet_hours_waits_for_them_to_end() -> None:
    clash = Preferences(digest_hour=22, quiet_from=time(21), quiet_until=time(7))
    assert next_digest_at(clash, utc(2026, 12, 8, 18), SITE) == utc(2026, 12, 9, 15)


def test_a_number_that_said_stop_is_passed_over_for_email_but_never_forgotten() -> None:
    texts = Preferences(channels={Kind.LOGISTICS: (ChannelName.SMS,)})
    common = {"kind": Kind.LOGISTICS, "now": utc(2026, 12, 7, 20), "site_timezone": SITE}
    # Chose texts, said STOP, has an email address: the message goes by email.
    assert plan(
        texts, critical=True, email=EMAIL, phone=PHONE, texts_stopped=True, **common
    ).channels == ("email",)
    # Only a phone that said STOP: still a text, which sending records opted out.
    assert plan(
        texts, critical=True, email=None, phone=PHONE, texts_stopped=True, **common
    ).channels == ("sms",)


def test_a_failures_reason_on_the_stream_names_no_address_or_number() -> None:
    reason = (
        "the mail server refused the address: {'nobody-1@example.org': (550, b'5.1.1"
        " <nobody-1@example.org>: no such mailbox')}; also +1 503-555-0144 and 5035550144"
    )
    scrubbed = without_contact_details(reason)
    assert "@" not in scrubbed and "555" not in scrubbed
    assert "550" in scrubbed and "5.1.1" in scrubbed  # the server's codes stay
    assert scrubbed.count("<address>") == 2 and scrubbed.count("<number>") == 2


@pytest.mark.parametrize(
    ("reason", "scrubbed"),
    [
        # The server's codes and times stay readable; an address, even quoted, does not.
        (
            '550 5.1.1 <"jo doe"@example.org>: Recipient address rejected',
            "550 5.1.1 <<address>>: Recipient address rejected",
        ),
        ("550 5.1.1 User unknown", "550 5.1.1 User unknown"),
        ("4.4.7 Delivery time expired", "4.4.7 Delivery time expired"),
        (
            "Error 30003 at 2026-12-04 10:00:00 for +1 (555) 010-9999",
            "Error 30003 at 2026-12-04 10:00:00 for <number>",
        ),
        ("21211 invalid To: 555 0100", "21211 invalid To: <number>"),
        # A number beside a date, stuck to a word, or shaped like a date is still hidden.
        ("at 2026-12-04 15551234567", "at 2026-12-04 <number>"),
        ("2026-12-04 (555) 123-4567 failed", "2026-12-04 (<number> failed"),
        ("tel15551234567 No.5551234567 x_15551234567", "tel<number> No.<number> x_<number>"),
        ("to 0120-12-3456", "to <number>"),
        ("at 2026-12-04T10:00:00Z", "at 2026-12-04T10:00:00Z"),
        # An id is kept whole, however many digits it holds.
        (
            "job 920866f1-d9c3-4eb8-1234-567890123456 for 5035550144",
            "job 920866f1-d9c3-4eb8-1234-567890123456 for <number>",
        ),
    ],
)
def test_a_reason_keeps_the_servers_codes_and_hides_quoted_addresses(
    reason: str, scrubbed: str
) -> None:
    assert without_contact_details(reason) == scrubbed
