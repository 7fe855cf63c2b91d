"""The operators' commands refuse what cannot work in one line on stderr and exit 2: never a
traceback, never a secret, and before doing any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PASSWORDS = {
    f"REDIS_{user}_PASSWORD": "p" * 40
    for user in ("ADMIN", "NOTIFICATIONS", "PORTFOLIO", "SCHEDULING", "SUBSCRIBER")
}


def run(command: list[str], **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **environment},
    )


@pytest.mark.parametrize(
    ("command", "environment", "says"),
    [
        (
            ["slc-jobs", "--database-url", "postgresql://127.0.0.1/test", "list"],
            {},
            "--database-url: the driver 'postgresql' is not one the services use",
        ),
        (
            ["slc-jobs", "--service", "notifications", "list"],
            {"NOTIFICATIONS_DATABASE_URL": "garbage"},
            "NOTIFICATIONS_DATABASE_URL: not a database URL",
        ),
        (
            ["slc-jobs", "--database-url", "sqlite+aiosqlite:///no/such/dir/x.db", "list"],
            {},
            "no database at no/such/dir/x.db",
        ),
        (["slc-jobs", "--service", "portfolio", "list", "--limit", "-1"], {}, "1 or more"),
        (
            ["slc-deadletters", "--redis-url", "http://127.0.0.1:6379", "list"],
            {},
            "not a Redis URL",
        ),
        (["slc-redis-acl", "--output", "/no/such/dir/users.acl"], PASSWORDS, "cannot write"),
        (["slc-redis-acl"], {}, "set REDIS_ADMIN_PASSWORD"),
        (
            ["slc-token", "--role", "teacher", "--sub", "t-1", "--district", "d", "--hours", "-5"],
            {},
            "a number of hours above 0",
        ),
        (
            ["slc-roster", "import", "devstack/demo_roster", "--timezone", "America/NewYork"],
            {},
            "not an IANA time zone",
        ),
        (
            [
                "slc-roster",
                "import",
                "devstack/demo_roster",
                "--no-contacts",
                "--report",
                "/no/such/dir/report.json",
            ],
            {"PORTFOLIO_DATABASE_URL": "sqlite+aiosqlite:///{tmp}/never-created.db"},
            "--report: no directory '/no/such/dir'",
        ),
        (
            ["slc-portfolio", "reannounce"],
            {"PORTFOLIO_DATABASE_URL": "mysql+aiomysql://someone:secret-pw@127.0.0.1/x"},
            "the driver 'mysql+aiomysql' is not one the services use",
        ),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_a_command_refuses_in_one_line_with_exit_2(
    command: list[str], environment: dict[str, str], says: str, tmp_path: Path
) -> None:
    ran = run(command, **{name: value.format(tmp=tmp_path) for name, value in environment.items()})
    assert ran.returncode == 2, ran.stderr
    assert "Traceback" not in ran.stderr
    assert says in ran.stderr, ran.stderr
    assert "secret-pw" not in ran.stderr
    assert not (tmp_path / "never-created.db").exists()  # (refused before any work)
