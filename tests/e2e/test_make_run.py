"""`make run`'s launcher on a fresh directory, and the README's "Try it" commands exactly as written.

Starts ``python -m devstack`` (what ``make run`` runs after installing) as a separate process: a
bundled Redis and the three services as processes of their own, on free ports.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from devstack.redis_server import free_ports
from tests.support import until_digest_hour_passed

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
REPO = README.parent


def try_it_commands() -> str:
    text = README.read_text()
    block = re.search(r"<!-- try-it:start -->\n```sh\n(.*?)```\n<!-- try-it:end -->", text, re.S)
    assert block, "README has no Try it block"
    return block.group(1)


class Launcher:
    def __init__(self, workdir: Path, *, args: Sequence[str] = ()) -> None:
        self.workdir = workdir
        self.args = list(args)  # (``python -m devstack``'s)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key != "REDIS_URL" and not key.endswith("_DATABASE_URL")
        }
        names = ("PORTFOLIO", "SCHEDULING", "NOTIFICATIONS", "WEB")
        for name, port in zip(names, free_ports(len(names)), strict=True):
            self.env[f"{name}_PORT"] = str(port)
        self.env["PYTHONPATH"] = str(REPO)
        # The folder stands for the repository's, where the README's commands find `.venv`.
        venv = workdir / ".venv"
        if not venv.exists():
            venv.symlink_to(REPO / ".venv")
        self.process: subprocess.Popen[str] | None = None
        self.output = workdir / "launcher.log"

    def start(self, timeout: float = 120) -> None:
        demo_env = self.workdir / "var" / "demo.env"
        demo_env.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", *self.args],
            cwd=self.workdir,
            env=self.env,
            stdout=self.output.open("a"),
            stderr=subprocess.STDOUT,
            text=True,
            # A process group of its own, as a shell gives the command in its foreground.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not demo_env.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"launcher did not come up:\n{self.output.read_text()}")
            time.sleep(0.2)

    def stop(self) -> int:
        assert self.process is not None
        # What Ctrl-C does: SIGINT to the terminal's whole foreground process group.
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(60)

    def demo_env(self) -> dict[str, str]:
        lines = (self.workdir / "var" / "demo.env").read_text().splitlines()
        return dict(line.removeprefix("export ").split("=", 1) for line in lines)

    def assert_stopped_cleanly_and_kept_its_secrets(self) -> None:
        """The services stopped before Redis (nothing to complain about in their logs), no
        command was refused, and no Redis password was printed anywhere."""
        var = self.workdir / "var"
        passwords = [
            line.split("=", 1)[1] for line in (var / "redis-users.env").read_text().split()
        ]
        logs = {path.name: path.read_text() for path in (var / "logs").glob("*.log")}
        logs["launcher"] = self.output.read_text()
        for name, text in logs.items():
            for complaint in ("Redis unavailable", "could not hand back", "NOPERM", "Traceback"):
                assert complaint not in text, (name, complaint, text[-3000:])
            assert not [p for p in passwords if p in text], f"a Redis password in {name}"


def test_make_run_starts_everything_and_the_readme_try_it_works_as_written(tmp_path: Path) -> None:
    # (The Try it counts the mailbox after Ava's goal: not with the day's digest about to go.)
    time.sleep(until_digest_hour_passed(timedelta(minutes=2)))
    launcher = Launcher(tmp_path)
    launcher.start()
    try:
        result = subprocess.run(
            ["bash", "-c", "set -e -o pipefail\n" + try_it_commands()],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out = result.stdout
        assert result.returncode == 0, result.stderr + out
        assert '"title":"Read a chapter book on my own by spring"' in out
        # The goal waits for her father's evening digest, not a message of its own.
        assert '"kind": "goal_set"' in out and '"next_at": "' in out
        assert '"title": "Read a chapter book on my own by spring"' in out
        # Conway's office opened booking; Ava's father booked from his link and moved the time.
        assert '"booking":"open"' in out
        assert '"status":"booked"' in out and '"sequence":1' in out
        # Its reminders were planned, and moved with it: the old time's cancelled.
        reminders = re.findall(r"reminder (P2D|PT2H) before: (\w+) (\S+)", out)
        assert [status for _, status, _ in reminders] == ["pending"] * 4 + ["cancelled"] * 2, out
        booked, moved, old = ([(b, due) for b, _, due in reminders[n : n + 2]] for n in (0, 2, 4))
        assert old == booked and not set(moved) & set(booked), reminders
        assert '"status":409,"detail":"that conference time is full; the nearest free' in out
        assert re.search(r'"nearest_times":\[\{"id":"[^"]+".*\}\]\} HTTP 409', out)
        # Gio's mother waited; Ava's cancellation gave Gio the time, and she heard in Spanish.
        assert "waitlist: waiting position 1" in out
        assert "Ava: cancelled" in out and "Gio: booked" in out
        assert re.search(r"sent \| Confirmed: Ava's conference on \w+day", out)
        assert re.search(r"sent \| New time: Ava's conference on \w+day", out)
        assert "sent | Se liberó un horario: conferencia de Gio" in out
        # She asked for an interpreter at that time: Conway's was booked, and she was told.
        assert "Gio: interpreter es SEQUENCE 1\n" in out
        assert "sent | Intérprete de español para la conferencia de Gio\n" in out
        # The same messages arrived as email at make run's SMTP server, calendars attached.
        assert re.search(r"Confirmed: Ava's conference .* \| METHOD:REQUEST SEQUENCE:0\n", out)
        assert re.search(r"New time: Ava's conference .* \| METHOD:REQUEST SEQUENCE:1\n", out)
        assert re.search(r"Cancelled: Ava's conference .* \| METHOD:CANCEL SEQUENCE:2\n", out)
        assert re.search(r"Invitation: .* \| no calendar\n", out)
        # María's newest email came back: recorded bounced, and her family is on the list.
        assert '"status":"bounced","changed":true,"action":"failed"' in out
        assert re.search(r"not reached: María Martínez \| the family's mail server returned", out)
        # Gio's demo goal waits for his mother's digest: no message of its own.
        assert "Gio se fijó una nueva meta" not in out
        # Dana booked Noa (MJDS) and Sam (Conway) back to back, in one request.
        assert re.search(r"s-noa at mjds \w{3} \d\d:\d\d to \d\d:\d\d\n", out), out
        assert re.search(r"s-sam at conway \w{3} \d\d:\d\d to \d\d:\d\d\n", out), out
        assert "s-noa booked\n" in out and "s-sam booked\n" in out
        # Ava's work reaches her father only once her teacher has approved it.
        assert "before approval: HTTP 404" in out
        assert "\napproved\n" in out
        assert '"title": "My book report on Charlotte\'s Web"' in out
        assert '"glows": "I am proud of my summary"' in out
        # Eli's father has only a phone: his invitation was texted, in one GSM-7 part (its link by
        # its short address, which opens the web front's sign-in); STOP is obeyed and confirmed.
        assert re.search(
            r"Invitation: Eli.*http://127\.0\.0\.1:\d+/l/[\w-]{35} \| GSM-7 1 part", out
        )
        assert '{"replies":["You will get no more text messages from' in out
        assert "nudged families: " in out
        assert re.search(
            r"sms opted_out \| Reminder: .* \| not sent: this number replied STOP", out
        ), out[-1500:]
        assert re.search(r"sms (sent|delivered) \| Invitation: Eli", out)
        assert re.search(r"not reached: Marcus Brooks \| texts_stopped \| booking_reminder", out)
        check_redis_users(launcher, tmp_path)
        check_pages_as_printed(launcher.output.read_text())
        check_every_link_answers(launcher.output.read_text())
    finally:
        assert launcher.stop() == 0
    log = launcher.output.read_text()
    assert "SIGINT: stopping" in log and "stopped; data kept in" in log
    launcher.assert_stopped_cleanly_and_kept_its_secrets()
    for name in ("PORTFOLIO", "SCHEDULING", "NOTIFICATIONS"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{launcher.env[f'{name}_PORT']}/healthz", timeout=2)

    # Running it again keeps the data: the demo is not loaded twice and the messages remain.
    launcher.start()
    try:
        tokens = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (tmp_path / "var" / "demo.env").read_text().splitlines()
        )
        mailbox = httpx.get(
            f"{tokens['NOTIFICATIONS_URL']}/mailbox",
            headers={"Authorization": f"Bearer {tokens['AVA_GUARDIAN_TOKEN']}"},
        ).json()
        assert [m["subject"].split(":")[0] for m in mailbox] == [
            "Cancelled",
            "New time",
            "Confirmed",
            "Invitation",  # when Conway's office opened conference week
        ]
        # Each ends with how to reach Conway's office (the demo wrote it before any message).
        for message in mailbox:
            assert (
                message["body"]
                .rstrip()
                .endswith(
                    "Conway Elementary office: (503) 555-0100, office@conway.example.org\n"
                    'Open: "Monday to Friday, 7:30 am to 4 pm"'
                )
            ), message["body"]
    finally:
        assert launcher.stop() == 0
    assert "demo: already loaded" in launcher.output.read_text()
    launcher.assert_stopped_cleanly_and_kept_its_secrets()


def check_redis_users(launcher: Launcher, workdir: Path) -> None:
    """The services run as their own Redis users; the subscriber only reads; an operator's
    slc-deadletters finds the running Redis through var/demo.env."""
    urls = launcher.demo_env()
    operator = urlsplit(urls["REDIS_URL"])
    anonymous = redis.Redis(host=operator.hostname or "", port=operator.port or 6379)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    subscriber = redis.Redis.from_url(urls["SUBSCRIBER_REDIS_URL"])
    assert subscriber.xrange("slc.portfolio.goal.set.v1")
    with pytest.raises(redis.exceptions.NoPermissionError):
        subscriber.xadd("slc.portfolio.goal.set.v1", {"forged": "yes"})
    admin = redis.Redis.from_url(urls["REDIS_URL"])
    names = {client["user"] for client in admin.client_list()}
    assert {"portfolio", "scheduling", "notifications"} <= names, names
    refused: Any = admin.acl_log()
    assert [entry for entry in refused if entry["username"] != "subscriber"] == []
    for client in (anonymous, subscriber, admin):
        client.close()

    env = {key: value for key, value in launcher.env.items() if key != "REDIS_URL"}
    listed = subprocess.run(
        [sys.executable, "-m", "shared.messaging.deadletters_cli", "list"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "no dead letters"
    assert "(from var/demo.env, written by make run)" in listed.stderr
    assert operator.password and operator.password not in listed.stderr


def check_pages_as_printed(welcome: str) -> None:
    """The web front, as ``make run`` prints it: a demo family's link signs the family in (one
    whose conference has an interpreter may change it), and the development sign-in page signs
    a teacher in to their conference day."""
    dana = re.search(r"Dana Levi.*:\n\s+(http://127\.0\.0\.1:\d+/f\?link=\S+)", welcome)
    dev_page = re.search(r"(http://127\.0\.0\.1:\d+/dev/sign-in)", welcome)
    assert dana and dev_page, welcome[-3000:]
    with httpx.Client(timeout=10, follow_redirects=True) as browser:
        family = browser.get(dana.group(1))
        assert family.status_code == 200 and family.url.path == "/family", family.text[:500]
        assert "Noa" in family.text and "link=" not in str(family.url)
    maria = re.search(r"María Martínez.*:\n\s+(http://127\.0\.0\.1:\d+/f\?link=\S+)", welcome)
    assert maria, welcome[-3000:]
    with httpx.Client(timeout=10, follow_redirects=True) as browser:
        # Gio's conference, booked from the waitlist in "Try it", with Conway's interpreter
        # asked for since: her page names her, and she may be changed or given up.
        family = browser.get(maria.group(1))
        assert family.status_code == 200, family.text
        assert "Cambiar o quitar el intérprete" in family.text, family.text
    with httpx.Client(timeout=10, follow_redirects=True) as browser:
        assert "Miriam Cohen" in browser.get(dev_page.group(1)).text
        day = _signed_in_as(browser, dev_page.group(1), "t-cohen")
        assert day.status_code == 200 and day.url.path == "/teacher/day", day.text[:500]
        assert "Room 12" in day.text
    with httpx.Client(timeout=10, follow_redirects=True) as browser:
        # Sam's teacher sees that his conference follows his sister Noa's at MJDS, booked back
        # to back in "Try it": a time and a school (Noa is not in her classes), not a name.
        day = _signed_in_as(browser, dev_page.group(1), "t-rivera")
        # Her first page is today's: Minh's conference, which the demo booked to begin a few
        # minutes after it loaded, and his family may be checked in already.
        assert '<h3><a href="/teacher/students/s-minh">Minh</a></h3>' in day.text, day.text
        assert "Check in Minh's family" in html.unescape(day.text), day.text
        days = [day] + [
            browser.get(str(day.url.join(href)))
            for href in re.findall(r'href="(/teacher/day\?date=[\d-]+)"', day.text)
        ]
        sams = [
            one.text
            for one in days
            if '<h3><a href="/teacher/students/s-sam">Sam</a></h3>' in one.text
        ]
        assert len(sams) == 1, [one.url for one in days]
        assert re.search(r"Another of the family(?:'|&#39;)s children, [^<]+, at MJDS", sams[0]), (
            sams[0]
        )
        # Gio's conference has Conway's interpreter: her language and name, as Chinese writes them.
        gios = [
            one for one in days if '<h3><a href="/teacher/students/s-gio">Gio</a></h3>' in one.text
        ]
        # (Her name isolated, so that Arabic's right-to-left does not turn its brackets.)
        assert len(gios) == 1 and "Spanish (<bdi>Rosa Díaz</bdi>)" in gios[0].text, gios
        chinese = browser.get(str(gios[0].url), headers={"Accept-Language": "zh-CN"})
        assert "西班牙语\uff08<bdi>Rosa Díaz</bdi>\uff09" in chinese.text, chinese.text
    with httpx.Client(timeout=10, follow_redirects=True) as browser:
        # The office's front desk, on the day of Gio's conference: Gio with his interpreter,
        # then Sam, each with Ana Rivera in Room 4.
        desk = _signed_in_as(browser, dev_page.group(1), "a-conway")
        desk = browser.get(str(desk.url.join("/office/day")))
        days = [desk] + [
            browser.get(str(desk.url.join(html.unescape(href))))
            for href in re.findall(r'href="(/office/day\?site=[^"]+)"', desk.text)
        ]
        gios = [one.text for one in days if ">Gio Martínez</a></th>" in one.text]
        assert len(gios) == 1, [one.url for one in days]
        rows = [
            re.sub(r"<[^>]+>", " ", re.sub(r"</?bdi>", "", row)).split()
            for row in re.findall(r"<tr id=\"booking-[^\"]+\">(.*?)</tr>", gios[0], re.S)
        ]
        gio = next(row for row in rows if "Gio" in row)
        assert " ".join(gio).count("Ana Rivera Room 4 Spanish (Rosa Díaz) Expected") == 1, gio
        # (He by his full name; whom his conference was booked for, by the roster's name: his
        # mother.)
        assert " ".join(gio).count("Gio Martínez María Martínez (mother) Ana Rivera") == 1, gio
        assert any("Sam" in row for row in rows), rows


def _signed_in_as(browser: httpx.Client, dev_page: str, subject: str) -> httpx.Response:
    """Sign in on the development page as one of the demo's people; their first page."""
    page = browser.get(dev_page)
    assert page.status_code == 200, page.text[:500]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text[:1000]
    return browser.post(dev_page, data={"csrf_token": csrf.group(1), "subject": subject})


