"""Text messages through the district's SMS provider, in the REST shape Twilio made common
(``POST /2010-04-01/Accounts/{account}/Messages.json``, HTTP Basic with the account and its
token, a form with ``To``, ``From``, ``Body`` and ``StatusCallback``), with the provider's
signed callbacks: delivery receipts and the family's replies.

What the carriers require of replies is kept here: STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END,
QUIT, OPTOUT, REVOKE) records the number's opt-out at once and confirms it; START (YES, UNSTOP)
undoes it; HELP (INFO) says who is writing and how to stop. Nothing is ever texted to a number
that said STOP, whatever the message, nor an answer to a later reply but to its keywords.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import httpx

from services.notifications.channels import Outcomes, Undeliverable
from services.notifications.sms_text import fit
from services.notifications.tables import Delivery
from shared.auth.family_links import is_family_link
from shared.contact_details import E164
from shared.jobs.handlers import PermanentFailure

Keyword = Literal["stop", "start", "help"]
KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"), "stop"
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "start"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}
_URL = re.compile(r"https?://\S+")
_TOKEN = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")  # a JWT, as a link carries it
# Spaces a carrier's alphabet lacks, written as a plain space in a text.
_PLAIN_SPACES = str.maketrans(dict.fromkeys("\u00a0\u2007\u2009\u202f", " "))
# Provider error codes that say the number itself cannot take the text (invalid, not a mobile,
# not reachable from here): sending again cannot help, and the office should correct it.
NUMBER_CODES = frozenset({21211, 21214, 21408, 21612, 21614})
# The provider's own record that the number replied STOP to this sender.
UNSUBSCRIBED_CODE = 21610
# Around a keyword, what a reply may carry that is not part of it ("Stop.", "'STOP'", "stop?").
_AROUND_KEYWORD = re.compile(r"^[\W_]+|[\W_]+$")


class NumberOptedOut(Undeliverable):
    """The provider refused the text: the number replied STOP to this sender (as the carriers
    have it, perhaps in a word this service did not take for one). Recorded as the family's
    STOP: nothing more is texted to it until START."""

    status = "opted_out"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, kind="number_refused")


def keyword_of(body: str) -> Keyword | None:
    """The carrier keyword a reply is, if it is one (the whole reply, any case, with any
    punctuation or quotes around it)."""
    return KEYWORDS.get(_AROUND_KEYWORD.sub("", body.strip()).upper())


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The ``X-Twilio-Signature`` of a callback: HMAC-SHA1 with the account's token over the
    full URL followed by each POST parameter's name and value, sorted by name, base64."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_by_provider(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    # (As bytes: a header of other than ASCII characters is a wrong signature, not an error.)
    return hmac.compare_digest(
        signature(auth_token, url, params).encode(), given.encode("utf-8", "replace")
    )


def sms_text(
    delivery: Delivery, *, max_parts: int, short_url: Callable[[str], str | None] | None = None
) -> str:
    """What the text says: the message's first line (its subject) and the link it carries, if
    any, whole (the family's link by its short address, ``short_url`` of the delivery's id, when
    there is one); the line shortened at a word if both do not fit ``max_parts`` parts. Babel's
    narrow and no-break spaces (``3:30\u202fPM``) are written as spaces: one of them alone
    would make an English text UCS-2, under half as long a part."""
    found = _URL.search(delivery.body)
    link = found.group(0) if found else None
    if link is not None and short_url is not None and family_link_in(link) is not None:
        link = short_url(delivery.id) or link
    subject = delivery.subject.translate(_PLAIN_SPACES)
    return fit(subject, max_parts, tail=f" {link}" if link else "")


def family_link_in(text: str) -> str | None:
    """The first family link (its token) in ``text``, if any."""
    return next((token for token in _TOKEN.findall(text) if is_family_link(token)), None)


@dataclass(frozen=True, kw_only=True)
class SmsProvider:
    """The district's SMS provider (``NOTIFICATIONS_SMS_*``)."""

    api_url: str
    account_sid: str
    auth_token: str
    sender: str  # an E.164 number, or a messaging service id (``MG...``)
    status_callback: str | None = None
    max_parts: int = 3
    # The short address of a text's family link, by the delivery's id (``FamilyLinks``).
    short_url: Callable[[str], str | None] | None = None
    timeout: float = 15.0
    connections: int = 4  # requests at once, per batch of texts


