"""``python -m services.portfolio`` (or ``slc-portfolio``): run the portfolio service, or announce
its roster again.

    slc-portfolio [serve]
    slc-portfolio reannounce [--only sites,students,guardians,staff,classes] [--batch 1000]

``reannounce`` records in the outbox of the district database (``PORTFOLIO_DATABASE_URL``) the
event announcing every site, then every student, then every guardian link, then the schools
every staff member administers (none included), then every class (its teachers, with their
names, and its students; or removed), as they are now, with their current version,
``--batch`` rows per transaction (after migrating the database if
``PORTFOLIO_MIGRATE_ON_START`` is true, as the service does). It publishes nothing itself: the
running portfolio service's relay does; if none is running, the events wait in the outbox and
go out when it starts. Readers ignore what they already hold, so it is safe to run at any time,
on a live system too. Progress goes to stderr, the summary to stdout; anything refused is one
line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence

from alembic.util.exc import CommandError
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from services.portfolio.app import SPEC, build_app
from services.portfolio.reannounce import (
    DEFAULT_BATCH_SIZE,
    ENTITIES,
    OWNED,
    Progress,
    in_order,
    reannounce,
)
from services.portfolio.settings import PortfolioSettings
from shared.database import create_engine, existing_database, session_factory
from shared.messaging.unit_of_work import UnitOfWork
from shared.migrations import upgrade_to_head
from shared.serve import load_settings, serve, settings_help, settings_problems

PROG = "slc-portfolio"


class Refused(Exception):
    """What the command will not do, said in one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run the portfolio service, or announce its roster again."
    )
    commands = parser.add_subparsers(dest="command", metavar="{serve,reannounce}")
    commands.add_parser(
        "serve",
        help="run the service (the default)",
        description="Run the portfolio service: the roster, students' work, goals and plans.",
        epilog=settings_help(PortfolioSettings),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    again = commands.add_parser(
        "reannounce",
        help="record the events announcing every site, student, guardian link, class and the"
        " schools each staff member administers again",
        description="Record, in the outbox, the event announcing every site, student, guardian"
        " link, class and the schools each staff member administers as they are now; the"
        " running portfolio service publishes them.",
    )
    again.add_argument(
        "--only",
        default=",".join(ENTITIES),
        help=f"comma-separated, of {', '.join(ENTITIES)} (default: all)",
    )
    again.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "reannounce":
        return _reannounce(only=args.only, batch_size=args.batch)
    settings = load_settings(PortfolioSettings, prog=PROG)
    serve(lambda: build_app(settings), settings)
    return 0


def _reannounce(*, only: str, batch_size: int) -> int:
    try:
        entities = _entities(only)
        if batch_size < 1:
            raise Refused(f"--batch must be at least 1, not {batch_size}")
        settings = PortfolioSettings()
        shown = existing_database(settings.database_url, setting="PORTFOLIO_DATABASE_URL")
    except ValidationError as error:  # (a ValueError: first)
        return _refused(settings_problems(PortfolioSettings, error)[0])
    except (Refused, ValueError) as error:
        return _refused(str(error))
    try:
        counts = asyncio.run(_run(settings, shown, entities=entities, batch_size=batch_size))
    except Refused as error:
        return _refused(str(error))
    except (SQLAlchemyError, OSError, CommandError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return _refused(f"cannot use the database at {shown}: {reason}")
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; what was recorded stays in the outbox and is published."
            " Running it again is safe.",
            file=sys.stderr,
        )
        return 130
    print(
        "re-announced "
        + ", ".join(f"{entity}: {count:,}" for entity, count in counts.items())
        + f" ({sum(counts.values()):,} events recorded in the outbox of {shown})."
    )
    print(
        "The running portfolio service's relay publishes them; if none is running, they wait"
        " in the outbox and go out when it starts."
    )
    return 0


async def _run(
    settings: PortfolioSettings, shown: str, *, entities: Sequence[str], batch_size: int
) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        if settings.migrate_on_start:
            await upgrade_to_head(engine, SPEC.migrations)
        async with engine.connect() as connection:
            tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        needed = ["outbox", *(OWNED[entity].__tablename__ for entity in entities)]
        missing = [name for name in needed if name not in tables]
        if missing:
            raise Refused(
                f"{shown} has no table {', '.join(missing)} (have portfolio's migrations run?"
                " PORTFOLIO_MIGRATE_ON_START=true runs them)"
            )
        print(
            f"{PROG}: announcing {', '.join(entities)} again from {shown},"
            f" {batch_size:,} rows per transaction",
            file=sys.stderr,
            flush=True,
        )
        uow = UnitOfWork(session_factory(engine))
        return await reannounce(uow, only=entities, batch_size=batch_size, progress=ProgressLines())
    finally:
        await engine.dispose()


class ProgressLines:
    """Prints progress on stderr, at most once every ``every_seconds``."""

    def __init__(
        self, *, every_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._every, self._clock = every_seconds, clock
        self._last = clock()

    def __call__(self, progress: Progress) -> None:
        now = self._clock()
        if now - self._last >= self._every:
            self._last = now
            print(progress_line(progress), file=sys.stderr, flush=True)


def progress_line(progress: Progress) -> str:
    """e.g. ``students: 12,000 of 500,000 (2.4%), 8,100/s``."""
    # Rows added since the entity began can take ``done`` past the total counted then.
    total = max(progress.total, progress.done)
    percent = 100 * progress.done / total if total else 100.0
    return (
        f"{progress.entity}: {progress.done:,} of {total:,} ({percent:.1f}%),"
        f" {progress.per_second:,.0f}/s"
    )


def _entities(only: str) -> list[str]:
    try:
        return in_order([name.strip() for name in only.split(",") if name.strip()])
    except ValueError as error:
        raise Refused(f"--only: {error}") from None


def _refused(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
