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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.mail_server", description="What the local SMTP server kept."
    )
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    parser.add_argument("--to", help="only messages to this address")
    parser.add_argument(
        "--show", type=int, metavar="N", help="print message N of the list (1: oldest) whole"
    )
    args = parser.parse_args(argv)
    messages = [
        message
        for message in received(args.maildir)
        if args.to is None or args.to.lower() in str(message["To"]).lower()
    ]
    if args.show is not None:
        if not 1 <= args.show <= len(messages):
            parser.error(f"there are {len(messages)} messages")
        print(messages[args.show - 1].as_string())
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
