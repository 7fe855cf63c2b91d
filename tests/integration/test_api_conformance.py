"""Property-based: each service answers as its OpenAPI document says (Schemathesis, in-process).

Requests generated from each service's own document, valid and invalid, sent over ASGI with
real tokens (a district admin, a teacher, a guardian) to the three services running together on
SQLite and a real Redis, after a small roster is loaded. Every answer must be documented: no
5xx, a documented status code and content type, a body that matches its schema; input the
document forbids must be refused; 405s name every method of their path.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.python import asgi

from devstack.redis_server import RedisServer
from services.notifications.app import build_app as build_notifications
from services.notifications.settings import NotificationsSettings
from services.portfolio.app import build_app as build_portfolio
from services.portfolio.settings import PortfolioSettings
from services.scheduling.app import build_app as build_scheduling
from services.scheduling.settings import SchedulingSettings
from shared.auth import Role
from tests.support import auth

CALLERS = {
    "district admin": auth("it-admin", Role.DISTRICT_ADMIN),
    "teacher": auth("t-rivera", Role.TEACHER, sites=("conway",)),
    "guardian": auth("g-wei", Role.GUARDIAN, sites=("conway",), students=("s-ava",)),
}
ADMIN, TEACHER, GUARDIAN = (CALLERS[caller] for caller in ("district admin", "teacher", "guardian"))
# Kept small: the three services' operations together stay well under a minute and a half on
# two cores. Each example is one request (and a few more for the checks that re-send it).
SETTINGS = hypothesis.settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
# How input the document forbids may be refused (Schemathesis's own list; 413 is added below).
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
# Where a request names a record, it names one of the loaded roster's three times in four, so
# that requests get past "no such student" to the rules and writes behind it.
ID_PARAMETERS = {
    "students": ["path.student_id", "query.student_id", "body.student_id"],
    "guardians": ["path.guardian_id", "query.recipient_id", "body.guardian_id"],
    "sites": ["path.site_id", "path.site", "query.site", "body.site"],
    "slots": ["body.slot_id"],
    "windows": ["path.window_id", "query.window_id", "body.window_id"],
    "bookings": ["path.booking_id"],
}


@schemathesis.serializer("application/zip", "message/rfc822")
def _raw_body(context: Any, value: Any) -> bytes:
    """A roster upload's or a mail report's body: whatever bytes were generated (the import
    refuses a non-zip, the reports a message that is not a delivery status notification)."""
    return value if isinstance(value, bytes) else str(value).encode()


def _config(known: dict[str, list[str]]) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "dictionaries": {kind: {"values": ids} for kind, ids in known.items()},
            "parameters": {
                name: {"dictionary": kind, "probability": 0.75}
                for kind, names in ID_PARAMETERS.items()
                for name in names
            },
            "generation": {
                # The callers' own tokens are sent (`ignored_auth` still checks a request
                # without one); query parameters the document does not name are ignored, as
                # HTTP APIs do.
                "with-security-parameters": False,
                "allow-extra-parameters": False,
            },
            # Rules the schema cannot state refuse some valid-looking input (a conference time
            # in the past, a site the district does not have): a 4xx for valid data is not a
            # failure.
            "checks": {
                "positive_data_acceptance": {"enabled": False},
                # Input the document forbids is refused with a 4xx; a body over the services'
                # limit (a list of contacts far past its `maxItems`) is refused as too large
                # before it is read (413), which is a refusal too.
                "negative_data_rejection": {"expected-statuses": [*REJECTED, 413]},
            },
        }
    )


@dataclass(frozen=True)
class Running:
    apps: dict[str, FastAPI]
    config: schemathesis.Config


@pytest.fixture(scope="module")
def services(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """The three services, started (lifespan) by Schemathesis's ASGI client, with a roster."""
    directory = tmp_path_factory.mktemp("conformance")
    common: dict[str, Any] = {
        "redis_url": redis_server.url,
        "consumer_name": "conformance",
        "relay_interval_seconds": 0.1,
    }
    apps = {
        "portfolio": build_portfolio(
            PortfolioSettings(
                database_url=_sqlite(directory, "portfolio"),
                files_url=f"file:{directory / 'files'}",
                roster_upload_dir=str(directory / "roster-uploads"),
                **common,
            )
        ),
        "scheduling": build_scheduling(
            SchedulingSettings(database_url=_sqlite(directory, "scheduling"), **common)
        ),
        "notifications": build_notifications(
            NotificationsSettings(database_url=_sqlite(directory, "notifications"), **common)
        ),
    }
    with ExitStack() as stack:
        # Entering a client starts its app's lifespan, in Schemathesis's own event loop, where
        # every request of the test then runs; the lifespans are ended here, not at exit.
        stack.callback(asgi.shutdown_lifespans)
        clients = {name: stack.enter_context(asgi.get_client(app)) for name, app in apps.items()}
        yield Running(apps=apps, config=_config(_load_roster(clients)))


