"""The student's work: the pieces they added with where each one's review stands, and adding
a new one: a photo from the camera, a recording of their voice, or a file (posted, then back to
the list: post/redirect/get). Portfolio decides a file's kind from its content and refuses one
too large for it; the page says so in a few words."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from services.web.evidence_files import evidence_file_response
from services.web.forms import checked_form_data
from services.web.pages import Visitor, page
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.school import own_entry, school_timezone
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import work_views
from services.web.troubles import Trouble, TroublePage
from shared.body_limit import BodyTooLarge

router = APIRouter()
# Where the work is posted: the one page whose body may be larger than a form's (app.py).
UPLOAD_PATH = "/student/work"
WAYS = ("photo", "voice", "file")
MAX_TITLE = 200


@router.get("/student/work")
async def my_work(
    request: Request,
    who: StudentDep,
    api: PortfolioDep,
    added: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """The student's pieces, newest first, each with its review: waiting, approved, or returned
    with the teacher's feedback."""
    me = await own_entry(api, who)
    pieces = accepted(await api.evidence(token_of(who), student_id=student_id_of(who)))
    timezone = await school_timezone(api, who, site=str(me["site"]))
    return page(
        request,
        who,
        "student_work.html.j2",
        pieces=work_views(
            pieces.body if pieces.ok else None, language=who.language, timezone=timezone
        ),
        added=added == "1",
    )


@router.get("/student/work/add")
async def ways_to_add(request: Request, who: StudentDep) -> Response:
    """How to add a piece: take a photo, record their voice, or choose a file."""
    return page(request, who, "student_add_work.html.j2")


@router.get("/student/work/add/{way}")
async def add_work(request: Request, way: str, who: StudentDep) -> Response:
    """The form for one way of adding a piece."""
    if way not in WAYS:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return _form_page(request, who, way=way)


@router.post(UPLOAD_PATH)
async def send_work(request: Request, who: StudentDep, api: PortfolioDep) -> Response:
    """Add the piece to the student's portfolio."""
    try:
        form = await checked_form_data(request, who, max_fields=5, max_files=1)
    except BodyTooLarge:
        return too_big_page(request, who)
    try:
        return await _send(request, who, api, form)
    finally:
        await form.close()  # (the file, spooled to disk past 1 MB)


async def _send(request: Request, who: Visitor, api: PortfolioApi, form: FormData) -> Response:
    way = form.get("way")
    way = way if isinstance(way, str) and way in WAYS else "file"
    title = form.get("title")
    title = title.strip() if isinstance(title, str) else ""
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename or not file.size:
        return _form_page(request, who, way=way, title=title, refusal=StudentRefusal.NO_FILE)
    if not title or len(title) > MAX_TITLE:
        refusal = StudentRefusal.NAME_MISSING if not title else StudentRefusal.INVALID
        return _form_page(request, who, way=way, title=title[:MAX_TITLE], refusal=refusal)
    answer = accepted(
        await api.add_file_evidence(
            token_of(who),
            student_id=student_id_of(who),
            title=title,
            file_name=file.filename,
            file=file.file,
            media_type=file.content_type or "application/octet-stream",
        )
    )
    if answer.ok:
        return RedirectResponse("/student/work?added=1", status_code=303)
    return _form_page(
        request,
        who,
        way=way,
        title=title,
        refusal=student_refusal_of(answer, a_file=True),
        status=answer.refused_status,
    )


def too_big_page(request: Request, who: Visitor) -> Response:
    """The answer to a piece larger than the web front takes (413), before or while it is read."""
    return _form_page(request, who, way="file", refusal=StudentRefusal.TOO_BIG, status=413)


def _form_page(
    request: Request,
    who: Visitor,
    *,
    way: str,
    title: str | None = None,
    refusal: StudentRefusal | None = None,
    status: int | None = None,
) -> Response:
    return page(
        request,
        who,
        "student_work_form.html.j2",
        status=status or (422 if refusal else 200),
        way=way,
        title=title,
        refusal=refusal.value if refusal else None,
    )


@router.get("/student/work/{evidence_id}/{which}")
async def work_file(evidence_id: str, which: str, who: StudentDep, api: PortfolioDep) -> Response:
    """A piece's file or a photo's preview, fetched as the student (never another student's:
    portfolio answers 404)."""
    if which not in ("file", "preview") or not is_id(evidence_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return await served_file(api, who, evidence_id=evidence_id, preview=which == "preview")


async def served_file(
    api: PortfolioApi, who: Visitor, *, evidence_id: str, preview: bool
) -> Response:
    return await evidence_file_response(
        api,
        token_of(who),
        student_id=student_id_of(who),
        evidence_id=evidence_id,
        preview=preview,
    )
