"""A family's sign-in: its link kept in a signed, HttpOnly session cookie, never in an address.

The cookie holds the link (the family's credential, which the services check on every call), when
the sign-in ends (the earlier of the link's expiry and the session lifetime) and the token every
form carries against cross-site requests. It is signed with ``WEB_SESSION_SECRET``, so it
cannot be changed or made up; what is in it is the family's own link, which they already hold.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "slc_session"
_SALT = "slc-family-session"


@dataclass(frozen=True)
class FamilySession:
    """A signed-in family: its link, when the sign-in ends, and its forms' CSRF token."""

    link: str
    expires_at: datetime
    csrf_token: str


def link_expiry(link: str) -> datetime | None:
    """When the link says it expires (its ``exp``). Read without checking the signature: only
    called once scheduling has accepted the link, and only to end the sign-in no later."""
    try:
        expires = jwt.decode(link, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        return None
    try:
        return datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError):
        return None


class SessionCookies:
    """Starts, reads and ends families' sign-ins."""

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._serializer = URLSafeSerializer(secret, salt=_SALT)
        self._lifetime = lifetime

    def start(self, link: str, *, now: datetime) -> FamilySession:
        """A new sign-in with ``link`` (already accepted by scheduling)."""
        ends = now + self._lifetime
        expires = link_expiry(link)
        return FamilySession(
            link=link,
            expires_at=min(ends, expires) if expires else ends,
            csrf_token=secrets.token_urlsafe(32),
        )

    def read(self, request: Request, *, now: datetime) -> FamilySession | None:
        """The request's sign-in, if its cookie is genuine and has not ended."""
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        try:
            data: Any = self._serializer.loads(cookie)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        link, expires, csrf = data.get("link"), data.get("exp"), data.get("csrf")
        if not (isinstance(link, str) and isinstance(expires, int) and isinstance(csrf, str)):
            return None
        expires_at = datetime.fromtimestamp(expires, UTC)
        if expires_at <= now:
            return None
        return FamilySession(link=link, expires_at=expires_at, csrf_token=csrf)

    def write(
        self, response: Response, session: FamilySession, *, secure: bool, now: datetime
    ) -> None:
        """Set the cookie: HttpOnly, SameSite=Lax, Secure over https, gone when the sign-in
        ends."""
        value = self._serializer.dumps(
            {
                "link": session.link,
                "exp": int(session.expires_at.timestamp()),
                "csrf": session.csrf_token,
            }
        )
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=max(int((session.expires_at - now).total_seconds()), 0),
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )

    @staticmethod
    def end(response: Response, *, secure: bool) -> None:
        """Remove the cookie (signed out, or the link no longer accepted)."""
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure
        )
