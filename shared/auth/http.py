"""FastAPI dependencies: every API route gets a verified ``Principal`` or answers 401/403 (the
calendar feeds, whose secret address is the key, take none).

A bearer token is a staff (or student, or guardian) JWT from ``slc-token`` or the district's
identity provider, or a family link (``shared.auth.family_links``): a link is verified with the
family link public key and becomes the guardian it names, then the service's revocation check
(``app.state.link_revocation_check``, if it keeps revocations) may still refuse it.

A teacher acts where the roster says they teach, not wherever their token says: in a service
that keeps the roster's classes (``app.state.teacher_sites``), a teacher's ``sites`` are the
sites of their classes, narrowed by the token's ``sites`` claim when it names any. A site
administrator, likewise, acts at the schools the roster says they administer
(``app.state.administrator_sites``), narrowed by the claim; one the roster does not know acts
nowhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.auth.family_links import FamilyLinkVerifier, is_family_link
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenError, TokenVerifier
from shared.problems import CREDENTIAL_REFUSAL_KINDS, refused_as

_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from `slc-token` or the district IdP, or a family's link token.",
)

# Given a family link's principal: why the link is refused (replaced by a newer one), or None.
LinkRevocationCheck = Callable[[Principal], Awaitable[str | None]]
# Given a district and a staff member's id: where the roster says they work (a teacher's
# classes; the schools an administrator administers).
RosterSitesCheck = Callable[[str, str], Awaitable[frozenset[str]]]
LINKS_NOT_CONFIGURED = "family links are not configured on this service"
REPLACED_KIND = "link_replaced"


def unauthorized(reason: str, kind: str | None = None) -> HTTPException:
    """A 401 saying why the caller's credentials are refused, naming the ``kind`` when it is one
    a page acts on (``CREDENTIAL_REFUSAL_KINDS``)."""
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if kind is not None:
        return refused_as(401, reason, kind, CREDENTIAL_REFUSAL_KINDS, headers)
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=reason, headers=headers)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller of this request."""
    return await _caller(request, credentials, revocation_in_transaction=False)


async def authenticate_revocation_in_transaction(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """``authenticate`` for a route that reads a family link's revocation in its own
    transaction, with what it reads there anyway: one round trip fewer, on the path every
    family's booking takes when booking opens. The principal says so (``revocation_pending``),
    and the route must refuse a replaced link before it acts
    (``shared.link_revocations.refuse_if_replaced``); the routes that do are listed in
    ``tests/unit/test_auth.py``."""
    return await _caller(request, credentials, revocation_in_transaction=True)


async def _caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    revocation_in_transaction: bool,
) -> Principal:
    if credentials is None:
        raise unauthorized("missing bearer token (Authorization: Bearer <token>)")
    if is_family_link(credentials.credentials):
        return await _family(
            request, credentials.credentials, revocation_in_transaction=revocation_in_transaction
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        if verifier.fetches_keys:
            # Fetching the identity provider's keys is blocking I/O (cached after the first).
            principal = await run_in_threadpool(verifier.verify, credentials.credentials)
        else:
            principal = verifier.verify(credentials.credentials)
    except TokenError as error:
        raise unauthorized(str(error)) from error
    return await _where_working(request, principal)


# Where the roster says each staff role works, as the service keeps it (``app.state``).
_ROSTER_SITES = {Role.TEACHER: "teacher_sites", Role.SITE_ADMIN: "administrator_sites"}


async def _where_working(request: Request, principal: Principal) -> Principal:
    """A teacher or a site administrator with the sites the roster gives them (narrowed by
    their token's, if it names any); anyone else as verified."""
    state = _ROSTER_SITES.get(principal.role)
    roster: RosterSitesCheck | None = getattr(request.app.state, state, None) if state else None
    if roster is None:
        return principal
    working = await roster(principal.district, principal.subject)
    sites = working & principal.sites if principal.sites else working
    return principal.model_copy(update={"sites": sites, "claimed_sites": principal.sites})


async def _family(
    request: Request, token: str, *, revocation_in_transaction: bool = False
) -> Principal:
    """The guardian a family link names, unless the link is invalid or revoked (or, with
    ``revocation_in_transaction``, the route is left to refuse a revoked one)."""
    verifier: FamilyLinkVerifier | None = getattr(request.app.state, "family_link_verifier", None)
    if verifier is None:
        raise unauthorized(LINKS_NOT_CONFIGURED)
    try:
        link = verifier.verify(token)
    except TokenError as error:
        raise unauthorized(str(error), error.kind) from error
    check: LinkRevocationCheck | None = getattr(request.app.state, "link_revocation_check", None)
    principal = Principal(
        subject=link.guardian_id,
        role=Role.GUARDIAN,
        district=link.district,
        link_issued_at=link.issued_at,
        revocation_pending=check is not None and revocation_in_transaction,
    )
    if (
        check is not None
        and not revocation_in_transaction
        and (refusal := await check(principal)) is not None
    ):
        raise unauthorized(refusal, REPLACED_KIND)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
# For the routes that refuse a replaced family link in their own transaction (above).
PrincipalRevocationInTransaction = Annotated[
    Principal, Depends(authenticate_revocation_in_transaction)
]


async def authenticate_link_or_bearer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    link: Annotated[
        str | None,
        Query(
            max_length=2048,
            description="A family's link token, as the link in their invitation carries it"
            " (the page a family opens from a message); otherwise the bearer token.",
        ),
    ] = None,
) -> Principal:
    """The caller: a family opening their link in a browser, or any bearer token."""
    if credentials is None and link is not None:
        if not is_family_link(link):
            raise unauthorized("this is not a family's link")
        return await _family(request, link)
    return await authenticate(request, credentials)


FamilyOrBearerPrincipal = Annotated[Principal, Depends(authenticate_link_or_bearer)]


def forbidden(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, reason)


def district_it_only(principal: Principal, does: str) -> None:
    """403 for anyone but district IT, saying what only it does (e.g. "imports the roster")."""
    if principal.role is not Role.DISTRICT_ADMIN:
        raise forbidden(f"only district IT {does}")