class SmsChannel:
    """Text messages through the provider's REST API."""

    name = "sms"

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider
        self.connections = provider.connections

    async def send_each(self, deliveries: Sequence[Delivery], outcomes: Outcomes) -> None:
        """Hand the texts to the provider, ``provider.connections`` requests at a time over
        one client's kept-alive connections; each outcome names the provider's id for it."""
        waiting = deque(deliveries)
        lanes = min(self.connections, len(waiting))
        limits = httpx.Limits(max_connections=lanes, max_keepalive_connections=lanes)
        async with (
            httpx.AsyncClient(timeout=self.provider.timeout, limits=limits) as client,
            asyncio.TaskGroup() as running,
        ):
            for _ in range(lanes):
                running.create_task(self._lane(client, waiting, outcomes))

    async def _lane(
        self, client: httpx.AsyncClient, waiting: deque[Delivery], outcomes: Outcomes
    ) -> None:
        while waiting:
            delivery = waiting.popleft()
            if not outcomes.may_hand_over(delivery):
                continue
            try:
                provider_id = await self._post(client, delivery)
            # (An answer that is not the provider's JSON counts as one it could not give.)
            except (PermanentFailure, httpx.HTTPError, RuntimeError, ValueError, KeyError) as error:
                await outcomes.refused(delivery, error)
            else:
                await outcomes.accepted(delivery, provider_id)

    async def _post(self, client: httpx.AsyncClient, delivery: Delivery) -> str:
        """Hand one text to the provider (the delivery's id as its ``Idempotency-Key``);
        returns the provider's id for the message."""
        provider = self.provider
        if not delivery.address or not E164.match(delivery.address):
            raise Undeliverable(
                f"not a phone number in E.164 form: {delivery.address!r}", kind="number_refused"
            )
        form = {
            "To": delivery.address,
            "Body": sms_text(delivery, max_parts=provider.max_parts, short_url=provider.short_url),
            ("MessagingServiceSid" if provider.sender.startswith("MG") else "From"): (
                provider.sender
            ),
        }
        if provider.status_callback:
            form["StatusCallback"] = provider.status_callback
        url = f"{provider.api_url.rstrip('/')}/2010-04-01/Accounts/{provider.account_sid}/Messages.json"
        answer = await client.post(
            url,
            data=form,
            auth=(provider.account_sid, provider.auth_token),
            headers={"Idempotency-Key": delivery.id},
        )
        if answer.status_code in (200, 201):
            return str(answer.json()["sid"])
        code, reason = _reason(answer)
        if answer.status_code == 429 or answer.status_code >= 500:
            raise RuntimeError(f"the SMS provider is unavailable ({reason}); trying again")
        if answer.status_code in (401, 403):
            # Our account, not the message: once its credentials are mended, it goes.
            raise RuntimeError(
                f"the SMS provider refused this service's account ({reason}): check"
                " NOTIFICATIONS_SMS_ACCOUNT_SID and NOTIFICATIONS_SMS_AUTH_TOKEN; trying again"
            )
        if code == UNSUBSCRIBED_CODE:
            raise NumberOptedOut(f"the number replied STOP to the school's texts ({reason})")
        if code in NUMBER_CODES:
            raise Undeliverable(
                f"the SMS provider cannot text this number: {reason}", kind="number_refused"
            )
        raise Undeliverable(
            f"the SMS provider refused the message: {reason}", kind="message_refused"
        )


def _reason(answer: httpx.Response) -> tuple[int | None, str]:
    """The provider's error code, if it gave one, and its answer in words."""
    try:
        body = answer.json()
    except ValueError:
        return None, f"HTTP {answer.status_code}"
    if not isinstance(body, dict):
        return None, f"HTTP {answer.status_code}"
    code = body.get("code")
    words = f"HTTP {answer.status_code}, code {code}: {body.get('message')}"
    return (code if isinstance(code, int) else None), words
