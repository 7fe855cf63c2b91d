"""Free text is plain text, and the published pattern says exactly what the validator accepts."""

from __future__ import annotations

import re
from datetime import date

import jsonschema_rs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from shared.api_types import TEXT_PATTERN, IsoDate, Paragraphs, Text

TEXT = TypeAdapter(Text)
# The pattern as a JSON Schema validator reads it (ECMA-262 regex semantics).
SCHEMA = jsonschema_rs.validator_for({"type": "string", "pattern": TEXT_PATTERN})


def accepted(value: str) -> bool:
    try:
        TEXT.validate_python(value)
    except ValidationError:
        return False
    return True


# Any code point but lone surrogates (which JSON Schema strings cannot hold: see below), with
# the characters the rule is about drawn often.
characters = st.one_of(
    st.characters(exclude_categories=("Cs",)),
    st.sampled_from(" \t\n\r\x00\x1f\x7f\x85\x9f\xa0\u180e\u200b\u200c\u200d\u200e\u2028\u2029"),
    st.sampled_from("\u202a\u202e\u2060\u2064\u2066\u2069\u206f\u3000\ufeff\ufff9\ufffb\uffff"),
)


@given(st.text(characters, max_size=12))
@example("Zed\nBcc: evil@example.com")
@example("Zed\n")  # Python's `$` would match before a final newline; the pattern must not
@example("   ")
@example("\u202eevil")
@example("👩\u200d👩\u200d👧")
def test_the_validator_accepts_exactly_what_the_published_pattern_matches(value: str) -> None:
    assert accepted(value) == SCHEMA.is_valid(value) == bool(re.fullmatch(TEXT_PATTERN, value))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Zed\nBcc: evil@example.com", "(found U+000A)"),
        ("a\u202eb", "(found U+202E)"),
        ("a\x9bb", "(found U+009B)"),
        ("\ud800", "(found U+D800)"),
        (" \u3000 ", "must not be blank"),
        (" Ava", "must not begin or end with a space"),
    ],
)
def test_a_refusal_says_why(value: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        TEXT.validate_python(value)


@pytest.mark.parametrize("value", [0, 1_700_000_000, 2.5, "1700000000", "2030-5-1", "", None])
def test_a_date_is_written_yyyy_mm_dd(value: object) -> None:
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        TypeAdapter(IsoDate).validate_python(value)
    assert TypeAdapter(IsoDate).validate_python("2030-05-01") == date(2030, 5, 1)
    assert TypeAdapter(IsoDate).validate_json('"2030-05-01"') == date(2030, 5, 1)


def test_paragraphs_keep_their_lines_and_refuse_what_plain_text_refuses() -> None:
    paragraphs: TypeAdapter[str] = TypeAdapter(Paragraphs)
    written = "I am proud of my shapes.\r\n\n  Next I will learn all my sounds."
    assert paragraphs.validate_python(written) == written.replace("\r\n", "\n")
    for refused, reason in (
        (" \n \n", "must not be blank"),
        ("first line\nsecond \x07 line", "line 2"),
        ("hidden \u202e text", "line 1"),
    ):
        with pytest.raises(ValidationError, match=reason):
            paragraphs.validate_python(refused)
