"""python -m benchmarks.opening_minute: the opening minute of a large district's conference week.

A district of ``--sites`` schools (40) and ``--families`` families (20,000, one child each, a
homeroom of 25 per teacher) opens booking at every school at the same moment. Scheduling runs as
``--replicas`` real processes (uvicorn, as ``make run`` starts it) on a fresh PostgreSQL database
and a private Redis; every family books from its own family link (``Authorization: Bearer
<link>``) over HTTP. Measured in one run:

1. **The opening minute.** Each family has its child's teacher's times on screen (read from the
   database before the clock starts, as a page opened before booking opens) and wants one of the
   popular ones: two in three want one of the first evening's four times. At the opening moment
   every family clicks, ``--concurrency`` requests in flight at once; a family refused a full
   time clicks the first of the ``nearest_times`` it is offered, until it has a time. Reported:
   bookings/s, requests/s, p50/p99/max latency, 5xx answers, double bookings (checked in the
   database afterwards: a time holding more families than its capacity, a student with two
   conferences in a window, a booking without exactly one ``conference.booked`` event).
2. **The same work as bare asyncpg transactions** beside it: per attempt one ``UPDATE ... SET
   booked = booked + 1 WHERE id = $1 AND booked < capacity`` and, if it took the seat, one
   ``INSERT`` of the booking, in one transaction, with the same families, first choices and
   concurrency (a refused family picks one of the next three free times), on tables of the same shape in the same database server. The HTTP rate as a
   fraction of this one is the first target (>= 50%).
3. **Latency at a steady rate.** A second window per site; families arrive at ``--rate`` (200)
   bookings/s for ``--seconds`` (20), each request sent at its scheduled moment whatever came
   before it (so a slow answer cannot hide the ones queued behind it), latency counted from that
   moment. Target: p99 < 250 ms.

The roster read model (sites, students, guardian links, classes) is written straight into
scheduling's tables before the run; the roster import is measured by ``make bench-roster``.
Windows and availability are set up through the API as a school office would. ``--profile``
samples the scheduling process(es) with py-spy during the opening minute (if installed) and adds
where their time went to the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from benchmarks.processes import (
    cpu_seconds,
    log,
    machine,
    machine_busy,
    start_profiler,
    stop_profiler,
)
from benchmarks.report import write_results
from devstack.redis_server import RedisServer, free_port
from devstack.services import ServiceProcess
from shared.auth import Role, mint_token
from shared.auth.family_links import FamilyLinkIssuer, generate_key_pair
from shared.settings import DEV_JWT_SECRET, ServiceSettings

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- opening-results:start -->", "<!-- opening-results:end -->"
LOGS = Path("var") / "opening-minute"  # the scheduling processes' logs of the last run
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DISTRICT = "demo"
ZONE = ZoneInfo("America/Los_Angeles")
HOMEROOM = 25
BARE_CONNECTIONS = 40
SERVICE_POOL_SIZE: int = ServiceSettings.model_fields["database_pool_size"].default
SLOT_MINUTES = 15
# Each window: three days, 2 pm to 5 pm, twelve 15-minute times a day per teacher.
DAYS, FIRST_HOUR, HOURS = 3, 14, 3
POPULAR_TIMES, POPULAR_SHARE = 4, 2 / 3
# A family refused a full time picks one of the nearest free times: the seed of each run's picks.
PICKS_SEED = 11
ADMIN = {
    "Authorization": "Bearer "
    + mint_token(
        secret=DEV_JWT_SECRET, subject="it-bench", role=Role.DISTRICT_ADMIN, district=DISTRICT
    )
}


@dataclass(frozen=True)
class Sizes:
    families: int = 20_000
    sites: int = 40
    concurrency: int = 64
    rate: float = 200.0
    seconds: float = 20.0
    replicas: int = 2


@dataclass
class Family:
    student: str
    teacher: str
    site: str
    link: str = ""


@dataclass
class Requests:
    """What the families' requests got: latencies (s) and statuses."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    booked: int = 0
    unbooked: int = 0
    seconds: float = 0.0
    service_cpu: float = 0.0  # CPU seconds the scheduling processes used meanwhile
    machine_busy: float = 0.0  # share of the machine's CPU time busy meanwhile

    def percentile(self, p: float) -> float:
        """The ``p`` quantile in ms (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@dataclass
class Results:
    sizes: Sizes
    opening: Requests
    bare: Requests
    bare_http: Requests  # the bare transaction behind the same web stack (benchmarks.bare_http)
    steady: Requests
    double_bookings: list[str]
    profile: list[tuple[str, float]]
    machine: str


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.opening_minute", description=__doc__
    )
    parser.add_argument("--families", type=int, default=Sizes.families)
    parser.add_argument("--sites", type=int, default=Sizes.sites)
    parser.add_argument("--concurrency", type=int, default=Sizes.concurrency)
    parser.add_argument("--rate", type=float, default=Sizes.rate, help="steady bookings/s offered")
    parser.add_argument("--seconds", type=float, default=Sizes.seconds, help="steady run length")
    parser.add_argument("--replicas", type=int, default=Sizes.replicas, help="scheduling processes")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server to make the benchmark's database on (it is dropped afterwards)",
    )
    parser.add_argument("--profile", action="store_true", help="sample the service with py-spy")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--output", type=Path, default=DOC)
    args = parser.parse_args(argv)
    sizes = Sizes(
        families=args.families,
        sites=args.sites,
        concurrency=args.concurrency,
        rate=args.rate,
        seconds=args.seconds,
        replicas=args.replicas,
    )
    with tempfile.TemporaryDirectory(prefix="slc-opening-") as scratch:
        results = asyncio.run(measure(Path(scratch), sizes, args.postgres, profile=args.profile))
    table = render(results)
    print(table)
    if not args.no_write:
        write(args.output, table)
        print(f"written to {args.output}")
    return 0 if results.opening.booked else 1


async def measure(scratch: Path, sizes: Sizes, postgres: str, *, profile: bool) -> Results:
    database = f"slc_opening_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = make_url(postgres).set(database=database)
    dsn = url.render_as_string(hide_password=False)
    redis = RedisServer(scratch / "redis").start()
    private_pem, public_pem = generate_key_pair()
    env = {
        "REDIS_URL": redis.url,
        "SCHEDULING_DATABASE_URL": url.set(drivername="postgresql+asyncpg").render_as_string(
            hide_password=False
        ),
        "FAMILY_LINK_PUBLIC_KEY": public_pem,
        "LOG_LEVEL": "warning",
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("scheduling-*.log"):
        old.unlink()
    processes = [
        ServiceProcess("scheduling", free_port(), env, LOGS / f"scheduling-{n}.log")
        for n in range(sizes.replicas)
    ]
    try:
        processes[0].start().wait_ready()  # the first one migrates the database
        for process in processes[1:]:
            process.start().wait_ready()
        families = await seed_roster(dsn, sizes, FamilyLinkIssuer(private_pem))
        log(f"roster of {len(families):,} families at {sizes.sites} sites written")
        bases = [process.url for process in processes]
        async with office_client() as client:
            first_day = datetime.now(ZONE).date() + timedelta(days=7)
            # Time enough to set up every school (about 20 ms a block) before booking opens.
            blocks = DAYS * len({family.teacher for family in families})
            opens_at = datetime.now(UTC) + timedelta(seconds=3 + 0.03 * blocks)
            times = await set_up_windows(client, bases[0], families, first_day, opens_at)
            log(f"{sum(map(len, times.values())):,} conference times at {sizes.sites} sites")
            choices = choose(families, times)
            if datetime.now(UTC) > opens_at:
                log(f"set-up ended {datetime.now(UTC) - opens_at} after booking opened")
            await wait_until(opens_at)
        # The families' browsers: one client per replica (a load balancer's share).
        clients = [KeepAlive(base) for base in bases]
        sampler = start_profiler(processes, LOGS) if profile else []
        before = cpu_seconds(processes), machine_busy()
        opening = await book_all(clients, families, choices, sizes.concurrency)
        after = cpu_seconds(processes), machine_busy()
        profiled = stop_profiler(sampler, LAYERS)
        opening.service_cpu = after[0] - before[0]
        opening.machine_busy = (after[1][0] - before[1][0]) / max(after[1][1] - before[1][1], 1)
        log(f"opening: {opening.booked:,} booked in {opening.seconds:.1f} s")
        double = await double_bookings(dsn)
        bare = await bare_transactions(dsn, families, times, choices, sizes.concurrency)
        log(f"bare asyncpg: {bare.booked:,} booked in {bare.seconds:.1f} s")
        bare_http = await bare_behind_http(dsn, env, families, times, choices, sizes)
        log(f"bare behind HTTP: {bare_http.booked:,} booked in {bare_http.seconds:.1f} s")
        async with office_client() as client:
            steady_times = await set_up_windows(
                client,
                bases[0],
                families,
                first_day + timedelta(days=DAYS + 1),
                datetime.now(UTC) - timedelta(minutes=1),
            )
        steady = await steady_rate(clients, families, choose(families, steady_times), sizes)
        log(f"steady: {steady.booked:,} booked at {sizes.rate:g}/s offered")
        double = sorted({*double, *await double_bookings(dsn)})
        for keep_alive in clients:
            keep_alive.close()
    finally:
        for process in processes:
            process.stop()
        redis.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    return Results(sizes, opening, bare, bare_http, steady, double, profiled, machine())


class KeepAlive:
    """A lean HTTP/1.1 client for the families' requests: persistent connections, JSON bodies.
    It spends a fraction of httpx's CPU per request (whose connection pool also grows costly
    with many requests in flight), so the machine's cores go to the service under test."""

    IDLE_SECONDS = 2.0  # uvicorn closes a connection idle for 5 s

    def __init__(self, base: str) -> None:
        address = urlsplit(base)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self._idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.picks = random.Random(PICKS_SEED)

    async def post(self, path: str, body: Any, token: str) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        while True:
            reused, reader, writer = await self._connection()
            try:
                writer.write(head + payload)
                status, headers = await self._head(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                if reused:
                    continue  # closed while idle, before any answer: send it again, as browsers do
                raise
            try:
                answer = await reader.readexactly(int(headers.get(b"content-length", b"0")))
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                raise
            if headers.get(b"connection") == b"close":
                writer.close()
            else:
                self._idle.append((time.monotonic(), reader, writer))
            return status, answer

    async def _connection(self) -> tuple[bool, asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            since, reader, writer = self._idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS:
                return True, reader, writer
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return False, reader, writer

    @staticmethod
    async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(b" ", 2)[1]), headers

    def close(self) -> None:
        for _, _, writer in self._idle:
            writer.close()
        self._idle.clear()


def office_client() -> httpx.AsyncClient:
    """The school office's requests (setting up windows): httpx is plenty for those."""
    return httpx.AsyncClient(timeout=60)


async def seed_roster(dsn: str, sizes: Sizes, issuer: FamilyLinkIssuer) -> list[Family]:
    """Sites, students, one guardian each, a homeroom of 25 with its teacher: scheduling's
    roster read model as the roster events would leave it."""
    families: list[Family] = []
    expires = datetime.now(UTC) + timedelta(days=60)
    for n in range(sizes.families):
        site = f"site-{n % sizes.sites:02d}"
        student = f"s-{n:05d}"
        teacher = f"t-{site}-{(n // sizes.sites) // HOMEROOM:02d}"
        link = issuer.mint(guardian_id=f"g-{student}", district=DISTRICT, expires_at=expires)
        families.append(Family(student, teacher, site, link))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "roster_site",
            records=[
                (f"site-{s:02d}", DISTRICT, f"School {s}", str(ZONE), 1) for s in range(sizes.sites)
            ],
            columns=["id", "district", "name", "timezone", "version"],
        )
        await connection.copy_records_to_table(
            "roster_student",
            records=[(f.student, DISTRICT, f.site, "Kid", True, 1) for f in families],
            columns=["id", "district", "site", "given_name", "active", "version"],
        )
        await connection.copy_records_to_table(
            "roster_guardian_link",
            records=[(f"g-{f.student}", f.student, DISTRICT, True, 1) for f in families],
            columns=["guardian_id", "student_id", "district", "active", "version"],
        )
        classes = {f.teacher: f.site for f in families}
        await connection.copy_records_to_table(
            "roster_class",
            records=[
                (f"c-{t}", DISTRICT, site, "Homeroom", True, 1) for t, site in classes.items()
            ],
            columns=["id", "district", "site", "title", "active", "version"],
        )
        members = [(f"c-{t}", t, "teacher") for t in classes] + [
            (f"c-{f.teacher}", f.student, "student") for f in families
        ]
        await connection.copy_records_to_table(
            "roster_class_member", records=members, columns=["class_id", "person_id", "role"]
        )
    finally:
        await connection.close()
    return families


