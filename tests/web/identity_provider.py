"""A local OpenID Connect provider for the tests: discovery, authorize, token and JWKS, signing
RS256 ID and access tokens with a key made for the test. It signs in whoever the test says
(``person``) at once, checks the client's secret, the redirect address and the PKCE verifier,
and puts the authorization request's nonce in the ID token (unless the test sets
``nonce_override``, as a provider replaying an old token would)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ISSUER = "https://idp.test"
CLIENT_ID = "slc-web"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"
KEY_ID = "test-key-1"


@dataclass
class LocalIdentityProvider:
    person: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "t-rivera",
            "role": "teacher",
            "district": "demo",
            "sites": ["conway"],
        }
    )
    nonce_override: str | None = None
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def public_key_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [jwk | {"kid": KEY_ID, "use": "sig", "alg": "RS256"}]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "nonce": query.get("nonce", ""),
        }
        back = urlencode({"code": code, "state": query.get("state", "")})
        return RedirectResponse(f"{query['redirect_uri']}?{back}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        sent = request.headers.get("authorization", "").removeprefix("Basic ")
        if base64.b64decode(sent or "Og==").decode() != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge != grant["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = datetime.now(UTC)
        access = self._sign(self.person | {"aud": "slc"}, now=now, lifetime=timedelta(hours=1))
        identity = {
            "sub": self.person["sub"],
            "aud": CLIENT_ID,
            "nonce": self.nonce_override or grant["nonce"],
        }
        return JSONResponse(
            {
                "access_token": access,
                "id_token": self._sign(identity, now=now, lifetime=timedelta(hours=1)),
                "token_type": "Bearer",
                "expires_in": 3600,
            }
        )

    def _sign(self, claims: dict[str, Any], *, now: datetime, lifetime: timedelta) -> str:
        payload = claims | {"iss": ISSUER, "iat": now, "exp": now + lifetime}
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": KEY_ID})
