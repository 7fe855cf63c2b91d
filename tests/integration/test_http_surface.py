"""What every service shows over HTTP: authentication, health, and its OpenAPI/AsyncAPI documents."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from services.notifications.app import SPEC as NOTIFICATIONS
from services.portfolio.app import SPEC as PORTFOLIO
from services.scheduling.app import SPEC as SCHEDULING
from shared.auth import Role, mint_token
from shared.service import _database_error
from shared.settings import DEV_JWT_SECRET
from tests.integration.conftest import ADMIN, System, enroll, register_site
from tests.support import auth

SPECS = {"portfolio": PORTFOLIO, "scheduling": SCHEDULING, "notifications": NOTIFICATIONS}


async def test_request_without_token_is_401_with_a_reason(system: System) -> None:
    response = await system.portfolio.get("/students/s-ava/goals")
    assert response.status_code == 401
    assert "missing bearer token" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (
            mint_token(
                secret=DEV_JWT_SECRET,
                subject="x",
                role=Role.TEACHER,
                district="demo",
                ttl=timedelta(seconds=-5),
            ),
            "token has expired",
        ),
        (
            mint_token(
                secret="some-other-secret-that-is-long-enough-for-hs256",
                subject="x",
                role=Role.TEACHER,
                district="demo",
            ),
            "invalid token",
        ),
        (jwt.encode({"sub": "x", "aud": "slc", "exp": 2_000_000_000}, DEV_JWT_SECRET), "lacks"),
        ("not-a-jwt", "invalid token"),
    ],
    ids=["expired", "wrong-signature", "missing-role", "garbage"],
)
async def test_invalid_token_is_401_with_its_reason(
    system: System, token: str, reason: str
) -> None:
    response = await system.scheduling.get(
        "/slots", params={"site": "conway"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert reason in response.json()["detail"]


async def test_callers_outside_their_scope_get_404_or_403(system: System) -> None:
    """404 for a student the caller may not see, exactly as for one that does not exist; 403
    for what a caller can see but may not do."""
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    other_family = auth("g-x", Role.GUARDIAN, sites=("conway",), students=("s-other",))
    other_student = auth("s-other", Role.STUDENT, sites=("conway",), students=("s-other",))
    mjds_teacher = auth("t-cohen", Role.TEACHER, sites=("mjds",))
    # A teacher at Ava's school, but not of her classes: the roster decides, not the site.
    other_teacher = auth("t-park", Role.TEACHER, sites=("conway",))
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))
    ava_father = auth("g-wei", Role.GUARDIAN)

    goal = {"title": "Write a persuasive letter", "area": "writing"}
    hidden = await system.portfolio.get("/students/s-ava/goals", headers=other_family)
    missing = await system.portfolio.get("/students/s-nobody/goals", headers=other_family)
    assert (hidden.status_code, hidden.json()["detail"]) == (404, "no student 's-ava'")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no student 's-nobody'")
    assert (
        await system.portfolio.post("/students/s-ava/goals", json=goal, headers=other_student)
    ).status_code == 404
    assert (
        await system.portfolio.post("/students/s-ava/goals", json=goal, headers=mjds_teacher)
    ).status_code == 404
    assert (
        await system.portfolio.post("/students/s-ava/goals", json=goal, headers=other_teacher)
    ).status_code == 404
    assert (
        await system.portfolio.post("/students/s-ava/goals", json=goal, headers=ava_father)
    ).status_code == 403
    assert (
        await system.portfolio.post("/students/s-ava/goals", json=goal, headers=teacher)
    ).status_code == 201
    enroll_elsewhere = await system.portfolio.put(
        "/roster/students/s-new",
        json={"site": "mjds", "given_name": "N", "family_name": "N", "grade": "01"},
        headers=auth("a-conway", Role.SITE_ADMIN, sites=("conway",)),
    )
    assert enroll_elsewhere.status_code == 403
    assert "mjds" in enroll_elsewhere.json()["detail"]
    mailbox = await system.notifications.get("/mailbox", headers=teacher)
    assert mailbox.status_code == 403
    slots = await system.scheduling.get("/slots", params={"site": "conway"}, headers=mjds_teacher)
    assert slots.status_code == 403


async def test_bad_input_is_422_with_the_field_named(system: System) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    response = await system.portfolio.post(
        "/students/s-ava/goals", json={"title": "", "area": "math"}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body", "title"]
    naive_time = await system.scheduling.post(
        "/windows",
        json={
            "site": "conway",
            "name": "Fall",
            "first_day": "2030-01-01",
            "last_day": "2030-01-02",
            "opens_at": "2030-01-01T10:00:00",
            "closes_at": "2030-01-01T12:00:00Z",
        },
        headers=ADMIN,
    )
    assert naive_time.status_code == 422
    assert "timezone" in naive_time.text


async def test_readiness_does_not_wait_for_a_writer_on_sqlite(system: System) -> None:
    """The probe reads: it answers while another connection holds SQLite's write lock."""
    if system.backend != "sqlite":
        pytest.skip("SQLite's write lock")
    runtime = system.apps["portfolio"].state.runtime
    path = runtime.engine.url.database
    # The lock is taken off the event loop: the service's own loops (in this process) may hold
    # it for a moment, and a wait on this thread would keep them from letting it go.
    writer = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    await asyncio.to_thread(writer.execute, "BEGIN IMMEDIATE")
    try:
        ready = await asyncio.wait_for(system.portfolio.get("/readyz"), timeout=5)
        assert ready.json()["checks"]["database"] == "ok"
    finally:
        await asyncio.to_thread(writer.execute, "ROLLBACK")
        writer.close()


