"""``slc-roster import PATH``: load the district's roster from a OneRoster CSV export.

    slc-roster import ./oneroster-export.zip [--timezone America/Chicago] [--report out.json]
        [--new-database]

PATH is a directory or a ``.zip`` of OneRoster 1.1 or 1.2 CSV files. The database is
portfolio's (``PORTFOLIO_DATABASE_URL``), the district ``DISTRICT_ID``; guardians' contact
details go to notifications (``PORTFOLIO_NOTIFICATIONS_URL``) as a district administrator
(``SLC_TOKEN``, or a token minted from ``AUTH_JWT_SECRET``), unless ``--no-contacts``.

Progress goes to stderr (a bar per file with rows per second), the summary to stdout. Exit
codes: 0 imported; 1 imported, but some rows were rejected (each listed as ``file:line:
reason``); 2 refused (a file with wrong headers, a setting, notifications unreachable, a SQLite
database that does not exist without ``--new-database``): with wrong headers nothing was
changed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from services.portfolio.oneroster.problems import ExportRefused
from services.portfolio.oneroster.reader import Progress
from services.portfolio.roster_import.contacts import HandoffFailed
from services.portfolio.roster_import.run import NoContactCredential, contact_token, import_roster
from services.portfolio.settings import PortfolioSettings
from shared.api_types import is_time_zone
from shared.database import existing_database
from shared.serve import settings_problems

PROG = "slc-roster"
SHOWN_REJECTIONS = 50


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Load the district's roster from a OneRoster CSV export."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{import}")
    run = commands.add_parser(
        "import",
        help="import a OneRoster 1.1 or 1.2 export (a directory or a .zip)",
        description="Import a OneRoster 1.1 or 1.2 CSV export: bulk files are the whole truth"
        " (what is missing is withdrawn), delta files carry changes.",
    )
    run.add_argument("path", type=Path, help="the export: a directory or a .zip file")
    run.add_argument(
        "--timezone",
        type=_time_zone,
        default=None,
        help="IANA time zone of schools the export gives none for (an org's"
        " metadata.timezone column); default PORTFOLIO_SITE_TIMEZONE, else DISTRICT_TIMEZONE,"
        " else America/Los_Angeles",
    )
    run.add_argument(
        "--notifications-url",
        default=os.environ.get("PORTFOLIO_NOTIFICATIONS_URL", "http://127.0.0.1:8003"),
        help="where notifications' API is (default PORTFOLIO_NOTIFICATIONS_URL or"
        " http://127.0.0.1:8003)",
    )
    run.add_argument(
        "--no-contacts",
        action="store_true",
        help="do not hand guardians' contact details to notifications",
    )
    run.add_argument("--report", type=Path, help="also write the full report here, as JSON")
    run.add_argument(
        "--new-database",
        action="store_true",
        help="create portfolio's SQLite database if there is none at PORTFOLIO_DATABASE_URL"
        " (without it, a missing file is refused: a mistyped path or another directory would"
        " otherwise fill a database the service never reads)",
    )
    return parser


def _time_zone(text: str) -> str:
    if not is_time_zone(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IANA time zone (e.g. America/Chicago)"
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = PortfolioSettings()
    except ValidationError as error:
        return _refused(settings_problems(PortfolioSettings, error)[0])
    if args.report is not None and not args.report.parent.is_dir():
        # (Found out before the import, not after it.)
        return _refused(f"--report: no directory {str(args.report.parent)!r} to write it in")
    if not args.new_database:
        # (A mistyped path, or the default's ./var read from another directory, would fill a
        # new database the service never reads.)
        try:
            existing_database(settings.database_url, setting="PORTFOLIO_DATABASE_URL")
        except ValueError as error:
            return _refused(
                f"{error}: point it at the database portfolio runs on, or pass --new-database"
                " to create this one"
            )
    try:
        token = (
            None if args.no_contacts else contact_token(settings, token=os.environ.get("SLC_TOKEN"))
        )
    except NoContactCredential as error:
        return _refused(str(error))
    bars = ProgressBars()
    try:
        report = asyncio.run(
            import_roster(
                settings,
                args.path,
                default_timezone=args.timezone or settings.site_timezone,
                notifications_url=None if args.no_contacts else args.notifications_url,
                token=token,
                on_progress=bars,
            )
        )
    except ExportRefused as error:
        bars.close()
        return _refused(f"refused, nothing was changed: {error}")
    except HandoffFailed as error:
        bars.close()
        return _refused(
            f"contact details could not be handed over ({error}); what was imported before"
            " stays, and running the import again finishes it"
        )
    except (SQLAlchemyError, OSError) as error:
        bars.close()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return _refused(f"cannot use the database: {reason}")
    except KeyboardInterrupt:
        bars.close()
        print(f"{PROG}: interrupted; running the import again is safe.", file=sys.stderr)
        return 130
    bars.close()
    print("\n".join(report.summary()))
    for line in report.rejections[:SHOWN_REJECTIONS]:
        print(f"rejected: {line}")
    if report.rejected_rows > SHOWN_REJECTIONS:
        more = report.rejected_rows - SHOWN_REJECTIONS
        print(f"... and {more} more rejected rows" + ("" if args.report else " (see --report)"))
    if args.report:
        try:
            args.report.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            return _refused(
                f"imported, but the report could not be written to {str(args.report)!r}:"
                f" {error.strerror or error}"
            )
    return 1 if report.rejected_rows else 0


class ProgressBars:
    """A bar per file on stderr, with rows read and rows per second; on a terminal that is not
    one (a log, CI), a line per file when done and every few seconds meanwhile."""

    def __init__(self, *, interactive: bool | None = None, every_seconds: float = 5.0) -> None:
        self._interactive = sys.stderr.isatty() if interactive is None else interactive
        self._every = every_seconds
        self._bar: Any = None
        self._file: str | None = None
        self._started = self._said = 0.0

    def __call__(self, progress: Progress) -> None:
        if progress.file != self._file:
            self.close()
            self._file = progress.file
            self._started = self._said = time.monotonic()
            if self._interactive:
                self._bar = tqdm(
                    total=progress.total_bytes,
                    desc=f"{progress.file:<22}",
                    unit="B",
                    unit_scale=True,
                    file=sys.stderr,
                    mininterval=0.5,
                    bar_format="{desc} {percentage:3.0f}%|{bar:24}| {postfix} [{elapsed}]",
                )
        elapsed = time.monotonic() - self._started
        text = f"{progress.rows:,} rows"
        if elapsed >= 0.5:  # (a rate over a few milliseconds says nothing)
            text += f", {progress.rows / elapsed:,.0f} rows/s"
        if self._bar is not None:
            self._bar.postfix = text
            self._bar.update(progress.bytes_read - self._bar.n)
            return
        finished = progress.bytes_read >= progress.total_bytes
        if finished or time.monotonic() - self._said >= self._every:
            self._said = time.monotonic()
            share = (
                100 * progress.bytes_read / progress.total_bytes if progress.total_bytes else 100
            )
            print(f"{progress.file}: {share:.0f}%, {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._file = None


def _refused(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
