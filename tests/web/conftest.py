"""The web front in this process, in front of the three real services (``system``: real
Redis, SQLite and PostgreSQL), with families ready to book at Conway."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.web.app import build_app
from services.web.settings import DevPerson, WebSettings
from shared.auth import Role
from shared.auth.family_links import FamilyLinkIssuer
from tests.integration import conftest as integration
from tests.integration.conftest import FamilyLinkKeys, System, enroll, teaching_at
from tests.scheduling_support import conference_window, open_times

# The in-process system and its family link keys, as the integration tests make them.
system = integration.system
family_link_keys = integration.family_link_keys
offices = integration.offices
offices_named = integration.offices_named

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TIMES = re.compile(r'name="slot_id" value="([^"]+)"')


@dataclass
class Family:
    """A guardian with one child at Conway, in t-rivera's class, and their link."""

    student_id: str
    guardian_id: str
    name: str
    link: str


def csrf_token(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return found[1]


def offered_times(page: httpx.Response) -> list[str]:
    """The ids of the times a page offers as radios, in order."""
    return _TIMES.findall(page.text)


def mint_link(
    keys: FamilyLinkKeys,
    guardian_id: str,
    *,
    expires_in: timedelta = timedelta(days=7),
    issued_ago: timedelta = timedelta(0),
) -> str:
    now = datetime.now(UTC)
    return FamilyLinkIssuer(keys.private_pem).mint(
        guardian_id=guardian_id,
        district="demo",
        issued_at=now - issued_ago,
        expires_at=now - issued_ago + expires_in,
    )


CONWAY = ZoneInfo("America/Los_Angeles")


@pytest.fixture
async def conference_times(system: System) -> list[dict[str, Any]]:
    """Three free 20-minute times with t-rivera at Conway (where she teaches a class), the day
    after tomorrow at 3 pm."""
    await teaching_at(system, "t-rivera", "conway")
    await conference_window(system.scheduling, site="conway")
    # (At 3 pm on Conway's clock: 22:00 UTC was 3 pm only in summer, and two days ahead in
    # UTC is three on Conway's clock in its evening, the day tests give other times on.)
    day = datetime.now(CONWAY).date() + timedelta(days=2)
    return await open_times(
        system.scheduling,
        site="conway",
        starts_at=datetime(day.year, day.month, day.day, 15, tzinfo=CONWAY),
        count=3,
        teacher_id="t-rivera",
    )


NewFamily = Callable[..., Awaitable[Family]]


@pytest.fixture
def new_family(system: System, family_link_keys: FamilyLinkKeys) -> NewFamily:
    """Makes a family at Conway (a child in t-rivera's class) with a week-long link."""

    async def make(name: str = "Ava") -> Family:
        tag = uuid.uuid4().hex[:8]
        student, guardian = f"s-{tag}", f"g-{tag}"
        await enroll(
            system,
            student_id=student,
            site="conway",
            given_name=name,
            guardian_id=guardian,
            teacher_id="t-rivera",
        )
        return Family(student, guardian, name, mint_link(family_link_keys, guardian))

    return make


async def taken_by_others(system: System, new_family: NewFamily, slot_ids: Sequence[str]) -> None:
    """Each of the times booked by another family (of t-rivera's class) through its link."""
    for slot_id in slot_ids:
        other = await new_family("Other")
        taken = await system.scheduling.post(
            "/bookings",
            json={"slot_id": slot_id, "student_id": other.student_id},
            headers={"Authorization": f"Bearer {other.link}"},
        )
        assert taken.status_code == 201, taken.text


@pytest.fixture
async def family(new_family: NewFamily, conference_times: list[dict[str, Any]]) -> Family:
    return await new_family()


@pytest.fixture
async def sister(system: System, family: Family) -> str:
    """The family's second child, Bea, in Ms. Rivera's class too: the family may come once for
    both."""
    return await add_sister(system, family, teacher_id="t-rivera")


async def add_sister(system: System, family: Family, *, teacher_id: str) -> str:
    """Bea, the family's second child at Conway, in ``teacher_id``'s class."""
    await enroll(
        system,
        student_id="s-bea",
        site="conway",
        given_name="Bea",
        guardian_id=family.guardian_id,
        teacher_id=teacher_id,
    )
    return "s-bea"


# The people the tests' development sign-in offers.
DEV_PEOPLE = [
    DevPerson(subject="t-rivera", role=Role.TEACHER, name="Ms. Rivera", sites=["conway"]),
    DevPerson(subject="s-ava", role=Role.STUDENT, name="Ava", sites=["conway"]),
    DevPerson(subject="it-admin", role=Role.DISTRICT_ADMIN, name="District IT"),
]


def web_settings(**overrides: Any) -> WebSettings:
    """The web front's settings in the tests: development sign-in on, with ``DEV_PEOPLE``."""
    return WebSettings(**{"dev_sign_in": True, "dev_people": DEV_PEOPLE, **overrides})


def service_transports(system: System) -> dict[str, httpx.AsyncBaseTransport]:
    return {
        name: httpx.ASGITransport(app=system.apps[name])
        for name in ("scheduling", "portfolio", "notifications")
    }


@asynccontextmanager
async def web_front(system: System, settings: WebSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's view of a web front with ``settings``, which calls the in-process services."""
    app = build_app(settings, transports=service_transports(system))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client,
    ):
        yield client


@pytest.fixture
async def web(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's view of the web front, which calls the in-process services."""
    async with web_front(system, web_settings()) as client:
        yield client


def text_of(page: httpx.Response) -> str:
    """A page's text with its entities written out, to look for what a person reads."""
    return html.unescape(page.text)


async def signed_in(web: httpx.AsyncClient, family: Family) -> httpx.Response:
    """Open the family's link; returns the page it leads to."""
    opened = await web.get("/f", params={"link": family.link})
    assert opened.status_code == 303, opened.text
    return await web.get(opened.headers["location"])


async def signed_in_as(web: httpx.AsyncClient, subject: str) -> httpx.Response:
    """Sign in through the development page as one of ``DEV_PEOPLE``; returns the page it
    leads to."""
    form = await web.get("/dev/sign-in")
    assert form.status_code == 200, form.text
    signed = await web.post(
        "/dev/sign-in", data={"csrf_token": csrf_token(form), "subject": subject}
    )
    assert signed.status_code == 303, signed.text
    return await web.get(signed.headers["location"], follow_redirects=True)
