"""The local SMTP server ``make run`` starts: notifications sends real email to it, and every
message it receives is kept as it arrived in a Maildir (``var/mail``), one ``.eml``-format file
per message, readable with any mail program (``mutt -f var/mail``) or ``python -m
devstack.mail_server [--to ADDRESS] [--show N]``.

It accepts mail for any address and delivers nothing onwards: no family is written to from a
development machine.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from devstack.redis_server import free_port


class _KeepInMaildir:
    def __init__(self, maildir: Path) -> None:
        self.maildir = mailbox.Maildir(maildir, create=True)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        self.maildir.add(mailbox.MaildirMessage(raw))
        return "250 OK kept in the development mailbox"


@dataclass
class MailServer:
    """An SMTP server on 127.0.0.1 keeping what it receives in ``maildir``."""

    maildir: Path
    port: int = field(default_factory=free_port)
    _controller: Controller | None = field(default=None, repr=False)

    def start(self) -> MailServer:
        self._controller = Controller(
            _KeepInMaildir(self.maildir), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def received(maildir: Path) -> list[email.message.EmailMessage]:
    """The messages kept so far, oldest first."""
    files = [
        path
        for sub in ("new", "cur")
        if (maildir / sub).is_dir()
        for path in (maildir / sub).iterdir()
    ]
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(files, key=lambda path: path.stat().st_mtime)
    ]


def delivery_report(
    *,
    recipient: str = "family@example.org",
    message_id: str = "",
    envelope_id: str = "",
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 Recipient address rejected: no such mailbox",
) -> bytes:
    """A delivery status notification (RFC 3464) as a mail server such as Postfix returns it:
    words for a person, the machine-readable status, and the returned message's headers. What
    a relay sends back when a message it accepted is refused later (``action`` failed) or
    delivered; notifications reads it at ``POST /email/reports``."""
    envelope = f"Original-Envelope-Id: {envelope_id}\n" if envelope_id else ""
    text = f"""\
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: conferences@district.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="report"

--report
Content-Type: text/plain

This is the mail system at host mx.example.org. Your message to {recipient} was {action}.

--report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
{envelope}
Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--report
Content-Type: text/rfc822-headers

From: Conferences <conferences@district.example>
To: {recipient}
Message-ID: {message_id}

--report--
"""
    return text.replace("\n", "\r\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.mail_server", description="What the local SMTP server kept."
    )
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    parser.add_argument("--to", help="only messages to this address")
    parser.add_argument(
        "--show", type=int, metavar="N", help="print message N of the list (1: oldest) whole"
    )
    parser.add_argument(
        "--bounce",
        type=int,
        metavar="N",
        help="print the report a family's mail server would send back for message N (no such"
        " mailbox; -1: the newest), to hand to notifications' POST /email/reports",
    )
    args = parser.parse_args(argv)
    messages = [
        message
        for message in received(args.maildir)
        if args.to is None or args.to.lower() in str(message["To"]).lower()
    ]
    for chosen in (args.show, args.bounce):
        if chosen is not None and not (1 <= chosen <= len(messages) or (chosen == -1 and messages)):
            parser.error(f"there are {len(messages)} messages")
    if args.show is not None:
        print(messages[args.show - 1 if args.show > 0 else -1].as_string())
        return 0
    if args.bounce is not None:
        returned = messages[args.bounce - 1 if args.bounce > 0 else -1]
        report = delivery_report(
            recipient=str(returned["To"]), message_id=str(returned["Message-ID"])
        )
        sys.stdout.buffer.write(report)
        return 0
    for number, message in enumerate(messages, 1):
        parts = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
        print(
            f"{number:>3}  {message['Date']}  to {message['To']}  [{message['Content-Language']}]"
            f"  {message['Subject']}  ({', '.join(parts)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
