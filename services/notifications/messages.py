"""Rendering family messages in the family's language. Pure: no I/O beyond reading templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_interval, format_time
from babel.lists import format_list
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
SUPPORTED_LANGUAGES = tuple(sorted(path.name for path in TEMPLATES.iterdir() if path.is_dir()))
FALLBACK_LANGUAGE = "en"

# Every character that could start a new line, or reorder or hide text, in what a field holds.
_BREAKS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]+"
)


def one_line(value: Any) -> Any:
    """What a template prints of a value: text on one line, whatever the value held. Only the
    template's own text makes a message's lines, so no field (a name, a room, a reason) can
    become the subject, a header, or a new paragraph."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return _BREAKS.sub(" ", str(value)).strip()


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,
    autoescape=False,  # plain-text messages
    keep_trailing_newline=True,
    finalize=one_line,
)


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class Days:
    """Days from ``first`` to ``last``, written the family's way, e.g. "8-10 de diciembre de 2026"."""

    first: date
    last: date


@dataclass(frozen=True)
class Names:
    """Names written as a list the family's way: "Ana, Leo, and Mia", "Ana, Leo y Mia"."""

    names: tuple[str, ...]


def message_language(preferred: str | None) -> str:
    """The best language we have a template for: ``es-MX`` falls back to ``es``, then English."""
    tag = (preferred or FALLBACK_LANGUAGE).replace("_", "-").lower()
    for candidate in (tag, tag.split("-", 1)[0]):
        if candidate in SUPPORTED_LANGUAGES:
            return candidate
    return FALLBACK_LANGUAGE


def render(template: str, *, language: str | None, **context: Any) -> Message:
    """Render a message; dates and times in ``context`` are written the family's way."""
    chosen = message_language(language)
    timezone = ZoneInfo(context.pop("timezone", "UTC"))
    values = {key: _localize(value, chosen, timezone) for key, value in context.items()}
    text = _environment.get_template(f"{chosen}/{template}.txt.j2").render(**values)
    subject, _, body = text.partition("\n")
    return Message(language=chosen, subject=subject.strip(), body=body.lstrip("\n"))


def _localize(value: Any, language: str, timezone: ZoneInfo) -> Any:
    if isinstance(value, Days):
        if value.first == value.last:
            return format_date(value.first, "long", locale=language)
        return format_interval(value.first, value.last, "yMMMMd", locale=language)
    if isinstance(value, Names):
        return format_list(list(value.names), locale=language)
    if isinstance(value, datetime):
        local = value.astimezone(timezone)
        day = format_date(local, "full", locale=language)
        return f"{day}, {format_time(local, 'short', tzinfo=timezone, locale=language)}"
    if isinstance(value, date):
        return format_date(value, "long", locale=language)
    return value
