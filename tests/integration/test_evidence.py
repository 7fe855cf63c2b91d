"""Evidence in a student's portfolio: added as text, link or file, reviewed by teachers, seen by
families once approved, tagged with the school's framework, discussed in comments.

All three services run in this process on a real Redis and on SQLite and PostgreSQL; files go
to a local-disk store in the test's own directory. Outcomes are read where they land: the
portfolio's rows, the bytes in the file store, and the events in its outbox.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image
from sqlmodel import col, select

from services.portfolio.evidence import uploads
from services.portfolio.evidence.refusing import conflict
from services.portfolio.evidence.tables import Comment, Evidence
from services.portfolio.files import LocalDiskStore
from shared.auth import Role
from shared.events import EvidenceAdded, EvidenceApproved
from shared.messaging.tables import OutboxMessage
from tests.integration.conftest import ADMIN, System, enroll, register_site
from tests.support import auth

# The school offices these tests sign in as are on the roster.
pytestmark = pytest.mark.usefixtures("offices")

AVA = auth("s-ava", Role.STUDENT)
GIO = auth("s-gio", Role.STUDENT)
WEI = auth("g-wei", Role.GUARDIAN)  # Ava's father
RIVERA = auth("t-rivera", Role.TEACHER, sites=("conway",))  # Ava's teacher
LEE = auth("t-lee", Role.TEACHER, sites=("conway",))  # Gio's teacher
CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
ADDED, APPROVED = EvidenceAdded.stream(), EvidenceApproved.stream()


@pytest.fixture(autouse=True)
def files_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The local-disk file store the portfolio service uses in these tests (set before the
    ``system`` fixture reads its settings)."""
    root = tmp_path / "files"
    monkeypatch.setenv("PORTFOLIO_FILES_URL", f"file:{root}")
    return root


async def conway_students(system: System) -> None:
    """Ava (father g-wei, in t-rivera's class) and Gio (mother g-maria, in t-lee's) at Conway."""
    await enroll(
        system,
        student_id="s-ava",
        site="conway",
        given_name="Ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
    )
    await enroll(
        system,
        student_id="s-gio",
        site="conway",
        given_name="Gio",
        guardian_id="g-maria",
        teacher_id="t-lee",
    )


async def add_text(
    system: System, headers: dict[str, str], student: str = "s-ava", **fields: Any
) -> httpx.Response:
    body = {"kind": "text", "title": "My story", "text": "Once upon a time.", **fields}
    return await system.portfolio.post(f"/students/{student}/evidence", json=body, headers=headers)


