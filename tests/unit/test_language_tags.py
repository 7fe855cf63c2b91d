"""Which language tags the API takes: BCP 47 tags whose language ISO 639 names (the languages
families speak, many of which the CLDR has no locale for), and not the codes that name none."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from services.notifications.api import ContactIn, ContactOut
from shared.api_types import Language, is_known_language


class Asked(BaseModel):
    language: Language


@pytest.mark.parametrize(
    "tag",
    [
        "es",
        "es-MX",
        "zh-Hant",
        "mam",  # Mam (ISO 639-3; no CLDR locale)
        "prs",  # Dari
        "kjb",  # Q'anjob'al
        "hmn",
        "ase",  # American Sign Language
        "sgn",  # sign languages (ISO 639-5)
        "sgn-US",
        "nah",  # Nahuatl languages
        "kar",  # Karen languages
        "chi",  # Chinese (ISO 639-2 bibliographic)
        "iw",  # Hebrew, as systems still send it
        "fil",
        "haw",
    ],
)
def test_a_language_iso_639_names_is_taken(tag: str) -> None:
    assert is_known_language(tag)
    assert Asked(language=tag).language == tag


@pytest.mark.parametrize("tag", ["xx", "qq", "xx-invalid-tag-zzzz", "und", "mul", "zxx", "mis"])
def test_a_code_that_names_no_language_is_refused(tag: str) -> None:
    assert not is_known_language(tag)
    with pytest.raises(ValidationError, match="ISO 639"):
        Asked(language=tag)


def test_a_stored_contact_is_answered_whatever_its_tag() -> None:
    """What notifications keeps is answered as it is: a tag stored before the rule was the one
    now (an answer never 500s on it); only what is sent is held to it."""
    stored = ContactOut.model_validate(
        {"guardian_id": "g-1", "site": "conway", "display_name": "Rosa", "language": "xx"}
    )
    assert stored.language == "xx"
    with pytest.raises(ValidationError, match="ISO 639"):
        ContactIn.model_validate({"site": "conway", "display_name": "Rosa", "language": "xx"})
