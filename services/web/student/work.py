"""The student's work: the pieces they added with where each one's review stands, and adding
a new one: a photo from the camera, a recording of their voice, or a file (posted, then back to
the list: post/redirect/get). A piece the teacher returned is fixed the same way: a new photo,
recording or file in its place, handed in again. Portfolio decides a file's kind from its
content and refuses one too large for it; the page says so in a few words."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from services.web.evidence_files import RangeHeader, evidence_file_response, recording_response
from services.web.forms import checked_form_data
from services.web.pages import Visitor, page, translated
from services.web.portfolio_api import PortfolioApi
from services.web.service_api import is_id
from services.web.service_clients import PortfolioDep
from services.web.staff.signed_in import accepted, token_of
from services.web.student.refusals import StudentRefusal, student_refusal_of
from services.web.student.school import own_entry, school_timezone
from services.web.student.signed_in import StudentDep, student_id_of
from services.web.student.view import (
    STUDENT_RECORDINGS,
    WorkView,
    reflections_by_piece,
    work_view,
    work_views,
)
from services.web.troubles import Trouble, TroublePage
from shared.body_limit import BodyTooLarge

router = APIRouter()
# Where the work is posted, new or fixed: the pages whose body may be larger than a form's
# (app.py; path patterns, matched whole).
UPLOAD_PATH = "/student/work"
FIX_PATH = r"/student/work/([^/]+)/fix"
_FIXED = re.compile(FIX_PATH)
WAYS = ("photo", "voice", "file")
MAX_TITLE = 200


@router.get("/student/work")
async def my_work(
    request: Request,
    who: StudentDep,
    api: PortfolioDep,
    added: Annotated[str | None, Query(max_length=5)] = None,
    fixed: Annotated[str | None, Query(max_length=5)] = None,
    reflected: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    """The student's pieces, newest first, each with its review (waiting, approved, or returned
    with the teacher's feedback) and what they reflected on it."""
    me = await own_entry(api, who)
    pieces = accepted(await api.evidence(token_of(who), student_id=student_id_of(who)))
    reflections = accepted(await api.reflections(token_of(who), student_id=student_id_of(who)))
    timezone = await school_timezone(api, who, site=str(me["site"]))
    return page(
        request,
        who,
        "student_work.html.j2",
        pieces=work_views(
            pieces.body if pieces.ok else None, language=who.language, timezone=timezone
        ),
        reflections=reflections_by_piece(
            reflections.body if reflections.ok else None, recordings=STUDENT_RECORDINGS
        ),
        added=added == "1",
        fixed=fixed == "1",
        reflected=reflected == "1",
    )


@router.get("/student/work/add")
async def ways_to_add(request: Request, who: StudentDep) -> Response:
    """How to add a piece: take a photo, record their voice, or choose a file."""
    return page(request, who, "student_add_work.html.j2", fixing=None)


@router.get("/student/work/add/{way}")
async def add_work(request: Request, way: str, who: StudentDep) -> Response:
    """The form for one way of adding a piece."""
    if way not in WAYS:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return _form_page(request, who, way=way)


@router.post(UPLOAD_PATH)
async def send_work(request: Request, who: StudentDep, api: PortfolioDep) -> Response:
    """Add the piece to the student's portfolio."""
    return await _received(request, who, api, fixing=None)