async def added(system: System, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await add_text(system, headers, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def upload(
    system: System,
    headers: dict[str, str],
    data: bytes,
    *,
    name: str = "photo.jpg",
    fields: dict[str, Any] | None = None,
) -> httpx.Response:
    return await system.portfolio.post(
        "/students/s-ava/evidence/files",
        files={"file": (name, data, "image/jpeg")},
        data={"title": "My drawing", **(fields or {})},
        headers=headers,
    )


async def rows(system: System) -> list[Evidence]:
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        return list(await session.exec(select(Evidence).order_by(col(Evidence.added_at))))


async def events(system: System) -> list[tuple[str, dict[str, Any]]]:
    """The evidence events in portfolio's outbox, in the order recorded: (stream, data)."""
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        found = (
            await session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.stream).in_([ADDED, APPROVED]))
                .order_by(col(OutboxMessage.seq))
            )
        ).all()
    return [(row.stream, json.loads(json.loads(row.fields)["data"])) for row in found]


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def photo_with_location() -> bytes:
    """A JPEG that says where it was taken (EXIF GPS) and with what camera."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 36.0, 22.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (122.0, 19.0, 51.0)
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 40)).save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data


# --- Adding ------------------------------------------------------------------------------------


async def test_text_and_links_wait_for_review_and_are_announced(system: System) -> None:
    await conway_students(system)
    story = await added(
        system, AVA, text="Once upon a time\n\n  there was a volcano.", learning_area="writing"
    )
    link = await system.portfolio.post(
        "/students/s-ava/evidence",
        json={"kind": "link", "title": "My video", "url": "https://example.org/ava/volcano"},
        headers=RIVERA,
    )
    assert link.status_code == 201, link.text

    assert [(row.kind, row.status, row.added_by) for row in await rows(system)] == [
        ("text", "submitted", "s-ava"),
        ("link", "submitted", "t-rivera"),
    ]
    assert story["text"] == "Once upon a time\n\n  there was a volcano."
    assert story["file_path"] is None
    hidden = await add_text(system, AVA, text="My story\nends \u202etxt.exe")
    assert hidden.status_code == 422, hidden.text
    assert "line 2 must be plain text" in hidden.json()["detail"]
    assert [
        (stream, data["evidence_id"], data["status"]) for stream, data in await events(system)
    ] == [
        (ADDED, story["id"], "submitted"),
        (ADDED, link.json()["id"], "submitted"),
    ]
    mine = await system.portfolio.get("/students/s-ava/evidence", headers=AVA)
    assert [piece["title"] for piece in mine.json()] == ["My video", "My story"]
    assert (await system.portfolio.get("/students/s-ava/evidence", headers=WEI)).json() == []
    no_file = await system.portfolio.get(
        f"/students/s-ava/evidence/{story['id']}/file", headers=AVA
    )
    assert no_file.status_code == 404, no_file.text


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(document.cookie)", "http:// or https://"),
        ("https://ava:hunter2@example.org/work", "user name or password"),
    ],
)
async def test_a_link_is_a_web_address_without_credentials(
    system: System, url: str, reason: str
) -> None:
    await conway_students(system)
    response = await system.portfolio.post(
        "/students/s-ava/evidence",
        json={"kind": "link", "title": "Mine", "url": url},
        headers=AVA,
    )
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"]
    assert await rows(system) == []


async def test_only_the_student_and_their_teachers_add_evidence(system: System) -> None:
    await conway_students(system)
    family = await add_text(system, WEI)
    assert family.status_code == 403, family.text
    assert "only the student or their teachers" in family.json()["detail"]
    for stranger in (GIO, LEE, MJDS_ADMIN):
        assert (await add_text(system, stranger)).status_code == 404
    assert (await system.portfolio.get("/students/s-ava/evidence", headers=LEE)).status_code == 404
    assert await rows(system) == []


async def test_nothing_is_added_for_a_withdrawn_student(system: System) -> None:
    await conway_students(system)
    withdrawn = await system.portfolio.delete("/roster/students/s-ava", headers=ADMIN)
    assert withdrawn.status_code == 200, withdrawn.text

    response = await add_text(system, RIVERA)
    assert response.status_code == 409, response.text
    assert "withdrawn" in response.json()["detail"]
    refused = await upload(system, RIVERA, photo_with_location())
    assert refused.status_code == 409, refused.text
    assert await rows(system) == []


# --- Review ------------------------------------------------------------------------------------


async def test_a_returned_piece_is_improved_then_approved_and_families_see_it(
    system: System,
) -> None:
    await conway_students(system)
    piece = await added(system, AVA)
    path = f"/students/s-ava/evidence/{piece['id']}"
    assert (await system.portfolio.get(path, headers=WEI)).status_code == 404

    for caller in (AVA, WEI):
        refused = await system.portfolio.post(f"{path}/approve", headers=caller)
        assert refused.status_code == 403, refused.text
    returned = await system.portfolio.post(
        f"{path}/return", json={"feedback": "Good start.\nAdd how it ends."}, headers=RIVERA
    )
    assert returned.status_code == 200, returned.text  # (over two lines, as the page allows)
    assert (returned.json()["status"], returned.json()["reviewed_by"]) == ("returned", "t-rivera")
    again = await system.portfolio.post(
        f"{path}/return", json={"feedback": "More."}, headers=RIVERA
    )
    assert again.status_code == 409, again.text
    assert "the evidence is returned" in again.json()["detail"]
    no_feedback = await system.portfolio.post(f"{path}/return", json={}, headers=RIVERA)
    assert no_feedback.status_code == 422, no_feedback.text
    feedback = (await system.portfolio.get(path, headers=AVA)).json()["feedback"]
    assert feedback == "Good start.\nAdd how it ends."

    for caller in (RIVERA, WEI):
        refused = await system.portfolio.patch(path, json={"title": "Mine"}, headers=caller)
        assert refused.status_code == 403, refused.text
    improved = await system.portfolio.patch(
        path,
        json={"title": "My whole story", "text": "Once upon a time.\nThe end."},
        headers=AVA,
    )
    assert improved.status_code == 200, improved.text
    assert improved.json()["status"] == "submitted"
    wrong_field = await system.portfolio.patch(
        path, json={"url": "https://example.org/"}, headers=AVA
    )
    assert wrong_field.status_code == 422, wrong_field.text

    approved = await system.portfolio.post(f"{path}/approve", headers=CONWAY_ADMIN)
    assert approved.status_code == 200, approved.text
    twice = await system.portfolio.post(f"{path}/approve", headers=RIVERA)
    assert twice.status_code == 409, twice.text
    assert "the evidence is approved" in twice.json()["detail"]
    assert twice.json()["refusal"] == "evidence_status"
    frozen = await system.portfolio.patch(path, json={"title": "Changed"}, headers=AVA)
    assert frozen.status_code == 409, frozen.text

    seen = await system.portfolio.get(path, headers=WEI)
    assert seen.status_code == 200, seen.text
    assert (seen.json()["title"], seen.json()["status"]) == ("My whole story", "approved")
    assert seen.json()["feedback"] is None
    [row] = await rows(system)
    assert (row.status, row.title, row.text, row.reviewed_by) == (
        "approved",
        "My whole story",
        "Once upon a time.\nThe end.",
        "a-conway",
    )
    assert [(stream, data.get("guardian_ids")) for stream, data in await events(system)] == [
        (ADDED, None),
        (APPROVED, ["g-wei"]),
    ]
    assert (await events(system))[1][1]["approved_by"] == "a-conway"


async def test_where_the_site_needs_no_approval_families_see_evidence_at_once(
    system: System,
) -> None:
    await conway_students(system)
    settings = "/sites/conway/portfolio-settings"
    assert (await system.portfolio.get(settings, headers=CONWAY_ADMIN)).json()[
        "requires_approval"
    ] is True
    for caller in (RIVERA, MJDS_ADMIN, AVA):
        refused = await system.portfolio.put(
            settings, json={"requires_approval": False}, headers=caller
        )
        assert refused.status_code == 403, refused.text
    unknown = await system.portfolio.get("/sites/nowhere/portfolio-settings", headers=ADMIN)
    assert unknown.status_code == 404, unknown.text
    for not_a_yes_or_no in (0, 1, "false", None):
        vague = await system.portfolio.put(
            settings, json={"requires_approval": not_a_yes_or_no}, headers=CONWAY_ADMIN
        )
        assert vague.status_code == 422, vague.text
    changed = await system.portfolio.put(
        settings, json={"requires_approval": False}, headers=CONWAY_ADMIN
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["updated_by"] == "a-conway"

    piece = await added(system, AVA)
    assert piece["status"] == "approved"
    assert [
        piece["id"]
        for piece in (await system.portfolio.get("/students/s-ava/evidence", headers=WEI)).json()
    ] == [piece["id"]]
    assert [(stream, data) for stream, data in await events(system)] == [
        (
            ADDED,
            {
                "evidence_id": piece["id"],
                "student_id": "s-ava",
                "kind": "text",
                "file_kind": None,
                "title": "My story",
                "learning_area": None,
                "tags": [],
                "status": "approved",
                "added_by": "s-ava",
            },
        ),
        (
            APPROVED,
            {
                "evidence_id": piece["id"],
                "student_id": "s-ava",
                "title": "My story",
                "approved_by": "s-ava",
                "guardian_ids": ["g-wei"],
            },
        ),
    ]
    no_review = await system.portfolio.post(
        f"/students/s-ava/evidence/{piece['id']}/return", json={"feedback": "No."}, headers=RIVERA
    )
    assert no_review.status_code == 409, no_review.text


async def test_a_teachers_review_queue_holds_their_own_students_oldest_first(
    system: System,
) -> None:
    await conway_students(system)
    first = await added(system, AVA, title="First")
    gios = await added(system, GIO, student="s-gio", title="Gio's")
    second = await added(system, AVA, title="Second")
    queue = "/sites/conway/review-queue"

    async def titles(headers: dict[str, str]) -> list[str]:
        response = await system.portfolio.get(queue, headers=headers)
        assert response.status_code == 200, response.text
        return [piece["title"] for piece in response.json()]

    assert await titles(RIVERA) == ["First", "Second"]
    assert await titles(LEE) == ["Gio's"]
    assert await titles(CONWAY_ADMIN) == ["First", "Gio's", "Second"]
    for caller in (WEI, AVA, MJDS_ADMIN):
        assert (await system.portfolio.get(queue, headers=caller)).status_code == 403
    assert (
        await system.portfolio.get("/sites/nowhere/review-queue", headers=ADMIN)
    ).status_code == 404

    approved = await system.portfolio.post(
        f"/students/s-ava/evidence/{first['id']}/approve", headers=RIVERA
    )
    assert approved.status_code == 200, approved.text
    assert await titles(RIVERA) == ["Second"]
    assert {gios["id"], second["id"]} == {
        piece["id"] for piece in (await system.portfolio.get(queue, headers=ADMIN)).json()
    }


async def test_a_student_who_changes_school_has_their_work_reviewed_at_the_new_one(
    system: System,
) -> None:
    """The queue follows the student's school on the roster, not the school where the piece
    was added: Conway's office no longer reads it, MJDS's has it to review."""
    await conway_students(system)
    await added(system, AVA, title="My essay")
    await register_site(system, "mjds")
    moved = await system.portfolio.put(
        "/roster/students/s-ava",
        json={"site": "mjds", "given_name": "Ava", "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert moved.status_code == 200, moved.text

    async def titles(site: str, headers: dict[str, str]) -> list[str]:
        response = await system.portfolio.get(f"/sites/{site}/review-queue", headers=headers)
        assert response.status_code == 200, response.text
        return [piece["title"] for piece in response.json()]

    assert await titles("conway", CONWAY_ADMIN) == []
    assert await titles("mjds", MJDS_ADMIN) == ["My essay"]
    # Approved there, the news is the new school's (its families' digests, its clock).
    [piece] = (await system.portfolio.get("/sites/mjds/review-queue", headers=MJDS_ADMIN)).json()
    approved = await system.portfolio.post(
        f"/students/s-ava/evidence/{piece['id']}/approve", headers=MJDS_ADMIN
    )
    assert approved.status_code == 200, approved.text
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    [announced] = [
        json.loads(row.fields) for row in rows if row.stream == EvidenceApproved.stream()
    ]
    assert announced["site"] == "mjds"


# --- The framework -----------------------------------------------------------------------------


async def test_evidence_carries_only_active_tags_of_its_site_or_district(system: System) -> None:
    await conway_students(system)
    await enroll(system, student_id="s-eli", site="mjds", given_name="Eli", guardian_id="g-marcus")
    kindness = {"kind": "core_value", "label": "Kindness"}
    reading = {"kind": "standard", "label": "Phonics", "description": "Decodes words."}
    for path, body, caller, expected in [
        ("/frameworks/district/tags/kindness", kindness, CONWAY_ADMIN, 403),
        ("/frameworks/district/tags/kindness", kindness, ADMIN, 200),
        ("/frameworks/conway/tags/CCSS.ELA.RF.K.3", reading, MJDS_ADMIN, 403),
        ("/frameworks/conway/tags/CCSS.ELA.RF.K.3", reading, CONWAY_ADMIN, 200),
        ("/frameworks/nowhere/tags/grit", kindness, ADMIN, 404),
    ]:
        response = await system.portfolio.put(path, json=body, headers=caller)
        assert response.status_code == expected, (path, response.text)

    framework = await system.portfolio.get("/frameworks", params={"site": "conway"}, headers=WEI)
    assert [(tag["scope"], tag["code"]) for tag in framework.json()] == [
        ("district", "kindness"),
        ("conway", "CCSS.ELA.RF.K.3"),
    ]
    district = await system.portfolio.get("/frameworks", headers=AVA)
    assert [tag["code"] for tag in district.json()] == ["kindness"]

    unknown = await add_text(system, AVA, tags=["kindness", "grit"])
    assert unknown.status_code == 422, unknown.text
    assert "'grit'" in unknown.json()["detail"]
    tagged = await added(system, AVA, tags=["CCSS.ELA.RF.K.3", "kindness"])
    assert tagged["tags"] == ["CCSS.ELA.RF.K.3", "kindness"]
    elsewhere = await add_text(system, ADMIN, student="s-eli", tags=["CCSS.ELA.RF.K.3"])
    assert elsewhere.status_code == 422, elsewhere.text

    removed = await system.portfolio.delete("/frameworks/district/tags/kindness", headers=ADMIN)
    assert removed.status_code == 204, removed.text
    again = await system.portfolio.delete("/frameworks/district/tags/kindness", headers=ADMIN)
    assert again.status_code == 404, again.text
    assert (await add_text(system, AVA, tags=["kindness"])).status_code == 422
    kept = await system.portfolio.get(f"/students/s-ava/evidence/{tagged['id']}", headers=AVA)
    assert kept.json()["tags"] == ["CCSS.ELA.RF.K.3", "kindness"]
    back = await system.portfolio.put(
        "/frameworks/district/tags/kindness", json=kindness, headers=ADMIN
    )
    assert back.json()["active"] is True
    assert (await add_text(system, AVA, tags=["kindness"])).status_code == 201


# --- Files -------------------------------------------------------------------------------------


async def test_a_photo_is_kept_without_its_location_and_served_with_a_preview(
    system: System, files_root: Path
) -> None:
    await conway_students(system)
    await system.portfolio.put(
        "/frameworks/district/tags/kindness",
        json={"kind": "core_value", "label": "Kindness"},
        headers=ADMIN,
    )
    await system.portfolio.put(
        "/frameworks/district/tags/grit", json={"kind": "skill", "label": "Grit"}, headers=ADMIN
    )
    response = await upload(
        system,
        AVA,
        photo_with_location(),
        fields={"tags": "kindness, grit", "learning_area": "art"},
    )
    assert response.status_code == 201, response.text
    piece = response.json()
    assert (piece["kind"], piece["file_kind"], piece["media_type"]) == (
        "file",
        "image",
        "image/jpeg",
    )
    assert (piece["width"], piece["height"], piece["tags"]) == (800, 600, ["kindness", "grit"])

    [row] = await rows(system)
    assert row.file_key == f"students/s-ava/evidence/{row.id}.jpg"
    assert row.thumbnail_key == f"students/s-ava/evidence/{row.id}-thumb.jpg"
    store = LocalDiskStore(files_root)
    kept = await store.get(row.file_key)
    assert len(stored_files(files_root)) == 2
    assert (row.size_bytes, row.media_type) == (len(kept), "image/jpeg")
    assert not Image.open(io.BytesIO(kept)).getexif()
    assert b"SecretCam" not in kept and b"Exif\x00\x00" not in kept

    served = await system.portfolio.get(piece["file_path"], headers=RIVERA)
    assert served.status_code == 200, served.text
    assert served.content == kept
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith('inline; filename="My-drawing.jpg"')
    preview = await system.portfolio.get(piece["thumbnail_path"], headers=AVA)
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"] == "image/jpeg"
    assert preview.content == await store.get(row.thumbnail_key)
    assert max(Image.open(io.BytesIO(preview.content)).size) <= 320

    # Families see the photo once it is approved, not before.
    assert (await system.portfolio.get(piece["file_path"], headers=WEI)).status_code == 404
    assert (await system.portfolio.get(piece["thumbnail_path"], headers=WEI)).status_code == 404
    await system.portfolio.post(f"/students/s-ava/evidence/{row.id}/approve", headers=RIVERA)
    assert (await system.portfolio.get(piece["file_path"], headers=WEI)).content == kept
    assert (await system.portfolio.get(piece["file_path"], headers=LEE)).status_code == 404
    [added_event, approved_event] = await events(system)
    assert added_event[1]["file_kind"] == "image"
    assert approved_event == (APPROVED, approved_event[1])


async def test_a_pdf_is_sent_as_a_download_and_has_no_preview(system: System) -> None:
    await conway_students(system)
    pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    response = await upload(system, AVA, pdf, name="report.pdf", fields={"title": "Mon résumé"})
    assert response.status_code == 201, response.text
    piece = response.json()
    assert (piece["file_kind"], piece["thumbnail_path"]) == ("pdf", None)

    served = await system.portfolio.get(piece["file_path"], headers=AVA)
    assert served.content == pdf
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == (
        "attachment; filename=\"Mon-resume.pdf\"; filename*=UTF-8''Mon%20r%C3%A9sum%C3%A9.pdf"
    )
    no_preview = await system.portfolio.get(
        f"/students/s-ava/evidence/{piece['id']}/thumbnail", headers=AVA
    )
    assert no_preview.status_code == 404, no_preview.text


async def test_a_text_file_named_jpg_is_refused_and_nothing_is_kept(
    system: System, files_root: Path
) -> None:
    await conway_students(system)
    response = await upload(system, AVA, b"not a photo at all, just words\n" * 10)
    assert response.status_code == 415, response.text
    assert "not accepted" in response.json()["detail"]
    assert await rows(system) == []
    assert stored_files(files_root) == []
    assert await events(system) == []


async def test_a_photo_over_the_limit_is_413_and_nothing_is_kept(
    system: System, files_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await conway_students(system)
    settings = system.apps["portfolio"].state.runtime.settings
    monkeypatch.setattr(settings, "file_max_image_bytes", 2_000)
    response = await upload(system, AVA, photo_with_location())
    assert response.status_code == 413, response.text
    assert "too large" in response.json()["detail"]
    assert await rows(system) == []
    assert stored_files(files_root) == []


async def test_a_guardian_cannot_upload(system: System, files_root: Path) -> None:
    await conway_students(system)
    response = await upload(system, WEI, photo_with_location())
    assert response.status_code == 403, response.text
    assert stored_files(files_root) == []


async def test_files_are_deleted_when_the_piece_is_not_saved(
    system: System, files_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are stored before the row is written; if the transaction does not commit,
    nothing may be left behind in the store."""
    await conway_students(system)
    save = uploads.save_new_evidence

    async def saved_then_refused(*args: Any, **kwargs: Any) -> Evidence:
        await save(*args, **kwargs)
        assert len(stored_files(files_root)) == 2, "the files are stored by now"
        raise conflict("a rule refused it at the last moment")

    monkeypatch.setattr(uploads, "save_new_evidence", saved_then_refused)
    response = await upload(system, AVA, photo_with_location())
    assert response.status_code == 409, response.text
    assert stored_files(files_root) == []
    assert await rows(system) == []
    assert await events(system) == []


