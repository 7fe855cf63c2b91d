"""Reflections and sentence starters through portfolio's HTTP API, on SQLite and PostgreSQL:
who writes and reads them, the rows kept, the events recorded, the starters each child sees."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update
from sqlmodel import col, func, select

from services.portfolio.evidence.tables import Evidence
from services.portfolio.reflections.tables import Reflection, SentenceStarter
from services.portfolio.tables import Student
from shared.auth import Role
from shared.events import ReflectionAdded
from shared.messaging.tables import OutboxMessage
from shared.messaging.unit_of_work import UnitOfWork
from tests.integration.conftest import ADMIN, System, enroll, put_in_class
from tests.support import auth, count, sound_recording

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

AVA = auth("s-ava", Role.STUDENT)
GIO = auth("s-gio", Role.STUDENT)
WEI = auth("g-wei", Role.GUARDIAN)  # Ava's father
RIVERA = auth("t-rivera", Role.TEACHER, sites=("conway",))  # Ava's and Gio's teacher
CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
REFLECTIONS = "/students/s-ava/reflections"


def portfolio(system: System) -> UnitOfWork:
    return system.apps["portfolio"].state.runtime.uow  # type: ignore[no-any-return]


async def ava_and_gio(system: System) -> None:
    """Ava (grade 3, reads Spanish at home) and Gio (a kindergartner who reads Vietnamese) at
    Conway, both in Ms Rivera's class."""
    await enroll(system, student_id="s-ava", site="conway", given_name="Ava", guardian_id="g-wei")
    await enroll(system, student_id="s-gio", site="conway", given_name="Gio", guardian_id="g-maria")
    kindergarten = {"site": "conway", "given_name": "Gio", "family_name": "Test", "grade": "KG"}
    response = await system.portfolio.put(
        "/roster/students/s-gio", json=kindergarten, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    await put_in_class(
        system, "room-4", site="conway", teachers=["t-rivera"], students=["s-ava", "s-gio"]
    )
    async with portfolio(system).transaction() as session:
        for student_id, language in (("s-ava", "es-MX"), ("s-gio", "vi")):
            await session.exec(
                update(Student).where(col(Student.id) == student_id).values(language=language)
            )


async def add_evidence(system: System, student_id: str, *, status: str = "submitted") -> str:
    """A work sample in the student's portfolio, as the evidence routes keep it."""
    evidence = Evidence(
        district="demo",
        site="conway",
        student_id=student_id,
        kind="text",
        title="All the shapes I know",
        text="circle, square, triangle",
        status=status,
        added_by=student_id,
    )
    async with portfolio(system).transaction() as session:
        session.add(evidence)
    return evidence.id


async def last_seq(system: System) -> int:
    async with portfolio(system).read() as session:
        return int((await session.exec(select(func.max(OutboxMessage.seq)))).one() or 0)


async def recorded(system: System, *, after: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(stream, subject, data) of each event portfolio recorded after ``after``, in order."""
    async with portfolio(system).read() as session:
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.seq) > after)
                .order_by(col(OutboxMessage.seq))
            )
        ).all()
    found = []
    for row in rows:
        fields = json.loads(row.fields)
        found.append((row.stream, fields["subject"], json.loads(fields["data"])))
    return found


async def test_ava_reflects_on_her_work_and_on_the_term(system: System) -> None:
    await ava_and_gio(system)
    evidence_id = await add_evidence(system, "s-ava")
    seq = await last_seq(system)

    on_work = await system.portfolio.post(
        REFLECTIONS,
        json={
            "evidence_id": evidence_id,
            "glows": "I am proud of my triangle",
            "next_steps": "Next I will draw a hexagon",
        },
        headers=AVA,
    )
    assert on_work.status_code == 201, on_work.text
    on_term = await system.portfolio.post(
        REFLECTIONS,
        json={"grows": "I am still working on my times tables", "language": "en"},
        headers=AVA,
    )
    assert on_term.status_code == 201, on_term.text

    async with portfolio(system).read() as session:
        rows = {
            row.id: row
            for row in (
                await session.exec(select(Reflection).where(Reflection.student_id == "s-ava"))
            ).all()
        }
    work, term = rows[on_work.json()["id"]], rows[on_term.json()["id"]]
    assert (work.evidence_id, work.glows, work.next_steps, work.grows) == (
        evidence_id,
        "I am proud of my triangle",
        "Next I will draw a hexagon",
        None,
    )
    assert (work.language, work.written_by, work.site) == ("es-MX", "s-ava", "conway")
    assert (term.evidence_id, term.language) == (None, "en")

    events = await recorded(system, after=seq)
    assert events == [
        (
            ReflectionAdded.stream(),
            "s-ava",
            {
                "reflection_id": work.id,
                "student_id": "s-ava",
                "evidence_id": evidence_id,
                "prompts": ["glows", "next_steps"],
                "spoken": False,
                "written_by": "s-ava",
                "evidence_title": "All the shapes I know",
                # (On work still waiting for review: her family may not read it yet.)
                "guardian_ids": [],
            },
        ),
        (
            ReflectionAdded.stream(),
            "s-ava",
            {
                "reflection_id": term.id,
                "student_id": "s-ava",
                "evidence_id": None,
                "prompts": ["grows"],
                "spoken": False,
                "written_by": "s-ava",
                "evidence_title": None,
                "guardian_ids": ["g-wei"],  # (on the term: her father may read it)
            },
        ),
    ]


async def test_a_teacher_writes_down_gios_reflection_and_nobody_else_may(
    system: System,
) -> None:
    await ava_and_gio(system)
    avas_work = await add_evidence(system, "s-ava")
    path = "/students/s-gio/reflections"
    said = {"glows": "I am proud of my shapes"}

    written = await system.portfolio.post(path, json=said, headers=RIVERA)
    assert written.status_code == 201, written.text
    assert (written.json()["written_by"], written.json()["language"]) == ("t-rivera", "vi")

    refusals = {
        "guardian": await system.portfolio.post(
            path, json=said, headers=auth("g-maria", Role.GUARDIAN)
        ),
        "another student": await system.portfolio.post(path, json=said, headers=AVA),
        "another site's admin": await system.portfolio.post(path, json=said, headers=MJDS_ADMIN),
        "no prompt answered": await system.portfolio.post(path, json={}, headers=GIO),
        "too long": await system.portfolio.post(path, json={"hard": "a" * 2001}, headers=GIO),
        "control characters": await system.portfolio.post(
            path, json={"hard": "Letters\x07"}, headers=GIO
        ),
        "Ava's evidence": await system.portfolio.post(
            path, json={**said, "evidence_id": avas_work}, headers=GIO
        ),
        "no such evidence": await system.portfolio.post(
            path, json={**said, "evidence_id": "e-nothing"}, headers=GIO
        ),
    }
    assert {why: response.status_code for why, response in refusals.items()} == {
        "guardian": 403,
        "another student": 404,
        "another site's admin": 404,
        "no prompt answered": 422,
        "too long": 422,
        "control characters": 422,
        "Ava's evidence": 422,
        "no such evidence": 422,
    }
    assert "not in student 's-gio'" in refusals["Ava's evidence"].json()["detail"]

    withdrawn = await system.portfolio.delete("/roster/students/s-gio", headers=ADMIN)
    assert withdrawn.status_code == 200
    late = await system.portfolio.post(path, json=said, headers=GIO)
    assert (late.status_code, late.json()["detail"]) == (
        409,
        "student 's-gio' is withdrawn from the roster",
    )
    assert await count(portfolio(system), Reflection) == 1


async def test_a_family_sees_term_reflections_and_those_on_approved_work(system: System) -> None:
    await ava_and_gio(system)
    written = []
    for status in (None, "approved", "submitted", "returned"):
        evidence_id = await add_evidence(system, "s-ava", status=status) if status else None
        response = await system.portfolio.post(
            REFLECTIONS,
            json={"evidence_id": evidence_id, "learned": f"Reflection on {status or 'the term'}"},
            headers=AVA,
        )
        assert response.status_code == 201, response.text
        written.append(response.json()["id"])

    newest_first = list(reversed(written))
    for caller in (AVA, RIVERA, ADMIN):
        seen = await system.portfolio.get(REFLECTIONS, headers=caller)
        assert [r["id"] for r in seen.json()] == newest_first
    family = await system.portfolio.get(REFLECTIONS, headers=WEI)
    assert family.status_code == 200
    assert [r["learned"] for r in family.json()] == [
        "Reflection on approved",
        "Reflection on the term",
    ]
    stranger = await system.portfolio.get(REFLECTIONS, headers=auth("g-maria", Role.GUARDIAN))
    assert stranger.status_code == 404


async def test_gio_says_what_he_is_proud_of_and_his_family_hears_it(system: System) -> None:
    """A kindergartner answers a prompt aloud instead of typing: the recording is kept, heard
    by whoever may read the reflection, and announced (never carried) on the stream."""
    await ava_and_gio(system)
    approved = await add_evidence(system, "s-gio", status="approved")
    waiting = await add_evidence(system, "s-gio")
    seq = await last_seq(system)
    spoken = "/students/s-gio/reflections/spoken"

    said = await system.portfolio.post(
        spoken,
        data={"prompt": "glows", "evidence_id": approved},
        files={"recording": ("voice.wav", sound_recording(), "audio/wav")},
        headers=GIO,
    )
    assert said.status_code == 201, said.text
    body = said.json()
    assert (body["spoken"], body["recording_type"], body["glows"]) == ("glows", "audio/wav", None)
    assert body["language"] == "vi"  # (his, as the roster says)
    # His teacher, recording with him, types his words too; on work not yet approved.
    also_typed = await system.portfolio.post(
        spoken,
        data={"prompt": "next_steps", "evidence_id": waiting, "words": "Draw my dog"},
        files={"recording": ("voice.wav", sound_recording(), "audio/wav")},
        headers=RIVERA,
    )
    assert also_typed.status_code == 201, also_typed.text
    assert (also_typed.json()["spoken"], also_typed.json()["next_steps"]) == (
        "next_steps",
        "Draw my dog",
    )

    def recording_of(reflection: dict[str, Any]) -> str:
        return f"/students/s-gio/reflections/{reflection['id']}/recording"

    maria = auth("g-maria", Role.GUARDIAN)
    for caller in (GIO, RIVERA, maria):
        heard = await system.portfolio.get(recording_of(body), headers=caller)
        assert heard.status_code == 200, heard.text
        assert heard.content == sound_recording()
        assert heard.headers["content-type"] == "audio/wav"
        assert heard.headers["x-content-type-options"] == "nosniff"
    # The family hears what it may read: not a reflection on work still waiting for review.
    assert (
        await system.portfolio.get(recording_of(also_typed.json()), headers=maria)
    ).status_code == 404
    assert (
        await system.portfolio.get(recording_of(also_typed.json()), headers=GIO)
    ).status_code == 200
    # Not another child, nor another family.
    assert (await system.portfolio.get(recording_of(body), headers=AVA)).status_code == 404
    assert (await system.portfolio.get(recording_of(body), headers=WEI)).status_code == 404
    # A player asks for parts of it (Safari's before it plays): each part, and 416 past its end.
    whole = sound_recording()
    assert heard.headers["accept-ranges"] == "bytes"
    for asked, part, content_range in (
        ("bytes=0-3", whole[:4], f"bytes 0-3/{len(whole)}"),
        ("bytes=10-", whole[10:], f"bytes 10-{len(whole) - 1}/{len(whole)}"),
        ("bytes=-4", whole[-4:], f"bytes {len(whole) - 4}-{len(whole) - 1}/{len(whole)}"),
        ("bytes=0-99999999", whole, f"bytes 0-{len(whole) - 1}/{len(whole)}"),
    ):
        ranged = await system.portfolio.get(recording_of(body), headers={**GIO, "Range": asked})
        assert ranged.status_code == 206, (asked, ranged.text)
        assert (ranged.content, ranged.headers["content-range"]) == (part, content_range)
    past = await system.portfolio.get(
        recording_of(body), headers={**GIO, "Range": f"bytes={len(whole)}-"}
    )
    assert (past.status_code, past.headers["content-range"]) == (416, f"bytes */{len(whole)}")
    several = await system.portfolio.get(
        recording_of(body), headers={**GIO, "Range": "bytes=0-1,4-5"}
    )
    assert (several.status_code, several.content) == (200, whole)  # (the whole, as HTTP allows)
    # A long one, past the 1 MB every other form is held to (a minute and more of speech).
    long = await system.portfolio.post(
        spoken,
        data={"prompt": "learned"},
        files={"recording": ("long.wav", sound_recording(seconds=80), "audio/wav")},
        headers=GIO,
    )
    assert long.status_code == 201, long.text[:300]
    # A reflection only written has no recording.
    typed = await system.portfolio.post(
        "/students/s-gio/reflections", json={"learned": "Shapes"}, headers=GIO
    )
    missing = await system.portfolio.get(recording_of(typed.json()), headers=GIO)
    assert missing.status_code == 404 and "not said aloud" in missing.text

    events = await recorded(system, after=seq)
    assert [(stream, data["prompts"], data["spoken"]) for stream, _, data in events] == [
        (ReflectionAdded.stream(), ["glows"], True),
        (ReflectionAdded.stream(), ["next_steps"], True),
        (ReflectionAdded.stream(), ["learned"], True),
        (ReflectionAdded.stream(), ["learned"], False),
    ]
    assert all("recording" not in json.dumps(data) for _, _, data in events)


async def test_a_spoken_reflection_refuses_what_is_not_a_recording_in_words(
    system: System,
) -> None:
    await ava_and_gio(system)
    spoken = "/students/s-gio/reflections/spoken"

    async def say(data: dict[str, str], file: tuple[str, bytes, str], **headers: Any) -> Any:
        return await system.portfolio.post(
            spoken, data=data, files={"recording": file}, headers=headers or GIO
        )

    not_sound = await say({"prompt": "glows"}, ("photo.wav", _photo(), "audio/wav"))
    assert not_sound.status_code == 415, not_sound.text
    assert "a reflection said aloud is a sound recording" in not_sound.text
    garbage = await say({"prompt": "glows"}, ("voice.wav", b"RIFF\x00\x00", "audio/wav"))
    assert garbage.status_code in (415, 422), garbage.text
    empty = await say({"prompt": "glows"}, ("voice.wav", b"", "audio/wav"))
    assert empty.status_code in (415, 422), empty.text
    bad_piece = await system.portfolio.post(
        spoken,
        data={"prompt": "glows", "evidence_id": "../../etc"},
        files={"recording": ("voice.wav", sound_recording(), "audio/wav")},
        headers=GIO,
    )
    assert bad_piece.status_code == 422, bad_piece.text
    no_prompt = await say({}, ("voice.wav", sound_recording(), "audio/wav"))
    assert no_prompt.status_code == 422 and "prompt" in no_prompt.text
    wrong_prompt = await say({"prompt": "feelings"}, ("voice.wav", sound_recording(), "audio/wav"))
    assert wrong_prompt.status_code == 422
    others = await say({"prompt": "glows"}, ("voice.wav", sound_recording(), "audio/wav"), **AVA)
    assert others.status_code == 404
    family = await say(
        {"prompt": "glows"},
        ("voice.wav", sound_recording(), "audio/wav"),
        **auth("g-maria", Role.GUARDIAN),
    )
    assert family.status_code == 403
    not_his = await say(
        {"prompt": "glows", "evidence_id": await add_evidence(system, "s-ava")},
        ("voice.wav", sound_recording(), "audio/wav"),
    )
    assert not_his.status_code == 422, not_his.text  # (as for a written one)
    assert not_his.json()["refusal"] == "not_in_portfolio"
    assert await count(portfolio(system), Reflection, col(Reflection.student_id) == "s-gio") == 0


def _photo() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(image, "PNG")
    return image.getvalue()


async def test_each_child_gets_starters_for_their_grade_in_their_language(system: System) -> None:
    await ava_and_gio(system)

    gio = await system.portfolio.get("/students/s-gio/sentence-starters", headers=GIO)
    assert gio.status_code == 200, gio.text
    assert {k: gio.json()[k] for k in ("grade_band", "language", "direction", "source")} == {
        "grade_band": "K-2",
        "language": "vi",
        "direction": "ltr",
        "source": "built-in",
    }
    assert gio.json()["starters"]["glows"][0] == "Em tự hào về …"

    arabic = await system.portfolio.get(
        "/students/s-gio/sentence-starters", params={"language": "ar"}, headers=RIVERA
    )
    assert (arabic.json()["language"], arabic.json()["direction"]) == ("ar", "rtl")
    # Nobody wrote any in French: the student's own language, then.
    french = await system.portfolio.get(
        "/students/s-gio/sentence-starters", params={"language": "fr"}, headers=GIO
    )
    assert french.json()["language"] == "vi"

    # Ava reads Spanish (es-MX): the Spanish starters for grades 3-5; her father sees them too.
    ava = await system.portfolio.get("/students/s-ava/sentence-starters", headers=WEI)
    assert (ava.json()["grade_band"], ava.json()["language"]) == ("3-5", "es")
    assert ava.json()["starters"]["grows"][0] == "Todavía estoy trabajando en …"
    english = await system.portfolio.get(
        "/students/s-ava/sentence-starters", params={"language": "en-US"}, headers=AVA
    )
    assert english.json()["starters"]["glows"][0] == "I am proud of … because …"
    hidden = await system.portfolio.get("/students/s-ava/sentence-starters", headers=GIO)
    assert hidden.status_code == 404


async def test_a_sites_starters_replace_the_districts_which_replace_the_built_in(
    system: System,
) -> None:
    await ava_and_gio(system)
    district_set = {"glows": ["I showed kindness when …", "I showed courage when …"]}
    conway_set = {"glows": ["I was a Conway Star when …"], "next_steps": ["Tomorrow I will …"]}

    async def offered() -> tuple[str, dict[str, list[str]]]:
        response = await system.portfolio.get(
            "/students/s-gio/sentence-starters", params={"language": "en"}, headers=GIO
        )
        assert response.status_code == 200, response.text
        return response.json()["source"], response.json()["starters"]

    put = await system.portfolio.put(
        "/sentence-starters/district/K-2/en", json={"starters": district_set}, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    source, starters = await offered()
    assert (source, starters["glows"], starters["grows"]) == ("district", district_set["glows"], [])

    put = await system.portfolio.put(
        "/sentence-starters/conway/K-2/en", json={"starters": conway_set}, headers=CONWAY_ADMIN
    )
    assert put.status_code == 200, put.text
    assert await offered() == (
        "conway",
        {
            "glows": conway_set["glows"],
            "grows": [],
            "learned": [],
            "hard": [],
            "next_steps": conway_set["next_steps"],
        },
    )
    # Replacing a set leaves only the new one.
    again = {"glows": ["I was a Conway Star today when …"]}
    put = await system.portfolio.put(
        "/sentence-starters/conway/K-2/en", json={"starters": again}, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    assert (await offered())[1]["glows"] == again["glows"]
    async with portfolio(system).read() as session:
        rows = (
            await session.exec(
                select(
                    SentenceStarter.scope, SentenceStarter.prompt, SentenceStarter.text
                ).order_by(col(SentenceStarter.scope), col(SentenceStarter.position))
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("conway", "glows", "I was a Conway Star today when …"),
        ("district", "glows", "I showed kindness when …"),
        ("district", "glows", "I showed courage when …"),
    ]

    listed = await system.portfolio.get(
        "/sentence-starters/conway", params={"grade_band": "K-2"}, headers=RIVERA
    )
    assert listed.status_code == 200, listed.text
    assert [(s["language"], s["source"]) for s in listed.json()] == [
        ("en", "conway"),
        ("es", "built-in"),
        ("vi", "built-in"),
        ("zh-Hans", "built-in"),
        ("ar", "built-in"),
    ]
    district_wide = await system.portfolio.get(
        "/sentence-starters/district", params={"language": "EN"}, headers=ADMIN
    )
    assert [(s["grade_band"], s["source"]) for s in district_wide.json()] == [
        ("K-2", "district"),
        ("3-5", "built-in"),
        ("6-8", "built-in"),
        ("9-12", "built-in"),
    ]

    removed = await system.portfolio.delete(
        "/sentence-starters/conway/K-2/en", headers=CONWAY_ADMIN
    )
    assert removed.status_code == 204
    assert (await offered())[0] == "district"
    removed = await system.portfolio.delete("/sentence-starters/district/K-2/en", headers=ADMIN)
    assert removed.status_code == 204
    assert (await offered())[0] == "built-in"
    again_removed = await system.portfolio.delete(
        "/sentence-starters/district/K-2/en", headers=ADMIN
    )
    assert again_removed.status_code == 404
    assert await count(portfolio(system), SentenceStarter) == 0


async def test_who_may_change_starters_and_what_they_may_say(system: System) -> None:
    await ava_and_gio(system)
    good = {"starters": {"glows": ["I am proud of …"]}}

    async def put(path: str, body: Any, headers: dict[str, str]) -> int:
        return (await system.portfolio.put(path, json=body, headers=headers)).status_code

    assert {
        "site admin, the district's": await put(
            "/sentence-starters/district/K-2/en", good, CONWAY_ADMIN
        ),
        "site admin, another site's": await put(
            "/sentence-starters/conway/K-2/en", good, MJDS_ADMIN
        ),
        "teacher": await put("/sentence-starters/conway/K-2/en", good, RIVERA),
        "student": await put("/sentence-starters/conway/K-2/en", good, AVA),
        "guardian": await put("/sentence-starters/conway/K-2/en", good, WEI),
        "no such site": await put("/sentence-starters/atlantis/K-2/en", good, ADMIN),
        "no such band": await put("/sentence-starters/conway/K-3/en", good, ADMIN),
        "not a language": await put("/sentence-starters/conway/K-2/english!", good, ADMIN),
        "no such prompt": await put(
            "/sentence-starters/conway/K-2/en", {"starters": {"wishes": ["I wish …"]}}, ADMIN
        ),
        "too long": await put(
            "/sentence-starters/conway/K-2/en", {"starters": {"glows": ["a" * 201]}}, ADMIN
        ),
        "too many": await put(
            "/sentence-starters/conway/K-2/en",
            {"starters": {"glows": [f"I can {n} …" for n in range(21)]}},
            ADMIN,
        ),
        "a line break": await put(
            "/sentence-starters/conway/K-2/en", {"starters": {"glows": ["I can\n…"]}}, ADMIN
        ),
        "none at all": await put("/sentence-starters/conway/K-2/en", {"starters": {}}, ADMIN),
    } == {
        "site admin, the district's": 403,
        "site admin, another site's": 403,
        "teacher": 403,
        "student": 403,
        "guardian": 403,
        "no such site": 404,
        "no such band": 422,
        "not a language": 422,
        "no such prompt": 422,
        "too long": 422,
        "too many": 422,
        "a line break": 422,
        "none at all": 422,
    }
    assert await count(portfolio(system), SentenceStarter) == 0
    assert (await system.portfolio.get("/sentence-starters/conway", headers=WEI)).status_code == 403
    assert await put("/sentence-starters/conway/9-12/zh-hans", good, CONWAY_ADMIN) == 200
    async with portfolio(system).read() as session:
        kept = (await session.exec(select(SentenceStarter))).one()
    assert (kept.scope, kept.grade_band, kept.language, kept.text) == (
        "conway",
        "9-12",
        "zh-Hans",
        "I am proud of …",
    )
