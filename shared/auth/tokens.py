"""Minting and verifying bearer tokens.

Development uses an HS256 shared secret; production verifies RS256/ES256 tokens from the district's
identity provider with a PEM public key or a JWKS URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pydantic import ValidationError

from shared.auth.principal import Principal, Role

ASYMMETRIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"]
DEFAULT_MAX_LIFETIME = timedelta(hours=12)
CLOCK_LEEWAY = timedelta(seconds=60)
LATEST_TIMESTAMP = 253402300800  # 10000-01-01: past it (or NaN) no claim is a time  # between this server's clock and the issuer's


class TokenError(ValueError):
    """The token is missing, malformed, expired, or not for this system; the message says which,
    and ``kind`` names it when a page acts on it (``shared.problems.CREDENTIAL_REFUSAL_KINDS``)."""

    def __init__(self, reason: str, *, kind: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind


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
        district: str | None = None,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
    ) -> None:
        if not (secret or public_key or jwks_url):
            raise ValueError("configure AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL")
        self._secret = secret
        self._public_key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._audience = audience
        self._issuer = issuer
        self._district = district
        self._max_lifetime = max_lifetime

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
                # ``iat`` is checked below, with leeway for the issuer's clock; ``exp`` is not.
                options={"require": ["sub", "exp", "iat", "role", "district"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("token has expired") from error
        except jwt.InvalidAudienceError as error:
            raise TokenError(f"token is not for audience {self._audience!r}") from error
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(f"token lacks the {error.claim!r} claim") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {error}") from error
        self._check_lifetime(claims)
        principal = principal_from_claims(claims)
        if self._district is not None and principal.district != self._district:
            raise TokenError(
                f"token is for district {principal.district!r}; this deployment serves"
                f" {self._district!r}"
            )
        return principal

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """A token may not outlive ``max_lifetime`` (a stolen long-lived token is a standing
        key); ``iat`` and ``exp`` are numbers (PyJWT checked both)."""
        issued, expires = claims["iat"], claims["exp"]
        if (
            not isinstance(issued, int | float)
            or isinstance(issued, bool)
            or not 0 <= issued < LATEST_TIMESTAMP
        ):
            raise TokenError("the 'iat' claim must be a time (seconds since 1970)")
        if issued > time.time() + CLOCK_LEEWAY.total_seconds():
            raise TokenError("token was issued in the future (check the issuer's clock)")
        lifetime = timedelta(seconds=float(expires) - float(issued))
        if lifetime > self._max_lifetime:
            hours = self._max_lifetime.total_seconds() / 3600
            raise TokenError(
                f"token lives {lifetime.total_seconds() / 3600:.1f} hours; at most"
                f" {hours:g} are accepted (AUTH_MAX_TOKEN_LIFETIME_HOURS)"
            )

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        """The key by the token's algorithm: the shared secret for HS256 (the deployment's own
        tokens), only ever the identity provider's keys for the others, so a token can never
        be verified with a key of the other kind (an HS256 token "signed" with the provider's
        public key is refused)."""
        if jwt.get_unverified_header(token).get("alg") == "HS256":
            if not self._secret:
                raise TokenError(
                    "invalid token: HS256 tokens are not accepted here (only the identity"
                    " provider's; set AUTH_JWT_SECRET for the deployment's own)"
                )
            return self._secret, ["HS256"]
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, ASYMMETRIC_ALGORITHMS
        if self._public_key:
            return self._public_key, ASYMMETRIC_ALGORITHMS
        raise TokenError("invalid token: only HS256 tokens are accepted here")


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
    """An HS256 token: the deployment's own (slc-token, the roster import's hand-over of contact
    details), and every token in development, demos and tests."""
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
