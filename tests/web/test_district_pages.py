"""District IT's pages against the real services, signed in through the development page: a
roster export uploaded, followed and reported (each rejected row by file and line); each
service's state; a dead letter listed and replayed; uploads refused in words; and who may not
reach the pages."""

from __future__ import annotations

import html
import io
import os
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, update

from services.portfolio.tables import RosterImportRun
from services.web.app import MAX_FORM_BYTES, build_app
from shared.jobs.tables import Job
from tests.integration.conftest import ADMIN, System, administering, register_site
from tests.integration.test_dead_letters_api import ENROLLED, break_handler, student_known
from tests.integration.test_jobs_api import a_message_waiting_for_tomorrow
from tests.integration.test_roster_import import MESSY, zip_export
from tests.support import eventually
from tests.web.conftest import (
    Family,
    csrf_token,
    service_transports,
    signed_in,
    signed_in_as,
    text_of,
    web_settings,
)

ZIP = "application/zip"


@pytest.fixture
def uploads_here(system: System, tmp_path: Path) -> None:
    """Portfolio keeps uploads in the test's directory and hands no contacts over (no
    notifications listens on a TCP port here)."""
    settings = system.apps["portfolio"].state.runtime.settings
    settings.roster_upload_dir = str(tmp_path / "uploads")
    settings.notifications_url = ""


async def upload(
    web: httpx.AsyncClient, page: httpx.Response, content: bytes, *, name: str = "roster.zip"
) -> httpx.Response:
    return await web.post(
        "/district/roster/imports",
        data={"csrf_token": csrf_token(page)},
        files={"export": (name, content, ZIP)},
    )


async def finished_page(web: httpx.AsyncClient, address: str) -> str:
    """The import's page once it no longer follows a running import."""

    async def text() -> str:
        shown = await web.get(address)
        assert shown.status_code == 200, shown.text
        return html.unescape(shown.text)

    return await eventually(text, until=lambda page: "data-running" not in page, timeout=30)


async def test_an_uploaded_export_is_followed_then_reported_with_each_rejected_row(
    web: httpx.AsyncClient, system: System, tmp_path: Path, uploads_here: None
) -> None:
    landing = await signed_in_as(web, "it-admin")
    assert str(landing.url).endswith("/district/status")
    imports = await web.get("/district/roster/imports")
    assert imports.status_code == 200
    assert "No roster has been imported here yet." in imports.text
    assert "No school administrator is on the roster yet." in imports.text

    started = await upload(web, imports, zip_export(MESSY, tmp_path / "messy.zip").read_bytes())

    assert started.status_code == 303, started.text
    address = started.headers["location"]
    assert re.fullmatch(r"/district/roster/imports/[\w-]+", address)
    first = await web.get(address)
    assert first.status_code == 200
    report = await finished_page(web, address)
    assert "Done" in report and "<progress" not in report
    # What was created, and every rejected row with its file and line.
    assert re.search(r"Students</th>\s*<td>3</td>", report), report
    assert "7 rows were skipped" in report
    assert "<tr><td>users.csv</td><td>9</td><td>givenName is empty</td></tr>" in report
    assert (
        "<tr><td>enrollments.csv</td><td>5</td><td>enrollment in unknown class 'cls-art-9'</td>"
    ) in report
    listed = html.unescape((await web.get("/district/roster/imports")).text)
    assert f'href="{address}"' in listed and "7 rows rejected" in listed
    assert (await web.get("/static/import_progress.js")).status_code == 200


