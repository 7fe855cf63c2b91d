"""The demo district, loaded through the services' own HTTP APIs (never into their databases):
its roster through the OneRoster import, as district IT loads a real one.

Names and wording come from two real student-led conference programs: Conway Elementary, where a
kindergartner named Gio "shared all the shapes and sounds he knew", and a K-8 day school (MJDS)
where "everyone is working on something". Loading is idempotent: running it again changes nothing.
"""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from shared.auth.principal import Role
from shared.auth.tokens import mint_token

DISTRICT = "demo"
SITES = {"conway": "Conway Elementary", "mjds": "MJDS"}
TIMEZONE = ZoneInfo("America/Los_Angeles")


# The demo district's roster, as the district's student information system would export it
# (OneRoster 1.2): Gio, Ava, her brother Lin, Sam and Minh at Conway with their teacher
# t-rivera, Noa and Eli at MJDS with t-cohen, their parents (María reads Spanish and Lan
# Vietnamese; Dana is the mother of Noa and Sam, so she can book both back to back across the two
# schools; Wei, of Ava and Lin, whom Conway's office can book one after another; Marcus has no
# contact details on file, so messages to him are recorded as failed deliveries), and Conway's
# admin.
ROSTER_EXPORT = Path(__file__).resolve().parent / "demo_roster"
IMPORT_TIMEOUT_SECONDS = 120.0

TEACHERS = {"t-rivera": "conway", "t-cohen": "mjds"}
SLOT_MINUTES = 20
# Schools whose conference week the demo opens; the others wait for their office.
OPENED_BY_THE_DEMO = ("mjds",)
# Each school's interpreters, free through its conference afternoons: Conway has a Spanish one
# (María, Gio's mother, reads Spanish; her page offers an interpreter).
INTERPRETERS = {"conway": (("Rosa Díaz", ("es",)),)}
# How each school's families reach its office (fictional numbers, as films use).
SCHOOL_OFFICES: dict[str, dict[str, object]] = {
    "conway": {
        "phone": "(503) 555-0100",
        "email": "office@conway.example.org",
        "hours": "Monday to Friday, 7:30 am to 4 pm",
    },
    "mjds": {"phone": "(503) 555-0188", "hours": "Monday to Thursday, 8 am to 3:30 pm"},
}
GOALS = {
    "s-gio": ("Know all my letter sounds and shapes", "reading"),
    "s-minh": ("Know my times tables up to 10", "math"),
    "s-noa": ("Explain my thinking in math out loud", "math"),
}
# Conway's week begins with one conference today, a few minutes after the demo is loaded:
# Minh's, which the office booked early (his mother, Lan, who reads Vietnamese, is away in
# conference week). His teacher can check the family in and record it held, and Lan then tells
# the school how it went: conference day and what follows it can be tried by hand, not only in
# conference week.
TODAY = {
    "site": "conway",
    "teacher": "t-rivera",
    "room": "Room 4",
    "student": "s-minh",
    "guardian": "g-lan",
}
TODAY_STARTS_IN = timedelta(minutes=3)


# Whom the web front's development sign-in page offers (``WEB_DEV_PEOPLE``): the demo's staff
# and a student, as in the district's identity provider.
DEV_PEOPLE = (
    {
        "subject": "t-rivera",
        "role": "teacher",
        "name": "Ana Rivera, teacher at Conway",
        "sites": ["conway"],
    },
    {
        "subject": "t-cohen",
        "role": "teacher",
        "name": "Miriam Cohen, teacher at MJDS",
        "sites": ["mjds"],
    },
    {
        "subject": "a-conway",
        "role": "site_admin",
        "name": "Jordan Ellis, Conway's office",
        "sites": ["conway"],
    },
    {"subject": "it-admin", "role": "district_admin", "name": "District IT"},
    {
        "subject": "s-ava",
        "role": "student",
        "name": "Ava Chen, 3rd grade at Conway",
        "sites": ["conway"],
        "students": ["s-ava"],
    },
    {
        "subject": "s-gio",
        "role": "student",
        "name": "Gio Martínez, kindergarten at Conway",
        "sites": ["conway"],
        "students": ["s-gio"],
    },
    {
        "subject": "s-minh",
        "role": "student",
        "name": "Minh Nguyễn, 3rd grade at Conway",
        "sites": ["conway"],
        "students": ["s-minh"],
    },
)


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
        "NOA_SAM_GUARDIAN_TOKEN": token(
            "g-dana", Role.GUARDIAN, ["mjds", "conway"], ("s-noa", "s-sam")
        ),
    }


def load_demo_district(
    urls: dict[str, str], *, secret: str, conference_today: bool = True
) -> list[str]:
    """Load (or confirm) the demo district; returns one line per thing created. Without
    ``conference_today``, Conway's week begins a week ahead like MJDS's (``TODAY``)."""
    admin = {"Authorization": f"Bearer {demo_tokens(secret)['DISTRICT_ADMIN_TOKEN']}"}
    created: list[str] = []
    with httpx.Client(timeout=30, headers=admin) as http:
        created += _import_roster(http, urls["portfolio"])
        created += _write_school_offices(http, urls["notifications"])
        created += _open_cycles(http, urls["portfolio"])
        created += _open_conference_times(
            http, urls["scheduling"], urls["portfolio"], conference_today=conference_today
        )
        created += _set_first_goals(http, urls)
    return created


