"""Family links: minting and verifying, what is refused and why, how a link is told from a staff
token, the rules scheduling applies to them, and the messages that carry them."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.notifications.family_links import FamilyLinks, issued_after
from services.notifications.messages import Days, Names, render
from services.notifications.settings import NotificationsSettings
from services.scheduling.booking.rules import Hidden, NotAllowed, Refused
from services.scheduling.family_links.rules import (
    NO_OPEN_WINDOW,
    check_reissuer,
    new_link_expiry,
)
from shared.auth import family_links
from shared.auth.family_links import (
    AUDIENCE,
    EXPIRED,
    MAX_LIFETIME,
    TOKEN_TYPE,
    FamilyLinkIssuer,
    FamilyLinkVerifier,
    generate_key_pair,
    is_family_link,
    window_links_until,
)
from shared.auth.principal import Role
from shared.auth.tokens import TokenError, TokenVerifier, mint_token
from shared.link_revocations import is_replaced
from shared.settings import ServiceSettings
from tests.support import principal

PRIVATE, PUBLIC = generate_key_pair()
OTHER_PRIVATE, OTHER_PUBLIC = generate_key_pair()
STAFF_SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
NOW = datetime.now(UTC)


def mint(**overrides: Any) -> str:
    values: dict[str, Any] = {
        "guardian_id": "g-wei",
        "district": "d-1",
        "expires_at": NOW + timedelta(days=30),
    }
    values.update(overrides)
    return FamilyLinkIssuer(PRIVATE).mint(**values)


def verifier(district: str | None = "d-1", public_key: str = PUBLIC) -> FamilyLinkVerifier:
    return FamilyLinkVerifier(public_key, district=district)


def signed(claims: dict[str, Any], *, typ: str = TOKEN_TYPE, key: str = PRIVATE) -> str:
    """A token with exactly these claims, signed with the family link key (or ``key``)."""
    private = serialization.load_pem_private_key(key.encode(), password=None)
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"typ": typ})  # type: ignore[arg-type]


def link_claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": "g-wei",
        "district": "d-1",
        "aud": AUDIENCE,
        "iat": time.time(),
        "exp": int(time.time()) + 600,
        "jti": "link-1",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def refusal(token: str, checker: FamilyLinkVerifier | None = None) -> str:
    with pytest.raises(TokenError) as raised:
        (checker or verifier()).verify(token)
    return str(raised.value)


# --- Minting and verifying -------------------------------------------------------------------


def test_a_minted_link_verifies_as_its_guardian() -> None:
    issued = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)
    expires = datetime.now(UTC) + timedelta(days=10)
    link = verifier().verify(mint(issued_at=issued, expires_at=expires))
    assert link.guardian_id == "g-wei"
    assert link.district == "d-1"
    assert link.expires_at == expires.replace(microsecond=0)
    assert link.link_id


def test_issued_at_keeps_the_millisecond_and_never_moves_later() -> None:
    """Revocation compares ``iat`` with a time to the microsecond: the link keeps the
    millisecond it was issued in, rounded down, exactly."""
    issued = datetime(2026, 11, 2, 9, 30, 15, 123999, tzinfo=UTC)
    link = verifier().verify(mint(issued_at=issued))
    assert link.issued_at == datetime(2026, 11, 2, 9, 30, 15, 123000, tzinfo=UTC)
    assert link.issued_at <= issued


def test_every_link_has_its_own_id() -> None:
    assert verifier().verify(mint()).link_id != verifier().verify(mint()).link_id


def test_the_header_names_a_family_link() -> None:
    header = jwt.get_unverified_header(mint())
    assert header == {"alg": "EdDSA", "typ": TOKEN_TYPE}


def test_an_expired_link_is_refused_with_a_reason_a_family_understands() -> None:
    token = mint(issued_at=NOW - timedelta(days=10), expires_at=NOW - timedelta(seconds=1))
    assert refusal(token) == EXPIRED == "this link has expired; ask the school for a new one"


def test_a_link_verified_once_is_kept_and_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    checker = verifier()
    expires = datetime.now(UTC) + timedelta(minutes=5)
    token = mint(expires_at=expires)
    first = checker.verify(token)

    def no_second_check(_: str) -> None:
        raise AssertionError("verified again")

    monkeypatch.setattr(checker, "_verify", no_second_check)
    assert checker.verify(token) is first  # kept: no signature check the second time
    # Its expiry is asked every time, kept or not.
    later = expires.replace(microsecond=0).timestamp()
    monkeypatch.setattr(family_links.time, "time", lambda: later)
    assert refusal(token, checker) == EXPIRED


def test_a_kept_link_changed_in_one_character_is_verified_in_full() -> None:
    checker = verifier()
    token = mint()
    checker.verify(token)
    header, payload, signature = token.split(".")
    changed = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert "signature is not valid" in refusal(f"{header}.{payload}.{changed}", checker)


def test_the_links_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(family_links, "VERIFIED_KEPT", 3)
    checker = verifier()
    tokens = [mint(guardian_id=f"g-{n}") for n in range(5)]
    for token in tokens:
        checker.verify(token)
    assert list(checker._verified) == tokens[2:]  # the least recently used go first


def test_a_link_signed_with_another_key_is_refused() -> None:
    token = FamilyLinkIssuer(OTHER_PRIVATE).mint(
        guardian_id="g-wei", district="d-1", expires_at=NOW + timedelta(days=1)
    )
    assert "signature is not valid" in refusal(token)


def test_a_link_verified_with_another_public_key_is_refused() -> None:
    assert "signature is not valid" in refusal(mint(), verifier(public_key=OTHER_PUBLIC))


@pytest.mark.parametrize("claim", ["sub", "district", "exp"])
def test_a_tampered_link_is_refused(claim: str) -> None:
    """Changing any claim (another guardian, another district, a later expiry) breaks the
    signature."""
    header, payload, signature = mint().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[claim] = claims[claim] + 1000 if claim == "exp" else "g-other"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature is not valid" in refusal(f"{header}.{forged}.{signature}")


def test_a_link_for_another_audience_is_refused() -> None:
    token = signed(link_claims(aud="slc"))
    assert "wrong audience" in refusal(token)


def test_a_link_for_another_district_is_refused() -> None:
    message = refusal(mint(district="d-2"))
    assert "district 'd-2'" in message and "'d-1'" in message


def test_any_district_is_accepted_when_the_verifier_names_none() -> None:
    assert verifier(district=None).verify(mint(district="d-2")).district == "d-2"


@pytest.mark.parametrize("claim", ["sub", "district", "iat", "exp", "jti"])
def test_a_link_without_a_required_claim_is_refused(claim: str) -> None:
    token = signed({key: value for key, value in link_claims().items() if key != claim})
    assert claim in refusal(token)


def test_a_link_issued_in_the_future_is_refused() -> None:
    token = signed(link_claims(iat=time.time() + 3600, exp=int(time.time()) + 7200))
    assert "issued in the future" in refusal(token)


def test_an_over_long_link_is_not_minted() -> None:
    with pytest.raises(ValueError, match="180 days"):
        mint(issued_at=NOW, expires_at=NOW + MAX_LIFETIME + timedelta(seconds=2))


def test_an_over_long_link_is_refused() -> None:
    """One made with the private key some other way still may not outlive 180 days."""
    now = time.time()
    token = signed(link_claims(iat=now, exp=int(now + MAX_LIFETIME.total_seconds()) + 60))
    assert "longer than 180 days" in refusal(token)


def test_a_link_of_exactly_180_days_is_accepted() -> None:
    link = verifier().verify(mint(issued_at=NOW, expires_at=NOW + MAX_LIFETIME))
    assert link.expires_at - link.issued_at <= MAX_LIFETIME


def test_a_link_that_expires_before_it_is_issued_is_not_minted() -> None:
    with pytest.raises(ValueError, match="expire after"):
        mint(issued_at=NOW, expires_at=NOW)


def test_a_link_with_another_token_type_is_refused() -> None:
    assert "not a family link" in refusal(signed(link_claims(), typ="JWT"))


def test_a_link_signed_with_another_algorithm_is_refused() -> None:
    """An HS256 token made with the public key as its secret (the classic confusion) is not
    taken for a link."""
    token = jwt.encode(link_claims(), "x" * 64, algorithm="HS256", headers={"typ": TOKEN_TYPE})
    assert "invalid family link" in refusal(token)


def test_garbage_is_refused() -> None:
    assert "invalid family link" in refusal("not-a-jwt")


def test_keys_that_are_not_ed25519_are_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    private = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        FamilyLinkIssuer(private)
    with pytest.raises(ValueError, match="Ed25519"):
        FamilyLinkVerifier(public, district=None)
    with pytest.raises(ValueError, match="PEM"):
        FamilyLinkVerifier("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n", None)


# --- Links and staff tokens are told apart ---------------------------------------------------


def staff_token(**overrides: Any) -> str:
    values: dict[str, Any] = {
        "secret": STAFF_SECRET,
        "subject": "t-rivera",
        "role": Role.TEACHER,
        "district": "d-1",
    }
    values.update(overrides)
    return mint_token(**values)


def test_a_link_is_recognised_and_a_staff_token_is_not() -> None:
    assert is_family_link(mint())
    assert not is_family_link(staff_token())
    assert not is_family_link("not-a-jwt")
    assert not is_family_link("")


def test_a_token_with_the_links_audience_is_sent_to_the_link_verifier() -> None:
    """A staff-shaped token that claims the links' audience is not a staff token: the link
    verifier refuses it."""
    token = jwt.encode(
        {"sub": "t-1", "role": "teacher", "district": "d-1", "aud": [AUDIENCE, "slc"]},
        STAFF_SECRET,
    )
    assert is_family_link(token)
    assert "not a family link" in refusal(token)


def test_a_staff_token_is_not_taken_for_a_link() -> None:
    assert "not a family link" in refusal(staff_token())


def test_a_link_is_not_taken_for_a_staff_token() -> None:
    """Not by the development verifier, nor by one given the links' public key by mistake."""
    for staff in (
        TokenVerifier(secret=STAFF_SECRET, district="d-1"),
        TokenVerifier(public_key=PUBLIC, district="d-1"),
    ):
        with pytest.raises(TokenError):
            staff.verify(mint())