async def set_up_windows(
    client: httpx.AsyncClient,
    base: str,
    families: list[Family],
    first_day: date,
    opens_at: datetime,
) -> dict[str, list[str]]:
    """A window per site (three days), every teacher's availability each afternoon, booking
    opening at ``opens_at``: each teacher's conference times in order."""
    teachers = {family.teacher: family.site for family in families}
    times: dict[str, list[str]] = {}
    last_day = first_day + timedelta(days=DAYS - 1)
    turns = asyncio.Semaphore(8)

    async def site_week(site: str) -> None:
        async with turns:
            created = await client.post(
                f"{base}/windows",
                headers=ADMIN,
                json={
                    "site": site,
                    "name": f"Spring conferences at {site}",
                    "first_day": first_day.isoformat(),
                    "last_day": last_day.isoformat(),
                    "slot_minutes": SLOT_MINUTES,
                    "buffer_minutes": 0,
                    "opens_at": opens_at.isoformat(),
                    "closes_at": datetime.combine(last_day, datetime.min.time(), ZONE)
                    .replace(hour=12)
                    .isoformat(),
                    "change_cutoff_minutes": 0,
                },
            )
            expect(created, 201)
            window = created.json()["id"]
            for teacher in sorted(t for t, at in teachers.items() if at == site):
                times[teacher] = []
                for day in range(DAYS):
                    start = datetime.combine(
                        first_day + timedelta(days=day), datetime.min.time(), ZONE
                    ) + timedelta(hours=FIRST_HOUR)
                    block = await client.post(
                        f"{base}/windows/{window}/blocks",
                        headers=ADMIN,
                        json={
                            "teacher_id": teacher,
                            "room": f"Room {teacher[-2:]}",
                            "starts_at": start.isoformat(),
                            "ends_at": (start + timedelta(hours=HOURS)).isoformat(),
                        },
                    )
                    expect(block, 201)
                    times[teacher] += [slot["id"] for slot in block.json()["slots"]]
            expect(await client.post(f"{base}/windows/{window}/open", headers=ADMIN), 200)

    await asyncio.gather(*(site_week(site) for site in sorted(set(teachers.values()))))
    return times


def expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")


def choose(families: list[Family], times: dict[str, list[str]]) -> list[str]:
    """Each family's first choice: two in three want one of the first evening's popular times
    (the last four of the first day), the others any of the teacher's times."""
    rng = random.Random(2026)
    per_day = len(next(iter(times.values()))) // DAYS
    choices = []
    for family in families:
        own = times[family.teacher]
        if rng.random() < POPULAR_SHARE:
            choices.append(own[per_day - POPULAR_TIMES + rng.randrange(POPULAR_TIMES)])
        else:
            choices.append(rng.choice(own))
    return choices


async def wait_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def book_one(
    client: KeepAlive,
    family: Family,
    slot: str,
    requests: Requests,
    *,
    sent: float | None = None,
) -> None:
    """A family books ``slot``; refused because it is full, it picks one of the nearest times
    it is offered."""
    while True:
        started = sent if sent is not None else time.perf_counter()
        sent = None
        try:
            status, body = await client.post(
                "/bookings", {"slot_id": slot, "student_id": family.student}, family.link
            )
        except (OSError, asyncio.IncompleteReadError) as error:
            requests.statuses[599] += 1
            log(f"{family.student}: {type(error).__name__}: {error}")
            requests.unbooked += 1
            return
        requests.latencies.append(time.perf_counter() - started)
        requests.statuses[status] += 1
        if status == 201:
            requests.booked += 1
            return
        nearest = json.loads(body).get("nearest_times") if status == 409 else None
        if not nearest:
            requests.unbooked += 1
            if status != 409:
                log(f"{family.student}: {status} {body[:300]!r}")
            return
        slot = client.picks.choice(nearest)["id"]


