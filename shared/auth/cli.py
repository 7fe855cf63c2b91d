"""``slc-token``: mint a bearer token: the deployment's own (HS256, AUTH_JWT_SECRET).

slc-token --role guardian --sub g-wei --district demo
slc-token --role teacher --sub t-rivera --district demo --sites conway

A guardian acts for the students the roster links them to; ``--students`` can only narrow that.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta

from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.settings import DEV_JWT_SECRET


def _lifetime(text: str) -> float:
    """Hours a token lives: more than none (an expired token is no use to anyone)."""
    try:
        hours = float(text)
    except ValueError:
        hours = 0.0
    if not hours > 0:  # (NaN too)
        raise argparse.ArgumentTypeError(f"a number of hours above 0, not {text!r}")
    return hours


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="slc-token", description=__doc__.splitlines()[0])
    parser.add_argument("--role", required=True, choices=[role.value for role in Role])
    parser.add_argument("--sub", required=True, help="the caller's sourcedId")
    parser.add_argument("--district", required=True)
    parser.add_argument("--sites", nargs="*", default=[], help="sites the caller acts for")
    parser.add_argument(
        "--students",
        nargs="*",
        default=[],
        help="narrows a guardian to these of the students the roster links them to",
    )
    parser.add_argument(
        "--hours",
        type=_lifetime,
        default=12.0,
        help="lifetime (default 12; services refuse more than AUTH_MAX_TOKEN_LIFETIME_HOURS)",
    )
    parser.add_argument(
        "--secret",
        default=None,
        help="HS256 secret (default: $AUTH_JWT_SECRET, else the development secret)",
    )
    parser.add_argument(
        "--issuer",
        default=os.environ.get("AUTH_JWT_ISSUER") or None,
        help="its iss, which the services require when AUTH_JWT_ISSUER is set (default:"
        " $AUTH_JWT_ISSUER, else none)",
    )
    parser.add_argument(
        "--audience",
        default=os.environ.get("AUTH_JWT_AUDIENCE") or "slc",
        help="its aud (default: $AUTH_JWT_AUDIENCE, else slc)",
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
            audience=args.audience,
            issuer=args.issuer,
        )
    )


if __name__ == "__main__":
    main()
