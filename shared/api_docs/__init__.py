"""The API documents for people, served by the service itself: no request leaves the district.

``/docs`` (Swagger UI) and ``/redoc`` load their scripts from the ``fastapi-offline`` package's
copies, under ``/docs/assets/``; ``/asyncapi`` is rendered here, on the server, as plain HTML.
"""

from shared.api_docs.asyncapi_page import render_asyncapi
from shared.api_docs.openapi_pages import openapi_pages_router

__all__ = ["openapi_pages_router", "render_asyncapi"]
