"""Email to families over SMTP: the MIME message, and the channel that hands it to the relay.

A message is built with Python's ``email`` package: the text as written for the family, the
same text as HTML (right to left for Arabic), the family's language in ``Content-Language``
and, for a conference confirmed, moved or cancelled, its ``.ics`` attached (``METHOD:REQUEST``
or ``CANCEL``) so calendar apps add, update or remove it. The ``Message-ID`` comes from the
delivery's id: a message handed to SMTP again (its job ran again after the notifier died before
recording it sent) carries the same id, which is what lets a mail system drop the duplicate.

SMTP answers decide what happens next (RFC 5321): a 4xx reply, a dropped connection or a
timeout is temporary and the job retries with backoff; a 5xx reply is permanent and the
delivery fails with the server's reason.
"""

from __future__ import annotations

import html
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib
from icalendar import Calendar

from services.notifications.tables import Delivery
from shared.jobs.handlers import PermanentFailure

RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})


def message_id(delivery_id: str, domain: str) -> str:
    """The same for every attempt to send one delivery."""
    return f"<delivery-{delivery_id}@{domain}>"


def build_email(delivery: Delivery, *, sender: str, domain: str) -> EmailMessage:
    """The MIME message of a rendered delivery (``delivery.address`` is the family's email)."""
    if not delivery.address:
        raise PermanentFailure("no email address on file for this guardian")
    message = EmailMessage()
    message["Subject"] = delivery.subject
    message["From"] = sender
    message["To"] = delivery.address
    message["Date"] = formatdate(delivery.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = message_id(delivery.id, domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the school
    message.set_content(delivery.body)
    message.add_alternative(_html(delivery.body, delivery.language), subtype="html")
    if delivery.calendar:
        method = str(Calendar.from_ical(delivery.calendar).get("METHOD", "REQUEST"))
        message.add_attachment(
            delivery.calendar.encode(),
            maintype="text",
            subtype="calendar",
            filename="cancelled.ics" if method == "CANCEL" else "conference.ics",
            params={"method": method, "charset": "utf-8"},
        )
    # (After the parts: setting the content clears every Content-* header.)
    message["Content-Language"] = delivery.language
    return message


def _html(body: str, language: str) -> str:
    direction = "rtl" if language.split("-", 1)[0] in RIGHT_TO_LEFT else "ltr"
    paragraphs = "\n".join(
        f"<p>{'<br>'.join(html.escape(line) for line in block.splitlines())}</p>"
        for block in body.strip().split("\n\n")
    )
    return (
        f'<!doctype html>\n<html lang="{html.escape(language)}" dir="{direction}">'
        f'<head><meta charset="utf-8"></head>\n<body style="font-family: sans-serif;'
        f' line-height: 1.5">\n{paragraphs}\n</body></html>\n'
    )


@dataclass(frozen=True, kw_only=True)
class SmtpRelay:
    """The district's mail relay (``NOTIFICATIONS_SMTP_*``)."""

    host: str
    port: int = 25
    starttls: bool = False
    tls: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    verify_certificate: bool = True


class SmtpChannel:
    """Email through the district's SMTP relay."""

    name = "email"

    def __init__(self, relay: SmtpRelay, *, sender: str) -> None:
        self.relay = relay
        self.sender = sender
        self.domain = Address(addr_spec=parseaddr(sender)[1]).domain or "localhost"
        # (Made once: loading the system's certificates is not per-message work.)
        self.tls_context = ssl.create_default_context()
        if not relay.verify_certificate:
            self.tls_context.check_hostname = False
            self.tls_context.verify_mode = ssl.CERT_NONE

    async def send(self, delivery: Delivery, *, idempotency_key: str) -> str | None:
        message = build_email(delivery, sender=self.sender, domain=self.domain)
        relay = self.relay
        try:
            await aiosmtplib.send(
                message,
                hostname=relay.host,
                port=relay.port,
                username=relay.username,
                password=relay.password,
                use_tls=relay.tls,
                start_tls=relay.starttls if not relay.tls else False,
                timeout=relay.timeout,
                tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusals = error.recipients
            if refusals and all(refusal.code >= 500 for refusal in refusals):
                raise PermanentFailure(
                    f"the mail server refused the address: {refusals[0]}"
                ) from error
            raise
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                raise PermanentFailure(f"the mail server refused the message: {error}") from error
            raise  # 4xx: temporary, the job tries again later
        return None
