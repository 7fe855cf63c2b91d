"""Staff sign in through the district's identity provider: the whole OpenID Connect code flow
against a local provider (tests/web/identity_provider.py), the teacher's day behind it, and a
state or nonce that does not match refused with a page saying so."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest

from services.web.app import build_app
from shared.auth import Principal, TokenVerifier
from tests.integration.conftest import System
from tests.web.conftest import Family, csrf_token, service_transports, signed_in, web_settings
from tests.web.identity_provider import CLIENT_ID, CLIENT_SECRET, ISSUER, LocalIdentityProvider


class ProviderOrTestTokens:
    """The services' verifier here: the provider's tokens by its public key (as
    AUTH_JWT_PUBLIC_KEY has them do), and the tests' own HS256 ones that set up the school."""

    fetches_keys = False

    def __init__(self, provider: TokenVerifier, tests: TokenVerifier) -> None:
        self._provider, self._tests = provider, tests

    def verify(self, token: str) -> Principal:
        if jwt.get_unverified_header(token).get("alg") == "RS256":
            return self._provider.verify(token)
        return self._tests.verify(token)


@pytest.fixture
def provider(system: System) -> LocalIdentityProvider:
    """The district's identity provider, whose tokens the services accept."""
    provider = LocalIdentityProvider()
    from_provider = TokenVerifier(
        public_key=provider.public_key_pem, issuer=ISSUER, district="demo"
    )
    for name in ("scheduling", "portfolio"):
        state = system.apps[name].state
        state.token_verifier = ProviderOrTestTokens(from_provider, state.token_verifier)
    return provider


