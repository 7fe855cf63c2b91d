"""A child's portfolio on the family's page, against the real services: the goals with their
progress, only the evidence a teacher approved (with its file through the web front and what the
student reflected), the conference plan only once it is ready, and another family's child
refused."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from shared.auth import Role
from tests.integration.conftest import ADMIN, System
from tests.support import auth, sound_recording
from tests.web.conftest import Family, NewFamily, signed_in

TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))


@pytest.fixture(autouse=True)
def files_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Portfolio's files on a local disk of the test's own (set before ``system`` starts)."""
    root = tmp_path / "files"
    monkeypatch.setenv("PORTFOLIO_FILES_URL", f"file:{root}")
    return root


def student_of(family: Family) -> dict[str, str]:
    return auth(family.student_id, Role.STUDENT, students=(family.student_id,))


async def add_text(system: System, family: Family, title: str, text: str) -> str:
    added = await system.portfolio.post(
        f"/students/{family.student_id}/evidence",
        json={"kind": "text", "title": title, "text": text},
        headers=student_of(family),
    )
    assert added.status_code == 201, added.text
    return str(added.json()["id"])


async def approve(system: System, family: Family, evidence_id: str) -> None:
    approved = await system.portfolio.post(
        f"/students/{family.student_id}/evidence/{evidence_id}/approve", headers=TEACHER
    )
    assert approved.status_code == 200, approved.text


async def reflect(system: System, family: Family, evidence_id: str | None, glows: str) -> None:
    written = await system.portfolio.post(
        f"/students/{family.student_id}/reflections",
        json={"evidence_id": evidence_id, "glows": glows},
        headers=student_of(family),
    )
    assert written.status_code == 201, written.text


async def set_goal_with_progress(system: System, family: Family) -> None:
    goal = await system.portfolio.post(
        f"/students/{family.student_id}/goals",
        json={"title": "Read a chapter book on my own", "area": "reading"},
        headers=student_of(family),
    )
    assert goal.status_code == 201, goal.text
    progressed = await system.portfolio.post(
        f"/students/{family.student_id}/goals/{goal.json()['id']}/progress",
        json={"note": "I read three chapters by myself", "percent": 60},
        headers=student_of(family),
    )
    assert progressed.status_code in (200, 201), progressed.text


