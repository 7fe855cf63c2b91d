"""Each reason notifications gives for a family it could not reach has its kind (the
could-not-reach list's `reason_kind`, which the office's page says in words): the reasons as the
sending code writes them, by kind."""

from pathlib import Path

import pytest

from services.notifications.receipts import Report
from services.notifications.reports_api import REASON_KINDS, reason_kind


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("no contact point on file for this guardian", "no_contact"),
        ("no email address on file for this guardian", "no_contact"),
        ("the mail server refused the address: 550 5.1.1 no such user", "address_refused"),
        (
            "not an address this relay can take: it needs SMTPUTF8 or is not one address",
            "address_refused",
        ),
        ("not a phone number in E.164 form: '555-0100'", "number_refused"),
        ("the carrier did not deliver it (undelivered, error 30003)", "not_delivered"),
        ("the SMS provider refused the message: 21610", "message_refused"),
        ("the mail server refused the message: 554 spam", "message_refused"),
        ("the school system has no sms service configured", "no_channel"),
        (Report("d-1", False, "5.2.2", "smtp; 552 5.2.2 mailbox full").reason, "returned"),
        ("TimeoutError: the relay did not answer", "other"),
    ],
)
def test_each_reason_has_its_kind(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind


def test_the_office_page_has_words_for_every_kind() -> None:
    page = Path("services/web/templates/_unreached_reason.html.j2").read_text()
    said = {kind for kind in REASON_KINDS if f'one.why == "{kind}"' in page}
    assert said == set(REASON_KINDS)  # ("other": notifications' own words alone)
