"""A teacher records a reflection with a young student (``/teacher/students/<id>/reflect``),
against the real services: said aloud, or typed as the child says it, kept in the child's
portfolio as theirs in the child's language, played back on the page and heard by the child;
refusals in words beside the field (never a 500); another teacher's student unreachable."""

from __future__ import annotations

import os
from typing import Any

import httpx

from shared.auth import Role
from tests.integration.conftest import System, enroll
from tests.support import auth, sound_recording
from tests.web.conftest import csrf_token, signed_in_as, text_of
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
    # Ava has a drawing to talk about.
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
    assert kept["language"] == "en"  # (the child's, from the roster: not the teacher's page's)
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
    for fields, recording, field, words in [
        ({"words": "hello"}, None, "prompt", "Choose what the reflection answers."),
        ({"prompt": "glows"}, None, "recording", "Record what the student says, or type it"),
        (
            {"prompt": "glows"},
            ("photo.png", photo(), "image/png"),
            "recording",
            "This is not a sound recording.",
        ),
        ({"prompt": "glows", "about": "../../etc", "words": "x"}, None, "about", "cannot be used"),
        (
            {"prompt": "glows", "about": "6f0c8f3e-0000-4000-8000-000000000000", "words": "x"},
            None,
            "about",
            "cannot be used",
        ),
    ]:
        refused = await post(web, recording, **fields)
        assert refused.status_code in (404, 415, 422), (fields, refused.text)
        text = text_of(refused)
        assert words in text, (fields, text)
        assert f'href="#{field}"' in text, fields
        assert fields.get("words", "") in text  # (what was typed is kept)
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
