"""Text that may leave the service that wrote it (an event on a shared stream, an operator's page)
with no family's email address or phone number in it: a mail server's or a carrier's answer,
an exception's message, often repeats the address or number it refused."""

from __future__ import annotations

import re

# An address, its local part plain or quoted (``"jo doe"@example.org``).
_EMAIL_ADDRESS = re.compile(r"(?:\"[^\"\r\n]*\"|[^\s<>()\[\]\"',;:]+)@[^\s<>()\[\]\"',;:]+")
# A date (and time), kept as written; else what may be a phone number: digits with spaces,
# dots, dashes or brackets between them, not inside a longer number. A number is kept as written
# when it has fewer than 7 digits (a mail server's "550 5.1.1", a carrier's error 30003).
_DATE_OR_NUMBER = re.compile(
    r"(?P<date>(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?(?!\d))"
    # An id (a UUID: a job's, a delivery's), kept whole: its digits are no one's number.
    r"|(?P<id>(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f-]))"
    r"|(?<!\d)\+?\d[\d\s().-]{4,}\d"
)
PHONE_DIGITS = 7  # the fewest digits of a number a family is texted at, with no country code
# A phone number as the services keep one (E.164): "+", a country code, 7 to 15 digits in all.
E164_PATTERN = r"^\+[1-9]\d{6,14}$"
E164 = re.compile(E164_PATTERN)


def _number_hidden(found: re.Match[str]) -> str:
    text = found.group()
    if (
        found.group("date")
        or found.group("id")
        or sum(character.isdigit() for character in text) < PHONE_DIGITS
    ):
        return text
    return "<number>"


def without_contact_details(text: str) -> str:
    """``text`` (a failure's reason) as it may leave the service: a mail server's or a carrier's
    answer often repeats the address or number it refused, which never leaves this service.
    The answer's codes stay, for the reader to act on."""
    return _DATE_OR_NUMBER.sub(_number_hidden, _EMAIL_ADDRESS.sub("<address>", text))