@router.get("/student/work/{evidence_id}/fix")
async def ways_to_fix(
    request: Request, evidence_id: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """A returned piece: what the teacher said, and how to hand it in again."""
    piece = await _to_fix(api, who, evidence_id)
    if not isinstance(piece, WorkView):
        return piece
    return page(request, who, "student_add_work.html.j2", fixing=piece)


@router.get("/student/work/{evidence_id}/fix/{way}")
async def fix_work(
    request: Request, evidence_id: str, way: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """The form for one way of handing a returned piece in again."""
    if way not in WAYS:
        raise TroublePage(Trouble.NOT_FOUND, 404)
    piece = await _to_fix(api, who, evidence_id)
    if not isinstance(piece, WorkView):
        return piece
    return _form_page(request, who, way=way, title=piece.title, fixing=piece)


@router.post("/student/work/{evidence_id}/fix")
async def send_fixed_work(
    request: Request, evidence_id: str, who: StudentDep, api: PortfolioDep
) -> Response:
    """Hand the returned piece in again as the new file: it waits for the teacher again."""
    piece = await _to_fix(api, who, evidence_id)
    if not isinstance(piece, WorkView):
        return piece
    return await _received(request, who, api, fixing=piece)


async def _to_fix(api: PortfolioApi, who: Visitor, evidence_id: str) -> WorkView | Response:
    """The student's piece to fix; back to their work if it is not one to fix (any more)."""
    if not is_id(evidence_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    answer = accepted(
        await api.piece(token_of(who), student_id=student_id_of(who), evidence_id=evidence_id)
    )
    if not answer.ok or not isinstance(answer.body, dict):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    piece = work_view(answer.body, language=who.language, timezone=None)
    if not piece.can_fix:
        # (Approved meanwhile, or fixed already from another tab: nothing to fix. A fix waiting
        # for the teacher is not replaced: it may be the one they are looking at.)
        return RedirectResponse("/student/work", status_code=303)
    return piece


async def _received(
    request: Request, who: Visitor, api: PortfolioApi, *, fixing: WorkView | None
) -> Response:
    try:
        form = await checked_form_data(request, who, max_fields=5, max_files=1)
    except BodyTooLarge:
        return too_big_page(request, who, fixing=fixing)
    try:
        return await _send(request, who, api, form, fixing=fixing)
    finally:
        await form.close()  # (the file, spooled to disk past 1 MB)


async def _send(
    request: Request, who: Visitor, api: PortfolioApi, form: FormData, *, fixing: WorkView | None
) -> Response:
    way = form.get("way")
    way = way if isinstance(way, str) and way in WAYS else "file"
    title = form.get("title")
    title = title.strip() if isinstance(title, str) else ""
    file = form.get("file")
    typed = title
    if not title and fixing is None:
        # (A young child may not type a name: new work left unnamed is "My work", as the box
        # suggests, in their language.)
        title = translated(who.language, "My work")

    def again(refusal: StudentRefusal, status: int | None = None) -> Response:
        return _form_page(
            request,
            who,
            way=way,
            title=typed[:MAX_TITLE],
            refusal=refusal,
            status=status,
            fixing=fixing,
        )

    chosen = file if isinstance(file, UploadFile) and file.filename and file.size else None
    # (Fixing, a new name alone is a fix: the teacher may have asked for no more.)
    renamed = fixing is not None and bool(title) and title != fixing.title
    if chosen is None and not renamed:
        if fixing is not None:
            return again(StudentRefusal.NOTHING_NEW)
        return again(StudentRefusal.NO_PHOTO if way == "photo" else StudentRefusal.NO_FILE)
    if not title or len(title) > MAX_TITLE:
        return again(StudentRefusal.NAME_MISSING if not title else StudentRefusal.INVALID)
    if chosen is not None:
        answer = await api.send_file_evidence(
            token_of(who),
            student_id=student_id_of(who),
            title=title,
            file_name=str(chosen.filename),
            file=chosen.file,
            media_type=chosen.content_type or "application/octet-stream",
            replacing=fixing.evidence_id if fixing else None,
        )
    else:
        assert fixing is not None  # (renamed)
        answer = await api.improve_evidence(
            token_of(who),
            student_id=student_id_of(who),
            evidence_id=fixing.evidence_id,
            changes={"title": title},
        )
    answer = accepted(answer)
    if answer.ok:
        done = "added" if fixing is None else "fixed"
        return RedirectResponse(f"/student/work?{done}=1", status_code=303)
    return again(student_refusal_of(answer, a_file=True), answer.refused_status)


def takes_work(path: str) -> bool:
    """Whether ``path`` is where work is posted, new or fixed."""
    return path == UPLOAD_PATH or _FIXED.fullmatch(path) is not None


def too_big_page(request: Request, who: Visitor, *, fixing: WorkView | None = None) -> Response:
    """The answer to a piece larger than the web front takes (413), before or while it is read
    (before: from the address alone, the piece being fixed not read)."""
    fixed = _FIXED.fullmatch(request.url.path)
    fix_id = fixed.group(1) if fixed and is_id(fixed.group(1)) else None
    return _form_page(
        request,
        who,
        way="file",
        refusal=StudentRefusal.TOO_BIG,
        status=413,
        fixing=fixing,
        fix_id=fix_id,
    )


def _form_page(
    request: Request,
    who: Visitor,
    *,
    way: str,
    title: str | None = None,
    refusal: StudentRefusal | None = None,
    status: int | None = None,
    fixing: WorkView | None = None,
    fix_id: str | None = None,
) -> Response:
    """``fixing`` (or just its id): the returned piece the form hands in again, else a new
    piece is added."""
    fix_id = fixing.evidence_id if fixing else fix_id
    return page(
        request,
        who,
        "student_work_form.html.j2",
        status=status or (422 if refusal else 200),
        way=way,
        title=title,
        refusal=refusal.value if refusal else None,
        fixing=fixing,
        action=f"/student/work/{fix_id}/fix" if fix_id else UPLOAD_PATH,
        back_href=f"/student/work/{fix_id}/fix" if fix_id else "/student/work/add",
    )


@router.get("/student/reflections/{reflection_id}/recording")
async def reflection_recording(
    reflection_id: str, who: StudentDep, api: PortfolioDep, byte_range: RangeHeader = None
) -> Response:
    """A reflection the student said aloud, fetched as the student (never another student's:
    portfolio answers 404)."""
    return await recording_response(
        api,
        token_of(who),
        student_id=student_id_of(who),
        reflection_id=reflection_id,
        byte_range=byte_range,
    )


@router.get("/student/work/{evidence_id}/{which}")
async def work_file(
    evidence_id: str,
    which: str,
    who: StudentDep,
    api: PortfolioDep,
    byte_range: RangeHeader = None,
) -> Response:
    """A piece's file or a photo's preview, fetched as the student (never another student's:
    portfolio answers 404)."""
    if which not in ("file", "preview") or not is_id(evidence_id):
        raise TroublePage(Trouble.NOT_FOUND, 404)
    return await served_file(
        api, who, evidence_id=evidence_id, preview=which == "preview", byte_range=byte_range
    )


async def served_file(
    api: PortfolioApi,
    who: Visitor,
    *,
    evidence_id: str,
    preview: bool,
    byte_range: str | None = None,
) -> Response:
    return await evidence_file_response(
        api,
        token_of(who),
        byte_range=byte_range,
        student_id=student_id_of(who),
        evidence_id=evidence_id,
        preview=preview,
    )
