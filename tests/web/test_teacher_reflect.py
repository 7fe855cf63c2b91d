"""A teacher records a reflection with a young student (``/teacher/students/<id>/reflect``),
against the real services: said aloud, or typed as the child says it, kept in the child's
portfolio as theirs in the child's language, played back on the page and heard by the child;
refusals in words beside the field (never a 500); another teacher's student unreachable."""

from __future__ import annotations

import os
from typing import Any

import httpx
from sqlmodel import col, update

from services.portfolio.tables import Student
from services.web.app import build_app
from shared.auth import Role
from tests.integration.conftest import ADMIN, System, enroll
from tests.support import auth, sound_recording
from tests.web.conftest import (
    csrf_token,
    service_transports,
    signed_in_as,
    text_of,
    web_settings,
)
from tests.web.test_student_pages import (
    AVA,
    TEACHER,
    ava,  # noqa: F401  (the fixture)
    files_root,  # noqa: F401  (the fixture)
    photo,
    send_photo,
    small_web,  # noqa: F401  (the fixture)
)

PAGE = f"/teacher/students/{AVA}/reflect"


async def reflections(system: System) -> list[dict[str, Any]]:
    listed = await system.portfolio.get(f"/students/{AVA}/reflections", headers=TEACHER)
    assert listed.status_code == 200, listed.text
    return list(listed.json())


async def post(
    web: httpx.AsyncClient, recording: tuple[str, bytes, str] | None = None, **fields: str
) -> httpx.Response:
    form = await web.get(PAGE)
    assert form.status_code == 200, form.text
    return await web.post(
        PAGE,
        data={"csrf_token": csrf_token(form), "about": "term", **fields},
        files={"recording": recording or ("", b"", "application/octet-stream")},
    )


async def test_the_teacher_records_what_ava_says_and_ava_hears_it(
    web: httpx.AsyncClient,
    system: System,
    ava: str,  # noqa: F811
) -> None:
    # Ava speaks Spanish at home (the roster says), and has a drawing to talk about.
    async with system.apps["portfolio"].state.runtime.uow.transaction() as session:
        await session.exec(update(Student).where(col(Student.id) == AVA).values(language="es"))
    await signed_in_as(web, AVA)
    assert (await send_photo(web, photo(), title="My robot")).status_code == 303
    landing = await signed_in_as(web, "t-rivera")
    assert landing.status_code == 200
    student = await web.get(f"/teacher/students/{AVA}")
    assert f'href="{PAGE}"' in student.text  # (from the student's page)

    form = await web.get(PAGE)
    text = text_of(form)
    assert "Record a reflection with Ava" in text
    assert 'name="prompt" value="glows"' in form.text
    (piece,) = (await system.portfolio.get(f"/students/{AVA}/evidence", headers=TEACHER)).json()
    assert f"/teacher/review/{AVA}/{piece['id']}/preview" in form.text  # (chosen by its picture)

    saved = await post(
        web,
        ("said.wav", sound_recording(), "audio/wav"),
        prompt="glows",
        about=piece["id"],
        words="I made the arms move",
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"{PAGE}?done=1")
    (kept,) = await reflections(system)
    assert kept["spoken"] == "glows"
    assert kept["evidence_id"] == piece["id"]
    assert kept["glows"] == "I made the arms move"
    assert kept["language"] == "es"  # (the child's, from the roster: not the teacher's page's)
    done = await web.get(saved.headers["location"])
    played = f"/teacher/students/{AVA}/reflections/{kept['id']}/recording"
    assert "Saved in Ava's portfolio" in text_of(done)
    assert f'src="{played}"' in done.text
    assert (await web.get(played)).content == sound_recording()

    # Typed as she says it, with nothing recorded: kept too, on the term.
    typed = await post(web, prompt="grows", words="Reading long words")
    assert typed.status_code == 303, typed.text
    newest = (await reflections(system))[0]
    assert (newest["grows"], newest["evidence_id"], newest["spoken"]) == (
        "Reading long words",
        None,
        None,
    )

    # Ava hears it on her work, as her own.
    await signed_in_as(web, AVA)
    mine = f"/student/reflections/{kept['id']}/recording"
    assert f'src="{mine}"' in (await web.get("/student/work")).text


