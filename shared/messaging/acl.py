"""Redis users: what each service, an outside subscriber and an operator may do on Redis.

Anyone who can reach Redis could otherwise append a forged event to any stream. So each service
connects as its own user, whose rules come from its ``ServiceSpec``:

- on the streams it publishes: append (``XADD``), trim (``XTRIM``) and read the groups' state
  that trimming needs (``XINFO GROUPS``, ``XPENDING``);
- on the streams it consumes, and its group's replay streams beside them: the consumer group
  commands (``XGROUP CREATE``, ``XREADGROUP``, ``XACK``, ``XCLAIM``, ``XAUTOCLAIM``,
  ``XPENDING``, ``XINFO GROUPS``) and ``XRANGE``/``XLEN``, never ``XADD``;
- on its group's own keys (``shared.messaging.group_keys``): append to, read and delete from
  its dead-letter streams, append to (a replay) and delete from (once applied) its replay
  streams, keep its attempt counts (a hash);
- nothing else: no other key, no administrative or dangerous command.

Redis confines keys and commands, not consumer-group names: a user allowed ``XACK`` on a stream
could acknowledge in another group's name. Services are trusted code, so they get group commands
on the streams they consume. An outside district system is not: the ``subscriber`` user only
reads the event streams (``XREAD``, ``XRANGE``, ``XREVRANGE``, ``XLEN``, ``XINFO STREAM``) and
keeps its own position (the id of the last entry it processed). Operators (``slc-deadletters``)
and the devstack use ``admin``. The ``default`` user is switched off, so a client that does not
authenticate is refused (see ``DEFAULT_USER``).

Redis 7 gives each kind of key its own commands with selectors, ``(~keys +commands)``, each of
which allows a command only if it matches all the command's keys. Redis 6.2 has no selectors: a
user there gets every command of its selectors on every key of them (a service could then also
append to the streams it consumes), which is still kept to its own keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.messaging.group_keys import attempts_key, dlq_stream, replay_stream

if TYPE_CHECKING:
    from shared.service import ServiceSpec

ADMIN, SUBSCRIBER = "admin", "subscriber"
SELECTORS_SINCE = (7, 0)
# Switched off and with no password, so no client can be it. Its rights are not for clients:
# Redis replays MULTI/EXEC blocks from the append-only file as this user and, before the fix of
# redis/redis#14541 (7.x included), re-checks them against its rights at EXEC; without them a
# restarted Redis would silently drop the runtime's transactions (acknowledgements, dead letters).
DEFAULT_USER = "user default off resetpass ~* &* +@all"
# Passwords are random and long: the ACL file holds only their SHA-256, which is then useless.
MIN_PASSWORD_LENGTH = 32

# What any client sends to connect and to run a MULTI/EXEC: PING, HELLO, AUTH, CLIENT SETNAME,
# CLIENT SETINFO (Redis 7.2), SELECT... but none of the administrative CLIENT subcommands
# (KILL, LIST, PAUSE...).
CONNECTION = ("-@all", "+@connection", "-@admin", "-@dangerous", "+select")
TRANSACTION = ("+multi", "+exec", "+discard")
# Redis 6 removes CLIENT entirely with -@admin, and checks the subcommands it does not know
# against the user's rights (7 answers them as unknown first): redis-py sends these on connect.
CONNECTION_REDIS_6 = (
    "+client|maint_notifications",
    "+client|setname",
    "+client|setinfo",
    "+client|getname",
    "+client|id",
    "+client|info",
)

PUBLISH = ("xadd", "xtrim", "xinfo|groups", "xpending")
CONSUME = (
    "xgroup|create",
    "xreadgroup",
    "xack",
    "xclaim",
    "xautoclaim",
    "xpending",
    "xinfo|groups",
    "xrange",
    "xlen",
)
SUBSCRIBE = ("xread", "xrange", "xrevrange", "xlen", "xinfo|stream")


@dataclass(frozen=True)
class Selector:
    """Some commands, allowed on some keys (a Redis 7 ACL selector)."""

    commands: tuple[str, ...]
    keys: tuple[str, ...]
    read_only: bool = False  # the keys may only be read (``%R~``), whatever the commands

    def rules(self) -> list[str]:
        prefix = "%R~" if self.read_only else "~"
        return [*(prefix + _literal(key) for key in self.keys), *(f"+{c}" for c in self.commands)]


@dataclass(frozen=True)
class RedisUser:
    """A Redis user: its name and what it may do (``everything`` for the admin)."""

    name: str
    selectors: tuple[Selector, ...] = ()
    everything: bool = False

    def rules(self, *, password: str, redis_version: tuple[int, int] = SELECTORS_SINCE) -> str:
        """The user's line of an ACL file (``user <name> on #<sha256> ...``)."""
        head = ["user", self.name, "on", "#" + password_hash(password), "resetkeys"]
        if self.everything:
            return " ".join([*head, "~*", "&*", "+@all"])
        head += ["resetchannels", *CONNECTION, *TRANSACTION]
        if redis_version >= SELECTORS_SINCE:
            return " ".join([*head, *("(" + " ".join(s.rules()) + ")" for s in self.selectors)])
        # Redis 6: no selectors, no read-only keys; every command on every key of the user.
        commands = dict.fromkeys(c for s in self.selectors for c in s.commands)
        keys = dict.fromkeys(k for s in self.selectors for k in s.keys)
        flat = Selector(tuple(commands), tuple(keys))
        return " ".join([*head, *CONNECTION_REDIS_6, *flat.rules()])