async def test_health_and_readiness(system: System) -> None:
    for name, client in (
        ("portfolio", system.portfolio),
        ("scheduling", system.scheduling),
        ("notifications", system.notifications),
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready"
        checks = body["checks"]
        assert (checks["database"], checks["redis"]) == ("ok", "ok")
        assert checks["outbox"]["backlog"] == 0
        read = {subscription.stream for subscription in SPECS[name].consumers}
        assert set(checks["streams"]) == read
        for status in checks["streams"].values():
            assert set(status) == {
                "group",
                "lag",
                "pending",
                "oldest_pending_age_seconds",
                "dead_letters",
                "replaying",
            }
        assert {report["state"] for report in checks["loops"].values()} == {"running"}
        assert "outbox-relay" in checks["loops"] and "housekeeper" in checks["loops"]
        assert ("stream-consumer" in checks["loops"]) == bool(read)


async def test_metrics_are_served_for_prometheus(system: System) -> None:
    response = await system.notifications.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for metric in (
        "slc_stream_lag",
        "slc_stream_pending",
        "slc_stream_oldest_pending_age_seconds",
        "slc_stream_dead_letters",
        "slc_outbox_backlog",
        "slc_outbox_oldest_unsent_age_seconds",
        "slc_outbox_relayed_total",
    ):
        assert f"# TYPE {metric.removesuffix('_total')}" in text, metric
    labels = 'group="notifications",service="notifications",stream="slc.portfolio.goal.set.v1"'
    assert f"slc_stream_pending{{{labels}}} 0.0" in text


async def test_asyncapi_documents_every_stream_read_and_written(system: System) -> None:
    for name, client in (
        ("portfolio", system.portfolio),
        ("scheduling", system.scheduling),
        ("notifications", system.notifications),
    ):
        document = (await client.get("/asyncapi.json")).json()
        spec = SPECS[name]
        addresses = {channel["address"] for channel in document["channels"].values()}
        expected = {event.stream() for event in spec.publishes} | {
            subscription.stream for subscription in spec.consumers
        }
        assert addresses == expected, name
        schemas = document["components"]["schemas"]
        for event in [*spec.publishes, *(sub.data_type for sub in spec.consumers)]:
            envelope = schemas[f"CloudEvent[{event.__name__}]"]
            assert {"id", "type", "source", "subject", "time", "data"} <= set(
                envelope["properties"]
            )
            payload = schemas[event.__name__]
            assert all(field.get("description") for field in payload["properties"].values())
        html = await client.get("/asyncapi")
        assert html.status_code == 200 and "AsyncAPI" in html.text


async def test_openapi_names_every_route_and_its_security(system: System) -> None:
    document = (await system.scheduling.get("/openapi.json")).json()
    assert {
        "/windows",
        "/windows/{window_id}/blocks",
        "/slots",
        "/bookings",
        "/bookings/{booking_id}",
        "/bookings/{booking_id}/move",
        "/waitlist",
        "/healthz",
        "/readyz",
    } <= set(document["paths"])
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    assert document["paths"]["/bookings"]["post"]["summary"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "put",
            "/roster/students/" + "x" * 65,
            {"site": "conway", "given_name": "A", "family_name": "B", "grade": "01"},
        ),
        (
            "put",
            "/roster/students/s-ava",
            {"site": "conway", "given_name": "A\x00", "family_name": "B", "grade": "01"},
        ),
        ("post", "/students/s-ava/goals", {"title": "Read\x00more", "area": "reading"}),
        ("get", "/students/a%00b", None),
    ],
    ids=["overlong-id", "nul-in-name", "nul-in-goal", "nul-in-path"],
)
async def test_malformed_ids_and_text_are_422_not_500(
    system: System, method: str, path: str, body: dict[str, str] | None
) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    response = await getattr(system.portfolio, method)(
        path, **({"json": body} if body is not None else {}), headers=ADMIN
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("portfolio", "/jobs?kind=%00"),
        ("scheduling", "/jobs?kind=send%00"),
        ("notifications", "/reports/deliveries?campaign=%00"),
    ],
)
async def test_a_nul_byte_in_a_query_is_422_on_either_database(
    system: System, service: str, path: str
) -> None:
    """PostgreSQL refuses a NUL in text it is asked to compare; SQLite does not."""
    response = await getattr(system, service).get(path, headers=ADMIN)
    assert response.status_code == 422, response.text


