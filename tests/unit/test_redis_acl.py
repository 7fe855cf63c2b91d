"""The Redis users' rules come from the services' specs (what each publishes and consumes)."""

from __future__ import annotations

from services.notifications.app import SPEC as NOTIFICATIONS
from services.portfolio.app import SPEC as PORTFOLIO
from services.scheduling.app import SPEC as SCHEDULING
from shared.messaging.acl import (
    ADMIN,
    SUBSCRIBER,
    RedisUser,
    acl_file,
    password_hash,
    system_users,
    user_of_service,
)
from shared.messaging.acl_cli import service_specs
from shared.messaging.group_keys import replay_stream

PASSWORD = "p" * 32


def keys_allowed(user: RedisUser, command: str) -> set[str]:
    return {key for s in user.selectors if command in s.commands for key in s.keys}


def test_every_service_is_found() -> None:
    assert {spec.name for spec in service_specs()} == {"portfolio", "scheduling", "notifications"}


def test_a_service_appends_only_to_the_streams_it_publishes() -> None:
    for spec in (PORTFOLIO, SCHEDULING, NOTIFICATIONS):
        user = user_of_service(spec)
        published = {data_type.stream() for data_type in spec.publishes}
        consumed = {subscription.stream for subscription in spec.consumers}
        dead_letters = {f"{stream}:dlq:{spec.name}" for stream in consumed}
        replays = {replay_stream(stream, spec.name) for stream in consumed}
        # Its own group's keys only: what it dead-letters, and what it replays to itself.
        assert keys_allowed(user, "xadd") == published | dead_letters | replays
        assert keys_allowed(user, "xreadgroup") == consumed | replays
        assert keys_allowed(user, "xdel") == replays | dead_letters
        assert keys_allowed(user, "xrange") == consumed | replays | dead_letters


def test_the_subscriber_only_reads_every_published_stream() -> None:
    users = {user.name: user for user in system_users(service_specs())}
    [selector] = users[SUBSCRIBER].selectors
    published = {d.stream() for spec in service_specs() for d in spec.publishes}
    assert selector.read_only and set(selector.keys) == published
    assert not {"xadd", "xdel", "xtrim", "xack", "xgroup|create", "xreadgroup"} & set(
        selector.commands
    )


def test_the_acl_file_switches_the_default_user_off_and_holds_no_password() -> None:
    users = system_users(service_specs())
    text = acl_file(users, {user.name: PASSWORD for user in users})
    lines = text.splitlines()
    assert lines[0].startswith("user default off resetpass ")
    assert [line.split()[1] for line in lines[1:]] == [user.name for user in users]
    assert PASSWORD not in text and password_hash(PASSWORD) in text
    assert f"user {ADMIN} on #{password_hash(PASSWORD)} resetkeys ~* &* +@all" in lines
    scheduling = next(line for line in lines if line.startswith("user scheduling "))
    assert "(~slc.scheduling.conference.booked.v1 ~slc.scheduling.conference.cancelled.v1" in (
        scheduling
    )


def test_on_redis_6_a_user_has_no_selectors_but_only_its_own_keys() -> None:
    user = user_of_service(SCHEDULING)
    line = user.rules(password=PASSWORD, redis_version=(6, 2))
    assert "(" not in line and "%R~" not in line
    keys = {word[1:] for word in line.split() if word.startswith("~")}
    assert keys == {key for selector in user.selectors for key in selector.keys}
