"""A site administrator acts for the schools the roster says they administer, not wherever their
token says: the token's ``sites`` claim narrows that, never widens it, in every service (on each
database, with a real Redis)."""

from __future__ import annotations

import json
from pathlib import Path

import redis.asyncio as aioredis

from shared.auth import Role
from shared.events import AdministratorRegistered
from tests.integration.conftest import ADMIN, System, administering, put_in_class, register_site
from tests.integration.test_roster_import import BULK, zip_export
from tests.support import auth, eventually

# A token from the district's identity provider naming both schools.
JORDAN_BOTH = auth("a-jordan", Role.SITE_ADMIN, sites=("conway", "mjds"))
JORDAN_NO_SITES = auth("a-jordan", Role.SITE_ADMIN)


async def acts_at(system: System, headers: dict[str, str], site: str) -> dict[str, int]:
    """What each service answers the caller's office call at ``site``: enrolling a student
    (portfolio), listing the interpreters (scheduling), reading the delivery report
    (notifications)."""
    portfolio = await system.portfolio.put(
        f"/roster/students/s-{site}-office",
        json={"site": site, "given_name": "Test", "family_name": "Office", "grade": "03"},
        headers=headers,
    )
    scheduling = await system.scheduling.get(f"/sites/{site}/interpreters", headers=headers)
    notifications = await system.notifications.get(
        "/reports/deliveries", params={"site": site}, headers=headers
    )
    return {
        "portfolio": portfolio.status_code,
        "scheduling": scheduling.status_code,
        "notifications": notifications.status_code,
    }


async def sites_seen(system: System, headers: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: (await client.get("/me", headers=headers)).json()["sites"]
        for name, client in (
            ("portfolio", system.portfolio),
            ("scheduling", system.scheduling),
            ("notifications", system.notifications),
        )
    }


ALLOWED = {"portfolio": 200, "scheduling": 200, "notifications": 200}
REFUSED = {"portfolio": 403, "scheduling": 403, "notifications": 403}


async def test_a_site_admin_acts_only_where_the_roster_makes_them_one(system: System) -> None:
    await register_site(system, "conway")
    await register_site(system, "mjds")

    # Not on the roster: their token's schools count for nothing.
    assert await acts_at(system, JORDAN_BOTH, "conway") == REFUSED
    assert await sites_seen(system, JORDAN_BOTH) == {
        "portfolio": [],
        "scheduling": [],
        "notifications": [],
    }

    # District IT makes them Conway's administrator.
    await administering(system, {"a-jordan": ("conway",)})
    assert await acts_at(system, JORDAN_BOTH, "conway") == ALLOWED
    assert await acts_at(system, JORDAN_NO_SITES, "conway") == ALLOWED
    # MJDS stays out of reach, though the token names it.
    assert await acts_at(system, JORDAN_BOTH, "mjds") == REFUSED
    assert await sites_seen(system, JORDAN_BOTH) == {
        "portfolio": ["conway"],
        "scheduling": ["conway"],
        "notifications": ["conway"],
    }
    # A token naming only MJDS narrows them to nothing.
    only_mjds = auth("a-jordan", Role.SITE_ADMIN, sites=("mjds",))
    assert await acts_at(system, only_mjds, "conway") == REFUSED

    # No longer an administrator: nowhere, in every service.
    removed = await system.portfolio.delete("/roster/administrators/a-jordan", headers=ADMIN)
    assert removed.status_code == 200, removed.text
    assert (removed.json()["site_ids"], removed.json()["version"]) == ([], 2)

    async def nowhere() -> bool:
        return all(sites == [] for sites in (await sites_seen(system, JORDAN_BOTH)).values())

    await eventually(nowhere, until=bool, timeout=15)
    assert await acts_at(system, JORDAN_BOTH, "conway") == REFUSED


