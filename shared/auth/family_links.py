"""Family links: the personal link in a family's invitation that lets them book, move and cancel
their child's conference without a password.

A link carries a JWT signed with Ed25519 (EdDSA): ``sub`` is the guardian's sourcedId,
``district`` their district, ``aud`` is ``slc-family-link`` and the header's ``typ``
``family-link+jwt``, so a link is never taken for a staff token nor a staff token for a link.
``jti`` is random; ``iat`` is in seconds with millisecond precision (revocation compares it).

Who holds which key:

- **notifications mints.** It is the service that writes to families, and the only one given
  the private key (``NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY``). It mints a link for each message
  that needs one and writes it only into that message, in its own database.
- **every service verifies.** Each may be given the public key (``FAMILY_LINK_PUBLIC_KEY``) and
  accepts a verified link as the guardian it names (``shared.auth.http``). A public key cannot
  sign: a compromise of scheduling or portfolio cannot mint links for anyone.

A link lives at most 180 days; one sent for a conference window works until the end of its last
conference day (``window_links_until``), so it still shows the family their conference once
booking has closed, and booking kept open longer needs no new links. It cannot be called
back once sent; a school that must cut one off (a lost phone, a forwarded message) revokes every
link the guardian was given until now, and scheduling refuses any issued at or before that time
(``services/scheduling/family_links/``), while notifications sends the family a new one.

A link is a credential: it never travels on a shared stream (events carry ids; a service that
needs a link for a family mints one), it is not logged, and who may act for which student still
comes from the roster's guardian links, never from the link.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.auth.tokens import CLOCK_LEEWAY, LATEST_TIMESTAMP, TokenError

AUDIENCE = "slc-family-link"
TOKEN_TYPE = "family-link+jwt"
ALGORITHM = "EdDSA"
MAX_LIFETIME = timedelta(days=180)

EXPIRED = "this link has expired; ask the school for a new one"
EXPIRED_KIND = "link_expired"  # its kind in a 401 (shared.problems.CREDENTIAL_REFUSAL_KINDS)
VERIFIED_KEPT = 10_000  # links kept verified per process (about a kilobyte each)


def window_links_until(last_day: date, timezone: str) -> datetime:
    """Until when a link sent for a conference window works: the end of its last conference day
    on the school's clock (booking closes by then)."""
    following = last_day + timedelta(days=1)
    midnight = datetime(following.year, following.month, following.day, tzinfo=ZoneInfo(timezone))
    return midnight.astimezone(UTC)


@dataclass(frozen=True)
class FamilyLink:
    """A verified family link: whose it is, and when it was issued and expires."""

    guardian_id: str
    district: str
    issued_at: datetime
    expires_at: datetime
    link_id: str


def generate_key_pair() -> tuple[str, str]:
    """A new Ed25519 key pair as PEM text ``(private, public)``, for development and tests."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode(), public_pem.decode()


def public_key_pem(private_key_pem: str) -> str:
    """The public key (PEM) that verifies the links the private key ``private_key_pem`` signs."""
    return (
        load_private_key(private_key_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def is_family_link(token: str) -> bool:
    """Whether ``token`` presents itself as a family link (its header's ``typ`` or its
    audience). Nothing is verified: it only says which verifier the token is for."""
    try:
        if jwt.get_unverified_header(token).get("typ") == TOKEN_TYPE:
            return True
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    return AUDIENCE in audiences


def load_private_key(pem: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``pem`` (unencrypted PKCS#8), or ``ValueError`` saying why."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"not a readable PEM private key ({error})") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("a family link private key must be an Ed25519 key")
    return key


def load_public_key(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key in ``pem``, or ``ValueError`` saying why."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"not a readable PEM public key ({error})") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("a family link public key must be an Ed25519 key")
    return key


class FamilyLinkIssuer:
    """Mints family links with the private key (notifications only)."""

    def __init__(self, private_key_pem: str) -> None:
        self._key = load_private_key(private_key_pem)

    def mint(
        self,
        *,
        guardian_id: str,
        district: str,
        expires_at: datetime,
        issued_at: datetime | None = None,
    ) -> str:
        """A link for ``guardian_id``, valid until ``expires_at`` (at most 180 days after it is
        issued). ``issued_at`` (default: now) is kept to the millisecond, rounded down."""
        issued = _whole_milliseconds(issued_at or datetime.now(UTC))
        if expires_at.tzinfo is None or issued.tzinfo is None:
            raise ValueError("give family link times as timezone-aware datetimes")
        # (The claims as a verifier reads them: ``exp`` in whole seconds, ``iat`` to the ms.)
        expires = math.floor(expires_at.timestamp())
        lifetime = expires - issued.timestamp()
        if lifetime <= 0:
            raise ValueError("a family link must expire after it is issued")
        if lifetime > MAX_LIFETIME.total_seconds():
            raise ValueError(f"a family link lives at most {MAX_LIFETIME.days} days")
        claims = {
            "sub": guardian_id,
            "district": district,
            "aud": AUDIENCE,
            "iat": issued.timestamp(),
            "exp": expires,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})

    def derived_key(self, purpose: str) -> bytes:
        """A secret of 32 bytes for another use (``purpose`` names it), derived from the private
        key: whoever can mint links has it, and nobody else."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return hmac.new(raw, f"slc/{purpose}".encode(), hashlib.sha256).digest()


