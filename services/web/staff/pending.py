"""What must survive a trip away and back before anyone is signed in (the OpenID Connect state,
nonce and PKCE verifier; the development page's form token): a signed cookie that lives a few
minutes, sent back only to the address that reads it."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

# Long enough to type a password and answer a second factor; a sign-in left longer starts over.
PENDING_SECONDS = 600


class PendingCookie:
    """One short-lived signed cookie, named ``name``, for the addresses under ``path``."""

    def __init__(self, secret: str, *, name: str, path: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=f"slc-pending-{name}")
        self._name, self._path = name, path

    def write(self, response: Response, data: dict[str, str], *, secure: bool) -> None:
        response.set_cookie(
            self._name,
            self._serializer.dumps(data),
            max_age=PENDING_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure,
            path=self._path,
        )

    def read(self, request: Request) -> dict[str, str] | None:
        """The cookie's data, if it is genuine and fresh."""
        cookie = request.cookies.get(self._name)
        if not cookie:
            return None
        try:
            data: Any = self._serializer.loads(cookie, max_age=PENDING_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return None
        return data

    def end(self, response: Response, *, secure: bool) -> None:
        response.delete_cookie(
            self._name, path=self._path, httponly=True, samesite="lax", secure=secure
        )
