"""Reading one cell: required and optional text, lists, dates, booleans, enumerations.

Each check raises RowProblem with the few words a district needs to fix the cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Final, cast

from services.portfolio.oneroster import spec
from services.portfolio.oneroster.records import Status
from shared.api_types import ID_PATTERN, text_problem

# BCP 47 in the shape districts use: a 2-3 letter language, then script/region/variant subtags.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_SOURCED_ID = re.compile(ID_PATTERN)
_CACHE_LIMIT: Final = 4096
MAX_LANGUAGE_TAG: Final = 35  # (as the services keep them)


class RowProblem(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def required(cell: str, column: str) -> str:
    if not cell or cell.isspace():
        raise RowProblem(f"{column} is empty")
    return cell


def text(cell: str, column: str) -> str:
    """A name or a title, as every service keeps text: without spaces at either end, and with
    no control character, line break or invisible formatting (the pages and the API would not
    show one the import let in)."""
    value = required(cell, column).strip()
    if (problem := text_problem(value)) is not None:
        raise RowProblem(f"{column} {problem}")
    return value


def optional_text(cell: str, column: str) -> str | None:
    return text(cell, column) if optional(cell) is not None else None


def sourced_id(cell: str, column: str = "sourcedId") -> str:
    """A row's own id, as every service takes ids: at most 64 letters, digits and . _ : @ -
    (one the API would refuse would make the person unreachable by it)."""
    if not _SOURCED_ID.fullmatch(required(cell, column)):
        raise RowProblem(
            f"{column} '{cell[:80]}' is not an id of at most 64 letters, digits and . _ : @ -"
        )
    return cell


def optional(cell: str) -> str | None:
    return cell if cell and not cell.isspace() else None


def id_list(cell: str) -> tuple[str, ...]:
    """A list cell: "org-1,org-2" (quoted in the file, since it holds commas)."""
    if "," not in cell:
        stripped = cell.strip()
        return (stripped,) if stripped else ()
    return tuple(part for part in (piece.strip() for piece in cell.split(",")) if part)


_moments: dict[str, datetime] = {}


def moment(cell: str, column: str) -> datetime:
    """An ISO 8601 date and time; one without a zone is UTC, as the spec writes all of them."""
    parsed = _moments.get(cell)
    if parsed is not None:
        return parsed
    problem = RowProblem(
        f"{column} '{cell}' is not an ISO 8601 date and time (e.g. 2026-09-01T12:00:00.000Z)"
    )
    if "T" not in cell:
        raise problem
    try:
        parsed = datetime.fromisoformat(cell)
    except ValueError:
        raise problem from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed.astimezone(UTC)  # (the first moments of year 1 east of UTC have none)
    except OverflowError:
        raise RowProblem(f"{column} '{cell}' has no moment in UTC") from None
    if len(_moments) >= _CACHE_LIMIT:
        _moments.clear()
    _moments[cell] = parsed
    return parsed


def day(cell: str, column: str) -> date:
    try:
        if len(cell) == 10:
            return date.fromisoformat(cell)
    except ValueError:
        pass
    raise RowProblem(f"{column} '{cell}' is not a date like 2026-09-01")


def optional_day(cell: str, column: str) -> date | None:
    return day(cell, column) if cell else None


def boolean(cell: str, column: str) -> bool:
    if cell in ("true", "false"):
        return cell == "true"
    folded = cell.strip().casefold()
    if folded in ("true", "false"):
        return folded == "true"
    raise RowProblem(f"{column} '{cell}' is not true or false")


def choice(column: str, values: tuple[str, ...], *, extensible: bool) -> Callable[[str], str]:
    """A check for one enumeration: exact values first, then any spelling of their case."""
    exact = {value: value for value in values}
    by_case = {value.casefold(): value for value in values}
    allowed = ", ".join(values)

    def check(cell: str) -> str:
        value = exact.get(cell)
        if value is not None:
            return value
        if not cell:
            raise RowProblem(f"{column} is empty")
        value = by_case.get(cell.strip().casefold())
        if value is not None:
            return value
        if extensible and cell.startswith(spec.ENUM_EXTENSION_PREFIX):
            return cell
        raise RowProblem(f"{column} '{cell}' is not one of {allowed}")

    return check


def grade_list(version: spec.Version) -> Callable[[str, str], tuple[str, ...]]:
    known = choice("grades", spec.GRADES, extensible=version == "1.2")
    seen: dict[str, tuple[str, ...]] = {}

    def grades(cell: str, column: str) -> tuple[str, ...]:
        cached = seen.get(cell)
        if cached is not None:
            return cached
        try:
            parsed = tuple(known(grade) for grade in id_list(cell))
        except RowProblem:
            raise RowProblem(
                f"{column} '{cell}' is not a list of CEDS grades (IT, PR, PK, TK, KG, 01-13, "
                "PS, UG, Other)"
            ) from None
        if len(seen) < _CACHE_LIMIT:
            seen[cell] = parsed
        return parsed

    return grades


_status_choice = choice("status", spec.STATUSES, extensible=False)


def status_of(cell: str) -> Status:
    return cast(Status, _status_choice(cell))


def language_tag(cell: str, column: str) -> str:
    if len(cell) > MAX_LANGUAGE_TAG or not _LANGUAGE_TAG.fullmatch(cell):
        raise RowProblem(f"{column} '{cell}' is not a BCP 47 language tag (e.g. es, vi, zh-Hans)")
    return cell