async def test_district_it_sees_who_runs_each_schools_office(
    web: httpx.AsyncClient, system: System
) -> None:
    await administering(system, {"a-jordan": ("conway", "mjds"), "a-ruth": ("mjds",)})
    await signed_in_as(web, "it-admin")

    imports = html.unescape((await web.get("/district/roster/imports")).text)

    assert "School administrators" in imports
    assert 'Office a-jordan: Conway Elementary and MJDS <span class="hint">a-jordan</span>' in (
        imports
    )
    assert 'Office a-ruth: MJDS <span class="hint">a-ruth</span>' in imports
    assert "No school administrator is on the roster yet." not in imports
    # The schools as a list in the reader's language.
    spanish = html.unescape((await web.get("/district/roster/imports?lang=es")).text)
    assert "Office a-jordan: Conway Elementary y MJDS" in spanish
    chinese = html.unescape((await web.get("/district/roster/imports?lang=zh")).text)
    assert "Office a-jordan\uff1aConway Elementary和MJDS" in chinese, re.findall(
        r"a-jordan[^<]*", chinese
    )


async def test_an_upload_that_is_no_export_is_refused_in_words(
    web: httpx.AsyncClient, system: System, tmp_path: Path, uploads_here: None
) -> None:
    await signed_in_as(web, "it-admin")
    page = await web.get("/district/roster/imports")
    refusals = {
        "not a zip file": await upload(web, page, b"sourcedId,status\ns-1,active\n", name="a.csv"),
        "is empty": await upload(web, page, b""),
        "Choose the OneRoster export": await web.post(
            "/district/roster/imports", data={"csrf_token": csrf_token(page)}
        ),
    }
    for reason, refused in refusals.items():
        assert refused.status_code == 422, (reason, refused.text)
        assert refused.headers["content-type"].startswith("text/html")
        assert "There is a problem" in refused.text and reason in refused.text
    forged = await web.post(
        "/district/roster/imports",
        data={"csrf_token": "guessed"},
        files={"export": ("roster.zip", b"PK", ZIP)},
    )
    assert forged.status_code == 403 and "This form has expired" in forged.text
    listed = await system.portfolio.get("/roster/imports", headers=ADMIN)
    assert listed.json() == []  # nothing reached portfolio
    missing = await web.get("/district/roster/imports/no-such-import")
    assert missing.status_code == 404 and "Page not found" in missing.text
    # District IT has no conferences of its own to go back to: its page.
    said = text_of(missing)
    assert "Check the address, or go to your page." in said and "your conferences" not in said