async def book_all(
    clients: list[KeepAlive],
    families: list[Family],
    choices: list[str],
    concurrency: int,
) -> Requests:
    requests = Requests()
    queue = list(range(len(families)))
    queue.reverse()

    async def family_after_family(worker: int) -> None:
        while queue:
            n = queue.pop()
            await book_one(clients[n % len(clients)], families[n], choices[n], requests)

    started = time.perf_counter()
    await asyncio.gather(*(family_after_family(w) for w in range(concurrency)))
    requests.seconds = time.perf_counter() - started
    return requests


async def steady_rate(
    clients: list[KeepAlive],
    families: list[Family],
    choices: list[str],
    sizes: Sizes,
) -> Requests:
    requests = Requests()
    count = min(len(families), int(sizes.rate * sizes.seconds))
    order = random.Random(7).sample(range(len(families)), count)
    started = time.perf_counter()
    tasks = []
    for i, n in enumerate(order):
        due = started + i / sizes.rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(
            asyncio.create_task(
                book_one(clients[n % len(clients)], families[n], choices[n], requests, sent=due)
            )
        )
    await asyncio.gather(*tasks)
    requests.seconds = time.perf_counter() - started
    return requests


async def double_bookings(dsn: str) -> list[str]:
    """Every way a seat could have been given twice, as found in the database."""
    connection = await asyncpg.connect(dsn)
    try:
        checks = {
            "a time holding more families than its capacity": """
                SELECT slot.id FROM slot
                LEFT JOIN booking ON booking.slot_id = slot.id
                  AND booking.status IN ('booked', 'checked_in', 'completed')
                GROUP BY slot.id, slot.capacity, slot.booked
                HAVING count(booking.id) > slot.capacity OR count(booking.id) <> slot.booked""",
            "a student with two conferences in a window": """
                SELECT student_id FROM booking
                WHERE status IN ('booked', 'checked_in', 'completed')
                GROUP BY student_id, window_id HAVING count(*) > 1""",
            "a booking without exactly one conference.booked event": """
                SELECT booking.id FROM booking LEFT JOIN outbox
                  ON outbox.stream LIKE '%conference.booked%'
                  AND (outbox.fields::json ->> 'data')::json ->> 'booking_id' = booking.id
                GROUP BY booking.id HAVING count(outbox.seq) <> 1""",
        }
        found = []
        for what, query in checks.items():
            rows = await connection.fetch(query)
            found += [f"{what}: {row[0]}" for row in rows]
        return found
    finally:
        await connection.close()


