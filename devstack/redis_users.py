"""The bundled Redis's users: passwords made once and kept under ``./var``, and its ACL file.

The passwords live in ``var/redis-users.env`` (``REDIS_<USER>_PASSWORD=...``, mode 0600) and are
reused on every run; the ACL file (``var/redis/users.acl``, 0600, hashes only) is written again
on each run from the services' code, so rules follow the code. Neither is ever printed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from shared.messaging.acl import RedisUser, acl_file, system_users
from shared.messaging.acl_cli import password_variable, service_specs

PASSWORDS_FILE = "redis-users.env"


def users() -> list[RedisUser]:
    return system_users(service_specs())


def passwords(var: Path, users: Sequence[RedisUser]) -> dict[str, str]:
    """Each user's password: the one kept in ``var``, or a new one (then kept)."""
    path = var / PASSWORDS_FILE
    kept: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if value:
                kept[name.strip()] = value.strip()
    found = {user.name: kept.get(password_variable(user.name), "") for user in users}
    if all(found.values()):
        return found
    found = {name: value or secrets.token_urlsafe(32) for name, value in found.items()}
    write_private(path, "".join(f"{password_variable(n)}={v}\n" for n, v in found.items()))
    return found


def write_acl_file(
    path: Path,
    users: Sequence[RedisUser],
    passwords: dict[str, str],
    *,
    redis_version: tuple[int, int],
) -> Path:
    write_private(path, acl_file(users, passwords, redis_version=redis_version))
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)  # (an existing file keeps its mode through O_CREAT)
