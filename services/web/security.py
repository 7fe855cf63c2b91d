"""Headers on every response: what the page may load (itself only, no inline script), no
sniffing, no Referer (a family's first address holds its link), not framed, not cached."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Pages hold a family's children and times: never kept by a shared cache.
_PRIVATE = (b"cache-control", b"private, no-store")


def with_security_headers(response: Response) -> Response:
    """The headers set on a response made outside the middleware (the page for an unexpected
    error, which Starlette renders outside every middleware)."""
    for name, value in [*_HEADERS, _PRIVATE]:
        response.headers[name.decode()] = value.decode()
    return response


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in {header for header, _ in _HEADERS}
                ]
                headers += _HEADERS
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(_PRIVATE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