# --- Settings --------------------------------------------------------------------------------


def test_the_public_key_is_taken_as_pem_text_or_a_path(tmp_path: Path) -> None:
    path = tmp_path / "family-link.pub.pem"
    path.write_text(PUBLIC)
    assert ServiceSettings(family_link_public_key=PUBLIC).family_link_public_key == PUBLIC
    assert ServiceSettings(family_link_public_key=str(path)).family_link_public_key == PUBLIC
    assert ServiceSettings().family_link_public_key is None
    # Notifications, which reads a private key too, reads the public one the same way.
    notifications = NotificationsSettings(family_link_public_key=str(path))
    assert notifications.family_link_public_key == PUBLIC


def test_a_public_key_setting_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nor the path of a file this process can read"):
        ServiceSettings(family_link_public_key=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="not a readable PEM public key"):
        ServiceSettings(family_link_public_key=PRIVATE)  # the private key, by mistake


def test_notifications_takes_the_private_key_as_pem_text_or_a_path(tmp_path: Path) -> None:
    path = tmp_path / "family-link-ed25519.pem"
    path.write_text(PRIVATE)
    for value in (PRIVATE, str(path)):
        settings = NotificationsSettings(family_link_private_key=value)
        assert settings.family_link_private_key is not None
        assert settings.family_link_private_key.get_secret_value() == PRIVATE
        assert PRIVATE not in repr(settings)


