"""Input types every service's HTTP API uses, so bad input is a 422 with a reason, never a 500."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

import pycountry
from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$"
_ID = re.compile(ID_PATTERN)
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"
# Free text is plain text: no control characters (C0, DEL, C1), no invisible formatting that can
# hide or reorder what a reader sees (bidi overrides and isolates, zero-width space, word joiner
# and invisible operators, BOM, interlinear annotations), no line or paragraph separators, and
# no noncharacters. ZWJ and ZWNJ (U+200C, U+200D) stay: Persian, Indic scripts and emoji need
# them. Written with \uXXXX escapes only, so the same pattern means the same in Python's `re`, in
# Rust's regex and in the ECMA-262 regexes JSON Schema validators use.
_NOT_TEXT = (
    r"\u0000-\u001f\u007f-\u009f\u180e\u200b\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    r"\ufeff\ufff9-\ufffb\ufffe\uffff"
)
# Space separators (Zs): allowed inside a value, not at either end.
_SPACES = r"\u0020\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
TEXT_PATTERN = f"^[^{_NOT_TEXT}{_SPACES}](?:[^{_NOT_TEXT}]*[^{_NOT_TEXT}{_SPACES}])?$"
# Lone surrogates are not text either; they stay out of the published pattern because an ECMA
# regex without the `u` flag would read every emoji (a surrogate pair) as two of them.
_SURROGATES = r"\ud800-\udfff"
_TEXT = re.compile(TEXT_PATTERN.replace(_NOT_TEXT, _NOT_TEXT + _SURROGATES))
_NOT_TEXT_CHARACTER = re.compile(f"[{_NOT_TEXT}{_SURROGATES}]")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
_TIME_ZONES = frozenset(available_timezones())


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class _Documented:
    """Adds JSON Schema keywords for a rule a validator enforces, so the document states it."""

    keywords: Mapping[str, Any]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(core_schema), **self.keywords}


def _plain_text(value: str) -> str:
    if _TEXT.fullmatch(value):
        return value
    if found := _NOT_TEXT_CHARACTER.search(value):
        raise ValueError(
            "must be plain text: no control characters, line breaks or invisible formatting"
            f" (found U+{ord(found.group()):04X})"
        )
    if not value.strip():
        raise ValueError("must not be blank")
    raise ValueError("must not begin or end with a space")


def text_problem(value: str) -> str | None:
    """What makes ``value`` not ``Text`` (in the words of its refusal), or None: for input that
    does not come through a model, a roster export's cells say."""
    try:
        _plain_text(value)
    except ValueError as problem:
        return str(problem)
    return None


def _iso_date_string(value: object) -> object:
    """A date arrives as `YYYY-MM-DD`, never as a number of seconds since 1970."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD, e.g. 2030-05-01")


def is_time_zone(value: str) -> bool:
    """Whether ``value`` is a zone the services take (``TimeZone``): an IANA name of
    ``zoneinfo.available_timezones()``, not every file ``ZoneInfo`` loads (``posixrules``)."""
    return value in _TIME_ZONES


# ISO 639 codes that name no language a person speaks: undetermined, uncoded, several, none.
_NOT_A_LANGUAGE = frozenset({"und", "mis", "mul", "zxx"})
# The two-letter codes ISO 639 withdrew that systems still send (Hebrew, Indonesian, Yiddish,
# Moldovan, Javanese).
_WITHDRAWN = frozenset({"iw", "in", "ji", "mo", "jw"})


@lru_cache(maxsize=1024)
def is_known_language(tag: str) -> bool:
    """Whether the tag's language (its first subtag) is one ISO 639 names: 639-1's two letters
    (and the withdrawn ones still sent), 639-3's three (Mam, Dari: the CLDR names too few of the
    languages families speak), 639-2's bibliographic codes (``chi``) and 639-5's groups
    (``sgn`` sign languages, ``nah`` Nahuatl, ``kar`` Karen); not ``und``, ``mul``..."""
    primary = tag.replace("_", "-").split("-")[0].lower()
    if len(primary) == 2:
        return primary in _WITHDRAWN or pycountry.languages.get(alpha_2=primary) is not None
    if len(primary) != 3 or primary in _NOT_A_LANGUAGE:
        return False
    return (
        pycountry.languages.get(alpha_3=primary) is not None
        or pycountry.languages.get(bibliographic=primary) is not None
        or pycountry.language_families.get(alpha_3=primary) is not None
    )


def _known_language(value: str) -> str:
    if not is_known_language(value):
        raise ValueError(
            f"must be a BCP 47 tag of a language ISO 639 names, e.g. es, es-MX, zh-Hant, mam"
            f" ({value.split('-')[0].split('_')[0]!r} is none)"
        )
    return value


def _known_time_zone(value: str) -> str:
    if not is_time_zone(value):
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


def is_id(value: str | None) -> bool:
    """Whether ``value`` is an id as the services write them (``ID_PATTERN``)."""
    return value is not None and _ID.fullmatch(value) is not None


Text = Annotated[
    str,
    AfterValidator(_plain_text),
    _Documented(
        {
            "pattern": TEXT_PATTERN,
            "description": "Plain text: no control characters, line breaks or invisible"
            " formatting, not blank, no space at either end.",
        }
    ),
]


def _plausible_day(value: date) -> date:
    if not date(2000, 1, 1) <= value < date(2100, 1, 1):
        raise ValueError("must be between the years 2000 and 2100")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_string)]
# A day asked for (a conference day, a schedule's): the day after it, or a time on it in UTC, is
# worked out, so one at the ends of the calendar is refused (422), not a 500. For input only: a
# model that is also an answer keeps ``IsoDate``, so what was stored before is still answered.
ConferenceDay = Annotated[IsoDate, AfterValidator(_plausible_day)]
Language = Annotated[
    str,
    Field(min_length=2, max_length=35, pattern=LANGUAGE_PATTERN, examples=["es-MX"]),
    AfterValidator(_known_language),
]
Moment = Annotated[AwareDatetime, AfterValidator(_plausible_time)]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["America/Los_Angeles"]),
    AfterValidator(_known_time_zone),
    _Documented({"enum": sorted(_TIME_ZONES)}),
]


# Space separators (Unicode Zs), allowed at either end of a line of a longer text.
_SPACES = " \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
_ONE_LINE: TypeAdapter[str] = TypeAdapter(Text)


def _plain_paragraphs(value: str) -> str:
    """Plain text in lines: each line is ``Text`` (no control characters or invisible
    formatting), and lines may be blank or indented."""
    value = value.replace("\r\n", "\n")
    if not value.strip(_SPACES + "\n"):
        raise ValueError("must not be blank")
    for number, line in enumerate(value.split("\n"), start=1):
        if content := line.strip(_SPACES):
            try:
                _ONE_LINE.validate_python(content)
            except ValidationError as error:
                reason = error.errors()[0].get("ctx", {}).get("error", "is not plain text")
                raise ValueError(f"line {number} {reason}") from None
    return value


Paragraphs = Annotated[
    str,
    AfterValidator(_plain_paragraphs),
    Field(
        description="Plain text that may run over several lines (\\n): no other control"
        " characters or invisible formatting, not blank."
    ),
]
