"""python -m benchmarks.invitations: a conference window opens and every family is invited.

A district's ``--families`` families (50,000), at ``--sites`` schools (1), each with one child and
an email address, in five languages in turn (en, es, vi, zh-Hans, ar; a language without a
catalog yet is written in English, and the table says so). Notifications runs as
``--replicas`` (2) real processes (uvicorn, as ``make run`` starts it) on a fresh PostgreSQL
database and a private Redis, its mail relay a real SMTP server in a process of its own
(aiosmtpd, ``benchmarks/smtp_sink.py``; or, with ``--smtp-server postfix``, Postfix's
``smtp-sink``, in C, as a district's relay is not in Python). Measured in one run:

1. **End to end.** One ``scheduling.window.opened`` event per site is put on its stream, and the
   clock runs until every invitation's ``delivery.sent`` is on its stream: the event consumed, each message
   rendered in its family's language with the family's own link (Ed25519) and recorded with its
   job, by ``invite_families`` jobs a chunk of families each, then handed to the SMTP server and
   recorded sent, with its ``delivery.sent`` event, which the relay publishes (sending begins as
   soon as the first chunk is recorded). Reported: messages/s end to end, and its two overlapping parts (event in -> every
   message recorded; the first message sent -> every message sent), the CPU time of the notifications
   processes and of the SMTP server, how busy the machine was, and (``--profile``) where the
   notifications processes' time went.
2. **Checked** afterwards: every delivery recorded sent, with exactly one ``delivery.sent``
   event, and the SMTP server received each message once (one per Message-ID).
3. **The naive sender** beside it (``benchmarks/naive_sender.py``): ``--naive-messages`` of the
   same messages (2,000), queued again, each read, handed to a new SMTP connection and recorded
   in a transaction of its own, four at a time, to an SMTP server of its own. The sending part
   of (1) is compared with it.
4. **The bare sender** (``benchmarks/bare_smtp.py``): every message again, its MIME built
   before the clock starts, handed to an SMTP server of its own by aiosmtplib over as many kept
   connections as notifications had, and nothing else (no database, no event): the ceiling of
   this client and this SMTP server on this machine, which end to end is measured against.

The roster read model (students, guardian links) and the contact points are written straight
into notifications' tables before the run, as the roster events and the importer would leave
them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from benchmarks.bare_smtp import bare_send, built_messages
from benchmarks.naive_sender import naive_send
from benchmarks.processes import (
    Layer,
    cpu_seconds,
    log,
    machine,
    machine_busy,
    named_processes_cpu_seconds,
    process_cpu_seconds,
    start_profiler,
    stop_profiler,
)
from benchmarks.report import write_results
from benchmarks.smtp_sink import MESSAGE_ID
from devstack.redis_server import RedisServer, free_port
from devstack.services import ServiceProcess
from services.notifications.invitations import INVITE
from services.notifications.messages import message_language
from services.notifications.settings import NotificationsSettings
from shared.auth.family_links import generate_key_pair
from shared.events import DeliverySent, WindowOpened
from shared.events.envelope import new_event, to_stream_fields

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- invitations-results:start -->", "<!-- invitations-results:end -->"
LOGS = Path("var") / "invitations"  # the notifications processes' logs of the last run
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DISTRICT = "demo"
LANGUAGES = ("en", "es", "vi", "zh-Hans", "ar")
GIVEN_NAMES = ("Ana", "Minh", "Wei", "Layla", "Sofía", "Noah", "Linh", "Omar", "Mia", "Jun")
FAMILY_NAMES = ("García", "Nguyễn", "Chen", "Haddad", "Smith", "López", "Tran", "Wang")
MAIL_FROM = "Student-led conferences <conferences@district.example>"
MAIL_DOMAIN = "district.example"
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Sizes:
    families: int = 50_000
    sites: int = 1
    replicas: int = 2
    naive_messages: int = 2_000


@dataclass
class Run:
    """What one part of the run took."""

    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    sizes: Sizes
    end_to_end: Run
    recorded: Run  # event in -> every message rendered and recorded
    sent: Run  # the first message sent -> every message sent and announced
    first_sent: float  # seconds from the event in to the first message recorded sent
    naive: Run
    bare: Run  # the same messages, built beforehand, handed to the SMTP server and nothing else
    bare_cpu: tuple[float, float]  # CPU seconds of the bare sender and of its SMTP server
    connections: int  # connections to the SMTP server, all processes together
    service_cpu: float  # CPU seconds of the notifications processes, end to end
    sink_cpu: float  # of the SMTP server
    postgres_cpu: float  # of the PostgreSQL server's processes (all of its databases)
    redis_cpu: float  # of the private Redis
    machine_busy: float  # share of the machine's CPU time busy, end to end
    languages: Counter[str]  # deliveries per language written in
    received: dict[str, int]  # what the SMTP server received: messages, distinct Message-IDs
    announced: tuple[int, int]  # delivery.sent events, deliveries they name
    unsent: int  # deliveries not recorded sent
    server: Server = field(default_factory=lambda: Server())
    profile: list[tuple[str, float]] = field(default_factory=list)
    machine: str = ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.invitations", description=__doc__)
    parser.add_argument("--families", type=int, default=Sizes.families)
    parser.add_argument("--sites", type=int, default=Sizes.sites, help="one event per site")
    parser.add_argument("--replicas", type=int, default=Sizes.replicas)
    parser.add_argument("--naive-messages", type=int, default=Sizes.naive_messages)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server to make the benchmark's database on (it is dropped afterwards)",
    )
    parser.add_argument(
        "--smtp-server",
        choices=("aiosmtpd", "postfix"),
        default="aiosmtpd",
        help="the SMTP server messages are handed to: aiosmtpd (Python) or Postfix's smtp-sink (C)",
    )
    parser.add_argument(
        "--smtp-sink",
        default="smtp-sink",
        help="where Postfix's smtp-sink is, for --smtp-server postfix (default: on PATH, in"
        f" /usr/sbin or {UNPACKED_POSTFIX})",
    )
    parser.add_argument("--profile", action="store_true", help="sample the service with py-spy")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--output", type=Path, default=DOC)
    args = parser.parse_args(argv)
    sizes = Sizes(
        families=args.families,
        sites=args.sites,
        replicas=args.replicas,
        naive_messages=min(args.naive_messages, args.families),
    )
    server = Server(args.smtp_server, args.smtp_sink)
    if server.kind == "postfix":
        postfix_smtp_sink(server.smtp_sink)  # refused before any work if it is not there
    with tempfile.TemporaryDirectory(prefix="slc-invitations-") as scratch:
        results = asyncio.run(
            measure(Path(scratch), sizes, args.postgres, server, profile=args.profile)
        )
    table = render(results)
    print(table)
    if not args.no_write:
        write(args.output, table)
        print(f"written to {args.output}", file=sys.stderr)
    return 0 if complete(results) else 1


def complete(results: Results) -> bool:
    """Every message sent once, recorded once, announced once."""
    families = results.sizes.families
    return (
        results.unsent == 0
        and results.announced == (families, families)
        and results.received == {"messages": families, "distinct": families}
    )


@dataclass(frozen=True)
class Server:
    """Which SMTP server the run hands its messages to: ``aiosmtpd`` (Python, in a process of its
    own: ``benchmarks/smtp_sink.py``) or ``postfix``, Postfix's ``smtp-sink`` (C), at
    ``smtp_sink``."""

    kind: str = "aiosmtpd"
    smtp_sink: str = "smtp-sink"

    def describe(self) -> str:
        if self.kind == "postfix":
            return "the SMTP server Postfix's smtp-sink (C), in a process of its own"
        return "the SMTP server aiosmtpd, in a process of its own"


class SmtpSink:
    """The SMTP server as a process of its own, which keeps what it receives so that the run can
    count each Message-ID: aiosmtpd reports it when stopped; Postfix's smtp-sink appends every
    message to a dump file, which is read when it stops."""

    def __init__(self, scratch: Path, name: str, server: Server) -> None:
        self.port = free_port()
        self.report = scratch / f"{name}.json"
        self.dump: Path | None = None
        if server.kind == "postfix":
            self.dump = scratch / f"{name}.dump"
            self.process = subprocess.Popen(
                [
                    *postfix_smtp_sink(server.smtp_sink),
                    *("-u", pwd.getpwuid(os.getuid()).pw_name),  # it insists, even as root
                    *("-S", SMTP_SINK_MARK, "-D", str(self.dump)),  # a line before each
                    f"127.0.0.1:{self.port}",
                    "256",
                ],
                env=postfix_environment(server.smtp_sink),
            )
            wait_for_port(self.port, self.process)
            return
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.smtp_sink", str(self.port), str(self.report)],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the SMTP server did not start")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> dict[str, int]:
        """Stop it; what it received."""
        self.process.terminate()
        self.process.wait(30)
        if self.dump is not None:
            return received_in(self.dump)
        received: dict[str, int] = json.loads(self.report.read_text())
        return received


# Where the documentation unpacks Postfix's package when Postfix is not installed.
UNPACKED_POSTFIX = "/opt/postfix/usr/sbin"


def find_smtp_sink(path: str) -> str | None:
    """Postfix's smtp-sink at ``path``: a path, or a name looked up on PATH, in /usr/sbin and
    where the documentation unpacks Postfix's package."""
    return shutil.which(path) or shutil.which(path, path=f"/usr/sbin:{UNPACKED_POSTFIX}")


