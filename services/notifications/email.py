"""Email to families over SMTP: the MIME message, and the channel that hands it to the relay.

A message carries the text as written for the family, the same text as HTML (right to left for
Arabic), the family's language in ``Content-Language`` and, for a conference confirmed, moved or
cancelled, its ``.ics`` attached (``METHOD:REQUEST`` or ``CANCEL``) so calendar apps add, update
or remove it. The ``Message-ID`` comes from the delivery's id: a message handed to SMTP again
(its job ran again after the notifier died before recording it sent) carries the same id, which
is what lets a mail system drop the duplicate.

The message's bytes are put together here directly (7-bit: quoted-printable text, a base64
calendar, RFC 2047 headers) rather than with ``email.message.EmailMessage``, which spends about
a millisecond on each: more than the rest of sending it. ``build_email`` reads them back as an
``EmailMessage`` for whoever wants to look at one.

Messages go over a few connections to the relay (``SmtpRelay.connections``), one after another
on each, so a batch of a thousand costs a few connections and logins, not a thousand. SMTP
answers decide what happens next (RFC 5321): a 4xx reply, a dropped connection or a timeout is
temporary and the message is tried again with backoff; a 5xx reply is permanent and the
delivery fails with the server's reason. A connection the relay refuses (too many, say) leaves
its share to the others; a relay that cannot be reached at all (or refuses the login) leaves
every message still waiting to be tried again later.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import email.policy
import html
import re
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache

import aiosmtplib

from services.notifications.channels import Outcomes, Undeliverable
from services.notifications.tables import Delivery
from shared.calendar_ics import addressed_by_email
from shared.translations import right_to_left

CRLF = "\r\n"
_METHOD = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)
_BREAKS = re.compile(r"[\r\n]+")


class Bounced(Undeliverable):
    """The family's mail system refused the address (an SMTP 5xx to RCPT TO): a bounce."""

    status = "bounced"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, kind="address_refused")


def envelope_id(delivery_id: str) -> str:
    """How an email names its delivery to mail servers: the local part of its ``Message-ID``
    and its DSN envelope id (``receipts.py`` reads the delivery back from either)."""
    return f"delivery-{delivery_id}"


def message_id(delivery_id: str, domain: str) -> str:
    """The same for every attempt to send one delivery."""
    return f"<{envelope_id(delivery_id)}@{domain}>"


def email_bytes(delivery: Delivery, *, sender: str, domain: str) -> bytes:
    """The message of a rendered delivery as it goes over SMTP (``delivery.address`` is the
    family's email; ``sender`` the From, e.g. ``Conway <office@conway.example>``)."""
    address = delivery.address
    if not address:
        raise Undeliverable("no email address on file for this guardian", kind="no_contact")
    if not address.isascii() or _BREAKS.search(address):
        raise Undeliverable(
            "not an address this relay can take: it needs SMTPUTF8 or is not one address",
            kind="address_refused",
        )
    if delivery.calendar:
        # As calendar programs send invitations (and Outlook looks for them): the calendar is
        # an alternative of the text, and a file attached too for the programs that want one.
        calendar = addressed_by_email(
            delivery.calendar.encode(), organizer=parseaddr(sender)[1], attendee=address
        )
        found = _METHOD.search(calendar.decode())
        method = found.group(1).upper() if found else "REQUEST"
        parts = [_alternative(delivery, _ics(calendar, method)), _ics_file(calendar, method)]
        content_type, body = _multipart("mixed", parts, boundary=f"=_mixed_{delivery.id}")
    else:
        content_type, body = _alternative(delivery)
    headers = [
        _header("Subject", delivery.subject),
        f"From: {_from_header(sender)}",
        f"To: {address}",
        f"Date: {format_datetime(delivery.created_at.astimezone(UTC))}",
        f"Message-ID: {message_id(delivery.id, domain)}",
        "Auto-Submitted: auto-generated",  # RFC 3834: no vacation replies to the school
        "MIME-Version: 1.0",
        f"Content-Language: {_BREAKS.sub(' ', delivery.language)}",
        *content_type,
    ]
    return (CRLF.join(headers) + CRLF + CRLF).encode() + body


