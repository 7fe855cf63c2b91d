"""FastAPI dependencies: every API route gets a verified ``Principal`` or answers 401/403."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.auth.principal import Principal
from shared.auth.tokens import TokenError, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="A JWT from `slc-token` or the district IdP.")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller of this request."""
    if credentials is None:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        if verifier.fetches_keys:
            # Fetching the identity provider's keys is blocking I/O (cached after the first).
            return await run_in_threadpool(verifier.verify, credentials.credentials)
        return verifier.verify(credentials.credentials)
    except TokenError as error:
        raise _unauthorized(str(error)) from error


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def forbidden(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, reason)