async def bare_transactions(
    dsn: str,
    families: list[Family],
    times: dict[str, list[str]],
    choices: list[str],
    concurrency: int,
) -> Requests:
    """The same bookings as one conditional UPDATE and one INSERT per attempt, nothing else."""
    setup = await asyncpg.connect(dsn)
    await setup.execute("""
        CREATE TABLE bare_slot (id varchar PRIMARY KEY, capacity int NOT NULL, booked int NOT NULL);
        CREATE TABLE bare_booking (id varchar PRIMARY KEY, slot_id varchar NOT NULL,
          student_id varchar NOT NULL, guardian_id varchar NOT NULL, created_at timestamptz);
    """)
    await setup.copy_records_to_table(
        "bare_slot",
        records=[(s, 1, 0) for own in times.values() for s in own],
        columns=["id", "capacity", "booked"],
    )
    await setup.close()
    # As many connections as the service's replicas keep (DATABASE_POOL_SIZE, 20 each), at most
    # 40: the server's 100 are shared with the replicas, still running.
    connections = min(concurrency, BARE_CONNECTIONS)
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)

    async def attempt(slot: str, family: Family) -> bool:
        async with pool.acquire() as connection, connection.transaction():
            taken = await connection.execute(
                "UPDATE bare_slot SET booked = booked + 1 WHERE id = $1 AND booked < capacity",
                slot,
            )
            if taken != "UPDATE 1":
                return False
            await connection.execute(
                "INSERT INTO bare_booking VALUES ($1, $2, $3, $4, now())",
                uuid.uuid4().hex,
                slot,
                family.student,
                f"g-{family.student}",
            )
            return True

    try:
        return await bare_families(attempt, families, times, choices, concurrency)
    finally:
        await pool.close()