async def test_the_roster_upload_takes_more_than_a_form_and_no_more_than_its_own_limit(
    system: System, tmp_path: Path, uploads_here: None
) -> None:
    """The upload address takes bodies past the forms' 256 KB (up to portfolio's limit); past
    its own limit, declared or streamed, it is a page saying what the largest is, not a 500."""
    app = build_app(
        web_settings(roster_upload_max_bytes=2 * MAX_FORM_BYTES),
        transports=service_transports(system),
    )
    export = zip_export(MESSY, tmp_path / "big.zip")
    with zipfile.ZipFile(export, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("padding.bin", os.urandom(MAX_FORM_BYTES + 1024))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web,
    ):
        await signed_in_as(web, "it-admin")
        page = await web.get("/district/roster/imports")
        assert "Up to 524.3 kB" in page.text
        larger_than_a_form = await upload(web, page, export.read_bytes())
        assert larger_than_a_form.status_code == 303, larger_than_a_form.text

        declared = await upload(web, page, os.urandom(3 * MAX_FORM_BYTES))
        assert declared.status_code == 413
        assert declared.headers["content-type"].startswith("text/html")
        assert "What you sent is too large" in declared.text
        assert "The largest file this page takes is 524.3 kB" in declared.text
        assert declared.headers["content-security-policy"]

        body = io.BytesIO()
        body.write(b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n')
        body.write(csrf_token(page).encode() + b"\r\n--b\r\nContent-Disposition: form-data;")
        body.write(b' name="export"; filename="r.zip"\r\nContent-Type: application/zip\r\n\r\n')

        async def streamed() -> AsyncIterator[bytes]:
            yield body.getvalue()
            for _ in range(3 * MAX_FORM_BYTES // 65536):
                yield b"x" * 65536

        chunked = await web.post(
            "/district/roster/imports",
            content=streamed(),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert chunked.status_code == 413, chunked.text[:300]
        assert "What you sent is too large" in chunked.text
    listed = await system.portfolio.get("/roster/imports", headers=ADMIN)
    assert len(listed.json()) == 1  # only the one within the limit


async def test_the_status_page_shows_each_service_and_its_streams(
    web: httpx.AsyncClient, system: System
) -> None:
    await signed_in_as(web, "it-admin")
    page = await web.get("/district/status")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for service in ("portfolio", "scheduling", "notifications"):
        assert f'<section class="card" id="service-{service}"' in text
        state = re.search(rf'href="#service-{service}">{service}</a>: ([^<]+)</li>', text)
        assert state and state[1].strip() in ("Ready", "Degraded: working, but not all of it")
    assert "The streams scheduling reads" in text
    # A stream's name breaks only after its dots, never mid-word.
    assert ".<wbr>".join(ENROLLED.split(".")) in text
    assert "outbox-relay" in text and "Events not yet published" in text


async def test_a_dead_letter_is_listed_and_replayed_through_the_page(
    web: httpx.AsyncClient, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_site(system, "conway")
    broken = break_handler(monkeypatch, system)
    enrolled = await system.portfolio.put(
        "/roster/students/s-lost",
        json={"site": "conway", "given_name": "Lou", "family_name": "Test", "grade": "03"},
        headers=ADMIN,
    )
    assert enrolled.status_code == 200, enrolled.text
    await signed_in_as(web, "it-admin")

    async def letters_page() -> httpx.Response:
        return await web.get("/district/dead-letters")

    page = await eventually(letters_page, until=lambda page: "Replay to scheduling" in page.text)
    text = html.unescape(page.text)
    assert "slc.roster.student.enrolled.v1" in text
    assert "scheduling cannot keep students today" in text
    assert "Lou" not in text
    [replay] = re.findall(r'action="(/district/dead-letters/scheduling/[^"]+/replay)"', text)
    vietnamese = await web.get("/district/dead-letters", params={"lang": "vi"})
    assert vietnamese.status_code == 200 and "sau 1 lần thử" in html.unescape(vietnamese.text)
    page = await web.get("/district/dead-letters", params={"lang": "en"})
    status = html.unescape((await web.get("/district/status")).text)
    assert '<a href="/district/dead-letters#service-scheduling">1 event given up on</a>' in status

    broken["now"] = False
    replayed = await web.post(replay, data={"csrf_token": csrf_token(page)})
    assert replayed.status_code == 303, replayed.text
    after = await web.get(replayed.headers["location"])
    assert "Replayed." in after.text
    await eventually(lambda: student_known(system, "s-lost"), until=bool, timeout=15)
    again = await web.post(replay, data={"csrf_token": csrf_token(after)})
    assert again.status_code == 404
    assert "it was replayed meanwhile" in again.text
    forged = await web.post(replay, data={"csrf_token": "guessed"})
    assert forged.status_code == 403


async def test_a_failed_job_is_listed_run_again_and_cancelled_through_the_page(
    web: httpx.AsyncClient, system: System
) -> None:
    message, job = await a_message_waiting_for_tomorrow(system)
    uow = system.apps["notifications"].state.runtime.uow

    async def failed() -> None:
        async with uow.transaction() as session:
            await session.exec(
                update(Job)
                .where(col(Job.id) == job.id)
                .values(status="failed", attempts=6, last_error="SMTPServerDisconnected: gone")
            )

    await failed()
    await signed_in_as(web, "it-admin")
    status = html.unescape((await web.get("/district/status")).text)
    assert '<a href="/district/jobs#service-notifications">failed</a>: 1' in status
    # Each count as the reader's language writes it (a full-width colon in Chinese).
    chinese = html.unescape((await web.get("/district/status", params={"lang": "zh"})).text)
    await web.get("/district/status", params={"lang": "en"})  # (back to English)
    assert '<a href="/district/jobs#service-notifications">失败</a>\uff1a1' in chinese
    # (The list of services at the top too, as each service's own state.)
    assert '<a href="#service-notifications">notifications</a>\uff1a' in chinese
    assert '<a href="#service-notifications">notifications</a>: ' in status
    # Which job a button acts on, for a screen reader, in the reader's brackets.
    chinese = html.unescape((await web.get("/district/jobs", params={"lang": "zh"})).text)
    assert f'<span class="visually-hidden"> \uff08deliver_message {job.id}\uff09</span>' in chinese
    page = await web.get("/district/jobs", params={"lang": "en"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert f'Run again<span class="visually-hidden"> (deliver_message {job.id})</span>' in text
    assert "deliver_message" in text and message.id in text
    assert "SMTPServerDisconnected: gone" in text and "after 6 runs" in text
    # In a language whose plurals differ from English's, chosen by the number of runs.
    spanish = await web.get("/district/jobs", params={"lang": "es"})
    assert spanish.status_code == 200 and "tras 6 ejecuciones" in html.unescape(spanish.text)
    arabic = await web.get("/district/jobs", params={"lang": "ar"})
    assert arabic.status_code == 200 and "بعد 6 مرات تشغيل" in html.unescape(arabic.text)
    page = await web.get("/district/jobs", params={"lang": "en"})
    assert text.count("No failed jobs.") == 2  # portfolio's and scheduling's
    retry = f"/district/jobs/notifications/{job.id}/retry"
    cancel = f"/district/jobs/notifications/{job.id}/cancel"
    assert f'action="{retry}"' in text and f'action="{cancel}"' in text

    retried = await web.post(retry, data={"csrf_token": csrf_token(page)})
    assert retried.status_code == 303, retried.text
    after = html.unescape((await web.get(retried.headers["location"])).text)
    assert "Put back." in after and message.id not in after  # pending, for tomorrow
    stale = await web.post(retry, data={"csrf_token": csrf_token(page)})
    assert stale.status_code == 409
    assert "That job is not failed any more" in html.unescape(stale.text)
    # Cancelled from the list as it was: not the job put back meanwhile.
    stale = await web.post(cancel, data={"csrf_token": csrf_token(page)})
    assert stale.status_code == 409
    assert "That job is not failed any more" in html.unescape(stale.text)
    async with uow.read() as session:
        assert (await session.get(Job, job.id)).status == "pending"  # type: ignore[union-attr]

    await failed()
    cancelled = await web.post(cancel, data={"csrf_token": csrf_token(page)})
    assert cancelled.status_code == 303, cancelled.text
    assert (
        "Cancelled. It will not run again." in (await web.get(cancelled.headers["location"])).text
    )
    forged = await web.post(retry, data={"csrf_token": "guessed"})
    assert forged.status_code == 403


async def test_teachers_families_and_strangers_cannot_reach_the_district_pages(
    web: httpx.AsyncClient, family: Family
) -> None:
    pages = (
        "/district",
        "/district/status",
        "/district/roster/imports",
        "/district/dead-letters",
        "/district/jobs",
    )
    for url in pages:
        assert (await web.get(url)).status_code == 401, url
    await signed_in(web, family)
    for url in pages:
        refused = await web.get(url)
        assert refused.status_code == 403, url
        assert "This page is not for you" in refused.text
    await web.post("/sign-out", data={"csrf_token": csrf_token(await web.get("/family"))})
    await signed_in_as(web, "t-rivera")
    token = csrf_token(await web.get("/teacher/day"))
    for url in pages:
        assert (await web.get(url)).status_code == 403, url
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/district/roster/imports", {"files": {"export": ("r.zip", b"PK", ZIP)}}),
        ("/district/dead-letters/scheduling/slc.x.v1/1-0/replay", {}),
        ("/district/jobs/notifications/0b6c3d0e-0000-0000-0000-000000000000/retry", {}),
    ]
    for url, extra in posts:
        refused = await web.post(url, data={"csrf_token": token}, **extra)
        assert refused.status_code == 403, url


async def test_no_input_on_the_district_pages_gets_a_500(web: httpx.AsyncClient) -> None:
    await signed_in_as(web, "it-admin")
    token = csrf_token(await web.get("/district/status"))
    attempts = [
        ("GET", "/district/roster/imports/..%2Fx", None),
        ("GET", "/district/roster/imports/" + "x" * 300, None),
        ("POST", "/district/dead-letters/nowhere/s/1-0/replay", {"csrf_token": token}),
        ("POST", "/district/dead-letters/scheduling/s/not-an-id/replay", {"csrf_token": token}),
        (
            "POST",
            "/district/dead-letters/scheduling/slc.no.such.v1/1-0/replay",
            {"csrf_token": token},
        ),
        ("POST", "/district/roster/imports", {"csrf_token": token, "export": "not a file"}),
        ("POST", "/district/jobs/nowhere/0b6c3d0e/retry", {"csrf_token": token}),
        ("POST", "/district/jobs/notifications/not%20an%20id/retry", {"csrf_token": token}),
        ("POST", "/district/jobs/notifications/0b6c3d0e/explode", {"csrf_token": token}),
        ("POST", "/district/jobs/notifications/0b6c3d0e/cancel", {"csrf_token": token}),
    ]
    for method, url, data in attempts:
        response = await web.request(method, url, data=data)
        assert 400 <= response.status_code < 500, (url, response.status_code, response.text[-500:])
    ignored = await web.get("/district/dead-letters", params={"done": "\x00"})
    assert ignored.status_code == 200 and "Replayed." not in ignored.text
    ignored = await web.get("/district/jobs", params={"done": "exploded"})
    assert ignored.status_code == 200 and "Put back." not in ignored.text


async def test_a_running_import_shows_its_progress_and_follows_itself(
    web: httpx.AsyncClient, system: System
) -> None:
    run = RosterImportRun(
        district="demo",
        requested_by="it-admin",
        size_bytes=2048,
        timezone="America/Chicago",
        status="running",
        progress={"file": "users.csv", "rows": 1200, "bytes_read": 500, "total_bytes": 1000},
    )
    async with system.apps["portfolio"].state.runtime.uow.transaction() as session:
        session.add(run)
    await signed_in_as(web, "it-admin")
    page = await web.get(f"/district/roster/imports/{run.id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Reading users.csv: 1,200 rows so far" in text, text[text.find("<main") :]
    assert '<progress id="progress" max="1000" value="500"></progress>' in text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in text
    assert 'id="import-run" data-running' in text


async def test_a_service_not_ready_or_not_answering_is_said_so(system: System) -> None:
    """Scheduling does not answer at all; notifications answers that its database does not;
    the pages say so of each, and still show the others."""

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def database_down(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/readyz":
            checks = {"database": "error: connection refused", "redis": "ok", "loops": {}}
            return httpx.Response(503, json={"status": "not ready", "checks": checks})
        return httpx.Response(503, json={"detail": "the database could not be reached"})

    transports = {
        **service_transports(system),
        "scheduling": httpx.MockTransport(unreachable),
        "notifications": httpx.MockTransport(database_down),
    }
    app = build_app(web_settings(), transports=transports)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web,
    ):
        await signed_in_as(web, "it-admin")
        status = html.unescape((await web.get("/district/status")).text)
        letters = html.unescape((await web.get("/district/dead-letters")).text)
    assert '<a href="#service-portfolio">portfolio</a>: Ready' in status
    assert '<a href="#service-scheduling">scheduling</a>: Not answering' in status
    assert (
        '<a href="#service-notifications">notifications</a>: Not ready: its database does not'
        " answer" in status
    )
    assert "error: connection refused" in status
    assert letters.count("It did not answer.") == 2
    assert letters.count("No dead letters.") == 1
