"""Production tokens: RS256, verified against the identity provider's JWKS endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import Role, TokenError, TokenVerifier

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
