"""District IT loads the roster: upload the student information system's OneRoster export (a
zip), follow the import while it runs, read its report; and the imports before it.

The export goes on to portfolio (``POST /roster/imports``) as it was uploaded: the form parser
spools it to disk, and it is streamed from there, never whole in memory. Its size is bounded by
the upload limit of this address (``app.upload_limits``), which matches portfolio's own.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from services.web.district.roster_api import RosterImportsApi
from services.web.district.roster_imports_view import ImportRun, import_run
from services.web.district.signed_in import DistrictDep, RosterImportsDep
from services.web.forms import checked_upload
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import Answer, is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, schools_by_id, token_of
from services.web.troubles import Trouble, TroublePage, written_size

router = APIRouter()
IMPORTS = "/district/roster/imports"
FILE_FIELD = "export"


class ImportRefusal(StrEnum):
    NO_FILE = "no_file"
    EMPTY = "empty"
    NOT_A_ZIP = "not_a_zip"
    TOO_LARGE = "too_large"
    NOT_ALLOWED = "not_allowed"
    REFUSED = "refused"


@router.get("/district")
async def district_home(who: DistrictDep) -> Response:
    """District IT's pages begin with the services' state."""
    return RedirectResponse("/district/status", status_code=303)


@router.get(IMPORTS)
async def roster_imports(
    request: Request, who: DistrictDep, api: RosterImportsDep, portfolio: PortfolioDep
) -> Response:
    """The form to upload an export, the imports so far, newest first, and the school
    administrators the roster has."""
    return await _imports_page(request, who, api, portfolio)


@router.post(IMPORTS)
async def upload_roster(
    request: Request, who: DistrictDep, api: RosterImportsDep, portfolio: PortfolioDep
) -> Response:
    """Start an import of the uploaded export, then follow it on its page."""
    async with checked_upload(request, who) as (_, files):
        export = files.get(FILE_FIELD)
        refusal = await _refusal_of(export)
        if refusal is not None:
            return await _imports_page(request, who, api, portfolio, refusal=refusal, status=422)
        assert export is not None
        answer = accepted(await api.upload(token_of(who), export=export))
    if answer.ok and isinstance(answer.body, dict) and is_id(str(answer.body.get("id"))):
        return RedirectResponse(f"{IMPORTS}/{answer.body['id']}", status_code=303)
    return await _imports_page(
        request,
        who,
        api,
        portfolio,
        refusal=import_refusal_of(answer),
        status=answer.refused_status,
    )


@router.get(IMPORTS + "/{run_id}")
async def roster_import(
    request: Request, run_id: str, who: DistrictDep, api: RosterImportsDep
) -> Response:
    """One import: its progress while it runs (the page follows it), its report when done."""
    if not is_id(run_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(await api.run(token_of(who), run_id=run_id))
    if answer.status == 404:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    if answer.status == 403:
        raise TroublePage(Trouble.NOT_YOURS, 403)
    if not answer.ok or not isinstance(answer.body, dict):
        raise TroublePage(Trouble.BAD_REQUEST, answer.refused_status)
    return page(
        request,
        who,
        "district_roster_import.html.j2",
        run=import_run(answer.body, language=who.language),
        section="imports",
    )


async def _refusal_of(export: UploadFile | None) -> ImportRefusal | None:
    """Why the uploaded file cannot be an export, if it cannot (portfolio reads the rest)."""
    if export is None or not export.filename:
        return ImportRefusal.NO_FILE
    if not export.size:
        return ImportRefusal.EMPTY
    # (Reads the end of the file, where a zip keeps its directory.)
    if not await run_in_threadpool(zipfile.is_zipfile, export.file):
        return ImportRefusal.NOT_A_ZIP
    return None


@dataclass(frozen=True)
class Administrator:
    """A school administrator as the page lists them: a site administrator's sign-in acts for
    these schools only."""

    id: str
    name: str
    schools: list[str]


async def _administrators(portfolio: PortfolioApi, who: Visitor) -> list[Administrator]:
    """The roster's school administrators, each with their schools' names."""
    answer = accepted(await portfolio.administrators(token_of(who)))
    if not answer.ok or not isinstance(answer.body, list):
        return []
    schools = await schools_by_id(portfolio, who)
    return [
        Administrator(
            id=str(one["id"]),
            name=f"{one.get('given_name') or ''} {one.get('family_name') or ''}".strip(),
            schools=[
                str(schools.get(str(site), {}).get("name") or site)
                for site in one.get("site_ids") or []
            ],
        )
        for one in answer.body
        if isinstance(one, dict) and one.get("id")
    ]


def import_refusal_of(answer: Answer) -> ImportRefusal:
    if answer.status == 403:
        return ImportRefusal.NOT_ALLOWED
    if answer.status == 413:
        return ImportRefusal.TOO_LARGE
    if isinstance(answer.body, dict) and answer.body.get("refusal") == "empty_upload":
        return ImportRefusal.EMPTY
    return ImportRefusal.REFUSED


async def _imports_page(
    request: Request,
    who: Visitor,
    api: RosterImportsApi,
    portfolio: PortfolioApi,
    *,
    refusal: ImportRefusal | None = None,
    status: int = 200,
) -> Response:
    answer = accepted(await api.runs(token_of(who)))
    if answer.status == 403:
        raise TroublePage(Trouble.NOT_YOURS, 403)
    body: Any = answer.body if answer.ok else []
    runs: list[ImportRun] = [
        import_run(run, language=who.language) for run in body if isinstance(run, dict)
    ]
    settings = request.app.state.settings
    return page(
        request,
        who,
        "district_roster_imports.html.j2",
        status=status,
        runs=runs,
        administrators=await _administrators(portfolio, who),
        refusal=refusal.value if refusal else None,
        largest=written_size(settings.roster_upload_max_bytes, language=who.language),
        section="imports",
    )
