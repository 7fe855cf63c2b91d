"""Secret feed addresses: tokens that the service recomputes, and who may have one."""

from __future__ import annotations

import pytest

from services.scheduling.booking.rules import NotAllowed
from services.scheduling.calendar.feeds import (
    check_acts_for_teacher,
    feed_token,
    token_matches,
)
from shared.auth.principal import Role
from tests.support import principal

KEY = "a-test-key-that-is-long-enough-for-hmac-sha256"


def test_a_token_is_url_safe_and_the_same_each_time() -> None:
    token = feed_token(KEY, owner="teacher", owner_id="t-1", generation=1)
    assert token == feed_token(KEY, owner="teacher", owner_id="t-1", generation=1)
    assert len(token) == 43 and set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_a_token_opens_only_its_owners_feed_in_its_generation() -> None:
    token = feed_token(KEY, owner="teacher", owner_id="t-1", generation=1)
    assert token_matches(KEY, token, owner="teacher", owner_id="t-1", generation=1)
    assert not token_matches(KEY, token, owner="teacher", owner_id="t-1", generation=2)
    assert not token_matches(KEY, token, owner="teacher", owner_id="t-2", generation=1)
    assert not token_matches(KEY, token, owner="interpreter", owner_id="t-1", generation=1)
    assert not token_matches(
        "another-key" * 4, token, owner="teacher", owner_id="t-1", generation=1
    )


@pytest.mark.parametrize("token", ["", "x", "ü" * 43, "\ud800" * 43])
def test_any_text_is_a_wrong_token_not_an_error(token: str) -> None:
    assert not token_matches(KEY, token, owner="teacher", owner_id="t-1", generation=1)


def test_a_teacher_and_the_administrators_of_all_their_sites_have_their_feed() -> None:
    check_acts_for_teacher(
        principal(Role.TEACHER, subject="t-1"), teacher_id="t-1", teacher_sites=()
    )
    check_acts_for_teacher(
        principal(Role.DISTRICT_ADMIN, subject="da"), teacher_id="t-1", teacher_sites=()
    )
    check_acts_for_teacher(
        principal(Role.SITE_ADMIN, subject="a", sites=frozenset({"s-1", "s-2"})),
        teacher_id="t-1",
        teacher_sites={"s-1", "s-2"},
    )


@pytest.mark.parametrize(
    ("admin_of", "teacher_sites"),
    [
        ({"s-1"}, {"s-1", "s-2"}),  # the feed lists the teacher's conferences at s-2 too
        ({"s-1"}, set()),  # a teacher no school of theirs knows
        ({"s-3"}, {"s-1"}),
    ],
)
def test_an_administrator_of_only_some_of_their_sites_has_it_not(
    admin_of: set[str], teacher_sites: set[str]
) -> None:
    with pytest.raises(NotAllowed):
        check_acts_for_teacher(
            principal(Role.SITE_ADMIN, subject="a", sites=frozenset(admin_of)),
            teacher_id="t-1",
            teacher_sites=teacher_sites,
        )


@pytest.mark.parametrize(
    "caller",
    [
        principal(Role.TEACHER, subject="t-2", sites=frozenset({"s-1"})),
        principal(Role.SITE_ADMIN, subject="a", sites=frozenset({"s-3"})),
        principal(Role.GUARDIAN, subject="g-1"),
        principal(Role.STUDENT, subject="stu-1"),
    ],
)
def test_nobody_else_has_it(caller: object) -> None:
    with pytest.raises(NotAllowed):
        check_acts_for_teacher(caller, teacher_id="t-1", teacher_sites={"s-1"})  # type: ignore[arg-type]
