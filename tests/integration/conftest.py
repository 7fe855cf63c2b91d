"""The three services running in this process: real Redis, real databases, HTTP through ASGI."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.app import build_app as build_notifications
from services.notifications.delivery import DIGEST
from services.notifications.settings import NotificationsSettings
from services.notifications.tables import Delivery
from services.portfolio.app import SPEC as PORTFOLIO
from services.portfolio.app import build_app as build_portfolio
from services.portfolio.settings import PortfolioSettings
from services.scheduling.app import SPEC as SCHEDULING
from services.scheduling.app import build_app as build_scheduling
from services.scheduling.settings import SchedulingSettings
from services.scheduling.tables import RosterSite
from shared.auth import Role
from shared.auth.family_links import generate_key_pair
from shared.database import create_engine, session_factory, utcnow
from shared.events.contracts import WindowOpened
from shared.jobs.tables import Job, JobState
from shared.messaging.tables import InboxEntry
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.roster import link_states
from shared.roster_classes import teachers_of
from tests.conftest import BACKENDS, DatabaseUrls, MigratedTemplates
from tests.mail_support import LocalMailServer
from tests.scheduling_support import open_times
from tests.support import auth, eventually, until_digest_hour_passed

ADMIN = auth("it-admin", Role.DISTRICT_ADMIN)


@dataclass
class System:
    portfolio: httpx.AsyncClient
    scheduling: httpx.AsyncClient
    notifications: httpx.AsyncClient
    apps: dict[str, FastAPI]
    backend: str


@asynccontextmanager
async def serving(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's startup and shutdown around an HTTP client talking to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@dataclass(frozen=True)
class FamilyLinkKeys:
    private_pem: str
    public_pem: str


@pytest.fixture(scope="session")
def family_link_keys() -> FamilyLinkKeys:
    """The Ed25519 key pair of the tests' family links: notifications mints with the private
    key, every service verifies with the public one."""
    return FamilyLinkKeys(*generate_key_pair())


@pytest.fixture(params=BACKENDS)
async def system(
    request: pytest.FixtureRequest,
    redis_url: str,
    tmp_path: Path,
    family_link_keys: FamilyLinkKeys,
    migrated_templates: MigratedTemplates,
    mail_server: LocalMailServer,
) -> AsyncIterator[System]:
    """Portfolio, scheduling and notifications, each on its own database, sharing one Redis;
    notifications sends email to the tests' SMTP server."""
    databases = DatabaseUrls(request.param, tmp_path)
    taken: dict[str, Path] = {}

    async def database(name: str, migrations: Path) -> str:
        url = await migrated_templates.copy(databases, name, migrations)
        taken[url] = migrations
        return url

    common: dict[str, Any] = {
        "redis_url": redis_url,
        "consumer_name": "test",
        "relay_interval_seconds": 0.1,
        "family_link_public_key": family_link_keys.public_pem,
    }
    try:
        apps = {
            "portfolio": build_portfolio(
                PortfolioSettings(
                    database_url=await database("portfolio", PORTFOLIO.migrations), **common
                )
            ),
            "scheduling": build_scheduling(
                SchedulingSettings(
                    database_url=await database("scheduling", SCHEDULING.migrations), **common
                )
            ),
            "notifications": build_notifications(
                NotificationsSettings(
                    database_url=await database("notifications", NOTIFICATIONS.migrations),
                    family_link_private_key=family_link_keys.private_pem,
                    **{
                        "smtp_host": "127.0.0.1",
                        "smtp_port": mail_server.port,
                        **notifications_overrides(request),
                    },
                    **common,
                )
            ),
        }
        async with AsyncExitStack() as stack:
            clients = {
                name: await stack.enter_async_context(serving(app, f"http://{name}"))
                for name, app in apps.items()
            }
            # (Not within two minutes of the schools' digest hour: see the helper.)
            await asyncio.sleep(until_digest_hour_passed(timedelta(minutes=2)))
            yield System(**clients, apps=apps, backend=request.param)
    finally:
        for url, migrations in taken.items():
            await migrated_templates.give_back(url, migrations)


