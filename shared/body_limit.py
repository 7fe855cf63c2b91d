"""A limit on request bodies, enforced before they are read into memory."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem_response


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def problem_refusal(limit: int) -> ASGIApp:
    """The services' answer to a body declared too large: a problem document."""
    return problem_response(413, BodyTooLarge(limit).detail)


class RequestBodyLimit:
    """ASGI middleware: a body declared (``Content-Length``) or streamed past ``max_bytes`` is 413.

    A declared length over the limit is refused before the app runs, with ``refusal(limit)``
    (a problem document, unless the app answers in its own way: the web front with a page). Any
    body, chunked or not, is also counted as it arrives: the read that passes the limit raises
    ``BodyTooLarge``, which the app's handlers answer; nothing past the limit is buffered.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        uploads: Mapping[str, int] | None = None,
        refusal: Callable[[int], ASGIApp] = problem_refusal,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refusal = refusal
        # Upload routes (a path pattern matched whole) take larger bodies, which they stream.
        self.uploads = [(re.compile(path), limit) for path, limit in (uploads or {}).items()]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.uploads:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        declared = declared_length(scope)
        if declared is not None and declared > max_bytes:
            await self.refusal(max_bytes)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        await self.app(scope, limited_receive, send)


def declared_length(scope: Scope) -> int | None:
    """The largest length the headers declare; none (the body is counted as it comes) if none
    is a number (the HTTP server refuses such requests before they get here anyway)."""
    lengths = [
        int(value)
        for name, value in scope["headers"]
        if name == b"content-length" and value.isdigit()
    ]
    return max(lengths, default=None)
