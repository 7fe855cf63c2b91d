"""The API documents load on a network without internet: nothing is fetched from another host."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from services.notifications.app import build_app as build_notifications
from services.notifications.settings import NotificationsSettings
from services.portfolio.app import SPEC as PORTFOLIO
from services.portfolio.app import build_app as build_portfolio
from services.portfolio.settings import PortfolioSettings
from services.scheduling.app import SPEC as SCHEDULING
from services.scheduling.app import build_app as build_scheduling
from services.scheduling.settings import SchedulingSettings
from shared.service import ServiceSpec
from tests.integration.conftest import serving

BUILDS = {
    "portfolio": (build_portfolio, PortfolioSettings),
    "scheduling": (build_scheduling, SchedulingSettings),
    "notifications": (build_notifications, NotificationsSettings),
}
PAGES = ["/docs", "/redoc", "/asyncapi"]


@pytest.fixture(params=sorted(BUILDS))
async def service(
    request: pytest.FixtureRequest, redis_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    build, settings = BUILDS[request.param]
    app = build(settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/db.db", redis_url=redis_url))
    async with serving(app, "http://service.district.example") as client:
        yield client


class _References(HTMLParser):
    """Every URL a page makes the browser fetch or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url", "action", "poster", "data") and value:
                self.urls.append(value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    # Swagger UI is told where its document is in a script: `url: '/openapi.json'`.
    parser.urls += re.findall(r"\burl: '([^']*)'", html)
    return parser.urls


@pytest.mark.parametrize("page", PAGES)
async def test_each_docs_page_loads_only_from_its_own_service(
    service: httpx.AsyncClient, page: str
) -> None:
    response = await service.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    base = str(service.base_url)
    urls = references(response.text)
    assert urls, "the page references nothing: it would show nothing"
    for url in urls:
        if url.startswith("#"):
            continue
        absolute = urljoin(base + page, url)
        assert urlsplit(absolute).netloc == urlsplit(base).netloc, f"{page} fetches {url}"
        assert (await service.get(absolute)).status_code == 200, f"{page}: {url} is not served"
    if page == "/asyncapi":
        assert "<script" not in response.text  # rendered on the server
    else:
        # Not even in a script: Swagger UI would send the document to a public validator.
        assert not re.search(r"https?://", response.text)
    if page == "/docs":
        assert '"validatorUrl": null' in response.text


async def test_the_docs_assets_are_served_with_their_types(service: httpx.AsyncClient) -> None:
    for name, kind in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("redoc.standalone.js", "text/javascript"),
        ("favicon.png", "image/png"),
    ]:
        response = await service.get(f"/docs/assets/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert len(response.content) > 1000
    assert (await service.get("/docs/assets/..%2fsecrets")).status_code == 404


@pytest.mark.parametrize("spec", [PORTFOLIO, SCHEDULING], ids=["portfolio", "scheduling"])
async def test_the_asyncapi_page_shows_every_stream_and_payload_field(
    redis_url: str, tmp_path: Path, spec: ServiceSpec
) -> None:
    build, settings = BUILDS[spec.name]
    app = build(settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/db.db", redis_url=redis_url))
    async with serving(app, f"http://{spec.name}") as client:
        page = (await client.get("/asyncapi")).text
    for event in [*spec.publishes, *(subscription.data_type for subscription in spec.consumers)]:
        assert event.stream() in page
        assert f">{event.__name__}</h3>" in page
        for field in event.model_fields:
            assert f"<code>{field}</code>" in page, (event.__name__, field)
    if any(True for _ in spec.consumers):
        assert f"consumer group <code>{spec.consumers.group}</code>" in page