def roster_zip(directory: Path = ROSTER_EXPORT) -> bytes:
    """The demo export as the zip a district's system would hand over."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.glob("*.csv")):
            archive.write(path, path.name)
    return buffer.getvalue()


def _import_roster(http: httpx.Client, portfolio: str) -> list[str]:
    """Upload the export through the roster import (``POST /roster/imports``, what district IT
    uses) and wait for its report: the demo proves the import path."""
    run = _ok(
        http.post(
            f"{portfolio}/roster/imports",
            content=roster_zip(),
            headers={"Content-Type": "application/zip"},
            params={"timezone": TIMEZONE.key},
        )
    ).json()
    deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
    while run["status"] in ("queued", "running"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo roster import {run['id']} did not finish in time")
        time.sleep(0.2)
        run = _ok(http.get(f"{portfolio}/roster/imports/{run['id']}")).json()
    report = run.get("report") or {}
    if run["status"] != "done" or report.get("rejected_rows"):
        raise RuntimeError(
            f"the demo roster import {run['status']}: {run.get('error') or report.get('rejections')}"
        )
    counts = report["counts"]
    made = {entity: counts[entity]["created"] for entity in counts if counts[entity]["created"]}
    if not made:
        return []
    return [
        "roster imported from devstack/demo_roster (OneRoster 1.2): "
        + ", ".join(f"{count} {entity.replace('_', ' ')}" for entity, count in made.items())
    ]


def _open_cycles(http: httpx.Client, portfolio: str) -> list[str]:
    """This term's conference cycle at each school ("Fall 2026", "Spring 2027")."""
    today = datetime.now(TIMEZONE).date()
    if today.month >= 8:
        name, starts, ends = f"Fall {today.year}", date(today.year, 8, 15), date(today.year, 12, 31)
    else:
        name, starts, ends = f"Spring {today.year}", date(today.year, 1, 2), date(today.year, 7, 31)
    created = []
    for site, school in SITES.items():
        if _ok(http.get(f"{portfolio}/sites/{site}/cycles")).json():
            continue
        _ok(
            http.post(
                f"{portfolio}/sites/{site}/cycles",
                json={"name": name, "starts_on": starts.isoformat(), "ends_on": ends.isoformat()},
            )
        )
        created.append(f"conference cycle {name} at {school}")
    return created


def _open_conference_times(
    http: httpx.Client, scheduling: str, portfolio: str, *, conference_today: bool
) -> list[str]:
    """Conference week at each school: three weekdays from a week on, booking open from now
    until noon on the last day; each teacher free 3:00-5:00 pm on each day with a break at 4,
    which makes 20-minute conferences with 5 minutes between them, and the school's
    interpreters free 3:00-5:00 pm too. MJDS opens booking (and invites its families); Conway's
    office opens its own in the README's "Try it". Conway's window begins today, with Minh's
    conference (``TODAY``)."""
    created = []
    days = _weekdays_from(datetime.now(TIMEZONE).date() + timedelta(days=7), count=3)
    today = todays_conference_time(datetime.now(UTC))
    cycle = _cycle_name()
    for site, school in SITES.items():
        if _ok(http.get(f"{scheduling}/windows", params={"site": site})).json():
            continue
        first, last = days[0], days[-1]
        # (The window is of the school's conference cycle: the teachers' days then link each
        # student's plan for it.)
        cycles = _ok(http.get(f"{portfolio}/sites/{site}/cycles")).json()
        cycle_id = next((one["id"] for one in cycles if one["name"] == cycle), None)
        if conference_today and site == TODAY["site"]:
            first = today.astimezone(TIMEZONE).date()
        window = _ok(
            _once_roster_arrives(
                http,
                "POST",
                f"{scheduling}/windows",
                {
                    "site": site,
                    "name": f"{cycle} student-led conferences at {school}",
                    "first_day": first.isoformat(),
                    "last_day": last.isoformat(),
                    "slot_minutes": SLOT_MINUTES,
                    "buffer_minutes": 5,
                    "opens_at": datetime.now(UTC).isoformat(),
                    "closes_at": datetime(last.year, last.month, last.day, 12, tzinfo=TIMEZONE)
                    .astimezone(UTC)
                    .isoformat(),
                    "change_cutoff_minutes": 120,
                    "cycle_id": cycle_id,
                },
                waiting_status=404,
            )
        ).json()
        zone = ZoneInfo(window["timezone"])
        for teacher, teacher_site in TEACHERS.items():
            if teacher_site != site:
                continue
            for day in days:

                def at(hour: int, minute: int = 0, day: date = day, zone: ZoneInfo = zone) -> str:
                    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    return local.astimezone(UTC).isoformat()

                _ok(
                    http.post(
                        f"{scheduling}/windows/{window['id']}/blocks",
                        json={
                            "teacher_id": teacher,
                            "room": f"Room {4 if site == 'conway' else 12}",
                            "starts_at": at(15),
                            "ends_at": at(17),
                            "breaks": [{"starts_at": at(16), "ends_at": at(16, 15)}],
                        },
                    )
                )
        for name, languages in INTERPRETERS.get(site, ()):
            interpreter = _ok(
                http.post(
                    f"{scheduling}/sites/{site}/interpreters",
                    json={"name": name, "languages": list(languages)},
                )
            ).json()
            for day in days:
                local = datetime(day.year, day.month, day.day, 15, tzinfo=zone)
                _ok(
                    http.post(
                        f"{scheduling}/interpreters/{interpreter['id']}/hours",
                        json={
                            "starts_at": local.astimezone(UTC).isoformat(),
                            "ends_at": (local + timedelta(hours=2)).astimezone(UTC).isoformat(),
                        },
                    )
                )
            created.append(f"interpreter {name} at {school} ({', '.join(languages)}), 3-5 pm")
        if conference_today and site == TODAY["site"]:
            created.append(_book_todays_conference(http, scheduling, window["id"], today))
        if site in OPENED_BY_THE_DEMO:
            _ok(http.post(f"{scheduling}/windows/{window['id']}/open"))
            state = "booking open, families invited"
        else:
            state = f"ready; its office opens booking (POST /windows/{window['id']}/open)"
        created.append(
            f"conference window {window['name']!r}, {first:%a %d %b}-{last:%a %d %b}: {state}"
        )
    return created


