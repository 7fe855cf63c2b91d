"""Every refusal is one documented shape: an RFC 9457 problem document.

``application/problem+json`` with ``type``, ``title`` (the HTTP status phrase), ``status`` and
``detail`` (the reason, in words); a request that fails validation also lists its invalid fields
in ``errors``. The handlers never echo the request's input back: a body may hold values JSON
cannot carry (``NaN``, a lone surrogate), and what was sent is the caller's to know already.

``document_problems`` makes each operation's OpenAPI list the refusals the framework answers
for any operation of its shape (authenticated: 401; any input: 422; a body: 400 and 413; every
operation: 500); a route adds the refusals its own rules answer (403, 404, 409, ...) with
``responses=refusals(...)`` in its decorator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_MEDIA_TYPE = "application/problem+json"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_OPENAPI_METHODS = frozenset(method.lower() for method in _METHODS) | {"trace"}
_PROBLEM_REF = "#/components/schemas/Problem"
# What each refusal means, as the API documents say it.
_MEANINGS: Mapping[int, str] = {
    400: "The body could not be read as JSON.",
    401: "Missing, expired or invalid bearer token (see `WWW-Authenticate`).",
    403: "The caller's role or scope does not allow this.",
    404: "There is no such record, or the caller may not see it.",
    409: "The request conflicts with the current state (the detail says how); a concurrent"
    " change to the same record is one too, and retrying then is safe.",
    413: "The request body is larger than the service accepts (HTTP_MAX_BODY_BYTES).",
    422: "The input is not valid: `errors` names each invalid field, or the detail says which"
    " rule refuses it.",
    500: "The service failed; the detail says nothing of its internals.",
    503: "The service is busy (no database connection came free in time) or could not reach its"
    " database: try again after `Retry-After` seconds (after a lost connection, first check"
    " whether the change was made).",
}


class InvalidField(BaseModel):
    """One invalid part of a request."""

    loc: list[str | int] = Field(
        description="Where: `body`, `path`, `query` or `header`, then the field (and index).",
        examples=[["body", "title"]],
    )
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="The kind of error, e.g. `missing`, `string_too_short`.")


class Problem(BaseModel):
    """Why a request was refused (RFC 9457 problem details)."""

    type: str = Field(
        "about:blank",
        description="`about:blank`: the status code says what kind of refusal it is.",
    )
    title: str = Field(description="The HTTP status phrase.", examples=["Conflict"])
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str = Field(description="Why, in words.", examples=["that conference time is full"])
    errors: list[InvalidField] | None = Field(
        None, description="For a request that fails validation: each invalid field."
    )


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Iterable[InvalidField] = (),
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A refusal as a problem document; ``extensions`` are further members (RFC 9457, 3.2) that
    a route documents with ``problem_with``."""
    problem = Problem(
        title=_title(status), status=status, detail=_encodable(detail), errors=list(errors) or None
    )
    return JSONResponse(
        {**problem.model_dump(mode="json", exclude_none=True), **(extensions or {})},
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


# Problem documents with extension members that some route answers (see ``problem_with``).
_VARIANTS: dict[str, type[Problem]] = {}


def problem_with(model: type[Problem], description: str) -> dict[str, Any]:
    """The OpenAPI response of a refusal whose problem document has extension members, declared
    as a subclass of ``Problem``."""
    _VARIANTS[model.__name__] = model
    return {
        "description": description,
        "content": {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }


class ProblemException(HTTPException):
    """A refusal whose problem document carries further members (RFC 9457, 3.2), e.g. a code a
    caller can act on without reading the detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        extensions: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, dict(headers) if headers else None)
        self.extensions = dict(extensions)


def refused_as(
    status: int,
    detail: str,
    kind: str,
    kinds: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> ProblemException:
    """A refusal naming its kind in the problem document's ``refusal`` member (one of
    ``kinds``, the service's catalog of them), for callers to act on without reading ``detail``."""
    assert kind in kinds, kind
    return ProblemException(status, detail, {"refusal": kind}, headers)


def refusal_member(kinds: Mapping[str, str], *, then: str = "") -> Any:
    """The ``refusal`` member of a problem document variant (a ``Problem`` subclass): one of
    ``kinds``, each documented with its meaning; ``then`` says more."""
    return Field(
        None,
        description="The kind of refusal, to act on without reading the detail: "
        + "; ".join(f"`{kind}`, {meaning}" for kind, meaning in kinds.items())
        + "."
        + (f" {then}" if then else ""),
    )


# The kinds of refused credentials a page acts on (a 401's ``refusal``; other 401s name none).
CREDENTIAL_REFUSAL_KINDS = {
    "link_expired": "the family's link has expired (the school sends a new one)",
    "link_replaced": "the school replaced the family's link with a newer one",
}


class Unauthorized(Problem):
    """Credentials refused (401): the kind, when it is one a page acts on."""

    refusal: str | None = refusal_member(
        CREDENTIAL_REFUSAL_KINDS,
        then="Absent for other refusals: a token missing, malformed, not made by this system,"
        " or a staff token expired.",
    )


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the refusals a route's own rules answer, e.g. 403, 404, 409."""
    return {status: _problem_response_document(status) for status in statuses}


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every refusal of ``app`` as a problem document and document them in its OpenAPI."""
    app.add_exception_handler(StarletteHTTPException, _http_refusal)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _internal_error)
    document_problems(app)


def document_problems(app: FastAPI) -> None:
    """List, in each operation's OpenAPI, the refusals the framework answers for it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI caches the document (and makes it anew if routes are added): add to each once.
        document = generate()
        if Problem.__name__ not in document.get("components", {}).get("schemas", {}):
            _add_problems(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


async def _http_refusal(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    headers = dict(error.headers or {})
    if status < 400:
        return Response(status_code=status, headers=headers)
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    detail = error.detail if isinstance(error.detail, str) and error.detail else _title(status)
    extensions = error.extensions if isinstance(error, ProblemException) else None
    return problem_response(status, detail, headers=headers, extensions=extensions)


async def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields = [_invalid_field(raw) for raw in error.errors()]
    described = "; ".join(f"{'.'.join(map(str, f.loc))}: {f.msg}" for f in fields[:3])
    more = f" (and {len(fields) - 3} more)" if len(fields) > 3 else ""
    return problem_response(422, f"invalid request: {described}{more}", errors=fields)


async def _internal_error(request: Request, error: Exception) -> Response:
    # The server logs the exception with its traceback; the caller learns nothing of internals.
    return problem_response(500, "internal error")


def _invalid_field(raw: Mapping[str, Any]) -> InvalidField:
    """A validation error without its ``input`` (and ``ctx``), which may not be JSON at all."""
    message = str(raw.get("msg", "invalid"))
    reason = (raw.get("ctx") or {}).get("error")
    if raw.get("type") == "json_invalid" and isinstance(reason, str):
        message = f"{message}: {reason}"
    return InvalidField(
        loc=[part if isinstance(part, int) else _encodable(str(part)) for part in raw["loc"]],
        msg=_encodable(message),
        type=str(raw.get("type", "value_error")),
    )


def _encodable(text: str) -> str:
    """``text`` with any lone surrogate written out, so it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (the router names only the first route's)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches(_probe(request, method))[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


def _probe(request: Request, method: str) -> dict[str, Any]:
    """A bare request for the same path with another method, for asking the routes."""
    scope = request.scope
    return {
        "type": "http",
        "method": method,
        "path": scope["path"],
        "root_path": scope.get("root_path", ""),
        "headers": [],
        "query_string": b"",
    }


def _problem_response_document(status: int) -> dict[str, Any]:
    schema = f"#/components/schemas/{Unauthorized.__name__}" if status == 401 else _PROBLEM_REF
    return {
        "description": _MEANINGS.get(status, _title(status)),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": schema}}},
    }


def _framework_refusals(operation: Mapping[str, Any]) -> set[int]:
    """What any operation shaped like this one may answer, whatever its route does."""
    statuses = {500, 503}
    if operation.get("security"):
        statuses.add(401)
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    if operation.get("requestBody"):
        statuses |= {400, 413}
    return statuses


def _declares_variant(response: Any) -> bool:
    """Whether a route declared this response as one of the problem document's variants (whose
    members say more than the framework's own document for that status would)."""
    if not isinstance(response, dict):
        return False
    schema = response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("schema", {})
    return str(schema.get("$ref", "")).rpartition("/")[2] in _VARIANTS


def _add_problems(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    models: tuple[type[BaseModel], ...] = (
        Problem,
        InvalidField,
        Unauthorized,
        *_VARIANTS.values(),
    )
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            if method not in _OPENAPI_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in _framework_refusals(operation):
                if not _declares_variant(responses.get(str(status))):
                    responses[str(status)] = _problem_response_document(status)
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI's own 422 shape is replaced everywhere.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
