"""``slc-jobs``: list, inspect, retry and cancel a service's jobs.

    slc-jobs --service notifications list --status failed
    slc-jobs --service notifications show 0b6c3d0e-...
    slc-jobs --service notifications retry 0b6c3d0e-...
    slc-jobs --service notifications retry --all-failed --kind send_message
    slc-jobs --service notifications cancel 0b6c3d0e-...

The database is ``--database-url`` or, for ``--service NAME``, ``$NAME_DATABASE_URL`` or else the
service's default ``sqlite+aiosqlite:///./var/NAME.db``. A retried job runs again from its first
attempt, as soon as a worker of the service looks (within a second or so), or at its due time if
that is still to come. ``cancel`` needs ``--service``: the service's ``gives_up`` handler records
what a cancelled pending job leaves undone (its messages recorded not sent, and the families on
the could-not-reach list). Anything refused is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from shared.database import create_engine, existing_database, session_factory
from shared.jobs.admin import (
    JobRefused,
    cancel_job,
    get_job,
    job_as_dict,
    list_jobs,
    retry_failed,
    retry_job,
)
from shared.jobs.handlers import JobHandlers
from shared.jobs.tables import Job, JobState
from shared.messaging.unit_of_work import UnitOfWork


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slc-jobs", description="List, inspect, retry and cancel a service's jobs."
    )
    parser.add_argument("--service", help="the service whose jobs (e.g. notifications)")
    parser.add_argument(
        "--database-url",
        help="its database (default: $<SERVICE>_DATABASE_URL or ./var/<service>.db)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="jobs, soonest due first")
    listing.add_argument("--status", choices=[state.value for state in JobState])
    listing.add_argument("--kind", help="only jobs of this kind")
    listing.add_argument(
        "--limit", type=_positive, default=50, help="at most this many (default 50)"
    )
    show = commands.add_parser("show", help="one job, with its payload and last error")
    show.add_argument("id")
    again = commands.add_parser("retry", help="run failed jobs again, from their first attempt")
    again.add_argument("id", nargs="?", help="the job's id (or --all-failed)")
    again.add_argument("--all-failed", action="store_true", help="every failed job")
    again.add_argument("--kind", help="with --all-failed: only failed jobs of this kind")
    cancel = commands.add_parser(
        "cancel", help="cancel a pending or failed job (with --service: it records what is undone)"
    )
    cancel.add_argument("id")
    return parser


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a whole number of 1 or more, not {text!r}")
    return number


def _url_setting(args: argparse.Namespace) -> str:
    """Where the database URL came from, to name it in a refusal."""
    if args.database_url or not args.service:
        return "--database-url"
    return f"{args.service.upper().replace('-', '_')}_DATABASE_URL"


def database_url(args: argparse.Namespace) -> str:
    """``--database-url``, else the service's environment variable, else its default."""
    if args.database_url:
        return str(args.database_url)
    if not args.service:
        raise JobRefused("give --service NAME or --database-url URL")
    variable = f"{args.service.upper().replace('-', '_')}_DATABASE_URL"
    return os.environ.get(variable) or f"sqlite+aiosqlite:///./var/{args.service}.db"


def service_jobs(name: str | None) -> JobHandlers[Any]:
    """The job handlers of the service called ``name`` (its ``ServiceSpec.jobs``)."""
    from shared.messaging.acl_cli import service_specs  # (imports every service: only here)

    if not name:
        raise JobRefused(
            "cancel needs --service NAME: the service records what a cancelled job leaves undone"
        )
    specs = {spec.name: spec for spec in service_specs()}
    if name not in specs:
        raise JobRefused(f"no service {name!r} (services: {', '.join(sorted(specs))})")
    return specs[name].jobs