def postfix_smtp_sink(path: str) -> list[str]:
    """The command of Postfix's smtp-sink at ``path`` (``find_smtp_sink``), or a one-line
    refusal saying where to get it."""
    found = find_smtp_sink(path)
    if found is None:
        raise SystemExit(
            f"--smtp-server postfix: no smtp-sink at {path!r}. It comes with Postfix (Debian:"
            " apt-get install postfix, or apt-get download postfix && dpkg-deb -x postfix_*.deb"
            " /opt/postfix, where it is looked for)."
        )
    return [found]


def postfix_environment(path: str) -> dict[str, str]:
    """smtp-sink unpacked from Postfix's package (not installed) finds Postfix's libraries in
    the same tree."""
    found = Path(find_smtp_sink(path) or path)
    libraries = found.resolve().parent.parent / "lib" / "postfix"
    if not libraries.is_dir():
        return dict(os.environ)
    return {**os.environ, "LD_LIBRARY_PATH": str(libraries)}


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    """Until a server listens on 127.0.0.1:``port``; a refusal if ``process`` ends first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the SMTP server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the SMTP server did not listen on port {port} within {seconds:.0f} s")


# What smtp-sink writes before each message in its dump file (-S: \001 is its escape for
# the byte 0x01, which no message of the run holds at the start of a line).
SMTP_SINK_MARK = "\\001slc-smtp-sink-message\\n"
_MARK_LINE = b"\x01slc-smtp-sink-message\n"


def received_in(dump: Path) -> dict[str, int]:
    """The messages in smtp-sink's dump file and their distinct Message-IDs: each message
    starts at a mark line, and its Message-ID is in its headers (those smtp-sink adds, then the
    message's own, up to the first empty line). Read a line at a time: the file holds every
    message of the run."""
    ids: Counter[bytes] = Counter()
    started, in_headers, found = False, False, b""
    with dump.open("rb") if dump.exists() else open(os.devnull, "rb") as lines:
        for line in lines:
            if line == _MARK_LINE:
                if started:
                    ids[found] += 1
                started, in_headers, found = True, True, b""
            elif in_headers:
                if line in (b"\n", b"\r\n"):
                    in_headers = False
                elif not found and (header := MESSAGE_ID.match(line)):
                    found = header.group(1)
    if started:
        ids[found] += 1
    return {"messages": sum(ids.values()), "distinct": len(ids)}


async def measure(
    scratch: Path, sizes: Sizes, postgres: str, server: Server, *, profile: bool
) -> Results:
    database = f"slc_invitations_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres)
    await admin.execute(f'CREATE DATABASE "{database}"')
    url = make_url(postgres).set(database=database)
    dsn = url.render_as_string(hide_password=False)
    service_url = url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    redis = RedisServer(scratch / "redis").start()
    sink = SmtpSink(scratch, "sink", server)
    private_pem, _ = generate_key_pair()
    env = {
        "REDIS_URL": redis.url,
        "NOTIFICATIONS_DATABASE_URL": service_url,
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(sink.port),
        "NOTIFICATIONS_MAIL_FROM": MAIL_FROM,
        "NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY": private_pem,
        "LOG_LEVEL": "warning",
    }
    # As notifications reads it (NOTIFICATIONS_SMTP_CONNECTIONS), in each process.
    default = NotificationsSettings.model_fields["smtp_connections"].default
    connections = int(os.environ.get("NOTIFICATIONS_SMTP_CONNECTIONS", default)) * sizes.replicas
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*"):
        old.unlink()
    processes = [
        ServiceProcess(
            "notifications",
            free_port(),
            {**env, "CONSUMER_NAME": f"notifications-{n}"},
            LOGS / f"notifications-{n}.log",
        )
        for n in range(sizes.replicas)
    ]
    try:
        processes[0].start().wait_ready()  # the first one migrates the database
        for process in processes[1:]:
            process.start().wait_ready()
        await seed(dsn, sizes)
        log(f"{sizes.families:,} families at {sizes.sites} site(s) written")
        sampler = start_profiler(processes, LOGS) if profile else []
        before = cpu_seconds(processes), sink.cpu_seconds(), machine_busy(), stores_cpu(redis)
        recorded, first_sent, finished = await open_windows_and_wait(dsn, redis.url, sizes)
        after = cpu_seconds(processes), sink.cpu_seconds(), machine_busy(), stores_cpu(redis)
        profiled = stop_profiler(sampler, LAYERS)
        log(f"end to end: {sizes.families:,} sent in {finished:.1f} s")
        connection = await asyncpg.connect(dsn)
        try:
            unsent, languages, announced = await check(connection)
        finally:
            await connection.close()
        for process in processes:
            process.stop()
        received = sink.stop()
        naive = await naive_run(scratch, dsn, service_url, sizes, server)
        log(f"naive sender: {naive.messages:,} sent in {naive.seconds:.1f} s")
        bare, bare_cpu = await bare_run(scratch, service_url, sizes, connections, server)
        log(f"bare SMTP: {bare.messages:,} sent in {bare.seconds:.1f} s")
    finally:
        for process in processes:
            process.stop()
        if sink.process.poll() is None:
            sink.process.kill()
        redis.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    busy, total = (a - b for a, b in zip(after[2], before[2], strict=True))
    return Results(
        sizes=sizes,
        end_to_end=Run(sizes.families, finished),
        recorded=Run(sizes.families, recorded),
        sent=Run(sizes.families, finished - first_sent),
        first_sent=first_sent,
        naive=naive,
        bare=bare,
        bare_cpu=bare_cpu,
        connections=connections,
        service_cpu=after[0] - before[0],
        sink_cpu=after[1] - before[1],
        postgres_cpu=after[3][0] - before[3][0],
        redis_cpu=after[3][1] - before[3][1],
        machine_busy=busy / max(total, 1),
        languages=languages,
        received=received,
        announced=announced,
        unsent=unsent,
        server=server,
        profile=profiled,
        machine=machine(),
    )


async def seed(dsn: str, sizes: Sizes) -> None:
    """Each family: a student at one of the sites, one guardian linked to them, and the
    guardian's contact point (an email address, a language in turn)."""
    rng = random.Random(2026)
    students, links, contacts = [], [], []
    now = datetime.now(UTC)
    for n in range(sizes.families):
        site = f"site-{n % sizes.sites:02d}"
        student, guardian = f"s-{n:06d}", f"g-{n:06d}"
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        students.append((student, DISTRICT, site, given, True, 1))
        links.append((guardian, student, DISTRICT, True, 1))
        contacts.append(
            (
                guardian,
                DISTRICT,
                site,
                f"{rng.choice(GIVEN_NAMES)} {family}",
                f"family-{n:06d}@example.org",
                LANGUAGES[n % len(LANGUAGES)],
                now,
            )
        )
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "known_student",
            records=students,
            columns=["id", "district", "site", "given_name", "active", "version"],
        )
        await connection.copy_records_to_table(
            "roster_guardian_link",
            records=links,
            columns=["guardian_id", "student_id", "district", "active", "version"],
        )
        await connection.copy_records_to_table(
            "contact_point",
            records=contacts,
            columns=[
                "guardian_id",
                "district",
                "site",
                "display_name",
                "email",
                "language",
                "updated_at",
            ],
        )
    finally:
        await connection.close()


