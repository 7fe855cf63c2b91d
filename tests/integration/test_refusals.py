"""What a stranger can send: every refusal is a problem document, never a 500, never unbounded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from services.notifications.app import build_app as build_notifications
from services.notifications.settings import NotificationsSettings
from services.portfolio.app import SPEC as PORTFOLIO
from services.portfolio.app import build_app as build_portfolio
from services.portfolio.settings import PortfolioSettings
from services.scheduling.app import build_app as build_scheduling
from services.scheduling.settings import SchedulingSettings
from shared.api_types import TEXT_PATTERN
from shared.auth import Role
from shared.service import ServiceSpec, create_app
from shared.settings import ServiceSettings
from tests.conftest import DatabaseUrls, MigratedTemplates
from tests.integration.conftest import ADMIN, serving
from tests.support import auth

PROBLEM = "application/problem+json"
STUDENT = {"site": "conway", "given_name": "Ava", "family_name": "Chen", "grade": "03"}
GOAL = {"title": "Read a chapter book on my own by spring", "area": "reading"}


@pytest.fixture
async def portfolio(
    redis_url: str, tmp_path: Path, migrated_templates: MigratedTemplates
) -> AsyncIterator[httpx.AsyncClient]:
    """Portfolio on SQLite with Conway Elementary and Ava on its roster."""
    database = await migrated_templates.copy(
        DatabaseUrls("sqlite", tmp_path), "portfolio", PORTFOLIO.migrations
    )
    app = build_portfolio(
        PortfolioSettings(database_url=database, redis_url=redis_url, consumer_name="test")
    )
    async with serving(app, "http://portfolio") as client:
        site = {"name": "Conway Elementary", "timezone": "America/Los_Angeles"}
        assert (await client.put("/roster/sites/conway", json=site, headers=ADMIN)).is_success
        assert (await client.put("/roster/students/s-ava", json=STUDENT, headers=ADMIN)).is_success
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with this status; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem), problem
    assert problem["status"] == status
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "abc", "area": NaN}',
        b'{"title": "abc", "area": Infinity}',
        b'{"title": "abc", "area": -Infinity}',
        b'{"title": "abc", "area": 1e999}',
        b'{"title": "abc", "area": "reading", "target_date": NaN}',
        b'{"title": "\\ud800abc", "area": "reading"}',
        b'{"title": "abc", "area": ["\\udfff", NaN]}',
        b'{"title": "abc", "area": {"\\ud800": 1e999}}',
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "overflow",
        "nan-date",
        "lone-surrogate",
        "mixed",
        "key",
    ],
)
async def test_input_json_cannot_carry_back_is_a_422_not_a_500(
    portfolio: httpx.AsyncClient, body: bytes
) -> None:
    response = await portfolio.post(
        "/students/s-ava/goals",
        content=body,
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"] and all(set(e) == {"loc", "msg", "type"} for e in problem["errors"])
    assert problem["errors"][0]["loc"][0] == "body"


async def test_a_lone_surrogate_in_a_name_is_a_422(portfolio: httpx.AsyncClient) -> None:
    body = json.dumps({**STUDENT, "given_name": "\ud800"}).encode()
    response = await portfolio.put(
        "/roster/students/s-zed",
        content=body,
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "given_name"]


async def test_a_body_larger_than_a_mebibyte_is_413_and_nothing_is_written(
    portfolio: httpx.AsyncClient,
) -> None:
    huge = {**GOAL, "padding": "x" * 10_000_000}  # an extra field the model ignores
    response = await portfolio.post("/students/s-ava/goals", json=huge, headers=ADMIN)
    problem = assert_problem(response, 413)
    assert "larger than 1048576 bytes" in problem["detail"]
    assert (await portfolio.get("/students/s-ava/goals", headers=ADMIN)).json() == []


async def test_a_streamed_body_is_counted_as_it_arrives(portfolio: httpx.AsyncClient) -> None:
    """No Content-Length (chunked): refused once the bytes received pass the limit."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"title": "Read more", "area": "reading", "padding": "'
        for _ in range(1000):
            sent += 64 * 1024
            yield b"x" * (64 * 1024)
        yield b'"}'

    response = await portfolio.post(
        "/students/s-ava/goals",
        content=chunks(),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert sent < 2 * 1024 * 1024, "the service went on reading past the limit"


async def test_the_body_limit_is_a_setting(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_MAX_BODY_BYTES", "2000")
    settings = PortfolioSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/portfolio.db", redis_url=redis_url
    )
    assert settings.http_max_body_bytes == 2000
    async with serving(build_portfolio(settings), "http://portfolio") as client:
        await client.put(
            "/roster/sites/conway",
            json={"name": "Conway Elementary", "timezone": "America/Los_Angeles"},
            headers=ADMIN,
        )
        await client.put("/roster/students/s-ava", json=STUDENT, headers=ADMIN)
        small = {**GOAL, "padding": "x" * 1500}
        large = {**GOAL, "padding": "x" * 2500}
        assert (await client.post("/students/s-ava/goals", json=small, headers=ADMIN)).is_success
        response = await client.post("/students/s-ava/goals", json=large, headers=ADMIN)
        assert "larger than 2000 bytes" in assert_problem(response, 413)["detail"]


async def test_every_refusal_is_a_problem_document(portfolio: httpx.AsyncClient) -> None:
    unauthenticated = await portfolio.get("/students/s-ava/goals")
    assert "missing bearer token" in assert_problem(unauthenticated, 401)["detail"]
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")

    elsewhere = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
    forbidden = await portfolio.put("/roster/students/s-new", json=STUDENT, headers=elsewhere)
    assert "conway" in assert_problem(forbidden, 403)["detail"]

    missing = await portfolio.get("/students/s-nobody", headers=ADMIN)
    assert "s-nobody" in assert_problem(missing, 404)["detail"]
    assert_problem(await portfolio.get("/no/such/path", headers=ADMIN), 404)

    invalid = await portfolio.post("/students/s-ava/goals", json={"area": "x"}, headers=ADMIN)
    problem = assert_problem(invalid, 422)
    assert problem["errors"] == [
        {"loc": ["body", "title"], "msg": "Field required", "type": "missing"}
    ]
    assert "body.title: Field required" in problem["detail"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/students/s-ava/goals", {"GET", "POST"}),
        ("/roster/students/s-ava", {"PUT", "DELETE"}),
        ("/roster/students/s-ava/guardians/g-wei", {"PUT", "DELETE"}),
        ("/healthz", {"GET"}),
    ],
)
async def test_405_names_every_method_of_the_path(
    portfolio: httpx.AsyncClient, path: str, allowed: set[str]
) -> None:
    response = await portfolio.patch(path, json={}, headers=ADMIN)
    assert_problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == allowed