async def test_the_family_sees_goals_and_approved_work_in_the_students_words(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    shown = await add_text(system, family, "My volcano model", "Lava comes out of the top.")
    await add_text(system, family, "My first draft", "Not finished yet.")
    await approve(system, family, shown)
    await reflect(system, family, shown, "I made the lava flow & bubble")
    await set_goal_with_progress(system, family)

    home = await signed_in(web, family)
    link = f"/family/children/{family.student_id}/portfolio"
    assert link in home.text
    page = await web.get(link)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Ava's portfolio" in text
    assert "My volcano model" in text and "Lava comes out of the top." in text
    assert "My first draft" not in text and "Not finished yet." not in text
    assert "I made the lava flow & bubble" in text  # (escaped in the page, as written)
    assert "I am proud of" in text and "What Ava thinks about it" in text
    assert "Read a chapter book on my own" in text and "60% of the way" in text
    assert "I read three chapters by myself" in text
    assert "will show you at the conference" not in text


async def test_a_photo_is_served_through_the_web_front_with_the_familys_link(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(image, "PNG")
    uploaded = await system.portfolio.post(
        f"/students/{family.student_id}/evidence/files",
        files={"file": ("drawing.png", image.getvalue(), "image/png")},
        data={"title": "All the shapes I know"},
        headers=student_of(family),
    )
    assert uploaded.status_code == 201, uploaded.text
    piece = uploaded.json()["id"]
    await signed_in(web, family)
    before = await web.get(f"/family/children/{family.student_id}/evidence/{piece}/file")
    assert before.status_code == 404  # (not approved yet: the family may not see it)
    await approve(system, family, piece)
    page = html.unescape((await web.get(f"/family/children/{family.student_id}/portfolio")).text)
    file_address = f"/family/children/{family.student_id}/evidence/{piece}/file"
    preview_address = f"/family/children/{family.student_id}/evidence/{piece}/preview"
    assert file_address in page and preview_address in page
    assert family.link not in page
    for address in (file_address, preview_address):
        served = await web.get(address)
        assert served.status_code == 200, served.text
        assert served.headers["content-type"].startswith("image/")
        assert served.headers["x-content-type-options"] == "nosniff"
        Image.open(io.BytesIO(served.content)).verify()


async def test_the_plan_shows_only_once_the_teacher_marks_it_ready(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    today = datetime.now(UTC).date()
    cycle = await system.portfolio.post(
        "/sites/conway/cycles",
        json={
            "name": "Fall 2026",
            "starts_on": (today - timedelta(days=30)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        },
        headers=ADMIN,
    )
    assert cycle.status_code == 201, cycle.text
    cycle_id = cycle.json()["id"]
    piece = await add_text(system, family, "My volcano model", "Lava comes out of the top.")
    await approve(system, family, piece)
    plan: dict[str, Any] = {
        "opening": "Welcome to my conference!",
        "items": [{"type": "evidence", "id": piece, "say": "This is my best work"}],
        "questions": ["What are you proud of?"],
    }
    saved = await system.portfolio.put(
        f"/students/{family.student_id}/plans/{cycle_id}", json=plan, headers=student_of(family)
    )
    assert saved.status_code == 200, saved.text
    await signed_in(web, family)
    address = f"/family/children/{family.student_id}/portfolio"
    draft = html.unescape((await web.get(address)).text)
    assert "Welcome to my conference!" not in draft
    ready = await system.portfolio.post(
        f"/students/{family.student_id}/plans/{cycle_id}/ready", headers=TEACHER
    )
    assert ready.status_code == 200, ready.text
    shown = html.unescape((await web.get(address)).text)
    assert "What Ava will show you at the conference" in shown
    assert "Welcome to my conference!" in shown and "This is my best work" in shown
    assert "What are you proud of?" in shown and "Fall 2026" in shown


async def test_another_familys_child_is_a_not_found_page(
    web: httpx.AsyncClient, system: System, family: Family, new_family: NewFamily
) -> None:
    other = await new_family("Gio")
    piece = await add_text(system, other, "Gio's poem", "Roses are red.")
    await approve(system, other, piece)
    await signed_in(web, family)
    for address in (
        f"/family/children/{other.student_id}/portfolio",
        f"/family/children/{other.student_id}/evidence/{piece}/file",
        "/family/children/no-such-child/portfolio",
        "/family/children/bad%20id!/portfolio",
        f"/family/children/{family.student_id}/evidence/{piece}/elsewhere",
    ):
        page = await web.get(address)
        assert page.status_code == 404, address
        assert page.headers["content-type"].startswith("text/html")
        assert "Gio" not in page.text and "Roses" not in page.text
    web.cookies.clear()
    assert (await web.get(f"/family/children/{family.student_id}/portfolio")).status_code == 401


async def test_the_family_sees_each_term_at_a_glance(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """Term by term (each conference cycle begun, from the child's first): the goals set and how
    each went, how much work and reflection the family may see; next year's term not yet."""
    today = datetime.now(UTC).date()
    for name, starts, ends in (
        ("Spring 2026", today - timedelta(days=200), today - timedelta(days=100)),
        ("Fall 2026", today - timedelta(days=30), today + timedelta(days=30)),
        ("Spring 2027", today + timedelta(days=60), today + timedelta(days=160)),
    ):
        cycle = await system.portfolio.post(
            "/sites/conway/cycles",
            json={"name": name, "starts_on": starts.isoformat(), "ends_on": ends.isoformat()},
            headers=ADMIN,
        )
        assert cycle.status_code == 201, cycle.text
    await set_goal_with_progress(system, family)
    volcano = await add_text(system, family, "My volcano", "Lava!")
    await approve(system, family, volcano)
    await reflect(system, family, volcano, "The lava looks real")
    waiting = await add_text(system, family, "Not approved yet", "...")
    await reflect(system, family, waiting, "Not shown yet")  # (a family sees approved work's)
    await reflect(system, family, None, "I read more this term")
    await signed_in(web, family)

    page = html.unescape((await web.get(f"/family/children/{family.student_id}/portfolio")).text)
    assert "Ava's growth, term by term" in page
    growth = page.split('id="growth"')[1].split("</section>")[0]
    # (Last spring the child had nothing yet: not their term. Next spring has not begun.)
    assert "Spring 2026" not in growth and "Spring 2027" not in growth
    (fall,) = growth.split('<h3 dir="auto">')[1:]
    assert fall.startswith("Fall 2026</h3>")
    assert '<span dir="auto">Read a chapter book on my own</span>: 60% of the way' in fall
    assert "1 piece of work and 2 reflections" in fall
    spanish = html.unescape(
        (
            await web.get(f"/family/children/{family.student_id}/portfolio", params={"lang": "es"})
        ).text
    )
    assert "El progreso de Ava, trimestre a trimestre" in spanish
    assert "1 trabajo y 2 reflexiones" in spanish


async def test_the_family_hears_what_the_child_said_aloud_about_approved_work(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    shown = await add_text(system, family, "My volcano model", "Lava comes out of the top.")
    waiting = await add_text(system, family, "My first draft", "Not finished yet.")
    await approve(system, family, shown)
    said = {}
    for piece in (shown, waiting):
        spoken = await system.portfolio.post(
            f"/students/{family.student_id}/reflections/spoken",
            data={"prompt": "glows", "evidence_id": piece},
            files={"recording": ("voice.wav", sound_recording(), "audio/wav")},
            headers=student_of(family),
        )
        assert spoken.status_code == 201, spoken.text
        said[piece] = spoken.json()["id"]

    await signed_in(web, family)
    page = html.unescape((await web.get(f"/family/children/{family.student_id}/portfolio")).text)
    heard = f"/family/children/{family.student_id}/reflections/{said[shown]}/recording"
    assert (
        f'<dt>I am proud of</dt>\n    <dd class="evidence-text" lang="en" dir="auto">'
        f'<audio class="spoken" controls preload="none" src="{heard}" aria-label="Listen">'
    ) in page, page
    assert said[waiting] not in page  # (on work not approved: between the child and teacher)
    assert family.link not in page
    served = await web.get(heard)
    assert served.status_code == 200, served.text
    assert served.content == sound_recording() and served.headers["content-type"] == "audio/wav"
    kept_from = f"/family/children/{family.student_id}/reflections/{said[waiting]}/recording"
    assert (await web.get(kept_from)).status_code == 404
    assert (
        await web.get(f"/family/children/{family.student_id}/reflections/x%20y/recording")
    ).status_code == 404


async def test_a_recorded_piece_plays_in_the_familys_page(
    web: httpx.AsyncClient, system: System, family: Family
) -> None:
    """A song or a reading the child recorded plays in the page (it was a link that
    downloaded a file), its parts served as the phone's player asks for them."""
    song = await system.portfolio.post(
        f"/students/{family.student_id}/evidence/files",
        files={"file": ("song.wav", sound_recording(), "audio/wav")},
        data={"title": "My song"},
        headers=student_of(family),
    )
    assert song.status_code == 201, song.text
    await approve(system, family, song.json()["id"])
    await signed_in(web, family)
    page = html.unescape((await web.get(f"/family/children/{family.student_id}/portfolio")).text)
    played = f"/family/children/{family.student_id}/evidence/{song.json()['id']}/file"
    assert (
        f'<audio class="spoken" controls preload="none" src="{played}" aria-label="My song">'
        f'<a href="{played}">Listen</a></audio>'
    ) in page, page
    part = await web.get(played, headers={"Range": "bytes=0-9"})
    assert (part.status_code, part.content) == (206, sound_recording()[:10])
    assert part.headers["content-range"] == f"bytes 0-9/{len(sound_recording())}"
    assert (await web.get(played)).content == sound_recording()
