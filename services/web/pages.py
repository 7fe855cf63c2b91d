"""Rendering a page: its template in the visitor's language, with what every page shows (the
language switch, the CSRF token of the visitor's forms)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from babel import Locale
from fastapi import Depends
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match

from services.web.languages import (
    CATALOGS,
    LANGUAGE_COOKIE,
    LANGUAGE_COOKIE_SECONDS,
    LANGUAGES,
    chosen_from_query,
    direction,
    locale_of,
    own_name,
    page_language,
)
from services.web.sessions import SessionCookies, SignIn
from shared.translations import compiled_translations
from shared.translations import in_words as list_in_words

TEMPLATES = Path(__file__).parent / "templates"
_TRANSLATIONS = {language: compiled_translations(CATALOGS.get(language)) for language in LANGUAGES}


def _environment(language: str) -> Environment:
    """One environment per language, its catalog installed once."""
    translations = _TRANSLATIONS[language]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # (Pages are HTML; a text template, ``*.txt.j2``, is written as it is.)
        autoescape=select_autoescape(["html.j2"], disabled_extensions=["txt.j2"], default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # A sentence is one msgid however the template wraps it (as babel.cfg extracts it).
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    # A list as the language writes one: "Conway Elementary and MJDS", "Conway Elementary y MJDS".
    locale = locale_of(language)
    environment.filters["in_words"] = lambda items: in_words(items, locale)
    return environment


def in_words(items: Iterable[Any], locale: Locale) -> Markup:
    """``items`` as a list in the language's words (``shared.translations.in_words``), each item
    escaped unless it is markup already (a link): the list is markup."""
    escaped = [str(escape(item)) for item in items]
    return Markup(list_in_words(escaped, locale, said=lambda item: Markup(item).striptags()))


_ENVIRONMENTS = {language: _environment(language) for language in LANGUAGES}


def translated(language: str, message: str) -> str:
    """``message`` (a msgid the templates use too) in ``language``: words a page's code puts in
    for the visitor, as a default they did not type."""
    return _TRANSLATIONS[language].gettext(message)


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as far as a page needs to know: their language, their sign-in (if any),
    and whether the request came over https."""

    language: str
    session: SignIn | None
    secure: bool
    chose_language: bool


def visitor(request: Request) -> Visitor:
    """The request's visitor."""
    cookies: SessionCookies = request.app.state.session_cookies
    return Visitor(
        language=page_language(request),
        session=cookies.read(request, now=datetime.now(UTC)),
        # (Behind a proxy that ends TLS, the request is http but people use https.)
        secure=request.url.scheme == "https"
        or (request.app.state.settings.public_url or "").startswith("https://"),
        chose_language=chosen_from_query(request) is not None,
    )


VisitorDep = Annotated[Visitor, Depends(visitor)]


def page(
    request: Request,
    who: Visitor,
    template: str,
    *,
    status: int = 200,
    csrf_token: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` written in the visitor's language."""
    language = who.language
    body = (
        _ENVIRONMENTS[language]
        .get_template(template)
        .render(
            language=language,
            direction=direction(language),
            languages=language_switch(request),
            csrf_token=csrf_token or (who.session.csrf_token if who.session else ""),
            signed_in=who.session is not None,
            # (Staff and students have their own pages, not a family's conferences.)
            signed_in_as_person=who.session is not None and not who.session.is_family,
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status)
    if who.chose_language:
        keep_language(response, language, secure=who.secure)
    return response


def text(template: str, /, *, language: str, **context: Any) -> str:
    """The text template ``template`` (``*.txt.j2``, not escaped) written in ``language``."""
    return _ENVIRONMENTS[language].get_template(template).render(language=language, **context)


def language_switch(request: Request) -> list[tuple[str, str, str]]:
    """Each language with its own name and this page in it: the same address (a day, a
    family's link), ``lang`` set to it; relative, so that it never leads off the site whatever
    the path. A page that answers a form (a refusal) is asked again at the nearest address that
    shows a page: the form's own (the times to choose from), else the one it belongs to (a
    goal's step: the goals), else the visitor's home page."""
    if request.method != "GET":
        address, kept = _page_of_form(request), []
    else:
        address = ""
        kept = [
            (name, value) for name, value in request.query_params.multi_items() if name != "lang"
        ]
    return [
        (other, own_name(other), f"{address}?{urlencode([*kept, ('lang', other)])}")
        for other in LANGUAGES
    ]


def keep_language(response: Response, language: str, *, secure: bool) -> None:
    """Remember the language the visitor chose (``?lang=``) for their next pages."""
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


# Addresses that answer GET but open something rather than show a page (a family's link, a
# sign-in's return): a form there is not asked again, in another language, at them.
_NOT_PAGES = frozenset({"/f", "/l/{code}", "/staff/sign-in", "/staff/sign-in/callback"})


def _page_of_form(request: Request) -> str:
    """The nearest address above (or at) the form's that answers GET with a page."""
    parts = [part for part in request.url.path.split("/") if part]
    routes = [
        route
        for route in _each_route(getattr(request.scope.get("app"), "routes", []))
        if getattr(route, "path", None) not in _NOT_PAGES
    ]
    for end in range(len(parts), 0, -1):
        path = "/" + "/".join(parts[:end])
        scope = {"type": "http", "path": path, "method": "GET"}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            return quote(path)
    return "/"


def _each_route(routes: Iterable[Any]) -> Iterator[Any]:
    """The app's routes one by one, those of its included routers too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _each_route(included.routes)
        else:
            yield route
