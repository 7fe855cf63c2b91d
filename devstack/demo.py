"""The demo district, loaded through the services' own HTTP APIs (never into their databases).

Names and wording come from two real student-led conference programs: Conway Elementary, where a
kindergartner named Gio "shared all the shapes and sounds he knew", and a K-8 day school (MJDS)
where "everyone is working on something". Loading is idempotent: running it again changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from shared.auth.principal import Role
from shared.auth.tokens import mint_token

DISTRICT = "demo"
SITES = {"conway": "Conway Elementary", "mjds": "MJDS"}
TIMEZONE = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True)
class DemoStudent:
    id: str
    site: str
    given_name: str
    family_name: str
    grade: str


@dataclass(frozen=True)
class DemoGuardian:
    id: str
    student_id: str
    relationship: str
    display_name: str
    email: str | None
    language: str


STUDENTS = [
    DemoStudent("s-gio", "conway", "Gio", "Martinez", "KG"),
    DemoStudent("s-ava", "conway", "Ava", "Chen", "03"),
    DemoStudent("s-noa", "mjds", "Noa", "Levi", "05"),
    DemoStudent("s-eli", "mjds", "Eli", "Brooks", "08"),
]
GUARDIANS = [
    DemoGuardian("g-maria", "s-gio", "mother", "María Martínez", "maria@example.org", "es"),
    DemoGuardian("g-wei", "s-ava", "father", "Wei Chen", "wei@example.org", "en"),
    DemoGuardian("g-dana", "s-noa", "mother", "Dana Levi", "dana@example.org", "en"),
    # No contact point on file: messages to him are recorded as failed deliveries.
    DemoGuardian("g-marcus", "s-eli", "father", "Marcus Brooks", None, "en"),
]
TEACHERS = {"t-rivera": "conway", "t-cohen": "mjds"}
GOALS = {
    "s-gio": ("Know all my letter sounds and shapes", "reading"),
    "s-noa": ("Explain my thinking in math out loud", "math"),
}


def demo_tokens(secret: str, ttl: timedelta = timedelta(hours=12)) -> dict[str, str]:
    """Ready-to-use tokens for the demo people, by environment variable name."""

    def token(subject: str, role: Role, sites: list[str], students: tuple[str, ...] = ()) -> str:
        return mint_token(
            secret=secret,
            subject=subject,
            role=role,
            district=DISTRICT,
            sites=sites,
            students=students,
            ttl=ttl,
        )

    return {
        "DISTRICT_ADMIN_TOKEN": token("it-admin", Role.DISTRICT_ADMIN, []),
        "CONWAY_ADMIN_TOKEN": token("a-conway", Role.SITE_ADMIN, ["conway"]),
        "TEACHER_TOKEN": token("t-rivera", Role.TEACHER, ["conway"]),
        "AVA_TOKEN": token("s-ava", Role.STUDENT, ["conway"], ("s-ava",)),
        "AVA_GUARDIAN_TOKEN": token("g-wei", Role.GUARDIAN, ["conway"], ("s-ava",)),
        "GIO_GUARDIAN_TOKEN": token("g-maria", Role.GUARDIAN, ["conway"], ("s-gio",)),
    }


def load_demo_district(urls: dict[str, str], *, secret: str) -> list[str]:
    """Load (or confirm) the demo district; returns one line per thing created."""
    admin = {"Authorization": f"Bearer {demo_tokens(secret)['DISTRICT_ADMIN_TOKEN']}"}
    created: list[str] = []
    with httpx.Client(timeout=10, headers=admin) as http:
        for site, name in SITES.items():
            _ok(
                http.put(
                    f"{urls['portfolio']}/roster/sites/{site}",
                    json={"name": name, "timezone": TIMEZONE.key},
                )
            )
        for student in STUDENTS:
            _ok(
                http.put(
                    f"{urls['portfolio']}/roster/students/{student.id}",
                    json={
                        "site": student.site,
                        "given_name": student.given_name,
                        "family_name": student.family_name,
                        "grade": student.grade,
                    },
                )
            )
        for guardian in GUARDIANS:
            _ok(
                http.put(
                    f"{urls['portfolio']}/roster/students/{guardian.student_id}/guardians/{guardian.id}",
                    json={"relationship": guardian.relationship},
                )
            )
        for guardian in GUARDIANS:
            if guardian.email:
                # Notifications keeps contact details only for guardians the roster links to a
                # student: until the link reaches it (an event), it answers 404.
                _ok(
                    _once_roster_arrives(
                        http,
                        "PUT",
                        f"{urls['notifications']}/contacts/{guardian.id}",
                        {
                            "display_name": guardian.display_name,
                            "email": guardian.email,
                            "language": guardian.language,
                        },
                        waiting_status=404,
                    )
                )
        created += _open_conference_times(http, urls["scheduling"])
        created += _set_first_goals(http, urls)
    return created


def _open_conference_times(http: httpx.Client, scheduling: str) -> list[str]:
    """Twenty-minute conferences a week from now (a weekday), 3:00-5:00 pm at each site."""
    created = []
    day = (datetime.now(TIMEZONE) + timedelta(days=7)).date()
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    for teacher, site in TEACHERS.items():
        if _ok(http.get(f"{scheduling}/slots", params={"site": site})).json():
            continue
        for minutes in range(0, 120, 20):
            start = datetime(day.year, day.month, day.day, 15, tzinfo=TIMEZONE) + timedelta(
                minutes=minutes
            )
            slot = {
                "site": site,
                "room": f"Room {4 if site == 'conway' else 12}",
                "starts_at": start.astimezone(UTC).isoformat(),
                "duration_minutes": 20,
                "capacity": 1,
                "teacher_id": teacher,
            }
            _ok(_once_roster_arrives(http, "POST", f"{scheduling}/slots", slot, waiting_status=409))
        created.append(f"6 conference times at {SITES[site]} on {day:%A %d %B}")
    return created


def _once_roster_arrives(
    http: httpx.Client,
    method: str,
    url: str,
    body: dict[str, object],
    *,
    waiting_status: int,
    timeout: float = 30.0,
) -> httpx.Response:
    """Send ``body``; scheduling and notifications learn the roster from portfolio's events a
    moment after it changes, and until then answer ``waiting_status``: the request is then made
    again."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.request(method, url, json=body)
        if response.status_code != waiting_status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def _set_first_goals(http: httpx.Client, urls: dict[str, str]) -> list[str]:
    created = []
    for student_id, (title, area) in GOALS.items():
        goals = f"{urls['portfolio']}/students/{student_id}/goals"
        if _ok(http.get(goals)).json():
            continue
        # (If the roster events have not reached notifications yet, the goal's message waits
        # for its student there: nothing to wait for here.)
        _ok(http.post(goals, json={"title": title, "area": area}))
        created.append(f"goal for {student_id}: {title}")
    return created


def _ok(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text}"
        )
    return response