def service_user(
    name: str, *, group: str, consumes: Iterable[str], publishes: Iterable[str]
) -> RedisUser:
    """A service's user: publish its streams, consume others' as ``group``, keep its own keys."""
    consumed = sorted(set(consumes))
    selectors = [
        Selector(PUBLISH, tuple(sorted(set(publishes)))),
        Selector(
            CONSUME,
            tuple(key for stream in consumed for key in (stream, replay_stream(stream, group))),
        ),
        # Replayed entries are deleted once applied (only this group reads its replay stream);
        # the service's dead-letter API (district IT) hands its own dead letters back there.
        Selector(("xadd", "xdel"), tuple(replay_stream(stream, group) for stream in consumed)),
        # Dead-lettered by the consumer; listed, and removed once replayed, by that API.
        Selector(
            ("xadd", "xlen", "xrange", "xdel"),
            tuple(dlq_stream(stream, group) for stream in consumed),
        ),
        Selector(("hmget", "hset", "hdel"), tuple(attempts_key(s, group) for s in consumed)),
    ]
    return RedisUser(name, tuple(selector for selector in selectors if selector.keys))


def user_of_service(spec: ServiceSpec) -> RedisUser:
    """The user of the service ``spec`` describes, named after it."""
    return service_user(
        spec.name,
        group=spec.consumers.group,
        consumes=[subscription.stream for subscription in spec.consumers],
        publishes=[data_type.stream() for data_type in spec.publishes],
    )


def subscriber_user(streams: Iterable[str]) -> RedisUser:
    """An outside system's user: reads the event streams, writes nothing."""
    return RedisUser(SUBSCRIBER, (Selector(SUBSCRIBE, tuple(sorted(set(streams))), True),))


def admin_user() -> RedisUser:
    return RedisUser(ADMIN, everything=True)


def system_users(specs: Sequence[ServiceSpec]) -> list[RedisUser]:
    """The admin, one user per service, and the subscriber of every stream they publish."""
    published = [data_type.stream() for spec in specs for data_type in spec.publishes]
    return [admin_user(), *(user_of_service(spec) for spec in specs), subscriber_user(published)]


def acl_file(
    users: Sequence[RedisUser],
    passwords: Mapping[str, str],
    *,
    redis_version: tuple[int, int] = SELECTORS_SINCE,
) -> str:
    """An ACL file (``aclfile``) for ``users``, with the ``default`` user switched off."""
    missing = [user.name for user in users if user.name not in passwords]
    if missing:
        raise ValueError(f"no password for {', '.join(missing)}")
    short = [user.name for user in users if len(passwords[user.name]) < MIN_PASSWORD_LENGTH]
    if short:
        raise ValueError(
            f"the password of {', '.join(short)} is shorter than {MIN_PASSWORD_LENGTH} characters"
        )
    lines = [DEFAULT_USER]
    lines += [
        user.rules(password=passwords[user.name], redis_version=redis_version) for user in users
    ]
    return "\n".join(lines) + "\n"


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _literal(key: str) -> str:
    """A key pattern matching exactly ``key``."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", key)
