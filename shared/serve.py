"""Running a service process on uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings, SettingsError
from sqlalchemy.engine import make_url

from shared.database import wait_for_database
from shared.settings import DEV_JWT_SECRET, ServiceSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(settings_class: type[SettingsT], *, prog: str) -> SettingsT:
    """The service's settings from its environment. If any is invalid, says so on stderr, one
    line per setting naming its variable (never a value: some hold passwords), and exits 2."""
    try:
        return settings_class()
    except ValidationError as error:
        for problem in settings_problems(settings_class, error):
            print(f"{prog}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    except SettingsError as error:  # a list or an object setting that is not JSON
        prefix = str(settings_class.model_config.get("env_prefix") or "")
        print(f"{prog}: {_unreadable(error, prefix)}", file=sys.stderr)
        raise SystemExit(2) from None


def _unreadable(error: SettingsError, prefix: str) -> str:
    """pydantic-settings says 'error parsing value for field "dev_people" from source ...':
    the setting, not its value."""
    text = str(error)
    if '"' in text:
        field = text.split('"')[1]
        return (
            f"invalid setting {prefix}{field.upper()}: not JSON (a list or an object is expected)"
        )
    return "invalid setting: a value is not JSON"


def parse_arguments(
    settings_class: type[BaseSettings], *, prog: str, description: str, argv: Sequence[str] | None
) -> None:
    """A server configured only through its environment: ``--help`` lists every setting it
    reads (``settings_help``); any other argument is refused (exit 2)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=settings_help(settings_class),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)


def settings_help(settings_class: type[BaseSettings]) -> str:
    """Every setting the class reads from the environment: its variable, its default (never a
    secret's) and what it does, wrapped for a terminal."""
    lines = ["Settings, from the environment:"]
    for name, field in settings_class.model_fields.items():
        if name == "service_name":
            continue
        default = field.get_default(call_default_factory=True)
        if field.default_factory is socket.gethostname:
            shown = "this host's name"
        elif default is None:
            shown = "unset"
        elif hasattr(default, "get_secret_value") or default == DEV_JWT_SECRET:
            shown = "a development value"
        else:
            shown = repr(default)
        what = f": {field.description}" if field.description else ""
        line = f"{setting_variable(settings_class, (name,))} (default {shown}){what}"
        lines.append(textwrap.fill(line, width=96, initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines)


def settings_problems(settings_class: type[BaseSettings], error: ValidationError) -> list[str]:
    """What is wrong with the settings, a line each, without the values given."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False, include_context=False):
        message = detail["msg"].removeprefix("Value error, ")
        if detail["loc"]:
            message = (
                f"invalid setting {setting_variable(settings_class, detail['loc'])}: {message}"
            )
        problems.append(message)
    return problems


def setting_variable(settings_class: type[BaseSettings], location: tuple[int | str, ...]) -> str:
    """The environment variable a setting is read from, e.g. ``PORTFOLIO_MIGRATE_ON_START``."""
    name = str(location[0])
    field = settings_class.model_fields.get(name)
    if field is None:
        # Already a variable's name: of a setting shared by all services, or one of several
        # a setting may be read from.
        field = next(
            (
                one
                for one in settings_class.model_fields.values()
                if isinstance(one.validation_alias, AliasChoices)
                and name in one.validation_alias.choices
            ),
            None,
        )
        if field is None:
            return name
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    if isinstance(field.validation_alias, AliasChoices):
        # (Read from the first of its variables that is set: the one to name.)
        names = [one for one in field.validation_alias.choices if isinstance(one, str)]
        return next((one for one in names if one in os.environ), names[0])
    return f"{settings_class.model_config.get('env_prefix', '')}{name}".upper()


def serve(build_app: Callable[[], FastAPI], settings: ServiceSettings) -> None:
    """Serve until SIGINT/SIGTERM; shutdown stops consuming, lets in-flight handlers finish.

    First, a PostgreSQL server that does not answer yet is waited for, up to
    ``DATABASE_WAIT_SECONDS``, a line in the log each try; then the process exits 1 with the
    reason in one line on stderr (never a traceback)."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {settings.service_name} %(levelname)s %(message)s"
    )
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    log = logging.getLogger(settings.service_name)

    def waiting(reason: str, pause: float) -> None:
        log.warning(
            "the database at %s does not answer yet (%s); trying again in %.1f s",
            shown,
            reason,
            pause,
        )

    try:
        reason = asyncio.run(
            wait_for_database(
                settings.database_url, seconds=settings.database_wait_seconds, waiting=waiting
            )
        )
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    if reason is not None:
        print(
            f"slc-{settings.service_name}: cannot use the database at {shown}: {reason}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    app = build_app()
    # What exists by now (modules, the app, its schemas and table metadata) lives as long as the
    # process. Moved out of the collector's generations, it is not walked again on every full
    # collection: 5-8% less CPU per event consumed, measured (docs/benchmarks.md).
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        # Open requests get as long as the consumer's batch in hand.
        timeout_graceful_shutdown=max(int(settings.shutdown_grace_seconds), 1),
    )