def window_opened(site: str) -> dict[str, str]:
    """The event scheduling publishes when the school opens its window, as a stream entry."""
    today = date.today()
    now = datetime.now(UTC)
    event = new_event(
        WindowOpened(
            window_id=f"w-{site}",
            name="Spring student-led conferences",
            timezone="America/Los_Angeles",
            first_day=today + timedelta(days=28),
            last_day=today + timedelta(days=30),
            opens_at=now + timedelta(days=1),
            closes_at=now + timedelta(days=27),
            change_cutoff_minutes=120,
            opened_by="a-bench",
        ),
        subject=f"w-{site}",
        district=DISTRICT,
        site=site,
    )
    return to_stream_fields(event)


async def open_windows_and_wait(
    dsn: str, redis_url: str, sizes: Sizes
) -> tuple[float, float, float]:
    """Put each site's ``window.opened`` on its stream, then wait until every invitation is
    recorded sent; returns the seconds until every one was recorded, until the first was sent,
    and until every one was sent."""
    connection = await asyncpg.connect(dsn)
    redis = Redis.from_url(redis_url)
    try:
        started = time.perf_counter()
        for site in range(sizes.sites):
            await redis.xadd(WindowOpened.stream(), window_opened(f"site-{site:02d}"))  # type: ignore[arg-type]
        recorded: float | None = None
        first_sent: float | None = None
        deadline = started + max(600.0, sizes.families / 20)
        while True:
            # Cheap to ask, so that watching takes nothing from the run: every message is
            # written once each site's event is handled and no invitation job is left; each
            # is recorded sent once its ``delivery.sent`` is on the stream. (Counting the
            # delivery table's rows cost PostgreSQL about 11 ms a poll at 50,000 rows.)
            handled, writing, failed = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM inbox WHERE event_type = $1),"
                " (SELECT count(*) FROM job WHERE kind = $2 AND status <> 'done'),"
                " (SELECT count(*) FROM job WHERE status IN ('failed', 'cancelled'))",
                WindowOpened.event_type(),
                INVITE,
            )
            if failed:
                raise RuntimeError(
                    f"{failed} job(s) of the service failed: see the notifications logs in {LOGS}"
                )
            sent = await redis.xlen(DeliverySent.stream())
            now = time.perf_counter()
            if recorded is None and handled >= sizes.sites and not writing:
                recorded = now - started
                log(f"recorded: every message after {recorded:.1f} s")
            if first_sent is None and sent:
                first_sent = now - started
                log(f"first sent after {first_sent:.1f} s")
            if sent >= sizes.families:
                assert recorded is not None and first_sent is not None
                return recorded, first_sent, now - started
            if now > deadline:
                raise TimeoutError(
                    f"{sent:,} of {sizes.families:,} sent after {now - started:.0f} s"
                )
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await redis.aclose()
        await connection.close()


