"""Phone numbers as people write them (``(503) 555-0111``, ``+1 503 555 0100 ext. 2``), read
with the ``phonenumbers`` library: a family's from a roster export, a school office's from its
page."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import AfterValidator

from shared.contact_details import E164

LONGEST_EXTENSION = 10  # digits (the library takes 20: no office has such an extension)


def _known_region(value: str) -> str:
    # (A region the phone number library does not know would read no number at all.)
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a country code phone numbers are read in, e.g. US or CA")
    return value


PhoneRegion = Annotated[str, AfterValidator(_known_region)]
"""The country (ISO 3166 code) a number written without its country code is read in."""


def read_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number ``text`` is, read in ``region`` unless it starts with its country code, with
    its extension if written; None if it cannot be a phone number (letters, too few digits or
    more than E.164's 15, an extension of more than ``LONGEST_EXTENSION`` digits, a local-only
    number such as ``555-0111`` no call from elsewhere reaches)."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:  # (not IS_POSSIBLE_LOCAL_ONLY)
        return None
    if not E164.match(e164(parsed)) or len(parsed.extension or "") > LONGEST_EXTENSION:
        return None
    return parsed


def e164(number: phonenumbers.PhoneNumber) -> str:
    """``+15035550100``: the number alone, as the services keep one (no extension)."""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