class FamilyLinkVerifier:
    """Turns a family link into a ``FamilyLink``, or raises ``TokenError`` saying why not.

    A link verified once is kept (the last ``VERIFIED_KEPT``), so the next request made with it
    skips the signature check and the decoding (a family's page makes several, and a refused
    booking is followed at once by another); whether it has expired is asked every time. A
    token that differs in any character is a different key, verified in full."""

    def __init__(self, public_key_pem: str, district: str | None) -> None:
        self._key = load_public_key(public_key_pem)
        self._district = district
        self._verified: OrderedDict[str, FamilyLink] = OrderedDict()

    def verify(self, token: str) -> FamilyLink:
        link = self._verified.get(token)
        if link is None:
            link = self._verify(token)
            self._verified[token] = link
            if len(self._verified) > VERIFIED_KEPT:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(token)
        # (As the JWT check decides it: valid while now is before ``exp``.)
        if time.time() >= link.expires_at.timestamp():
            self._verified.pop(token, None)
            raise TokenError(EXPIRED, kind=EXPIRED_KIND)
        return link

    def _verify(self, token: str) -> FamilyLink:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != TOKEN_TYPE:
                raise TokenError("this token is not a family link")
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                # ``iat`` is checked below, with leeway for clocks; ``exp`` exactly.
                options={
                    "require": ["sub", "district", "aud", "iat", "exp", "jti"],
                    "verify_iat": False,
                },
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError(EXPIRED, kind=EXPIRED_KIND) from error
        except jwt.InvalidAudienceError as error:
            raise TokenError("this token is not a family link (wrong audience)") from error
        except jwt.InvalidSignatureError as error:
            raise TokenError(
                "this link's signature is not valid: it was changed, or not made by this"
                " school system"
            ) from error
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(f"this link lacks the {error.claim!r} claim") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid family link: {error}") from error
        link = _link_from_claims(claims)
        if self._district is not None and link.district != self._district:
            raise TokenError(
                f"this link is for district {link.district!r}; this deployment serves"
                f" {self._district!r}"
            )
        return link


def _link_from_claims(claims: dict[str, Any]) -> FamilyLink:
    issued, expires = claims["iat"], claims["exp"]
    for name, value in (("iat", issued), ("exp", expires)):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 <= value < LATEST_TIMESTAMP
        ):
            raise TokenError(f"the link's {name!r} claim must be a time (seconds since 1970)")
    if issued > time.time() + CLOCK_LEEWAY.total_seconds():
        raise TokenError("this link was issued in the future (check the issuer's clock)")
    if timedelta(seconds=float(expires) - float(issued)) > MAX_LIFETIME:
        raise TokenError(f"this link lives longer than {MAX_LIFETIME.days} days: not accepted")
    for name in ("sub", "district", "jti"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise TokenError(f"the link's {name!r} claim must be a non-empty string")
    return FamilyLink(
        guardian_id=claims["sub"],
        district=claims["district"],
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
        link_id=claims["jti"],
    )


def _whole_milliseconds(moment: datetime) -> datetime:
    """``moment`` rounded down to the millisecond: it survives the trip through a float
    ``iat`` exactly, and is never later than the moment it stands for (a link minted just
    before a revocation stays before it)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