async def test_a_returned_photo_is_handed_in_again_as_a_new_file_and_the_old_one_goes(
    system: System, files_root: Path
) -> None:
    await conway_students(system)
    piece = (await upload(system, AVA, photo_with_location())).json()
    path = f"/students/s-ava/evidence/{piece['id']}"
    [before] = await rows(system)
    old_keys, old_files = {before.file_key, before.thumbnail_key}, stored_files(files_root)
    returned = await system.portfolio.post(
        f"{path}/return", json={"feedback": "Show the whole page."}, headers=RIVERA
    )
    assert returned.status_code == 200, returned.text
    pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

    async def replace(headers: dict[str, str], data: bytes, **fields: str) -> httpx.Response:
        return await system.portfolio.put(
            f"{path}/file",
            files={"file": ("page.pdf", data, "application/pdf")},
            data=fields,
            headers=headers,
        )

    for caller in (RIVERA, WEI, GIO):
        refused = await replace(caller, pdf)
        assert refused.status_code in (403, 404), refused.text
    unreadable = await replace(AVA, b"not a pdf, just words\n" * 10)
    assert unreadable.status_code == 415, unreadable.text
    assert stored_files(files_root) == old_files

    improved = await replace(AVA, pdf, title="My drawing, the whole page")
    assert improved.status_code == 200, improved.text
    body = improved.json()
    assert (body["status"], body["kind"], body["file_kind"], body["title"]) == (
        "submitted",
        "file",
        "pdf",
        "My drawing, the whole page",
    )
    assert (body["reviewed_by"], body["thumbnail_path"]) == (None, None)
    [row] = await rows(system)
    assert row.id == piece["id"] and row.file_key not in old_keys
    assert row.file_key.startswith(f"students/s-ava/evidence/{row.id}-")
    assert (row.media_type, row.size_bytes, row.width) == ("application/pdf", len(pdf), None)
    # The old photo and its preview are gone; the new file is what everyone is served.
    [only] = stored_files(files_root)
    assert only.read_bytes() == pdf and only not in old_files
    served = await system.portfolio.get(body["file_path"], headers=RIVERA)
    assert served.content == pdf
    queue = await system.portfolio.get("/sites/conway/review-queue", headers=RIVERA)
    assert [item["id"] for item in queue.json()] == [row.id]

    # Approved, it is what families see: it stays as it is; a text has no file to replace.
    await system.portfolio.post(f"{path}/approve", headers=RIVERA)
    frozen = await replace(AVA, pdf)
    assert frozen.status_code == 409, frozen.text
    assert "the evidence is approved" in frozen.json()["detail"]
    story = await added(system, AVA)
    no_file = await system.portfolio.put(
        f"/students/s-ava/evidence/{story['id']}/file",
        files={"file": ("page.pdf", pdf, "application/pdf")},
        headers=AVA,
    )
    assert no_file.status_code == 422, no_file.text
    assert "has no file" in no_file.json()["detail"]
    assert len(stored_files(files_root)) == 1


