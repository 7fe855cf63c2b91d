"""A small local SMS provider speaking the REST shape districts' providers speak (Twilio's), for
``make run`` and the tests: the one stand-in at the system's true edge. It sends nothing to any
phone; it keeps what it is asked to send and plays the provider's side of the conversation:

- ``POST /2010-04-01/Accounts/{account}/Messages.json`` (HTTP Basic: the account and its token;
  a form with ``To``, ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``): 201
  with the message's ``sid``; 400 (code 21211) for a ``To`` that is not an E.164 number, (code
  21614) for a number ending in ``9999`` (a landline), (code 21610) for a number that replied
  STOP; the same ``Idempotency-Key`` twice gives the first message back instead of a second one.
- Then its delivery receipts, signed (``X-Twilio-Signature``), to the ``StatusCallback``:
  ``sent``, then ``delivered``, or ``undelivered`` with error 30003 for a number ending in
  ``0000`` (a phone that is off). A receipt answered 5xx, 408, 425 or 429 is sent again (as
  Twilio does; any other answer is final).
- ``POST /dev/reply`` (``From``, ``Body``): a family's reply, handed to the inbound webhook
  (``--inbound-url``) signed as the provider would; answers what the webhook said to text back
  and the reply's ``sid``. Given only a ``MessageSid`` it hands that reply over again, as a
  provider set to retry a webhook call that timed out does.
  Like Twilio, the provider keeps its own record of STOP (STOP, STOPALL, UNSUBSCRIBE, CANCEL,
  END, QUIT, OPTOUT, REVOKE; START, YES or UNSTOP undoes it).
- ``GET /dev/messages``: what was sent, replies included (also appended to ``messages.jsonl``).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic

from devstack.redis_server import free_port
from services.notifications.sms import signature
from services.notifications.sms_text import segments
from shared.contact_details import E164

API = "/2010-04-01/Accounts/{account}/Messages.json"
UNREACHABLE = re.compile(r"0000$")
LANDLINE = re.compile(r"9999$")
# The provider's own opt-out words (the whole reply, any case, punctuation around it aside), as
# Twilio's defaults.
PROVIDER_STOP = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
PROVIDER_START = frozenset({"START", "YES", "UNSTOP"})
RETRIED = frozenset({408, 425, 429})  # and every 5xx
INBOUND_FIELDS = ("MessageSid", "AccountSid", "From", "To", "Body")  # a reply, as handed over
RECEIPT_DELAY_SECONDS = 0.2


@dataclass
class LocalSmsProvider:
    """The provider on 127.0.0.1, in a thread of its own."""

    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    number: str = "+15005550006"
    inbound_url: str | None = None
    log: Path | None = None
    port: int = field(default_factory=free_port)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsubscribed: set[str] = field(default_factory=set)  # numbers that replied STOP to it
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalSmsProvider:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the local SMS provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["to"] == number and m["direction"] == "out"]

    def _reply(self, sid: str) -> dict[str, str] | None:
        """A family's reply received before, as it was handed over."""
        with self._lock:
            for message in self.messages:
                if message.get("direction") == "in" and message.get("MessageSid") == sid:
                    return {name: message[name] for name in INBOUND_FIELDS}
        return None

    def _keep(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a", encoding="utf-8") as file:
                file.write(json.dumps(message, ensure_ascii=False) + "\n")

    def app(self) -> FastAPI:
        app = FastAPI(title="Local SMS provider", docs_url=None, redoc_url=None)
        basic = HTTPBasic(auto_error=False)
        tasks: set[asyncio.Task[None]] = set()

        @app.post(API.format(account="{account}"), status_code=201)
        async def create_message(account: str, request: Request) -> Response:
            credentials = await basic(request)
            if (
                credentials is None
                or account != self.account_sid
                or (credentials.username, credentials.password) != (account, self.auth_token)
            ):
                return _error(401, 20003, "Authenticate")
            form = {name: str(value) for name, value in (await request.form()).items()}
            to, body = form.get("To", ""), form.get("Body", "")
            if not E164.match(to):
                return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if LANDLINE.search(to):
                return _error(400, 21614, f"'To' number {to} is not a valid mobile number")
            with self._lock:
                unsubscribed = to in self.unsubscribed
            if unsubscribed:
                return _error(400, 21610, "Attempt to send to unsubscribed recipient")
            if not body:
                return _error(400, 21602, "Message body is required.")
            key = request.headers.get("Idempotency-Key")
            with self._lock:
                earlier = self._by_key.get(key) if key else None
            if earlier is not None:
                return JSONResponse(earlier, status_code=201)
            counted = segments(body)
            message = {
                "sid": "SM" + secrets.token_hex(16),
                "direction": "out",
                "to": to,
                "from": form.get("From") or form.get("MessagingServiceSid"),
                "body": body,
                "status": "queued",
                "num_segments": str(counted.parts),
                "encoding": counted.encoding,
                "idempotency_key": key,
            }
            with self._lock:
                if key:
                    self._by_key[key] = message
            self._keep(message)
            if callback := form.get("StatusCallback"):
                task = asyncio.create_task(self._receipts(message, callback))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            return JSONResponse(message, status_code=201)

        @app.post("/dev/reply")
        async def reply(request: Request) -> Response:
            form = {name: str(value) for name, value in (await request.form()).items()}
            if self.inbound_url is None:
                return _error(409, 0, "no inbound webhook is configured")
            if again := form.get("MessageSid"):
                # A reply handed over again, as the provider retries a webhook call: the same
                # message, heard once (its STOP or START is not counted twice).
                params = self._reply(again)
                if params is None:
                    return _error(404, 20404, f"no reply {again[:40]!r} was received")
            elif not E164.match(form.get("From", "")):
                return _error(
                    400,
                    21211,
                    f"'From' {form.get('From', '')!r} is not an E.164 number (in a form, '+'"
                    " is sent as %2B: curl --data-urlencode From=+1...)",
                )
            else:
                params = {
                    "MessageSid": "SM" + secrets.token_hex(16),
                    "AccountSid": self.account_sid,
                    "From": form["From"],
                    "To": self.number,
                    "Body": form.get("Body", ""),
                }
                self._keep({"direction": "in", "to": self.number, **params})
                word = re.sub(r"^[\W_]+|[\W_]+$", "", params["Body"].strip()).upper()
                with self._lock:
                    if word in PROVIDER_STOP:
                        self.unsubscribed.add(params["From"])
                    elif word in PROVIDER_START:
                        self.unsubscribed.discard(params["From"])
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(
                    self.inbound_url, data=params, headers=self._signed(self.inbound_url, params)
                )
            if answer.status_code != 200:
                return _error(502, 11200, f"the webhook answered HTTP {answer.status_code}")
            texts = [m.text or "" for m in ElementTree.fromstring(answer.text).iter("Message")]
            for text in texts:
                self._keep({"direction": "out", "to": params["From"], "body": text, "reply": True})
            return JSONResponse({"replies": texts, "sid": params["MessageSid"]})

        @app.get("/dev/messages")
        async def listed() -> list[dict[str, Any]]:
            with self._lock:
                return list(self.messages)

        return app

    def _signed(self, url: str, params: dict[str, str]) -> dict[str, str]:
        return {"X-Twilio-Signature": signature(self.auth_token, url, params)}

    async def _receipts(self, message: dict[str, Any], callback: str) -> None:
        failed = UNREACHABLE.search(message["to"]) is not None
        for status in ("sent", "undelivered" if failed else "delivered"):
            await asyncio.sleep(RECEIPT_DELAY_SECONDS)
            params = {
                "MessageSid": message["sid"],
                "MessageStatus": status,
                "AccountSid": self.account_sid,
                "To": message["to"],
                "From": str(message["from"]),
            }
            if status == "undelivered":
                params["ErrorCode"] = "30003"
            for _ in range(20):  # (the send not recorded yet: 503, tried again)
                try:
                    async with httpx.AsyncClient(timeout=10) as client:
                        answer = await client.post(
                            callback, data=params, headers=self._signed(callback, params)
                        )
                except httpx.HTTPError:
                    answer = None
                if answer is not None and not (
                    answer.status_code >= 500 or answer.status_code in RETRIED
                ):
                    break
                await asyncio.sleep(0.25)
            with self._lock:
                message["status"] = status


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)