async def check(connection: asyncpg.Connection) -> tuple[int, Counter[str], tuple[int, int]]:
    """Deliveries not recorded sent; deliveries per language; ``delivery.sent`` events, and
    how many deliveries they name."""
    unsent = await connection.fetchval("SELECT count(*) FROM delivery WHERE status <> 'sent'")
    languages = Counter(
        {
            row["language"]: row["n"]
            for row in await connection.fetch(
                "SELECT language, count(*) AS n FROM delivery GROUP BY language"
            )
        }
    )
    events, named = await connection.fetchrow(
        "SELECT count(*), count(DISTINCT (fields::json ->> 'data')::json ->> 'delivery_id')"
        " FROM outbox WHERE stream = $1",
        DeliverySent.stream(),
    )
    return int(unsent), languages, (int(events), int(named))


async def naive_run(scratch: Path, dsn: str, service_url: str, sizes: Sizes, server: Server) -> Run:
    """The naive sender on a sample of the same messages, queued again."""
    connection = await asyncpg.connect(dsn)
    try:
        ids = [
            row["id"]
            for row in await connection.fetch(
                "SELECT id FROM delivery ORDER BY id LIMIT $1", sizes.naive_messages
            )
        ]
        await connection.execute("UPDATE delivery SET status = 'queued' WHERE id = ANY($1)", ids)
    finally:
        await connection.close()
    sink = SmtpSink(scratch, "naive-sink", server)
    try:
        seconds = await naive_send(
            service_url, ids, smtp_port=sink.port, sender=MAIL_FROM, domain=MAIL_DOMAIN
        )
    finally:
        received = sink.stop()
    if received != {"messages": len(ids), "distinct": len(ids)}:
        raise RuntimeError(f"the naive sender's SMTP server received {received}")
    return Run(len(ids), seconds)