@pytest.fixture
async def staff_web(
    system: System, provider: LocalIdentityProvider
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The web front with OpenID Connect sign-in, and a browser's view of the provider."""
    idp = httpx.ASGITransport(app=provider.app())
    app = build_app(
        web_settings(
            oidc_issuer=ISSUER, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET
        ),
        transports={**service_transports(system), "oidc": idp},
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web,
        httpx.AsyncClient(transport=idp, base_url=ISSUER) as browser_at_idp,
    ):
        yield web, browser_at_idp


async def to_provider_and_back(
    web: httpx.AsyncClient, browser_at_idp: httpx.AsyncClient
) -> httpx.URL:
    """Start signing in; the provider's redirect back to the web front (not followed yet)."""
    started = await web.get("/staff/sign-in")
    assert started.status_code == 303, started.text
    authorize = httpx.URL(started.headers["location"])
    assert authorize.host == urlsplit(ISSUER).hostname
    query: dict[str, Any] = dict(authorize.params)
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    assert "code_verifier" not in query
    back = await browser_at_idp.get(str(authorize))
    assert back.status_code == 302
    return httpx.URL(back.headers["location"])


async def test_a_teacher_signs_in_through_the_identity_provider_and_sees_their_day(
    staff_web: tuple[httpx.AsyncClient, httpx.AsyncClient],
    family: Family,
    system: System,
    conference_times: list[dict[str, Any]],
) -> None:
    web, browser_at_idp = staff_web
    await signed_in(web, family)
    choose = await web.get(f"/family/children/{family.student_id}/book")
    booked = await web.post(
        f"/family/children/{family.student_id}/book",
        data={"csrf_token": csrf_token(choose), "slot_id": conference_times[0]["id"]},
    )
    assert booked.status_code == 303
    web.cookies.clear()

    back = await to_provider_and_back(web, browser_at_idp)
    assert back.path == "/staff/sign-in/callback"
    finished = await web.get(back.path, params=dict(back.params))
    assert finished.status_code == 303, finished.text
    assert "HttpOnly" in finished.headers["set-cookie"]
    day = await web.get(finished.headers["location"], follow_redirects=True)
    assert day.status_code == 200
    assert str(day.url).startswith("http://web/teacher/day")
    assert "Conferences on" in day.text
    local = datetime.fromisoformat(conference_times[0]["starts_at"]).astimezone(
        ZoneInfo("America/Los_Angeles")
    )
    that_day = await web.get("/teacher/day", params={"date": local.date().isoformat()})
    assert that_day.status_code == 200, that_day.text
    assert "Ava" in that_day.text
    # (Days ahead: no button yet, the page says when check-in opens.)
    assert "Check-in opens 30 minutes before the conference." in html.unescape(that_day.text)
    assert "Sign out" in that_day.text


async def test_a_state_that_does_not_match_is_refused_with_a_page(
    staff_web: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    web, browser_at_idp = staff_web
    back = await to_provider_and_back(web, browser_at_idp)
    params = dict(back.params) | {"state": "not-the-state-sent"}
    refused = await web.get(back.path, params=params)
    assert refused.status_code == 400
    assert "Sign-in did not work" in refused.text
    assert "slc_session" not in refused.headers.get("set-cookie", "")
    assert (await web.get("/teacher/day")).status_code == 401


async def test_an_id_token_with_another_nonce_is_refused_with_a_page(
    staff_web: tuple[httpx.AsyncClient, httpx.AsyncClient], provider: LocalIdentityProvider
) -> None:
    web, browser_at_idp = staff_web
    provider.nonce_override = "a-nonce-from-another-sign-in"
    back = await to_provider_and_back(web, browser_at_idp)
    refused = await web.get(back.path, params=dict(back.params))
    assert refused.status_code == 400
    assert "Sign-in did not work" in refused.text
    assert (await web.get("/teacher/day")).status_code == 401


async def test_coming_back_without_having_set_out_is_refused(
    staff_web: tuple[httpx.AsyncClient, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    web, _ = staff_web
    for params in ({}, {"code": "x", "state": "y"}, {"error": "access_denied"}):
        refused = await web.get("/staff/sign-in/callback", params=params)
        assert refused.status_code == 400
        assert "Sign-in did not work" in refused.text
    # What the address says is logged on one line: no line of the log's own can be forged.
    with caplog.at_level(logging.INFO, logger="services.web.staff.sign_in"):
        forged = "x\n2026-12-05 12:00:00 web INFO staff sign-in ok: it-admin"
        await web.get("/staff/sign-in/callback", params={"error": forged})
    [logged] = [r.getMessage() for r in caplog.records if "sign-in refused" in r.getMessage()]
    assert "\n" not in logged and "\\n2026" in logged


async def test_behind_a_proxy_the_provider_sends_people_back_to_the_public_address(
    system: System, provider: LocalIdentityProvider
) -> None:
    idp = httpx.ASGITransport(app=provider.app())
    app = build_app(
        web_settings(
            oidc_issuer=ISSUER,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            public_url="https://slc.district.example/",
            dev_sign_in=False,  # (refused behind an https address)
        ),
        transports={**service_transports(system), "oidc": idp},
    )
    async with (
        app.router.lifespan_context(app),
        # (The proxy ends TLS: the web front itself is reached over http.)
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web,
    ):
        started = await web.get("/staff/sign-in")
    assert started.status_code == 303, started.text
    authorize = httpx.URL(started.headers["location"])
    assert authorize.params["redirect_uri"] == (
        "https://slc.district.example/staff/sign-in/callback"
    )
    assert "secure" in started.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    "public_url", ["slc.district.example", "https://x.example/?a=b", "ftp://x"]
)
def test_a_public_address_that_is_not_one_is_refused(public_url: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        web_settings(public_url=public_url)


def test_development_sign_in_is_refused_behind_an_https_address() -> None:
    """On loopback behind a TLS proxy the web front is a deployment, reached from anywhere:
    /dev/sign-in would sign anyone in as anyone."""
    with pytest.raises(ValueError, match="WEB_DEV_SIGN_IN"):
        web_settings(public_url="https://slc.district.example")
    web_settings(public_url="http://127.0.0.1:8000")  # (a developer's own proxy: allowed)


@pytest.mark.parametrize("setting", ["portfolio_url", "scheduling_url", "notifications_url"])
def test_a_services_address_without_its_scheme_is_refused_at_start(setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        web_settings(**{setting: "notifications:8003"})