async def test_the_old_file_stays_when_the_new_one_is_not_saved(
    system: System, files_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await conway_students(system)
    piece = (await upload(system, AVA, photo_with_location())).json()
    kept = stored_files(files_root)
    [before] = await rows(system)
    hand_in = uploads.hand_in

    async def handed_in_then_refused(*args: Any, **kwargs: Any) -> None:
        await hand_in(*args, **kwargs)
        assert len(stored_files(files_root)) == 4, "both files and both previews by now"
        raise conflict("a rule refused it at the last moment")

    monkeypatch.setattr(uploads, "hand_in", handed_in_then_refused)
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 200, 40)).save(out, format="PNG")
    response = await system.portfolio.put(
        f"/students/s-ava/evidence/{piece['id']}/file",
        files={"file": ("again.png", out.getvalue(), "image/png")},
        headers=AVA,
    )
    assert response.status_code == 409, response.text
    assert stored_files(files_root) == kept
    [after] = await rows(system)
    assert (after.file_key, after.sha256, after.title) == (
        before.file_key,
        before.sha256,
        before.title,
    )
    served = await system.portfolio.get(piece["file_path"], headers=AVA)
    assert served.content == await LocalDiskStore(files_root).get(before.file_key)


# --- Comments ----------------------------------------------------------------------------------


