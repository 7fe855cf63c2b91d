"""A real SMTP server for tests (aiosmtpd, on 127.0.0.1): it keeps every message it accepts,
and answers as a district's relay may for some addresses, to test what notifications does:

- ``busy-...@``: ``451`` (try again later) to the first two attempts, then accepts;
- ``nobody-...@``: ``550`` (no such mailbox), always.

It speaks DSN (RFC 3461) as Postfix does: it advertises it, and keeps the options each message
was sent with (``RET``, ``ENVID``, ``NOTIFY``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.redis_server import free_port

BUSY_TIMES = 2


DSN_PARAMETERS = ("RET", "ENVID", "NOTIFY", "ORCPT")


@dataclass
class Received:
    envelope_to: list[str]
    message: EmailMessage
    mail_options: list[str] = field(default_factory=list)
    rcpt_options: list[str] = field(default_factory=list)


class _SpeaksDsn(SMTP):
    """aiosmtpd's server, taking DSN's parameters (it refuses any it does not know)."""

    def _getparams(self, params: Any) -> Any:
        found = super()._getparams(params)
        if found is not None:
            for name in DSN_PARAMETERS:
                found.pop(name, None)
        return found


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SpeaksDsn(self.handler, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, server: LocalMailServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, server: Any, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-DSN", responses[-1]]

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        local = address.split("@", 1)[0]
        if local.startswith("nobody-"):
            return "550 5.1.1 no such mailbox here"
        if local.startswith("busy-"):
            with self.server.lock:
                self.server.attempts[address] += 1
                if self.server.attempts[address] <= BUSY_TIMES:
                    return "451 4.3.2 too busy, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.received.append(
                Received(
                    list(envelope.rcpt_tos),
                    message,  # type: ignore[arg-type]
                    list(envelope.mail_options),
                    list(envelope.rcpt_options),
                )
            )
        return "250 OK"


@dataclass
class LocalMailServer:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> LocalMailServer:
        self._controller = _Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def envelopes_to(self, address: str) -> list[Received]:
        """What was received for ``address`` with its envelope, in order."""
        with self.lock:
            return [r for r in self.received if address in r.envelope_to]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for ``address``, in order."""
        with self.lock:
            return [r.message for r in self.received if address in r.envelope_to]

    async def wait_for(
        self, address: str, count: int = 1, timeout: float = 15.0
    ) -> list[EmailMessage]:
        """At least ``count`` messages for ``address`` (waiting up to ``timeout`` seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found)} of {count} emails to {address} arrived")
            await asyncio.sleep(0.05)
        return found
