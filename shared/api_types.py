"""Input types every service's HTTP API uses, so bad input is a 422 with a reason, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
_TIME_ZONES = frozenset(available_timezones())


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _known_time_zone(value: str) -> str:
    if value not in _TIME_ZONES:
        raise ValueError("must be an IANA time zone, e.g. America/Los_Angeles")
    return value


def _plausible_time(value: datetime) -> datetime:
    if not _EARLIEST <= value <= _LATEST:
        raise ValueError("must be between the years 2000 and 2100")
    return value


Id = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        description="An id (sourcedId): letters, digits and . _ : @ -, at most 64.",
    ),
]
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
Text = Annotated[str, AfterValidator(_printable)]
Language = Annotated[
    str, Field(min_length=2, max_length=35, pattern=LANGUAGE_PATTERN, examples=["es-MX"])
]
Moment = Annotated[AwareDatetime, AfterValidator(_plausible_time)]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["America/Los_Angeles"]),
    AfterValidator(_known_time_zone),
]