def build_email(delivery: Delivery, *, sender: str, domain: str) -> EmailMessage:
    """The MIME message of a rendered delivery, as its recipient's mail program reads it."""
    wire = email_bytes(delivery, sender=sender, domain=domain)
    # (Read with the line ends a mail program hands its reader.)
    message = email.message_from_bytes(wire.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


Part = tuple[list[str], bytes]  # its headers, its encoded body


def _alternative(delivery: Delivery, *more: Part) -> Part:
    html_text = _html(delivery.body, delivery.language)
    parts = [_text("plain", delivery.body), _text("html", html_text), *more]
    return _multipart("alternative", parts, boundary=f"=_alternative_{delivery.id}")


def _text(subtype: str, text: str) -> Part:
    encoded = binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", b"\r\n")
    return (
        [
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
        ],
        encoded,
    )


def _ics(calendar: bytes, method: str) -> Part:
    """The invitation itself: ``text/calendar`` with its iTIP method (RFC 6047)."""
    return (
        [
            f'Content-Type: text/calendar; charset="utf-8"; method="{method}"',
            "Content-Transfer-Encoding: base64",
        ],
        base64.encodebytes(calendar).replace(b"\n", b"\r\n"),
    )


def _ics_file(calendar: bytes, method: str) -> Part:
    """The same calendar as a file to open or save."""
    filename = "cancelled.ics" if method == "CANCEL" else "conference.ics"
    return (
        [
            f'Content-Type: application/ics; name="{filename}"',
            "Content-Transfer-Encoding: base64",
            f'Content-Disposition: attachment; filename="{filename}"',
        ],
        base64.encodebytes(calendar).replace(b"\n", b"\r\n"),
    )


def _multipart(subtype: str, parts: Sequence[Part], *, boundary: str) -> Part:
    # The boundaries begin with "=_", which can occur neither in quoted-printable nor in base64
    # text, and end with the delivery's id: a message handed over again is the same, byte for
    # byte.
    separator = f"--{boundary}\r\n".encode()
    body = b"".join(
        separator + (CRLF.join(headers) + CRLF + CRLF).encode() + content + b"\r\n"
        for headers, content in parts
    )
    return (
        [f'Content-Type: multipart/{subtype}; boundary="{boundary}"'],
        body + f"--{boundary}--\r\n".encode(),
    )


@cache
def _from_header(sender: str) -> str:
    return formataddr(parseaddr(sender), charset="utf-8")


def _header(name: str, value: str) -> str:
    """``name: value`` on lines of at most 78 characters, RFC 2047-encoded if not ASCII."""
    value = _BREAKS.sub(" ", value)
    if value.isascii():
        if len(name) + 2 + len(value) <= 78:
            return f"{name}: {value}"
        return f"{name}: {Header(value, 'us-ascii', header_name=name).encode(linesep=CRLF)}"
    return f"{name}: {(CRLF + ' ').join(_encoded_words(value))}"


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 encoded words (UTF-8, base64) of at most 42 bytes each (68
    characters), each word whole characters (a word must decode on its own)."""
    words, chunk = [], b""
    for character in text:
        encoded = character.encode()
        if len(chunk) + len(encoded) > 42:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words]


def _html(body: str, language: str) -> str:
    """The plain text as HTML: its paragraphs, and a line that is an address (a family's
    link stands on a line of its own) as a link to it."""
    direction = "rtl" if right_to_left(language) else "ltr"
    paragraphs = "\n".join(
        f"<p>{'<br>'.join(map(_html_line, block.splitlines()))}</p>"
        for block in body.strip().split("\n\n")
    )
    return (
        f'<!doctype html>\n<html lang="{html.escape(language)}" dir="{direction}">'
        f'<head><meta charset="utf-8"></head>\n<body style="font-family: sans-serif;'
        f' line-height: 1.5">\n{paragraphs}\n</body></html>\n'
    )


_ADDRESS = re.compile(r"https?://[^\s<>\"]+")


def _html_line(line: str) -> str:
    written = html.escape(line)
    if _ADDRESS.fullmatch(line.strip()):
        return f'<a href="{html.escape(line.strip(), quote=True)}" dir="ltr">{written}</a>'
    return written


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
    connections: int = 8  # at once, per batch of messages


class SmtpChannel:
    """Email through the district's SMTP relay."""

    name = "email"

    def __init__(self, relay: SmtpRelay, *, sender: str, bounces_to: str | None = None) -> None:
        self.relay = relay
        self.connections = relay.connections
        self.sender = sender
        from_address = parseaddr(sender)[1]
        self.envelope_sender = parseaddr(bounces_to)[1] if bounces_to else from_address
        # Reports are asked for only when someone receives them (the bounce address is set).
        self.asks_for_reports = bool(bounces_to)
        self.domain = Address(addr_spec=from_address).domain or "localhost"
        # (Made once: loading the system's certificates is not per-message work.)
        self.tls_context = ssl.create_default_context()
        if not relay.verify_certificate:
            self.tls_context.check_hostname = False
            self.tls_context.verify_mode = ssl.CERT_NONE

    async def send_each(self, deliveries: Sequence[Delivery], outcomes: Outcomes) -> None:
        """Send the messages over up to ``relay.connections`` connections at once, each
        taking the next message waiting until none is left. A connection that cannot be opened
        leaves its share to the others; if none can, the relay cannot be reached now, and every
        message still waiting is refused (to be tried again later, not one connection attempt
        each now)."""
        waiting = deque(deliveries)
        unreachable: list[Exception] = []
        async with asyncio.TaskGroup() as lanes:
            for _ in range(min(self.connections, len(waiting))):
                lanes.create_task(self._lane(waiting, outcomes, unreachable))
        while waiting:
            await outcomes.refused(waiting.popleft(), unreachable[-1])

    async def _lane(
        self, waiting: deque[Delivery], outcomes: Outcomes, unreachable: list[Exception]
    ) -> None:
        """One connection's share of the messages. A connection lost on the way is opened
        again for the next message; one that cannot be opened ends the lane (its message goes
        back to the others, and why to ``unreachable``)."""
        smtp: aiosmtplib.SMTP | None = None
        try:
            while waiting:
                delivery = waiting.popleft()
                try:
                    message = email_bytes(delivery, sender=self.sender, domain=self.domain)
                except Undeliverable as error:
                    await outcomes.refused(delivery, error)
                    continue
                if smtp is None or not smtp.is_connected:
                    if not outcomes.may_hand_over(delivery):
                        continue  # (no connection opened for it)
                    try:
                        smtp = await self._connect()
                    except (aiosmtplib.SMTPException, OSError) as error:
                        waiting.appendleft(delivery)
                        unreachable.append(error)
                        return
                if outcomes.may_hand_over(delivery):
                    await self._hand_over(smtp, delivery, message, outcomes)
        except BaseException:
            if smtp is not None:
                smtp.close()
            raise
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    async def _hand_over(
        self, smtp: aiosmtplib.SMTP, delivery: Delivery, message: bytes, outcomes: Outcomes
    ) -> None:
        assert delivery.address is not None
        mail_options: list[str] = []
        rcpt_options: list[str] = []
        if self.asks_for_reports and smtp.supports_extension("dsn"):
            # A report back when it fails for good (RFC 3461), and for a critical message when
            # it is delivered too (else it goes by text as well), naming the delivery; its
            # headers only, not the family's message.
            mail_options = ["RET=HDRS", f"ENVID={envelope_id(delivery.id)}"]
            rcpt_options = ["NOTIFY=SUCCESS,FAILURE" if delivery.critical else "NOTIFY=FAILURE"]
        try:
            await smtp.sendmail(
                self.envelope_sender,
                [delivery.address],
                message,
                mail_options=mail_options,
                rcpt_options=rcpt_options,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusals = error.recipients
            if refusals and all(refusal.code >= 500 for refusal in refusals):
                permanent = Bounced(f"the mail server refused the address: {refusals[0]}")
                await outcomes.refused(delivery, permanent)
            else:
                await outcomes.refused(delivery, error)
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                refused = Undeliverable(
                    f"the mail server refused the message: {error}", kind="message_refused"
                )
                await outcomes.refused(delivery, refused)
            else:
                await outcomes.refused(delivery, error)  # 4xx: tried again later
        except (aiosmtplib.SMTPException, OSError) as error:
            # Dropped or timed out mid-message: whether the relay kept it is unknown, so it is
            # tried again later (with its Message-ID), and the connection opened anew.
            smtp.close()
            await outcomes.refused(delivery, error)
        else:
            await outcomes.accepted(delivery, None)

    async def _connect(self) -> aiosmtplib.SMTP:
        relay = self.relay
        smtp = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            username=relay.username,
            password=relay.password,
            use_tls=relay.tls,
            start_tls=relay.starttls if not relay.tls else False,
            timeout=relay.timeout,
            tls_context=self.tls_context,
        )
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:  # (now: whether the relay speaks DSN is read from it)
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        return smtp