def test_the_link_address_must_take_the_token() -> None:
    with pytest.raises(ValueError, match="token"):
        NotificationsSettings(family_link_url="http://127.0.0.1:8002/family")


# --- Notifications' side: the address a message carries --------------------------------------


def links(url: str = "https://school.example/family?link={token}") -> FamilyLinks:
    return FamilyLinks(FamilyLinkIssuer(PRIVATE), url)


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("=", 1)[1]


def test_the_address_carries_a_link_for_the_guardian() -> None:
    url = links().url(
        guardian_id="g-wei", district="d-1", expires_at=NOW + timedelta(days=3), now=NOW
    )
    assert url is not None and url.startswith("https://school.example/family?link=")
    assert verifier().verify(token_of(url)).guardian_id == "g-wei"


def test_without_a_key_there_is_no_link() -> None:
    url = FamilyLinks().url(
        guardian_id="g-wei", district="d-1", expires_at=NOW + timedelta(days=3), now=NOW
    )
    assert url is None


def test_no_link_is_made_that_would_already_have_expired() -> None:
    assert links().url(guardian_id="g-wei", district="d-1", expires_at=NOW, now=NOW) is None


def test_a_window_closing_after_180_days_gets_a_link_of_180_days() -> None:
    url = links().url(
        guardian_id="g-wei", district="d-1", expires_at=NOW + timedelta(days=400), now=NOW
    )
    link = verifier().verify(token_of(url))
    assert link.expires_at - link.issued_at <= MAX_LIFETIME


def test_a_new_link_is_issued_strictly_after_the_revocation_it_follows() -> None:
    """Even when notifications' clock is behind scheduling's, or at the same microsecond."""
    revoked = NOW.replace(microsecond=123456)
    for now in (revoked - timedelta(seconds=2), revoked):
        url = links().url(
            guardian_id="g-wei",
            district="d-1",
            expires_at=revoked + timedelta(days=5),
            now=now,
            issued_at=issued_after(revoked, now=now),
        )
        assert not is_replaced(verifier().verify(token_of(url)).issued_at, revoked)