async def test_a_value_the_database_refuses_is_422_with_its_reason_not_500(
    system: System,
) -> None:
    """The last net, when no rule of ours refused a value first: PostgreSQL's own refusal
    (a data exception) is the request's fault, said with the database's reason and without the
    statement; SQLite takes what PostgreSQL refuses, so there the request goes through."""
    uow = system.apps["portfolio"].state.runtime.uow
    try:
        async with uow.transaction() as session:
            await session.exec(text("SELECT CAST(:v AS integer)").bindparams(v="x\x00"))  # type: ignore[call-overload]
    except DBAPIError as refused:
        answer = await _database_error(
            Request({"type": "http", "method": "GET", "path": "/x", "headers": []}), refused
        )
        assert answer.status_code == 422
        body = answer.body.decode()
        assert "cannot be stored or compared" in body and "SELECT" not in body
    else:
        assert uow.sessions.kw["bind"].dialect.name == "sqlite"


@pytest.mark.parametrize("starts_at", ["9999-12-31T23:59:00Z", "0001-01-01T00:00:00+01:00"])
async def test_absurd_conference_times_are_422(system: System, starts_at: str) -> None:
    response = await system.scheduling.post(
        "/windows",
        json={
            "site": "conway",
            "name": "Fall",
            "first_day": "2030-01-01",
            "last_day": "2030-01-02",
            "opens_at": starts_at,
            "closes_at": "2030-01-01T12:00:00Z",
        },
        headers=ADMIN,
    )
    assert response.status_code == 422
    assert "between the years 2000 and 2100" in response.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_absurd_days_are_422(system: System, day: str) -> None:
    """Days at the ends of the calendar, where the day after (or a time on it, in UTC) is
    worked out: a window's days, an interpreter's schedule."""
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    window = await system.scheduling.post(
        "/windows",
        json={
            "site": "conway",
            "name": "Fall",
            "first_day": day,
            "last_day": day,
            "opens_at": "2030-01-01T08:00:00Z",
            "closes_at": "2030-01-01T12:00:00Z",
        },
        headers=ADMIN,
    )
    schedule = await system.scheduling.get(
        "/interpreters/i-nobody/schedule", params={"day": day}, headers=ADMIN
    )
    for response in (window, schedule):
        assert response.status_code == 422, response.text
        assert "between the years 2000 and 2100" in response.text
    # A goal's target date is only kept and shown: any day is answered as it was given.
    goal = await system.portfolio.post(
        "/students/s-ava/goals",
        json={"title": "Read a chapter book", "area": "reading", "target_date": "1999-06-01"},
        headers=ADMIN,
    )
    assert goal.status_code == 201, goal.text
    listed = await system.portfolio.get("/students/s-ava/goals", headers=ADMIN)
    assert listed.status_code == 200 and listed.json()[0]["target_date"] == "1999-06-01"


@pytest.mark.usefixtures("offices")
async def test_a_site_admin_cannot_take_over_another_sites_family_contact(system: System) -> None:
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    conway = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    mjds = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
    contact = {"site": "conway", "display_name": "Wei Chen", "email": "wei@example.org"}
    assert (
        await system.notifications.put("/contacts/g-wei", json=contact, headers=conway)
    ).status_code == 200

    takeover = {"display_name": "Wei Chen", "email": "attacker@example.org"}
    response = await system.notifications.put("/contacts/g-wei", json=takeover, headers=mjds)

    assert response.status_code == 404
    kept = await system.notifications.get("/contacts/g-wei", headers=conway)
    assert kept.json()["email"] == "wei@example.org"


async def test_concurrent_identical_roster_updates_never_500(system: System) -> None:
    await register_site(system, "conway")
    body = {"site": "conway", "given_name": "New", "family_name": "Kid", "grade": "02"}
    responses = await asyncio.gather(
        *(
            system.portfolio.put("/roster/students/s-new", json=body, headers=ADMIN)
            for _ in range(4)
        )
    )
    assert {r.status_code for r in responses} <= {200, 409}
    assert 200 in {r.status_code for r in responses}
