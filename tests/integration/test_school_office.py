"""How families reach a school's office: the office writes its phone number, email address and
hours; every message to its families ends with them, in the family's language; anyone of the
district reads them; nonsense is refused in words."""

from __future__ import annotations

import pytest

from services.notifications.school_office_api import HOURS_MAX_LENGTH
from services.notifications.sms import sms_text
from shared.auth import Role
from shared.auth.tokens import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.integration.conftest import System, delivery_of, family_with_contact
from tests.integration.test_conference_week import book, guardian, ok, tomorrow_at
from tests.scheduling_support import open_times
from tests.support import auth, eventually

pytestmark = pytest.mark.usefixtures("offices")  # (the school offices they sign in as)

CONWAY_ADMIN = auth("a-conway", Role.SITE_ADMIN, sites=("conway",))
MJDS_ADMIN = auth("a-mjds", Role.SITE_ADMIN, sites=("mjds",))
TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))
OFFICE = "/sites/conway/office"


async def test_the_office_writes_how_to_reach_it_and_each_message_ends_with_it(
    system: System,
) -> None:
    student, guardian_id = await family_with_contact(
        system,
        given_name="Gio",
        contact={"display_name": "María", "email": "maria@example.org", "language": "es"},
    )
    http = system.notifications
    nothing = ok(await http.get(OFFICE, headers=guardian(guardian_id)))
    assert (nothing["phone"], nothing["email"], nothing["updated_by"]) == (None, None, None)

    written = ok(
        await http.put(
            OFFICE,
            json={
                "phone": "503.555.0100 ext. 2",
                "email": "office@conway.example.org",
                "hours": "Monday to Friday, 7:30 am to 4 pm",
            },
            headers=CONWAY_ADMIN,
        )
    )
    assert written["phone"] == "+15035550100"
    assert written["extension"] == "2"
    assert written["phone_display"] == "(503) 555-0100 ext. 2"
    assert written["phone_uri"] == "tel:+1-503-555-0100;ext=2"
    assert written["email"] == "office@conway.example.org"
    assert written["updated_by"] == "a-conway"
    # A family and a teacher read it as written.
    assert ok(await http.get(OFFICE, headers=guardian(guardian_id))) == written
    assert ok(await http.get(OFFICE, headers=TEACHER)) == written

    (slot,) = await open_times(
        system.scheduling, site="conway", starts_at=tomorrow_at(15), teacher_id="t-rivera"
    )
    ok(await book(system, guardian(guardian_id), slot["id"], student), 201)
    booked = await eventually(
        lambda: delivery_of(system, guardian_id, "conference_booked"), until=bool
    )
    assert booked is not None
    # In Spanish, the office's own hours as written (in quotes), at the end.
    assert booked.body.rstrip().endswith(
        "--\nOficina de Conway Elementary: (503) 555-0100 ext. 2, office@conway.example.org\n"
        'Horario: "Monday to Friday, 7:30 am to 4 pm"'
    ), booked.body
    # Not in the calendar file the message carries, nor in a text of it (its first line).
    assert booked.calendar is not None and "555" not in booked.calendar
    assert "555" not in sms_text(booked, max_parts=3)

    # A number of another country keeps its country code; all empty: nothing shown any more.
    abroad = ok(await http.put(OFFICE, json={"phone": "+52 55 1234 5678"}, headers=CONWAY_ADMIN))
    assert (abroad["phone_display"], abroad["email"], abroad["hours"]) == (
        "+52 55 1234 5678",
        None,
        None,
    )
    cleared = ok(
        await http.put(
            OFFICE, json={"phone": None, "email": None, "hours": None}, headers=CONWAY_ADMIN
        )
    )
    assert (cleared["phone"], cleared["updated_by"]) == (None, None)
    assert ok(await http.get(OFFICE, headers=TEACHER))["phone"] is None


async def test_who_may_write_and_read_it_and_nonsense_refused_in_words(system: System) -> None:
    _, guardian_id = await family_with_contact(
        system, given_name="Ava", contact={"display_name": "Wei", "email": "wei@example.org"}
    )
    http = system.notifications
    phone = {"phone": "(503) 555-0100"}
    assert (await http.put(OFFICE, json=phone, headers=TEACHER)).status_code == 403
    assert (await http.put(OFFICE, json=phone, headers=guardian(guardian_id))).status_code == 403
    assert (await http.put(OFFICE, json=phone, headers=MJDS_ADMIN)).status_code == 404
    district_admin = auth("it", Role.DISTRICT_ADMIN)
    assert (await http.put(OFFICE, json=phone, headers=district_admin)).status_code == 200
    unknown = await http.get("/sites/nowhere/office", headers=district_admin)
    assert unknown.status_code == 404
    elsewhere = {
        "Authorization": "Bearer "
        + mint_token(
            secret=DEV_JWT_SECRET, subject="it-other", role=Role.DISTRICT_ADMIN, district="other"
        )
    }
    # (A district admin the roster does not know: 401, as for every route.)
    assert (await http.get(OFFICE, headers=elsewhere)).status_code == 401

    for body, field, kind in [
        ({"phone": "call us"}, "phone", "phone_not_a_number"),
        ({"phone": " "}, "phone", "phone_not_a_number"),
        ({"phone": "(503) 555-0100", "email": ""}, "email", "value_error"),
        ({"phone": "(503) 555-0100", "hours": " "}, "hours", "value_error"),
        ({"phone": "555-0100"}, "phone", "phone_not_a_number"),  # (no area code)
        ({"phone": "1" * 41}, "phone", "string_too_long"),
        # (More than E.164's 15 digits, an extension longer than any office has.)
        ({"phone": "+49 30 1234567890123"}, "phone", "phone_not_a_number"),
        ({"phone": "(503) 555-0100 ext. 12345678901"}, "phone", "phone_not_a_number"),
        ({"email": "office at conway"}, "email", "value_error"),
        ({"hours": "Mon to Fri"}, "hours", "office_unreachable"),
        ({**phone, "hours": "8 am\nto 4 pm"}, "hours", "value_error"),
        ({**phone, "hours": "8 am\u2028to 4 pm"}, "hours", "value_error"),
        ({**phone, "hours": "x" * (HOURS_MAX_LENGTH + 1)}, "hours", "too_long"),
    ]:
        refused = await http.put(OFFICE, json=body, headers=CONWAY_ADMIN)
        assert refused.status_code == 422, (body, refused.text)
        (error,) = refused.json()["errors"]
        assert (error["loc"][-1], error["type"]) == (field, kind), (body, error)
    # Nothing refused was kept.
    assert ok(await http.get(OFFICE, headers=TEACHER))["phone_display"] == "(503) 555-0100"
    # Hours as a clock or a Chinese keyboard writes them (narrow and ideographic spaces) are
    # one line all the same.
    hours = "7:30\u202fAM\u3000to 4\u202fPM"
    kept = ok(await http.put(OFFICE, json={**phone, "hours": hours}, headers=CONWAY_ADMIN))
    assert kept["hours"] == hours