# --- Scheduling's rules ----------------------------------------------------------------------


def test_a_link_issued_at_or_before_the_revocation_is_replaced() -> None:
    revoked = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert is_replaced(revoked - timedelta(milliseconds=1), revoked)
    assert is_replaced(revoked, revoked)
    assert not is_replaced(revoked + timedelta(milliseconds=1), revoked)
    assert not is_replaced(revoked, None)


def test_a_link_minted_just_before_a_revocation_is_replaced() -> None:
    """Rounding ``iat`` down keeps a link minted in the revocation's millisecond before it."""
    minted = NOW.replace(microsecond=123400)
    revoked = minted + timedelta(microseconds=50)
    link = verifier().verify(mint(issued_at=minted, expires_at=NOW + timedelta(days=1)))
    assert is_replaced(link.issued_at, revoked)


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT, Role.GUARDIAN])
def test_only_administrators_reissue_links(role: Role) -> None:
    with pytest.raises(NotAllowed):
        check_reissuer(
            principal(role, sites=frozenset({"conway"})),
            guardian_id="g-wei",
            district="d-1",
            children_sites={"conway"},
        )


def test_a_site_admin_reissues_for_the_families_of_their_site_only() -> None:
    admin = principal(Role.SITE_ADMIN, sites=frozenset({"conway"}))
    check_reissuer(admin, guardian_id="g-wei", district="d-1", children_sites={"mjds", "conway"})
    with pytest.raises(Hidden):
        check_reissuer(admin, guardian_id="g-wei", district="d-1", children_sites={"mjds"})
    with pytest.raises(Hidden):  # a guardian the roster does not know
        check_reissuer(admin, guardian_id="g-wei", district="d-1", children_sites=set())


def test_a_district_admin_reissues_for_any_family_of_the_district() -> None:
    admin = principal(Role.DISTRICT_ADMIN)
    check_reissuer(admin, guardian_id="g-wei", district="d-1", children_sites={"mjds"})
    with pytest.raises(Hidden):
        check_reissuer(admin, guardian_id="g-wei", district="d-2", children_sites={"mjds"})


def test_a_new_link_works_until_the_last_open_window_ends() -> None:
    ends = [NOW + timedelta(days=3), NOW + timedelta(days=9), NOW - timedelta(days=1)]
    assert new_link_expiry(ends, now=NOW) == NOW + timedelta(days=9)
    assert new_link_expiry([NOW + timedelta(days=900)], now=NOW) == NOW + MAX_LIFETIME


def test_a_link_sent_for_a_window_works_until_the_end_of_its_last_day_on_the_schools_clock() -> (
    None
):
    # Midnight after Dec 10 in Los Angeles is 08:00 UTC; in Chicago 06:00 UTC.
    assert window_links_until(date(2026, 12, 10), "America/Los_Angeles") == datetime(
        2026, 12, 11, 8, 0, tzinfo=UTC
    )
    assert window_links_until(date(2026, 12, 10), "America/Chicago") == datetime(
        2026, 12, 11, 6, 0, tzinfo=UTC
    )


def test_no_new_link_without_an_open_window() -> None:
    with pytest.raises(Refused) as refused:
        new_link_expiry([NOW - timedelta(days=1)], now=NOW)
    assert refused.value.status == 409 and refused.value.reason == NO_OPEN_WINDOW


# --- The messages that carry a link ----------------------------------------------------------

# 16:00 UTC on 1 December 2026 is 8:00 in Los Angeles; 8:00 UTC on 7 December is midnight.
MONDAY_MORNING = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
BOOKING_CLOSES = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
LINK = "https://school.example/family?link=abc.def.ghi"

MESSAGES: dict[str, dict[str, Any]] = {
    "conference_invitation": {
        "children": Names(("Ana", "Leo")),
        "several": True,
        "booked": [],
        "to_choose": Names(("Ana", "Leo")),
        "window": "Fall 2026 SLCs at Conway",
        "days": Days(date(2026, 12, 8), date(2026, 12, 10)),
        "opens_at": MONDAY_MORNING,
        "closes_at": BOOKING_CLOSES,
        "early_access_at": None,
        "open_now": False,
        "link": LINK,
    },
    "booking_reminder": {
        "children": Names(("Ana",)),
        "waiting": Names(()),
        "closes_at": BOOKING_CLOSES,
        "link": LINK,
    },
    "no_show_new_time": {"starts_at": MONDAY_MORNING, "link": LINK},
    "family_link_reissued": {"expires_at": BOOKING_CLOSES, "link": LINK},
    "conference_moved": {
        "starts_at": MONDAY_MORNING,
        "previous_starts_at": BOOKING_CLOSES,
        "minutes": 20,
        "room": "B12",
        "by_school": True,
        "reason": "Ms. Rivera is at a training",
        "interpreter": None,
        "link": LINK,
    },
    "conference_booked_from_waitlist": {
        "starts_at": MONDAY_MORNING,
        "minutes": 20,
        "room": "B12",
        "interpreter": None,
        "link": LINK,
    },
    "conference_cancelled": {
        "starts_at": MONDAY_MORNING,
        "reason": None,
        "waitlisted": True,
        "link": LINK,
    },
}