@pytest.fixture
async def failing_service(redis_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A service with a route that fails (as a bug would), its exceptions not re-raised to us."""
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret/path.py")

    spec = ServiceSpec(
        name="failing",
        title="Failing",
        description="Fails.",
        routers=[router],
        migrations=PORTFOLIO.migrations,
    )
    settings = ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/failing.db", redis_url=redis_url
    )
    app = create_app(spec, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://failing") as client:
            yield client


async def test_an_unexpected_error_is_a_500_that_shows_nothing_of_the_internals(
    failing_service: httpx.AsyncClient,
) -> None:
    response = await failing_service.get("/boom")
    assert assert_problem(response, 500)["detail"] == "internal error"
    assert "hunter2" not in response.text and "secret" not in response.text


@pytest.mark.parametrize(
    "target_date", [0, 1_700_000_000, "1700000000", 20300501, "2030-5-1", True]
)
async def test_a_goal_date_is_an_iso_date_string_not_a_number(
    portfolio: httpx.AsyncClient, target_date: object
) -> None:
    goal = {**GOAL, "target_date": target_date}
    response = await portfolio.post("/students/s-ava/goals", json=goal, headers=ADMIN)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "target_date"]
    assert "YYYY-MM-DD" in problem["detail"]
    accepted = await portfolio.post(
        "/students/s-ava/goals", json={**GOAL, "target_date": "2030-05-01"}, headers=ADMIN
    )
    assert accepted.status_code == 201 and accepted.json()["target_date"] == "2030-05-01"


@pytest.mark.parametrize(
    "name",
    [
        "Zed\nBcc: evil@example.com",
        "Zed\r\nBcc: evil@example.com",
        "Zed\tTab",
        "Zed\x00",
        "Zed\x85",  # C1: next line
        "Zed\x9b31m",  # C1: control sequence introducer
        "Zed\x7f",
        "\u202eZed",  # right-to-left override
        "Zed\u2066x\u2069",  # isolates
        "Z\u200bed",  # zero-width space
        "Z\u2060ed",  # word joiner
        "\ufeffZed",  # byte order mark
        "Zed\u2028Bcc",  # line separator
        "Zed\u2029",  # paragraph separator
        "   ",
        "\u00a0\u3000",
        " Zed",
        "Zed ",
    ],
)
async def test_names_and_titles_are_plain_text(portfolio: httpx.AsyncClient, name: str) -> None:
    response = await portfolio.put(
        "/roster/students/s-zed", json={**STUDENT, "given_name": name}, headers=ADMIN
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "given_name"]
    assert any(word in problem["detail"] for word in ("plain text", "blank", "begin or end"))
    goal = await portfolio.post(
        "/students/s-ava/goals", json={**GOAL, "title": name}, headers=ADMIN
    )
    assert_problem(goal, 422)


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Ñúñez-O'Brien",
        "李小龙",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a ZWNJ
        "क्\u200dष",  # Devanagari with a zero-width joiner
        "👩\u200d👩\u200d👧",  # an emoji family (ZWJ sequence)
        "Ana María",
        "Jean\u00a0Luc",
    ],
)
async def test_names_in_any_script_are_accepted(portfolio: httpx.AsyncClient, name: str) -> None:
    response = await portfolio.put(
        "/roster/students/s-zed", json={**STUDENT, "given_name": name}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["given_name"] == name


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document (nothing started: the document is built from the code)."""
    url = "sqlite+aiosqlite:///unused.db"
    return {
        "portfolio": build_portfolio(PortfolioSettings(database_url=url)).openapi(),
        "scheduling": build_scheduling(SchedulingSettings(database_url=url)).openapi(),
        "notifications": build_notifications(NotificationsSettings(database_url=url)).openapi(),
    }


def test_every_operation_documents_its_refusals_as_problems(
    documents: dict[str, dict[str, Any]],
) -> None:
    for name, document in documents.items():
        schemas = document["components"]["schemas"]
        assert {"Problem", "InvalidField"} <= set(schemas)
        assert "HTTPValidationError" not in schemas, name
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                responses = operation["responses"]
                expected = {"500"}
                if operation.get("security"):
                    expected.add("401")
                if operation.get("parameters") or operation.get("requestBody"):
                    expected.add("422")
                if operation.get("requestBody"):
                    expected |= {"400", "413"}
                assert expected <= set(responses), (name, method, path)
                for status, response in responses.items():
                    if int(status) >= 400 and not (
                        path in ("/healthz", "/readyz") and status == "503"
                    ):
                        (media,) = response["content"]
                        assert media == PROBLEM, (name, method, path, status)
                        reference = response["content"][PROBLEM]["schema"]["$ref"]
                        model = schemas[reference.rsplit("/", 1)[-1]]
                        # Problem, or a problem with extension members (all Problem's fields).
                        assert set(schemas["Problem"]["properties"]) <= set(model["properties"]), (
                            name,
                            method,
                            path,
                            status,
                        )
    booking = documents["scheduling"]["paths"]["/bookings"]["post"]["responses"]
    assert {"403", "404", "409"} <= set(booking)
    full = booking["409"]["content"][PROBLEM]["schema"]["$ref"]
    assert full == "#/components/schemas/BookingRefused"
    # A route's own problem variant for a status the framework also answers (422) is kept.
    scheduling = documents["scheduling"]
    block = scheduling["paths"]["/windows/{window_id}/blocks"]["post"]["responses"]
    for status in ("409", "422"):
        reference = block[status]["content"][PROBLEM]["schema"]["$ref"]
        assert reference == "#/components/schemas/AvailabilityRefused", status
    kinds = scheduling["components"]["schemas"]["AvailabilityRefused"]["properties"]["refusal"]
    assert "`room_needed`" in kinds["description"]
    check_in = scheduling["paths"]["/bookings/{booking_id}/check-in"]["post"]["responses"]["409"]
    assert check_in["content"][PROBLEM]["schema"]["$ref"] == "#/components/schemas/StaffRefused"
    # Refused credentials name the kinds a page acts on, on every service.
    for name, document in documents.items():
        described = document["components"]["schemas"]["Unauthorized"]["properties"]["refusal"]
        for kind in ("`link_expired`", "`link_replaced`"):
            assert kind in described["description"], (name, kind)
    unauthorized = booking["401"]["content"][PROBLEM]["schema"]["$ref"]
    assert unauthorized == "#/components/schemas/Unauthorized"


def test_the_rules_on_fields_are_in_their_schemas(documents: dict[str, dict[str, Any]]) -> None:
    schemas = documents["portfolio"]["components"]["schemas"]
    for model, field in [("StudentIn", "given_name"), ("GoalIn", "title"), ("SiteIn", "name")]:
        assert schemas[model]["properties"][field]["pattern"] == TEXT_PATTERN, (model, field)
    assert "America/Los_Angeles" in schemas["SiteIn"]["properties"]["timezone"]["enum"]
    target_date = schemas["GoalIn"]["properties"]["target_date"]["anyOf"][0]
    assert target_date == {"type": "string", "format": "date"}
    contact = documents["notifications"]["components"]["schemas"]["ContactIn"]["properties"]
    assert contact["display_name"]["pattern"] == TEXT_PATTERN
