"""The web front's limit on request bodies: a page's form is a few kilobytes, so anything far
larger is refused before it is read; a student's work (a photo, a recording) has a larger limit
of its own. A body refused is answered with a page in the visitor's language (413), never a
problem document."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.web.troubles import Trouble, trouble_page
from shared.body_limit import RequestBodyLimit, declared_length

TooLargePage = Callable[[Request], Response]


class PageBodyLimit(RequestBodyLimit):
    """``RequestBodyLimit`` (larger ``uploads`` by path) whose refusal of a declared length is
    a page: the upload's own page (``pages``, by path), else the page for a bad request. A body
    streamed past its limit raises ``BodyTooLarge`` where it is read, as before."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        uploads: Mapping[str, int] | None = None,
        pages: Mapping[str, TooLargePage] | None = None,
    ) -> None:
        super().__init__(app, max_bytes=max_bytes, uploads=uploads)
        self.pages = dict(pages or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = declared_length(scope)
            if declared is not None and declared > self.limit_for(scope["path"]):
                await self._refusal(Request(scope))(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _refusal(self, request: Request) -> Response:
        own_page = self.pages.get(request.url.path)
        if own_page is not None:
            return own_page(request)
        return trouble_page(request, Trouble.BAD_REQUEST, 413, sign_out=False)
