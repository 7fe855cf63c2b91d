"""Minting and verifying bearer tokens.

Development uses an HS256 shared secret; production verifies RS256/ES256 tokens from the district's
identity provider with a PEM public key or a JWKS URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import ValidationError

from shared.auth.principal import Principal, Role

ASYMMETRIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"]


class TokenError(ValueError):
    """The token is missing, malformed, expired, or not for this system; the message says which."""


class TokenVerifier:
    """Turns a bearer token into a ``Principal``, or raises ``TokenError`` with the reason."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        public_key: str | None = None,
        jwks_url: str | None = None,
        audience: str = "slc",
        issuer: str | None = None,
    ) -> None:
        if not (secret or public_key or jwks_url):
            raise ValueError("configure AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL")
        self._secret = secret
        self._public_key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._audience = audience
        self._issuer = issuer

    @property
    def fetches_keys(self) -> bool:
        """Whether verifying may fetch keys over the network (a JWKS URL is configured)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            key, algorithms = self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp", "role", "district"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("token has expired") from error
        except jwt.InvalidAudienceError as error:
            raise TokenError(f"token is not for audience {self._audience!r}") from error
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(f"token lacks the {error.claim!r} claim") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {error}") from error
        return principal_from_claims(claims)

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, ASYMMETRIC_ALGORITHMS
        if self._public_key:
            return self._public_key, ASYMMETRIC_ALGORITHMS
        return self._secret, ["HS256"]


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        return Principal(
            subject=claims["sub"],
            role=Role(claims["role"]),
            district=claims["district"],
            sites=_id_list(claims, "sites"),
            students=_id_list(claims, "students"),
        )
    except (ValueError, ValidationError) as error:
        raise TokenError(f"token claims are not valid: {error}") from error


def _id_list(claims: dict[str, Any], name: str) -> frozenset[str]:
    """A list-of-ids claim; a single string (as some identity providers send) is one id."""
    value = claims.get(name, [])
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"the {name!r} claim must be a list of ids")
    return frozenset(value)


def mint_token(
    *,
    secret: str,
    subject: str,
    role: Role,
    district: str,
    sites: Iterable[str] = (),
    students: Iterable[str] = (),
    ttl: timedelta = timedelta(hours=12),
    audience: str = "slc",
    issuer: str | None = None,
) -> str:
    """An HS256 token for development, demos and tests."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "district": district,
        "sites": sorted(sites),
        "students": sorted(students),
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
    }
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