async def test_district_it_names_a_schools_administrators(
    system: System, redis_client: aioredis.Redis
) -> None:
    await register_site(system, "conway")
    await register_site(system, "mjds")
    body = {"given_name": "Jordan", "family_name": "Lee", "site_ids": ["mjds", "conway"]}

    named = await system.portfolio.put("/roster/administrators/a-jordan", json=body, headers=ADMIN)
    assert named.status_code == 200, named.text
    assert named.json() == {
        "id": "a-jordan",
        "given_name": "Jordan",
        "family_name": "Lee",
        "site_ids": ["conway", "mjds"],
        "version": 1,
    }
    again = await system.portfolio.put("/roster/administrators/a-jordan", json=body, headers=ADMIN)
    assert again.json()["version"] == 1  # (nothing changed, nothing announced)

    async def announced() -> list[dict[bytes, bytes]]:
        entries = await redis_client.xrange(AdministratorRegistered.stream()) or []
        return [fields for _, fields in entries if fields]  # type: ignore[misc]

    [event] = await eventually(announced, until=bool, timeout=15)
    assert (event[b"subject"], event[b"site"]) == (b"a-jordan", b"conway")
    assert json.loads(event[b"data"]) == {
        "administrator_id": "a-jordan",
        "site_ids": ["conway", "mjds"],
        "version": 1,
    }
    listed = await system.portfolio.get("/roster/administrators", headers=ADMIN)
    assert [(one["id"], one["site_ids"]) for one in listed.json()] == [
        ("a-jordan", ["conway", "mjds"])
    ]

    # Only district IT names administrators; an office cannot widen its own reach.
    await administering(system, {"a-conway": ("conway",)})
    conway_office = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
    for method, path, sent in (
        ("PUT", "/roster/administrators/a-conway", {**body, "site_ids": ["conway", "mjds"]}),
        ("DELETE", "/roster/administrators/a-jordan", None),
    ):
        refused = await system.portfolio.request(method, path, json=sent, headers=conway_office)
        assert refused.status_code == 403, (method, path, refused.text)
        assert "only district IT" in refused.json()["detail"]
    # An office sees its own school's administrators (its colleagues, by name), and only the
    # schools it shares with them; a teacher sees none.
    colleagues = await system.portfolio.get("/roster/administrators", headers=conway_office)
    assert colleagues.status_code == 200, colleagues.text
    assert [(one["id"], one["site_ids"]) for one in colleagues.json()] == [
        ("a-conway", ["conway"]),
        ("a-jordan", ["conway"]),
    ]
    teacher = auth("t-rivera", Role.TEACHER, sites=("conway",))
    refused = await system.portfolio.get("/roster/administrators", headers=teacher)
    assert refused.status_code == 403, refused.text

    # Nonsense is refused with the reason.
    for bad, says in (
        ({**body, "site_ids": ["nowhere"]}, "no site 'nowhere' on the roster"),
        ({**body, "site_ids": []}, "site_ids"),
        ({**body, "site_ids": ["conway west"]}, "site_ids"),
    ):
        answer = await system.portfolio.put(
            "/roster/administrators/a-jordan", json=bad, headers=ADMIN
        )
        assert answer.status_code == 422, answer.text
        assert says in answer.text
    unknown = await system.portfolio.delete("/roster/administrators/a-nobody", headers=ADMIN)
    assert unknown.status_code == 404

    # Listed while they administer a school; a teacher on the roster never is.
    await put_in_class(system, "c-1", site="conway", teachers=["t-rivera"], students=[])
    removed = await system.portfolio.delete("/roster/administrators/a-jordan", headers=ADMIN)
    assert removed.status_code == 200, removed.text
    listed = await system.portfolio.get("/roster/administrators", headers=ADMIN)
    assert [(one["id"], one["site_ids"]) for one in listed.json()] == [("a-conway", ["conway"])]


async def test_an_administrator_the_export_no_longer_has_acts_nowhere(
    system: System, tmp_path: Path
) -> None:
    """The OneRoster import announces where administrators act, and a bulk export without one
    (they left the district) takes it back in every service."""
    upload = await system.portfolio.post(
        "/roster/imports",
        params={"timezone": "America/Los_Angeles"},
        content=zip_export(BULK, tmp_path / "bulk.zip").read_bytes(),
        headers={**ADMIN, "Content-Type": "application/zip"},
    )
    assert upload.status_code == 202, upload.text
    conway_office = auth("a-conway", Role.SITE_ADMIN, sites=("conway", "mjds"))

    async def sites() -> dict[str, list[str]]:
        return await sites_seen(system, conway_office)

    everywhere = {"portfolio": ["conway"], "scheduling": ["conway"], "notifications": ["conway"]}
    assert await eventually(sites, until=lambda seen: seen == everywhere, timeout=30)

    # The next export has Jordan Ellis no more.
    without = tmp_path / "without"
    without.mkdir()
    for file in BULK.iterdir():
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        if file.name in ("users.csv", "roles.csv"):
            lines = [line for line in lines if "a-conway" not in line]
        (without / file.name).write_text("".join(lines), encoding="utf-8")
    upload = await system.portfolio.post(
        "/roster/imports",
        params={"timezone": "America/Los_Angeles"},
        content=zip_export(without, tmp_path / "without.zip").read_bytes(),
        headers={**ADMIN, "Content-Type": "application/zip"},
    )
    assert upload.status_code == 202, upload.text
    nowhere: dict[str, list[str]] = {"portfolio": [], "scheduling": [], "notifications": []}
    assert await eventually(sites, until=lambda seen: seen == nowhere, timeout=30)