WORDS = {
    ("conference_invitation", "en"): ["Invitation", "Ana and Leo", "Dec 8", "8:00"],
    ("conference_invitation", "es"): ["Invitación", "Ana y Leo", "8\u201310 de diciembre", "8:00"],
    ("booking_reminder", "en"): ["Reminder", "Booking closes Monday, December 7, 2026"],
    ("booking_reminder", "es"): ["Recordatorio", "cierran el lunes, 7 de diciembre de 2026"],
    ("no_show_new_time", "en"): ["We missed you", "choose a new time", "December 1, 2026"],
    ("no_show_new_time", "es"): ["nuevo horario", "no haya podido venir", "1 de diciembre"],
    ("family_link_reissued", "en"): ["new link", "no longer work"],
    ("family_link_reissued", "es"): ["nuevo enlace", "ya no funcionan"],
    ("conference_moved", "en"): ["New time", "The school had to move", "Ms. Rivera"],
    ("conference_moved", "es"): ["Nuevo horario", "La escuela tuvo que cambiar", "Ms. Rivera"],
    ("conference_booked_from_waitlist", "en"): ["A time opened up", "waiting list"],
    ("conference_booked_from_waitlist", "es"): ["Se liberó un horario", "lista de espera"],
    ("conference_cancelled", "en"): ["Cancelled", "first on the waiting list", "another time"],
    ("conference_cancelled", "es"): ["Cancelada", "primero en la lista de espera", "otro horario"],
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("template", sorted(MESSAGES))
def test_family_link_messages_render_in_english_and_spanish(template: str, language: str) -> None:
    message = render(
        template,
        language=language,
        timezone="America/Los_Angeles",
        student="Ana",
        guardian="Rosa",
        **MESSAGES[template],
    )
    text = message.subject + "\n" + message.body
    assert message.language == language
    assert message.subject and "\n" not in message.subject
    assert "Rosa" in message.body
    for word in WORDS[template, language]:
        assert word in text, (word, text)
    if "link" in MESSAGES[template]:
        assert LINK in message.body.splitlines()  # on a line of its own
    assert not message.body.endswith("\n\n")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    "template",
    [
        "conference_invitation",
        "booking_reminder",
        "no_show_new_time",
        "conference_moved",
        "conference_booked_from_waitlist",
        "conference_cancelled",
    ],
)
def test_without_a_link_the_family_is_told_to_ask_the_school(template: str, language: str) -> None:
    message = render(
        template,
        language=language,
        timezone="America/Los_Angeles",
        student="Ana",
        guardian="Rosa",
        **{**MESSAGES[template], "link": None},
    )
    assert ("school office" if language == "en" else "oficina de la escuela") in message.body
    assert "None" not in message.body


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_move_the_family_made_is_confirmed_without_an_apology(language: str) -> None:
    values = {**MESSAGES["conference_moved"], "by_school": False, "reason": None}
    message = render(
        "conference_moved",
        language=language,
        timezone="America/Los_Angeles",
        student="Ana",
        guardian="Rosa",
        **values,
    )
    assert ("confirmed" if language == "en" else "confirmado") in message.body
    assert ("sorry" if language == "en" else "Lamentamos") not in message.body


@pytest.mark.parametrize(("language", "written_in"), [("es-MX", "es"), ("vi", "vi"), ("fr", "en")])
def test_a_link_opens_the_pages_in_the_language_of_its_message(
    language: str, written_in: str
) -> None:
    message = render(
        "no_show_new_time",
        language=language,
        timezone="America/Los_Angeles",
        student="Ana",
        guardian="Rosa",
        **{**MESSAGES["no_show_new_time"], "link": f"{LINK}&lang={{language}}"},
    )
    assert f"{LINK}&lang={written_in}" in message.body.splitlines()
    assert "{language}" not in message.body