async def bare_behind_http(
    dsn: str,
    env: dict[str, str],
    families: list[Family],
    times: dict[str, list[str]],
    choices: list[str],
    sizes: Sizes,
) -> Requests:
    """The bare transaction again, each attempt a request to ``benchmarks.bare_http`` (the same
    web stack, as many processes as scheduling's replicas, the same client): what the stack and
    the client leave of the bare rate here."""
    setup = await asyncpg.connect(dsn)
    await setup.execute("UPDATE bare_slot SET booked = 0; TRUNCATE bare_booking")
    await setup.close()
    # As many connections per process as scheduling keeps (DATABASE_POOL_SIZE, 20), at most 40
    # in all: scheduling's replicas still hold theirs, of the server's 100.
    pool_size = max(1, min(SERVICE_POOL_SIZE, BARE_CONNECTIONS // sizes.replicas))
    processes = [
        ServiceProcess(
            "bare",
            free_port(),
            {**env, "BARE_DSN": dsn, "BARE_POOL_SIZE": str(pool_size)},
            LOGS / f"bare-http-{n}.log",
            module="benchmarks.bare_http",
        )
        for n in range(sizes.replicas)
    ]
    clients: list[KeepAlive] = []
    try:
        for process in processes:
            process.start().wait_ready()
        clients = [KeepAlive(process.url) for process in processes]
        turn = 0

        async def attempt(slot: str, family: Family) -> bool:
            nonlocal turn
            turn += 1
            status, body = await clients[turn % len(clients)].post(
                "/bare/bookings", {"slot_id": slot, "student_id": family.student}, "-"
            )
            if status not in (201, 409):
                raise RuntimeError(f"bare HTTP: {status} {body[:300]!r}")
            return status == 201

        return await bare_families(attempt, families, times, choices, sizes.concurrency)
    finally:
        for client in clients:
            client.close()
        for process in processes:
            process.stop()


async def bare_families(
    attempt: Callable[[str, Family], Awaitable[bool]],
    families: list[Family],
    times: dict[str, list[str]],
    choices: list[str],
    concurrency: int,
) -> Requests:
    """Every family books its first choice with ``attempt``, ``concurrency`` at a time. Which
    times are full is known exactly here (every booking goes through this client): a refused
    family picks one of the next three free times, as the service offers the nearest free
    ones."""
    following = {s: own[i + 1 :] + own[:i] for own in times.values() for i, s in enumerate(own)}
    requests = Requests()
    queue = list(range(len(families)))
    queue.reverse()
    booked: Counter[str] = Counter()
    picks = random.Random(PICKS_SEED)

    async def family_after_family() -> None:
        while queue:
            n = queue.pop()
            family, slot = families[n], choices[n]
            candidates = [slot]
            while candidates:
                candidate = candidates.pop()
                started = time.perf_counter()
                took = await attempt(candidate, family)
                requests.latencies.append(time.perf_counter() - started)
                requests.statuses[201 if took else 409] += 1
                if took:
                    booked[candidate] += 1
                    requests.booked += 1
                    break
                free = [s for s in following[candidate] if not booked[s]][:3]
                candidates = [picks.choice(free)] if free else []
            else:
                requests.unbooked += 1

    started = time.perf_counter()
    await asyncio.gather(*(family_after_family() for _ in range(concurrency)))
    requests.seconds = time.perf_counter() - started
    return requests


# Where a sample's time went: the first of these found in its stack, innermost first.
LAYERS = (
    ("asyncpg (driver)", ("asyncpg/",)),
    ("SQLAlchemy ORM and Core", ("sqlalchemy/", "sqlmodel/")),
    ("pydantic (validation, serialisation)", ("pydantic/", "pydantic_core/")),
    ("family link check (Ed25519, JWT)", ("jwt/", "cryptography/", "family_links.py")),
    ("FastAPI and Starlette", ("fastapi/", "starlette/")),
    ("uvicorn, HTTP parsing", ("uvicorn/", "httptools/", "h11/")),
    ("scheduling's own code", ("services/scheduling/", "shared/")),
    ("event loop, idle", ("asyncio/", "uvloop/", "selectors.py")),
)


def render(results: Results) -> str:
    s, opening, bare, steady = results.sizes, results.opening, results.bare, results.steady
    rate = opening.booked / opening.seconds if opening.seconds else 0.0
    bare_rate = bare.booked / bare.seconds if bare.seconds else 0.0
    share = rate / bare_rate if bare_rate else 0.0
    http = results.bare_http
    ceiling = http.booked / http.seconds / bare_rate if bare_rate and http.seconds else 0.0
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {results.machine}; "
        f"{s.families:,} families at {s.sites} sites, {s.replicas} scheduling process(es), "
        f"{s.concurrency} requests in flight; PostgreSQL, one run.",
        "",
        "| measure | bookings | seconds | bookings/s | requests/s | p50 ms | p99 ms | max ms "
        "| 5xx |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, r in (
        ("opening minute, HTTP (family links)", opening),
        ("bare asyncpg: UPDATE + INSERT", bare),
        ("the same behind FastAPI, HTTP (no rules)", results.bare_http),
        (f"steady {s.rate:g}/s offered, HTTP", steady),
    ):
        lines.append(
            f"| {name} | {r.booked:,} | {r.seconds:.1f} | {r.booked / r.seconds:,.0f} "
            f"| {len(r.latencies) / r.seconds:,.0f} | {r.percentile(0.5):.0f} "
            f"| {r.percentile(0.99):.0f} | {max(r.latencies, default=0) * 1000:.0f} "
            f"| {r.server_errors} |"
        )
    requests_made = len(opening.latencies)
    lines += [
        "",
        f"During the opening the scheduling processes used {opening.service_cpu:.1f} CPU "
        f"seconds, {opening.service_cpu / max(requests_made, 1) * 1000:.1f} ms per request; the "
        f"machine's {os.cpu_count()} cores were {opening.machine_busy:.0%} busy (the service, "
        "PostgreSQL, Redis and the families' client together).",
    ]
    lines += [
        "",
        "| target | goal | reached | |",
        "|---|---|---|---|",
        f"| HTTP bookings/s as a share of bare asyncpg | >= 50% | {share:.1%} "
        f"| {'met' if share >= 0.5 else '**not met**'} |",
        f"| p99 latency at {s.rate:g} bookings/s offered | < 250 ms "
        f"| {steady.percentile(0.99):.0f} ms | "
        f"{'met' if steady.latencies and steady.percentile(0.99) < 250 else '**not met**'} |",
        f"| 5xx answers | 0 | {opening.server_errors + steady.server_errors} | "
        f"{'met' if not opening.server_errors + steady.server_errors else '**not met**'} |",
        f"| double bookings | 0 | {len(results.double_bookings)} | "
        f"{'met' if not results.double_bookings else '**not met**'} |",
        "",
        f"The bare transaction behind the same web stack and client (FastAPI on uvicorn, "
        f"{s.replicas} process(es), nothing else) reached {ceiling:.1%} of the bare rate: the "
        f"ceiling of this stack on this machine, of which scheduling reached "
        f"{share / ceiling if ceiling else 0.0:.0%}.",
        "",
        f"Refused as full and retried at a nearest time during the opening: "
        f"{opening.statuses[409]:,} requests; families left without a time: "
        f"{opening.unbooked:,}.",
    ]
    if results.double_bookings:
        lines += ["", "Double bookings found:", *(f"- {d}" for d in results.double_bookings[:20])]
    if results.profile:
        lines += [
            "",
            "Where the scheduling processes' time went during the opening minute "
            "(py-spy samples, innermost layer named):",
            "",
            "| layer | share |",
            "|---|--:|",
        ]
        lines += [f"| {layer} | {share:.0%} |" for layer, share in results.profile]
    return "\n".join(lines)


def write(path: Path, table: str) -> None:
    write_results(
        path, table, start=START, end=END, heading="## The opening minute of conference week"
    )


if __name__ == "__main__":
    sys.exit(main())