def stores_cpu(redis: RedisServer) -> tuple[float, float]:
    """CPU seconds used so far by the PostgreSQL server (every process called ``postgres``) and
    by the private Redis."""
    assert redis.process is not None
    return named_processes_cpu_seconds("postgres"), process_cpu_seconds(redis.process.pid)


async def bare_run(
    scratch: Path, service_url: str, sizes: Sizes, connections: int, server: Server
) -> tuple[Run, tuple[float, float]]:
    """Every message again, built before the clock starts, handed to an SMTP server of its own
    over as many kept connections as notifications had, with nothing else done."""
    messages = await built_messages(
        service_url, sizes.families, sender=MAIL_FROM, domain=MAIL_DOMAIN
    )
    sink = SmtpSink(scratch, "bare-sink", server)
    try:
        sink_cpu = sink.cpu_seconds()
        seconds, client_cpu = await bare_send(
            messages, port=sink.port, sender=MAIL_FROM, connections=connections
        )
        sink_cpu = sink.cpu_seconds() - sink_cpu
    finally:
        received = sink.stop()
    if received != {"messages": len(messages), "distinct": len(messages)}:
        raise RuntimeError(f"the bare sender's SMTP server received {received}")
    return Run(len(messages), seconds), (client_cpu, sink_cpu)


