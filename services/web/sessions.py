"""Sign-ins: the signed-in person's credential kept in a signed, HttpOnly session cookie, never
in an address.

The cookie holds the credential the services check on every call (a family's link, or a staff
member's or student's access token from the district's identity provider), who the person is
(for staff and students: subject, role and sites, as their token says, to choose their pages),
when the sign-in ends (the earlier of the credential's expiry and the session lifetime) and the
token every form carries against cross-site requests. It is signed with ``WEB_SESSION_SECRET``,
so it cannot be changed or made up; what is in it is the person's own credential, which they
already hold.
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
_SALT = "slc-session"


@dataclass(frozen=True)
class Person:
    """A staff member or student signed in through the identity provider, as their token
    names them (the services decide what they may do; this only chooses their pages)."""

    subject: str
    role: str
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignIn:
    """A sign-in: the credential of every call, who it is (none: a family signed in with its
    link), when it ends, and its forms' CSRF token."""

    credential: str
    expires_at: datetime
    csrf_token: str
    person: Person | None = None

    @property
    def is_family(self) -> bool:
        return self.person is None


def token_expiry(token: str) -> datetime | None:
    """When the token says it expires (its ``exp``). Read without checking the signature: only
    called once the token was accepted (by scheduling, or from the identity provider), and only
    to end the sign-in no later."""
    try:
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        return None
    try:
        return datetime.fromtimestamp(expires, UTC)
    except (OverflowError, OSError, ValueError):
        return None


class SessionCookies:
    """Starts, reads and ends sign-ins."""

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._serializer = URLSafeSerializer(secret, salt=_SALT)
        self._lifetime = lifetime

    def start(self, credential: str, *, now: datetime, person: Person | None = None) -> SignIn:
        """A new sign-in with ``credential`` (already accepted)."""
        ends = now + self._lifetime
        expires = token_expiry(credential)
        return SignIn(
            credential=credential,
            expires_at=min(ends, expires) if expires else ends,
            csrf_token=secrets.token_urlsafe(32),
            person=person,
        )

    def read(self, request: Request, *, now: datetime) -> SignIn | None:
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
        credential, expires, csrf = data.get("cred"), data.get("exp"), data.get("csrf")
        if not (isinstance(credential, str) and isinstance(expires, int) and isinstance(csrf, str)):
            return None
        expires_at = datetime.fromtimestamp(expires, UTC)
        if expires_at <= now:
            return None
        return SignIn(credential, expires_at, csrf, _person(data.get("who")))

    def write(self, response: Response, session: SignIn, *, secure: bool, now: datetime) -> None:
        """Set the cookie: HttpOnly, SameSite=Lax, Secure over https, gone when the sign-in
        ends."""
        data: dict[str, Any] = {
            "cred": session.credential,
            "exp": int(session.expires_at.timestamp()),
            "csrf": session.csrf_token,
        }
        if session.person is not None:
            person = session.person
            data["who"] = {"sub": person.subject, "role": person.role, "sites": person.sites}
        response.set_cookie(
            SESSION_COOKIE,
            self._serializer.dumps(data),
            max_age=max(int((session.expires_at - now).total_seconds()), 0),
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )

    @staticmethod
    def end(response: Response, *, secure: bool) -> None:
        """Remove the cookie (signed out, or the credential no longer accepted)."""
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure
        )


def person_of_token(claims: dict[str, Any]) -> Person | None:
    """The person a token's claims name (``sub``, ``role``, ``sites``), if they name one."""
    return _person(
        {"sub": claims.get("sub"), "role": claims.get("role"), "sites": claims.get("sites", [])}
    )


def _person(data: Any) -> Person | None:
    if not isinstance(data, dict):
        return None
    subject, role, sites = data.get("sub"), data.get("role"), data.get("sites", [])
    if isinstance(sites, str):
        sites = [sites]
    if not (isinstance(subject, str) and subject and isinstance(role, str) and role):
        return None
    if not isinstance(sites, list | tuple) or not all(isinstance(site, str) for site in sites):
        return None
    return Person(subject=subject, role=role, sites=tuple(sites))