async def _run(args: argparse.Namespace, url: str, shown: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            has_jobs = await connection.run_sync(lambda sync: inspect(sync).has_table("job"))
        if not has_jobs:
            raise JobRefused(f"{shown} has no job table (have its migrations run?)")
        uow = UnitOfWork(session_factory(engine))
        if args.command == "list":
            jobs = await list_jobs(uow, status=args.status, kind=args.kind, limit=args.limit)
            _print_list(jobs, as_json=args.json)
        elif args.command == "show":
            job = await get_job(uow, args.id)
            print(json.dumps(job_as_dict(job), indent=2) if args.json else _detail(job))
        elif args.command == "retry":
            await _retry(uow, args)
        else:
            handlers = service_jobs(args.service)
            await _refuse_another_services_job(uow, args.id, args.service, handlers)
            job = await cancel_job(uow, args.id, handlers=handlers)
            print(
                json.dumps(job_as_dict(job), indent=2) if args.json else f"cancelled {_name(job)}"
            )
        return 0
    finally:
        await engine.dispose()


async def _refuse_another_services_job(
    uow: UnitOfWork, job_id: str, service: str, handlers: JobHandlers[Any]
) -> None:
    """A pending job of a kind ``service`` does not run is in another service's database: what
    it leaves undone would go unrecorded (``--service`` and ``--database-url`` disagree)."""
    job = await get_job(uow, job_id)
    if job.status == JobState.PENDING.value and handlers.get(job.kind) is None:
        raise JobRefused(
            f"job {job_id} is a {job.kind} job, which {service} does not run: name the service"
            " whose database this is (--service)"
        )


async def _retry(uow: UnitOfWork, args: argparse.Namespace) -> None:
    if args.all_failed and args.id:
        raise JobRefused("give a job's id or --all-failed, not both")
    if not (args.all_failed or args.id):
        raise JobRefused("give a job's id, or --all-failed")
    if args.kind and not args.all_failed:
        raise JobRefused("--kind goes with --all-failed")
    if args.id:
        job = await retry_job(uow, args.id)
        print(json.dumps(job_as_dict(job), indent=2) if args.json else f"{_name(job)} runs again")
        return
    retried = 0
    async for chunk in retry_failed(uow, kind=args.kind):
        retried += chunk
        if not args.json:
            print(f"{retried} put back so far...", flush=True)
    if args.json:
        print(json.dumps({"retried": retried}))
    else:
        print(f"{retried} failed job(s) put back to run now" if retried else "no failed jobs")


def _print_list(jobs: Sequence[Job], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([job_as_dict(job) for job in jobs], indent=2))
        return
    for job in jobs:
        limit = f"/{job.max_attempts}" if job.max_attempts is not None else ""
        print(
            f"{job.id}  {job.kind}  {job.key}  {job.status}  attempts {job.attempts}{limit}"
            f"  due {_time(job.due_at)}"
        )
        if job.last_error:
            print(f"    {job.last_error.splitlines()[0]}")
    print(f"{len(jobs)} job(s)" if jobs else "no jobs")


def _detail(job: Job) -> str:
    values = job_as_dict(job)
    payload = values.pop("payload")
    error = values.pop("last_error")
    if values["max_attempts"] is None:
        values["max_attempts"] = "(its handler's)"
    lines = [f"{key}: {value}" for key, value in values.items()]
    lines.append("payload:")
    lines += ["  " + line for line in json.dumps(payload, indent=2).splitlines()]
    if error:
        lines.append("last error:")
        lines += ["  " + line for line in error.splitlines()]
    return "\n".join(lines)


def _name(job: Job) -> str:
    return f"job {job.id} ({job.kind} {job.key})"


def _time(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        url = database_url(args)
        shown = existing_database(url, setting=_url_setting(args))
    except (JobRefused, ValueError) as error:
        return _refused(str(error))
    try:
        return asyncio.run(_run(args, url, shown))
    except JobRefused as error:
        return _refused(str(error))
    except (SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return _refused(f"cannot use the database at {shown}: {reason}")


def _refused(message: str) -> int:
    print(f"slc-jobs: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
