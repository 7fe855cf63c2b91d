"""The district's identity provider, spoken to with OpenID Connect (Authlib): the authorization
code flow with PKCE, a state and a nonce.

The web front keeps the access token the provider issues (the services verify it: its role,
district and sites, ``shared.auth``) as the person's credential; the ID token only proves the
sign-in (signature, issuer, audience, expiry and nonce checked here) and must name the same
person as the access token.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from services.web.service_api import ServiceUnavailable
from services.web.settings import WebSettings

with warnings.catch_warnings():
    # Authlib prefers the httpx2 package and warns when it runs on httpx, which every other
    # part of the web front uses (the same client, so tests' transports work alike).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

DISCOVERY = "/.well-known/openid-configuration"
# Between this server's clock and the provider's.
LEEWAY_SECONDS = 60


class SignInRefused(Exception):
    """The sign-in cannot be finished (a stale or forged state, a wrong nonce, a code the
    provider refused, tokens that do not check out); the message says which, for the log."""


@dataclass(frozen=True)
class PendingSignIn:
    """What the browser carries to the provider and back: kept in a short-lived signed cookie
    until the provider redirects back."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ProviderSignIn:
    """A finished sign-in: the access token (the credential) and its claims."""

    access_token: str
    claims: dict[str, Any]


class IdentityProvider:
    """The provider named by ``WEB_OIDC_ISSUER``, its metadata read once from discovery."""

    def __init__(
        self, settings: WebSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self._issuer = settings.oidc_issuer.rstrip("/")
        self._client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self._client_secret = secret.get_secret_value() if secret else None
        self._scope = settings.oidc_scope
        self._timeout = settings.service_timeout_seconds
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method="client_secret_basic" if self._client_secret else "none",
            scope=self._scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
            transport=self._transport,
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (read once)."""
        if self._metadata is None:
            metadata = await self._get_json(f"{self._issuer}{DISCOVERY}")
            if metadata.get("issuer", "").rstrip("/") != self._issuer:
                raise ServiceUnavailable("identity provider: discovery names another issuer")
            self._metadata = metadata
        return self._metadata

    async def authorization_url(self, *, redirect_uri: str) -> tuple[str, PendingSignIn]:
        """Where to send the browser to sign in, and what must come back with it."""
        metadata = await self.metadata()
        pending = PendingSignIn(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
        )
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        return url, pending

    async def finish(
        self, *, code: str, state: str, pending: PendingSignIn, redirect_uri: str
    ) -> ProviderSignIn:
        """Exchange the code for tokens and check them (``SignInRefused`` if anything is off)."""
        if not secrets.compare_digest(state.encode(), pending.state.encode()):
            raise SignInRefused("the state that came back is not the one sent")
        metadata = await self.metadata()
        async with self._client(redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=pending.code_verifier
                )
            except OAuth2Error as error:
                raise SignInRefused(f"the provider refused the code: {error.error}") from error
            except httpx.HTTPError as error:
                raise ServiceUnavailable("identity provider") from error
        access_token, id_token = token.get("access_token"), token.get("id_token")
        if not isinstance(access_token, str) or not isinstance(id_token, str):
            raise SignInRefused("the provider sent no access token or no ID token")
        identity = await self._checked_id_token(id_token, nonce=pending.nonce, access=access_token)
        try:
            # From the provider's token endpoint, over its own connection: the services verify
            # its signature on every call; here it only names the person.
            claims = jwt.decode(access_token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise SignInRefused("the access token is not a JWT the services can verify") from error
        if claims.get("sub") != identity.get("sub"):
            raise SignInRefused("the access token and the ID token name different people")
        return ProviderSignIn(access_token=access_token, claims=claims)

    async def _checked_id_token(self, id_token: str, *, nonce: str, access: str) -> dict[str, Any]:
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=list(algorithms), strict_check_header=False)
        try:
            decoded = jose_jwt.decode(id_token, await self._key_set(), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {"iss": {"essential": True, "values": [metadata["issuer"]]}},
                {"nonce": nonce, "client_id": self._client_id, "access_token": access},
            )
            claims.validate(leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError) as error:
            raise SignInRefused(f"the ID token does not check out: {error}") from error
        return dict(claims)

    async def _key_set(self) -> KeySet:
        if self._keys is None:
            metadata = await self.metadata()
            try:
                keys: Any = await self._get_json(metadata["jwks_uri"])
                self._keys = KeySet.import_key_set(keys)
            except (JoseError, ValueError, KeyError, TypeError) as error:
                raise ServiceUnavailable("identity provider: unreadable keys") from error
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
                response = await http.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ServiceUnavailable("identity provider") from error
        if not isinstance(body, dict):
            raise ServiceUnavailable("identity provider: not a JSON object")
        return body