def todays_conference_time(now: datetime) -> datetime:
    """When today's conference begins: on the first five-minute mark at least
    ``TODAY_STARTS_IN`` from ``now`` (at midnight if it would run past it: a block of
    availability is on one day). Counted in UTC, where a clock change moves no minute (the
    school's offsets are whole hours: its five-minute marks are UTC's)."""
    soonest = now.astimezone(UTC) + TODAY_STARTS_IN
    starts = soonest.replace(second=0, microsecond=0)
    if starts < soonest:
        starts += timedelta(minutes=1)
    starts += timedelta(minutes=-starts.minute % 5)
    day = starts.astimezone(TIMEZONE).date()
    ends = starts + timedelta(minutes=SLOT_MINUTES, microseconds=-1)
    if ends.astimezone(TIMEZONE).date() != day:
        midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), TIMEZONE)
        starts = midnight.astimezone(UTC)
    return starts


def _book_todays_conference(
    http: httpx.Client, scheduling: str, window_id: str, starts: datetime
) -> str:
    """The teacher's one conference time today, and the office's booking of it for the family."""
    block = _ok(
        http.post(
            f"{scheduling}/windows/{window_id}/blocks",
            json={
                "teacher_id": TODAY["teacher"],
                "room": TODAY["room"],
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=SLOT_MINUTES)).isoformat(),
            },
        )
    ).json()
    (slot,) = block["slots"]
    # (Scheduling learns the student, 404 until then, and their guardian's link, 422, from
    # portfolio's events, each on a stream of its own.)
    _ok(
        _once_roster_arrives(
            http,
            "POST",
            f"{scheduling}/bookings",
            {
                "slot_id": slot["id"],
                "student_id": TODAY["student"],
                "guardian_id": TODAY["guardian"],
            },
            waiting_status=(404, 422),
        )
    )
    local = starts.astimezone(TIMEZONE)
    return (
        f"{TODAY['student']}'s conference, booked by the office: {local:%a %d %b %H:%M} "
        f"({TIMEZONE.key}), {TODAY['room']} with {TODAY['teacher']} (check the family in on "
        "the teacher's Conference day, then record it completed once it has begun)"
    )


def _weekdays_from(day: date, *, count: int) -> list[date]:
    days: list[date] = []
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _cycle_name() -> str:
    today = datetime.now(TIMEZONE).date()
    return f"Fall {today.year}" if today.month >= 8 else f"Spring {today.year}"


def _once_roster_arrives(
    http: httpx.Client,
    method: str,
    url: str,
    body: dict[str, object],
    *,
    waiting_status: int | tuple[int, ...],
    timeout: float = 30.0,
) -> httpx.Response:
    """Send ``body``; scheduling and notifications learn the roster from portfolio's events a
    moment after it changes, and until then answer ``waiting_status`` (one of them): the
    request is then made again."""
    waiting = waiting_status if isinstance(waiting_status, tuple) else (waiting_status,)
    deadline = time.monotonic() + timeout
    while True:
        response = http.request(method, url, json=body)
        if response.status_code not in waiting or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def _write_school_offices(http: httpx.Client, notifications: str) -> list[str]:
    """How the demo schools' families reach their offices, at the end of every message and on
    their pages (before the windows open: their invitations end with it too)."""
    created = []
    for site, office in SCHOOL_OFFICES.items():
        url = f"{notifications}/sites/{site}/office"
        written = _once_roster_arrives(http, "GET", url, {}, waiting_status=404)
        if _ok(written).json()["updated_by"] is not None:
            continue
        _ok(_once_roster_arrives(http, "PUT", url, office, waiting_status=404))
        created.append(f"school office of {site}: {office['phone']}")
    return created


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