# The languages the pages are written in, one after another as a browser would ask for them.
PAGE_LANGUAGES = ("en", "es", "vi", "zh-CN", "ar")
# Links followed by no one here: signing out ends the walk, the development pages are not the
# product's, and the stylesheet and scripts are no pages.
NOT_WALKED = ("/sign-out", "/dev/", "/static/")


def check_every_link_answers(welcome: str) -> None:
    """After "Try it", as every demo person and family: every page their pages link to answers
    200, each in one of the five languages in turn (no 5xx, no broken link, no page that fails
    on the demo's own data: a cancelled conference, a waitlist, an interpreter, a bounce, a
    STOP)."""
    dev_page = re.search(r"(http://127\.0\.0\.1:\d+/dev/sign-in)", welcome)
    assert dev_page, welcome[-3000:]
    with httpx.Client(timeout=30) as browser:
        subjects = re.findall(r'name="subject" value="([^"]+)"', browser.get(dev_page[1]).text)
    assert {"t-rivera", "a-conway", "it-admin", "s-gio"} <= set(subjects), subjects
    walked = 0
    for subject in subjects:
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            walked += _walk(browser, _signed_in_as(browser, dev_page[1], subject), subject)
    # (Without María's "&lang=es", which would keep her pages in Spanish whatever is asked.)
    families = re.findall(r"(http://127\.0\.0\.1:\d+/f\?link=[\w.-]+)", welcome)
    assert len(families) == 5, welcome[-3000:]
    for link in families:
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            walked += _walk(browser, browser.get(link), "a family")
    assert walked > 100, walked


def _walk(browser: httpx.Client, start: httpx.Response, who: str) -> int:
    """Every page reachable from ``start`` by following links on the same host; the number."""
    assert start.status_code == 200, (who, start.url, start.text[:500])
    seen: set[str] = set()
    queue = [start.url]
    while queue:
        url = queue.pop(0)
        if url.raw_path.decode() in seen:
            continue
        seen.add(url.raw_path.decode())
        language = PAGE_LANGUAGES[len(seen) % len(PAGE_LANGUAGES)]
        page = browser.get(url, headers={"Accept-Language": language})
        assert page.status_code == 200, (who, str(url), language, page.text[:500])
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        # Still signed in, on the page asked for or one it leads to: not sent to sign in again.
        assert 'action="/sign-out"' in page.text, (who, str(url), str(page.url))
        for href in re.findall(r'href="([^"#]+)', page.text):
            target = page.url.join(html.unescape(href))
            if (
                target.host == start.url.host
                and target.port == start.url.port
                and not target.path.startswith(NOT_WALKED)
                and "lang=" not in target.query.decode()
            ):
                queue.append(target)
    return len(seen)
