"""``slc-redis-acl``: the Redis ACL file (``users.acl``) of the system's users.

    REDIS_ADMIN_PASSWORD=... REDIS_PORTFOLIO_PASSWORD=... REDIS_SCHEDULING_PASSWORD=... \\
    REDIS_NOTIFICATIONS_PASSWORD=... REDIS_SUBSCRIBER_PASSWORD=... slc-redis-acl --output users.acl

One user per service (each package under ``services/`` with an ``app.SPEC``), named after it,
``subscriber`` (read-only, for outside systems) and ``admin`` (operators); the ``default`` user
is switched off. Each password comes from ``REDIS_<USER>_PASSWORD``, at least 32 characters
(``python3 -c 'import secrets; print(secrets.token_urlsafe(32))'``). The file holds their
SHA-256, never the passwords. Start Redis with ``--aclfile users.acl``, then give each service
``REDIS_URL=redis://<service>:<password>@<host>:6379/0``. ``--redis-version 6.2`` writes rules
without selectors (see ``shared.messaging.acl``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shared.messaging.acl import RedisUser, acl_file, system_users

if TYPE_CHECKING:
    from shared.service import ServiceSpec


def service_specs() -> list[ServiceSpec]:
    """Every service's ``ServiceSpec``: each package under ``services/`` with an ``app.SPEC``."""
    import services

    specs = []
    for package in sorted(pkgutil.iter_modules(services.__path__), key=lambda m: m.name):
        if package.ispkg:
            app = importlib.import_module(f"services.{package.name}.app")
            # (The web front has none: it uses no Redis, only the services' HTTP APIs.)
            if hasattr(app, "SPEC"):
                specs.append(app.SPEC)
    return specs


def password_variable(user: str) -> str:
    """The environment variable holding ``user``'s password, e.g. ``REDIS_PORTFOLIO_PASSWORD``."""
    return f"REDIS_{user.upper()}_PASSWORD"


def passwords_from(environment: Mapping[str, str], users: Sequence[RedisUser]) -> dict[str, str]:
    missing = [
        password_variable(u.name) for u in users if not environment.get(password_variable(u.name))
    ]
    if missing:
        raise ValueError(f"set {', '.join(missing)}")
    return {user.name: environment[password_variable(user.name)] for user in users}


def _version(text: str) -> tuple[int, int]:
    try:
        major, minor = (int(part) for part in text.split(".")[:2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Redis version: {text!r} (e.g. 7.2)") from None
    return major, minor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="slc-redis-acl",
        description="Print the Redis ACL file of the system's users (passwords from"
        " REDIS_<USER>_PASSWORD).",
    )
    parser.add_argument("--output", type=Path, help="write it to this file instead of stdout")
    parser.add_argument(
        "--redis-version", type=_version, default=(7, 0), help="of the Redis server (default 7.0)"
    )
    args = parser.parse_args(argv)
    users = system_users(service_specs())
    try:
        text = acl_file(users, passwords_from(os.environ, users), redis_version=args.redis_version)
    except ValueError as error:
        print(f"slc-redis-acl: {error}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text)
        except OSError as error:
            print(f"slc-redis-acl: cannot write {args.output}: {error.strerror}", file=sys.stderr)
            return 2
        print(f"slc-redis-acl: wrote {len(users)} users to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
