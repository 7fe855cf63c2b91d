"""Each way a message fails names the kind of its reason (the could-not-reach list's
`reason_kind`, which the office's page says in words), where it fails: never read back from the
reason's English words."""

from pathlib import Path

import pytest

from services.notifications.channels import REASON_KINDS, Undeliverable, kind_of_failure
from services.notifications.email import Bounced, email_bytes
from services.notifications.tables import Delivery
from shared.jobs.handlers import PermanentFailure
from tests.notifications_support import queued_message


def delivery(address: str | None) -> Delivery:
    return queued_message(address=address, subject="Booked", body="Your conference is booked.")


@pytest.mark.parametrize(
    ("address", "kind"), [(None, "no_contact"), ("rosa@exämple.org", "address_refused")]
)
def test_an_email_that_cannot_be_written_names_its_kind(address: str | None, kind: str) -> None:
    with pytest.raises(Undeliverable) as refused:
        email_bytes(delivery(address), sender="Conway <office@conway.example>", domain="c.example")
    assert kind_of_failure(refused.value) == kind


def test_a_failures_kind_is_what_its_channel_named_whatever_its_words() -> None:
    assert kind_of_failure(Bounced("the mail server refused the message")) == "address_refused"
    assert kind_of_failure(Undeliverable("no contact point", kind="message_refused")) == (
        "message_refused"
    )
    assert kind_of_failure(PermanentFailure("not a phone number")) == "other"
    with pytest.raises(AssertionError):
        Undeliverable("whatever", kind="a kind nobody knows")


def test_the_office_page_has_words_for_every_kind() -> None:
    page = Path("services/web/templates/_unreached_reason.html.j2").read_text()
    said = {kind for kind in REASON_KINDS if f'one.why == "{kind}"' in page}
    assert said == set(REASON_KINDS)  # ("other": notifications' own words alone)