# Where a sample's time went: the first of these found in its stack, innermost first.
LAYERS: tuple[Layer, ...] = (
    ("asyncpg (driver)", ("asyncpg/",)),
    ("SQLAlchemy ORM and Core", ("sqlalchemy/", "sqlmodel/")),
    ("SMTP client (aiosmtplib)", ("aiosmtplib/",)),
    ("family links (Ed25519, JWT)", ("jwt/", "cryptography/", "family_links.py")),
    ("rendering (Jinja, Babel, gettext)", ("jinja2/", "babel/", "gettext", "messages.py")),
    ("pydantic (validation, serialisation)", ("pydantic/", "pydantic_core/")),
    ("MIME (email.py, email package)", ("notifications/email.py", "/email/")),
    ("notifications' own code", ("services/notifications/",)),
    ("the runtime (shared/)", ("shared/",)),
    ("event loop, idle", ("asyncio/", "uvloop/", "selectors.py")),
)


def render(results: Results) -> str:
    s = results.sizes
    languages = ", ".join(f"{tag} {n:,}" for tag, n in sorted(results.languages.items()))
    fell_back = [tag for tag in LANGUAGES if message_language(tag) != tag]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {results.machine}; "
        f"{s.families:,} families at {s.sites} site(s); notifications as {s.replicas} "
        f"process(es) on PostgreSQL; {results.server.describe()}; one run.",
        "",
        f"Messages written in: {languages}"
        + (f" ({', '.join(fell_back)} have no catalog yet: English)." if fell_back else "."),
        "",
        "| measure | messages | seconds | messages/s |",
        "|---|--:|--:|--:|",
    ]
    for name, run in (
        ("end to end: window opened -> every invitation sent and announced", results.end_to_end),
        ("event in -> every message rendered and recorded", results.recorded),
        ("sending: the first message sent -> every message sent and announced", results.sent),
        ("naive sender: a new SMTP connection and a transaction per message", results.naive),
        (
            f"bare: the same messages, built beforehand, over {results.connections} kept "
            "connections, nothing else",
            results.bare,
        ),
    ):
        lines.append(f"| {name} | {run.messages:,} | {run.seconds:.1f} | {run.rate:,.0f} |")
    per_message = results.service_cpu / max(s.families, 1) * 1000
    ratio = results.sent.rate / results.naive.rate if results.naive.rate else 0.0
    lines += [
        "",
        f"The first invitation was recorded sent {results.first_sent:.1f} s after the event,"
        " while the rest were still being written (a chunk of families per job).",
        "",
        f"End to end the notifications process(es) used {results.service_cpu:.1f} CPU seconds "
        f"({per_message:.2f} ms per message), the SMTP server {results.sink_cpu:.1f} "
        f"({results.sink_cpu / max(s.families, 1) * 1000:.2f} ms per message); the machine's "
        f"{os.cpu_count()} cores were {results.machine_busy:.0%} busy (notifications, the SMTP "
        "server, PostgreSQL and Redis together). PostgreSQL used "
        f"{results.postgres_cpu:.1f} CPU seconds ({results.postgres_cpu / max(s.families, 1) * 1000:.2f}"
        f" ms per message; the whole server, the machine's other databases included), Redis "
        f"{results.redis_cpu:.1f} ({results.redis_cpu / max(s.families, 1) * 1000:.2f} ms).",
        "",
        f"The bare sender (one process, aiosmtplib) used {results.bare_cpu[0]:.1f} CPU seconds "
        f"({results.bare_cpu[0] / max(results.bare.messages, 1) * 1000:.2f} ms per message), "
        f"its SMTP server {results.bare_cpu[1]:.1f} "
        f"({results.bare_cpu[1] / max(results.bare.messages, 1) * 1000:.2f} ms per message): "
        f"handing messages to this SMTP server alone reaches {results.bare.rate:,.0f}/s on this "
        f"machine, of which notifications reached "
        f"{results.end_to_end.rate / results.bare.rate if results.bare.rate else 0.0:.0%} end "
        "to end.",
        "",
        f"Checked: {s.families - results.unsent:,} of {s.families:,} deliveries recorded sent; "
        f"{results.announced[0]:,} `delivery.sent` events naming {results.announced[1]:,} "
        f"deliveries; the SMTP server received {results.received['messages']:,} messages with "
        f"{results.received['distinct']:,} distinct Message-IDs.",
        "",
        "| target | goal | reached | |",
        "|---|---|---|---|",
        f"| messages/s end to end | >= 2,000 | {results.end_to_end.rate:,.0f} | "
        f"{'met' if results.end_to_end.rate >= 2000 else '**not met**'} |",
        f"| sending, against the naive sender | (measured) | {ratio:.1f}x | |",
        f"| every message sent, recorded and announced once | yes | "
        f"{'yes' if complete(results) else 'no'} | "
        f"{'met' if complete(results) else '**not met**'} |",
    ]
    if results.profile:
        lines += [
            "",
            "Where the notifications processes' time went, end to end (py-spy samples, "
            "innermost layer named):",
            "",
            "| layer | share |",
            "|---|--:|",
        ]
        lines += [f"| {layer} | {share:.0%} |" for layer, share in results.profile]
    return "\n".join(lines)


def write(path: Path, table: str) -> None:
    write_results(
        path,
        table,
        start=START,
        end=END,
        heading="## Invitations when a window opens",
    )


if __name__ == "__main__":
    sys.exit(main())