async def test_teachers_comment_and_the_student_answers_families_take_no_part(
    system: System,
) -> None:
    await conway_students(system)
    piece = await added(system, AVA)
    goal = await system.portfolio.post(
        "/students/s-ava/goals",
        json={"title": "Read a chapter book", "area": "reading"},
        headers=AVA,
    )
    assert goal.status_code == 201, goal.text
    for target in (f"evidence/{piece['id']}", f"goals/{goal.json()['id']}"):
        path = f"/students/s-ava/{target}/comments"
        asked = await system.portfolio.post(
            path, json={"body": "What would you change?"}, headers=RIVERA
        )
        assert asked.status_code == 201, asked.text
        answered = await system.portfolio.post(path, json={"body": "The ending."}, headers=AVA)
        assert answered.status_code == 201, answered.text
        thread = await system.portfolio.get(path, headers=AVA)
        assert [(c["author_id"], c["author_role"], c["body"]) for c in thread.json()] == [
            ("t-rivera", "teacher", "What would you change?"),
            ("s-ava", "student", "The ending."),
        ]
        for method in ("GET", "POST"):
            family = await system.portfolio.request(
                method, path, json={"body": "Hi"} if method == "POST" else None, headers=WEI
            )
            assert family.status_code == 403, family.text
            stranger = await system.portfolio.request(
                method, path, json={"body": "Hi"} if method == "POST" else None, headers=LEE
            )
            assert stranger.status_code == 404, stranger.text
        for body in ({"body": ""}, {"body": "x" * 2001}, {"body": "line\nbreak"}):
            invalid = await system.portfolio.post(path, json=body, headers=RIVERA)
            assert invalid.status_code == 422, invalid.text

    gios_goal = await system.portfolio.post(
        "/students/s-gio/goals", json={"title": "Count to 100", "area": "math"}, headers=GIO
    )
    elsewhere = await system.portfolio.post(
        f"/students/s-ava/goals/{gios_goal.json()['id']}/comments",
        json={"body": "Hi"},
        headers=RIVERA,
    )
    assert elsewhere.status_code == 404, elsewhere.text
    # A family asking about a piece that does not exist hears the same 403.
    missing = await system.portfolio.get(
        "/students/s-ava/evidence/00000000-0000-4000-8000-000000000000/comments", headers=WEI
    )
    assert missing.status_code == 403, missing.text
    async with system.apps["portfolio"].state.runtime.uow.read() as session:
        kept = (await session.exec(select(Comment.target, Comment.author_id))).all()
    assert sorted(kept) == [
        ("evidence", "s-ava"),
        ("evidence", "t-rivera"),
        ("goal", "s-ava"),
        ("goal", "t-rivera"),
    ]
