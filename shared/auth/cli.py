"""``slc-token``: mint a development bearer token.

slc-token --role guardian --sub g-ava-mom --district demo --sites conway --students s-ava
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta

from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.settings import DEV_JWT_SECRET


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="slc-token", description=__doc__.splitlines()[0])
    parser.add_argument("--role", required=True, choices=[role.value for role in Role])
    parser.add_argument("--sub", required=True, help="the caller's sourcedId")
    parser.add_argument("--district", required=True)
    parser.add_argument("--sites", nargs="*", default=[], help="sites the caller acts for")
    parser.add_argument("--students", nargs="*", default=[], help="students a guardian may see")
    parser.add_argument("--hours", type=float, default=12.0, help="lifetime (default 12)")
    parser.add_argument(
        "--secret",
        default=None,
        help="HS256 secret (default: $AUTH_JWT_SECRET, else the development secret)",
    )
    args = parser.parse_args(argv)

    secret = args.secret or os.environ.get("AUTH_JWT_SECRET") or DEV_JWT_SECRET
    print(
        mint_token(
            secret=secret,
            subject=args.sub,
            role=Role(args.role),
            district=args.district,
            sites=args.sites,
            students=args.students,
            ttl=timedelta(hours=args.hours),
        )
    )


if __name__ == "__main__":
    main()