@pytest.mark.parametrize("service", ["portfolio", "scheduling", "notifications"])
def test_every_answer_is_one_the_document_promises(services: Running, service: str) -> None:
    document = schemathesis.openapi.from_asgi(
        "/openapi.json", services.apps[service], config=services.config
    )
    callers = itertools.cycle(sorted(CALLERS))

    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=CALLERS[next(callers)])

    failures = []
    # Each operation's test runs Schemathesis's phases: the schema's examples, coverage (values
    # at and past each constraint's edge, wrong types, methods the path does not have) and
    # fuzzing, in valid and invalid modes.
    tests = [
        result.ok()
        for result in get_all_tests(
            schema=document, test_func=answers_as_documented, settings=SETTINGS, given_kwargs=None
        )
    ]
    # Withdrawals and cancellations last, so the roster's records are there for the rest.
    for operation, test in sorted(tests, key=lambda found: found[0].method.upper() == "DELETE"):
        try:
            test()
        except Exception as failure:  # every operation runs; all failures are reported at once
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)


def _sqlite(directory: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{directory / name}.db"


def _load_roster(clients: dict[str, requests.Session]) -> dict[str, list[str]]:
    """Conway Elementary with Ava and her father Wei, a conference time Wei booked, and Wei's
    contact details; the ids of what was made."""
    portfolio, scheduling, notifications = (
        clients["portfolio"],
        clients["scheduling"],
        clients["notifications"],
    )
    for response in (
        portfolio.put(
            "/roster/sites/conway",
            json={"name": "Conway Elementary", "timezone": "America/Los_Angeles"},
            headers=ADMIN,
        ),
        portfolio.put(
            "/roster/students/s-ava",
            json={"site": "conway", "given_name": "Ava", "family_name": "Chen", "grade": "03"},
            headers=ADMIN,
        ),
        portfolio.put(
            "/roster/students/s-ava/guardians/g-wei", json={"relationship": "father"}, headers=ADMIN
        ),
        # Ms. Rivera teaches Ava's class: Conway is her school (the roster says so).
        portfolio.put(
            "/roster/classes/c-ava",
            json={
                "site": "conway",
                "title": "Room 4",
                "teacher_ids": ["t-rivera"],
                "student_ids": ["s-ava"],
            },
            headers=ADMIN,
        ),
    ):
        assert response.status_code < 300, response.text
    # The roster reaches scheduling and notifications as events.
    window = _until(
        lambda: scheduling.post(
            "/windows",
            json={
                "site": "conway",
                "name": "Spring 2099 conferences",
                "first_day": "2099-05-01",
                "last_day": "2099-05-02",
                "opens_at": "2026-01-01T00:00:00Z",
                "closes_at": "2099-05-02T12:00:00Z",
            },
            headers=ADMIN,
        )
    )
    _until(lambda: scheduling.post(f"/windows/{window['id']}/open", headers=ADMIN))
    slots = [
        _until(
            partial(
                scheduling.post,
                f"/windows/{window['id']}/blocks",
                json={
                    "room": "12",
                    "starts_at": f"2099-05-0{day}T16:00:00Z",
                    "ends_at": f"2099-05-0{day}T16:40:00Z",
                },
                headers=TEACHER,
            )
        )["slots"][0]["id"]
        for day in (1, 2)
    ]
    booking = _until(
        lambda: scheduling.post(
            "/bookings", json={"slot_id": slots[0], "student_id": "s-ava"}, headers=GUARDIAN
        )
    )
    _until(
        lambda: notifications.put(
            "/contacts/g-wei",
            json={"site": "conway", "display_name": "Wei Chen", "email": "wei@example.org"},
            headers=ADMIN,
        )
    )
    return {
        "students": ["s-ava"],
        "guardians": ["g-wei"],
        "sites": ["conway"],
        "slots": slots,
        "bookings": [booking["id"]],
        "windows": [window["id"]],
    }


def _until(request: Callable[[], requests.Response], timeout: float = 15) -> Any:
    """The body of the first successful answer to ``request``, asked again until then."""
    deadline = time.monotonic() + timeout
    while (response := request()).status_code >= 300:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)
    return response.json()
