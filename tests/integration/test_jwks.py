"""Production tokens: RS256, verified against the identity provider's JWKS endpoint; beside
them the deployment's own HS256 tokens, each kind verified only with its own kind of key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm
from pydantic import ValidationError

from services.portfolio.settings import PortfolioSettings
from shared.auth import Role, TokenError, TokenVerifier
from shared.auth.tokens import mint_token
from shared.settings import DEV_JWT_SECRET

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    """A local identity provider publishing one signing key."""
    public_jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [public_jwk | {"kid": "idp-1", "use": "sig", "alg": "RS256"}]})

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def idp_token(key: rsa.RSAPrivateKey, **claims: object) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": "t-rivera",
        "role": "teacher",
        "district": "demo",
        "sites": ["conway"],
        "aud": "slc",
        "iss": "https://idp.demo.k12",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | claims
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "idp-1"})


def test_token_signed_by_the_identity_provider_is_accepted(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, issuer="https://idp.demo.k12")
    principal = verifier.verify(idp_token(KEY))
    assert (principal.subject, principal.role, principal.sites) == (
        "t-rivera",
        Role.TEACHER,
        frozenset({"conway"}),
    )


def test_token_signed_by_another_key_or_issuer_is_refused(jwks_url: str) -> None:
    verifier = TokenVerifier(jwks_url=jwks_url, issuer="https://idp.demo.k12")
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(idp_token(OTHER_KEY))
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(idp_token(KEY, iss="https://elsewhere.example"))


SECRET = "the-deployments-own-secret-" + "x" * 32


def own_token(secret: str) -> str:
    """A token of the deployment's own (``slc-token``, the roster import's): HS256."""
    return mint_token(
        secret=secret,
        subject="roster-importer",
        role=Role.DISTRICT_ADMIN,
        district="demo",
        issuer="https://idp.demo.k12",
        ttl=timedelta(minutes=10),
    )


def hmac_token(key: bytes, **header: str) -> str:
    """An HS256 token signed with ``key``, put together by hand (PyJWT would refuse a PEM key)."""
    now = int(datetime.now(UTC).timestamp())
    claims = {
        **{"sub": "x", "role": "district_admin", "district": "demo", "aud": "slc"},
        **{"iss": "https://idp.demo.k12", "iat": now, "exp": now + 300},
    }

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signed = f"{part({'alg': 'HS256', 'typ': 'JWT', **header})}.{part(claims)}"
    signature = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_the_deployments_own_tokens_are_accepted_beside_the_identity_providers(
    jwks_url: str,
) -> None:
    """With an identity provider's keys, the services still accept the deployment's own
    HS256 tokens (a roster import hands contact details to notifications with one), each kind
    verified only with its own kind of key."""
    verifier = TokenVerifier(secret=SECRET, jwks_url=jwks_url, issuer="https://idp.demo.k12")
    assert verifier.verify(idp_token(KEY)).role == Role.TEACHER
    assert verifier.verify(own_token(SECRET)).role == Role.DISTRICT_ADMIN
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(own_token("another-secret-" + "y" * 32))
    # The provider's public key used as an HMAC secret (the algorithm confusion), made by
    # hand as an attacker would: refused.
    public_pem = KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(hmac_token(public_pem, kid="idp-1"))
    only_provider = TokenVerifier(jwks_url=jwks_url, issuer="https://idp.demo.k12")
    with pytest.raises(TokenError, match="HS256 tokens are not accepted here"):
        only_provider.verify(own_token(SECRET))


def test_beyond_loopback_the_development_secret_beside_a_provider_accepts_no_hs256() -> None:
    jwks = "https://idp.demo.k12/jwks"
    assert PortfolioSettings(host="0.0.0.0", jwks_url=jwks).service_token_secret is None
    assert (
        PortfolioSettings(host="0.0.0.0", jwks_url=jwks, jwt_secret="").service_token_secret is None
    )
    own = PortfolioSettings(host="0.0.0.0", jwks_url=jwks, jwt_secret=SECRET)
    assert own.service_token_secret == SECRET
    # On loopback too (a service behind a proxy on its machine), and without one, as before.
    assert PortfolioSettings(jwks_url=jwks).service_token_secret is None
    assert PortfolioSettings().service_token_secret == DEV_JWT_SECRET
    with pytest.raises(ValidationError, match="AUTH_JWT_SECRET is shorter than 32 bytes"):
        PortfolioSettings(host="0.0.0.0", jwks_url=jwks, jwt_secret="short")