def notifications_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings a test gives notifications with ``@pytest.mark.notifications_settings(...)``."""
    marker = request.node.get_closest_marker("notifications_settings")
    return dict(marker.kwargs) if marker else {}


SITES = {
    "conway": ("Conway Elementary", "America/Los_Angeles"),
    "mjds": ("MJDS", "America/Chicago"),
}


async def window_opening_handled(system: System) -> None:
    """Until notifications has handled a window's opening: it invites the families its roster
    knows then, and no family enrolled later. A test that counts a family's messages opens the
    window (``open_times``) and waits for this before enrolling them, or the family may be
    invited too, depending on which event arrived first."""

    async def handled() -> bool:
        async with system.apps["notifications"].state.runtime.uow.read() as session:
            query = select(InboxEntry).where(InboxEntry.event_type == WindowOpened.event_type())
            return (await session.exec(query)).first() is not None

    await eventually(handled, until=bool)


async def times_before_any_family(
    system: System, *, starts_at: datetime, count: int = 1
) -> list[dict[str, Any]]:
    """Ms. Rivera's ``count`` conference times at Conway from ``starts_at``, in Conway's window,
    whose opening notifications has handled (``window_opening_handled``): a family enrolled
    after this is not invited, so a test knows every message its family gets."""
    await register_site(system, "conway")
    slots = await open_times(
        system.scheduling, site="conway", starts_at=starts_at, count=count, teacher_id="t-rivera"
    )
    await window_opening_handled(system)
    return slots


async def register_site(system: System, site: str) -> None:
    """Put a school on the district's roster (through portfolio's API), and wait until
    scheduling knows it; idempotent."""
    name, timezone = SITES[site]
    response = await system.portfolio.put(
        f"/roster/sites/{site}", json={"name": name, "timezone": timezone}, headers=ADMIN
    )
    assert response.status_code == 200, response.text

    async def known() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            return await session.get(RosterSite, site) is not None

    await eventually(known, until=bool, timeout=15)


async def enroll(
    system: System,
    *,
    student_id: str,
    site: str,
    given_name: str,
    guardian_id: str,
    teacher_id: str | None = None,
) -> None:
    """Put a student and a guardian on the roster (through portfolio's API), and in a class of
    ``teacher_id`` if one is named."""
    await register_site(system, site)
    response = await system.portfolio.put(
        f"/roster/students/{student_id}",
        json={"site": site, "given_name": given_name, "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    response = await system.portfolio.put(
        f"/roster/students/{student_id}/guardians/{guardian_id}",
        json={"relationship": "mother"},
        headers=ADMIN,
    )
    assert response.status_code == 204, response.text
    await roster_reached(system, student_id=student_id, guardian_id=guardian_id)
    if teacher_id is not None:
        await put_in_class(
            system, f"class-{student_id}", site=site, teachers=[teacher_id], students=[student_id]
        )


async def enroll_in_classes(
    system: System, pupils: Iterable[tuple[str, str, str, str]], *, site: str = "conway"
) -> None:
    """``enroll`` each ``(student, given name, guardian, teacher)`` at ``site``, in a class of
    their teacher."""
    for student_id, given_name, guardian_id, teacher_id in pupils:
        await enroll(
            system,
            student_id=student_id,
            site=site,
            given_name=given_name,
            guardian_id=guardian_id,
            teacher_id=teacher_id,
        )


async def put_in_class(
    system: System, class_id: str, *, site: str, teachers: list[str], students: list[str]
) -> None:
    """Register a class with these teachers and students, and wait until scheduling knows it."""
    response = await system.portfolio.put(
        f"/roster/classes/{class_id}",
        json={"site": site, "title": class_id, "teacher_ids": teachers, "student_ids": students},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text

    async def known() -> bool:
        async with system.apps["scheduling"].state.runtime.uow.read() as session:
            for student in students:
                if not set(teachers) <= await teachers_of(session, student):
                    return False
            return True

    await eventually(known, until=bool, timeout=15)


async def teaching_at(system: System, teacher_id: str, *sites: str) -> None:
    """Give ``teacher_id`` a class at each of ``sites`` (a teacher acts where the roster says
    they teach), and wait until scheduling and portfolio know it."""
    for site in sites:
        await register_site(system, site)
        response = await system.portfolio.put(
            f"/roster/classes/class-{teacher_id}-{site}",
            json={"site": site, "title": f"{teacher_id} at {site}", "teacher_ids": [teacher_id]},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text

    async def known() -> bool:
        for name in ("scheduling", "portfolio"):
            taught = system.apps[name].state.teacher_sites
            if not set(sites) <= await taught("demo", teacher_id):
                return False
        return True

    await eventually(known, until=bool, timeout=15)


async def administering(system: System, offices: Mapping[str, Sequence[str]]) -> None:
    """Make each administrator of ``offices`` the administrator of exactly its schools on the
    roster (a site administrator acts where the roster says, whatever their token claims), and
    wait until every service knows it."""
    for site in sorted({site for sites in offices.values() for site in sites}):
        await register_site(system, site)
    for administrator, sites in offices.items():
        response = await system.portfolio.put(
            f"/roster/administrators/{administrator}",
            json={"given_name": "Office", "family_name": administrator, "site_ids": list(sites)},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text

    async def known() -> bool:
        for name in ("portfolio", "scheduling", "notifications"):
            administered = system.apps[name].state.administrator_sites
            for administrator, sites in offices.items():
                if await administered("demo", administrator) != frozenset(sites):
                    return False
        return True

    await eventually(known, until=bool, timeout=15)


# The school offices the tests sign in as, with the schools the roster makes them administer
# (``auth(..., Role.SITE_ADMIN, sites=...)`` names the same ones in the token).
OFFICES: dict[str, tuple[str, ...]] = {
    "a-conway": ("conway",),
    "a-mjds": ("mjds",),
    "a-both": ("conway", "mjds"),
    "office-conway": ("conway",),
    "office-mjds": ("mjds",),
    "a-lopez": ("conway",),
    "a-cohen": ("mjds",),
}


@pytest.fixture
def offices(request: pytest.FixtureRequest) -> None:
    """The tests' school offices on the roster (``OFFICES``): a module whose tests sign in as
    one uses it (``pytestmark = pytest.mark.usefixtures("offices")``). A test of that module
    that uses no system (a rule checked alone) gets none started for it."""
    if "system" in request.fixturenames:
        request.getfixturevalue("offices_named")


@pytest.fixture
async def offices_named(system: System) -> None:
    await administering(system, OFFICES)


async def roster_reached(
    system: System, *, student_id: str, guardian_id: str, linked: bool = True
) -> None:
    """Wait until scheduling and notifications know the link (roster events reach them)."""

    async def known() -> bool:
        for name in ("scheduling", "notifications"):
            runtime = system.apps[name].state.runtime
            async with runtime.uow.read() as session:
                states = await link_states(session, [(guardian_id, student_id)])
            if states.get((guardian_id, student_id)) is not linked:
                return False
        return True

    await eventually(known, until=bool, timeout=15)


async def add_contact(system: System, *, guardian_id: str, site: str, language: str) -> None:
    response = await system.notifications.put(
        f"/contacts/{guardian_id}",
        json={
            "site": site,
            "display_name": f"Guardian {guardian_id}",
            "email": f"{guardian_id}@example.org",
            "language": language,
        },
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text


async def family_with_contact(
    system: System, *, given_name: str, contact: dict[str, str]
) -> tuple[str, str]:
    """A new student at Conway in t-rivera's class and their guardian, whose contact point is
    ``contact`` (``display_name``, ``email`` or ``phone``, ``language``); returns (student,
    guardian)."""
    tag = uuid.uuid4().hex[:8]
    student, guardian_id = f"s-{tag}", f"g-{tag}"
    await enroll(
        system,
        student_id=student,
        site="conway",
        given_name=given_name,
        guardian_id=guardian_id,
        teacher_id="t-rivera",
    )
    response = await system.notifications.put(
        f"/contacts/{guardian_id}", json={"site": "conway", **contact}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    return student, guardian_id


async def delivery_of(system: System, guardian_id: str, template: str) -> Delivery | None:
    """The guardian's message ``template``, as notifications recorded it."""
    async with system.apps["notifications"].state.runtime.uow.read() as session:
        return (
            await session.exec(
                select(Delivery).where(
                    Delivery.recipient_id == guardian_id, Delivery.template == template
                )
            )
        ).first()


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[UnitOfWork]:
    """A migrated service database (portfolio's schema carries the outbox and inbox)."""
    engine = create_engine(database_url)
    await upgrade_to_head(engine, PORTFOLIO.migrations)
    yield UnitOfWork(session_factory(engine))
    await engine.dispose()


async def digests_due_now(system: System, *, pending: int = 1) -> None:
    """The guardians' digest hour comes: once at least ``pending`` digest jobs wait (their news
    is in), every one of them is due now, and the job worker is told."""
    runtime = system.apps["notifications"].state.runtime
    waiting = (col(Job.kind) == DIGEST, col(Job.status) == JobState.PENDING.value)

    async def jobs_waiting() -> int:
        async with runtime.uow.read() as session:
            return len((await session.exec(select(Job.id).where(*waiting))).all())

    await eventually(jobs_waiting, until=lambda found: found >= pending)
    async with runtime.uow.transaction() as session:
        await session.exec(update(Job).where(*waiting).values(due_at=utcnow()))
    if runtime.jobs is not None:
        runtime.jobs.nudge()