async def test_what_cannot_be_kept_is_said_beside_the_field(
    web: httpx.AsyncClient,
    system: System,
    ava: str,  # noqa: F811
) -> None:
    await signed_in_as(web, "t-rivera")
    unknown_piece = "6f0c8f3e-0000-4000-8000-000000000000"
    for fields, recording, status, field, words in [
        ({"words": "Circles roll"}, None, 422, "prompt", "Choose what the reflection answers."),
        ({"prompt": "glows"}, None, 422, "recording", "Record what the student says, or type it"),
        (
            {"prompt": "glows", "words": "Squares have corners"},
            ("photo.png", photo(), "image/png"),
            415,
            "recording",
            "This is not a sound recording.",
        ),
        (
            {"prompt": "glows", "words": "Triangles point up"},
            ("said.mp3", b"ID3" + bytes(200), "audio/mpeg"),
            422,
            "recording",
            "This recording could not be read.",
        ),
        (
            {"prompt": "glows", "about": "../../etc", "words": "Hexagons tile"},
            None,
            422,
            "about",
            "Choose the term or one of the student's own pieces of work.",
        ),
        (
            {"prompt": "glows", "about": unknown_piece, "words": "Ovals are eggs"},
            None,
            422,  # (portfolio's ``not_in_portfolio``)
            "about",
            "Choose the term or one of the student's own pieces of work.",
        ),
        (
            {"prompt": "glows", "words": "w" * 2001},
            None,
            422,
            "words",
            "Type at most 2000 characters.",
        ),
    ]:
        refused = await post(web, recording, **fields)
        assert refused.status_code == status, (fields, refused.text)
        text = text_of(refused)
        assert words in text, (fields, text)
        assert f'href="#{field}"' in text, fields
        if "words" in fields:  # (what was typed is kept)
            assert f">{fields['words'][:2000]}</textarea>" in text, fields
    assert await reflections(system) == []

    # A student who has left the roster: said above the form, nothing kept.
    withdrawn = await system.portfolio.delete(f"/roster/students/{AVA}", headers=ADMIN)
    assert withdrawn.status_code == 200, withdrawn.text
    left = await post(web, prompt="glows", words="Goodbye")
    assert left.status_code == 409
    assert "This student has left the school's roster" in text_of(left)
    assert 'href="#form"' in left.text and 'id="form"' in left.text
    assert await reflections(system) == []


async def test_a_recording_larger_than_the_web_front_takes_gets_the_form_again(
    small_web: httpx.AsyncClient,  # noqa: F811
    system: System,
    ava: str,  # noqa: F811
) -> None:
    await signed_in_as(small_web, "t-rivera")
    too_long = await post(
        small_web, ("voice.webm", os.urandom(60_000), "audio/webm"), prompt="glows"
    )
    assert too_long.status_code == 413
    assert "This recording is too big." in text_of(too_long)
    assert 'href="#recording"' in too_long.text
    assert await reflections(system) == []


async def test_only_the_students_teachers_reach_the_page(
    web: httpx.AsyncClient,
    system: System,
    ava: str,  # noqa: F811
) -> None:
    # Another school's student: not one of t-rivera's.
    await enroll(
        system,
        student_id="s-noa",
        site="mjds",
        given_name="Noa",
        guardian_id="g-dana",
        teacher_id="t-cohen",
    )
    await signed_in_as(web, "t-rivera")
    assert (await web.get("/teacher/students/s-noa/reflect")).status_code == 404
    assert (await web.get("/teacher/students/not%20an%20id/reflect")).status_code == 404
    form = await web.get(PAGE)
    posted = await web.post(
        "/teacher/students/s-noa/reflect",
        data={"csrf_token": csrf_token(form), "prompt": "glows", "about": "term", "words": "x"},
    )
    assert posted.status_code == 404
    noa = await system.portfolio.get(
        "/students/s-noa/reflections", headers=auth("t-cohen", Role.TEACHER, sites=("mjds",))
    )
    assert noa.json() == []
    # A student or a family is told the page is not theirs.
    await signed_in_as(web, AVA)
    assert (await web.get(PAGE)).status_code == 403


async def test_a_recording_too_big_while_portfolio_is_not_answering_is_no_500(
    system: System,
    ava: str,  # noqa: F811
) -> None:
    """The answer to a body too large is made outside the app's error pages: with portfolio
    not answering, the plain page says it is too big."""
    real = service_transports(system)["portfolio"]
    down = False

    class Flaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if down:
                raise httpx.ConnectError("connection refused", request=request)
            return await real.handle_async_request(request)

    transports = {**service_transports(system), "portfolio": Flaky()}
    app = build_app(web_settings(evidence_upload_max_bytes=50_000), transports=transports)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web,
    ):
        await signed_in_as(web, "t-rivera")
        form = await web.get(PAGE)
        down = True
        too_long = await web.post(
            PAGE,
            data={"csrf_token": csrf_token(form), "prompt": "glows", "about": "term"},
            files={"recording": ("voice.webm", os.urandom(60_000), "audio/webm")},
        )
    assert too_long.status_code == 413, too_long.text
