"""Principals, their scope rules, and bearer tokens."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.notifications.app import SPEC as NOTIFICATIONS
from services.portfolio.app import SPEC as PORTFOLIO
from services.scheduling.app import SPEC as SCHEDULING
from shared.auth.http import authenticate, authenticate_revocation_in_transaction
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenError, TokenVerifier, mint_token
from tests.support import principal

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def claims(*omit: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": "t-1",
        "role": "teacher",
        "district": "d-1",
        "sites": ["s-1"],
        "aud": "slc",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if key not in omit}


def hs256(*omit: str, **overrides: Any) -> str:
    return jwt.encode(claims(*omit, **overrides), SECRET, algorithm="HS256")


# --- Principal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "staff"),
    [
        (Role.STUDENT, False),
        (Role.GUARDIAN, False),
        (Role.TEACHER, True),
        (Role.SITE_ADMIN, True),
        (Role.DISTRICT_ADMIN, True),
    ],
)
def test_staff_roles(role: Role, staff: bool) -> None:
    assert principal(role).is_staff is staff


def test_principal_is_immutable() -> None:
    caller = principal(Role.TEACHER, sites=frozenset({"s-1"}))
    with pytest.raises(ValueError):
        caller.role = Role.DISTRICT_ADMIN  # type: ignore[misc]


def test_teacher_acts_for_own_site_only() -> None:
    teacher = principal(Role.TEACHER, sites=frozenset({"s-1"}))
    assert teacher.can_act_for_site("d-1", "s-1")
    assert not teacher.can_act_for_site("d-1", "s-2")


def test_site_admin_acts_for_own_sites_only() -> None:
    admin = principal(Role.SITE_ADMIN, sites=frozenset({"s-1", "s-2"}))
    assert admin.can_act_for_site("d-1", "s-1")
    assert admin.can_act_for_site("d-1", "s-2")
    assert not admin.can_act_for_site("d-1", "s-3")


def test_district_admin_acts_for_every_site_of_their_district() -> None:
    admin = principal(Role.DISTRICT_ADMIN)
    assert admin.can_act_for_site("d-1", "any-site")
    assert not admin.can_act_for_site("d-2", "any-site")


def test_site_of_same_name_in_another_district_is_out_of_scope() -> None:
    teacher = principal(Role.TEACHER, sites=frozenset({"s-1"}))
    assert not teacher.can_act_for_site("d-2", "s-1")


def test_student_sees_only_themself() -> None:
    student = principal(Role.STUDENT, subject="stu-1", students=frozenset({"stu-1"}))
    assert student.can_see_student(district="d-1", site="s-1", student_id="stu-1")
    assert not student.can_see_student(district="d-1", site="s-1", student_id="stu-2")
    assert not student.can_see_student(district="d-2", site="s-1", student_id="stu-1")


def test_guardian_sees_only_the_children_the_roster_links_them_to() -> None:
    guardian = principal(Role.GUARDIAN, subject="g-1")
    linked = {"g-1", "g-2"}
    assert guardian.can_see_student(
        district="d-1", site="s-1", student_id="stu-1", guardians=linked
    )
    assert not guardian.can_see_student(
        district="d-1", site="s-1", student_id="stu-3", guardians={"g-2"}
    )
    assert not guardian.can_see_student(district="d-1", site="s-1", student_id="stu-3")
    assert not guardian.can_see_student(
        district="d-2", site="s-1", student_id="stu-1", guardians=linked
    )


def test_a_guardians_students_claim_narrows_the_roster_never_widens_it() -> None:
    narrowed = principal(Role.GUARDIAN, subject="g-1", students=frozenset({"stu-1"}))
    assert narrowed.can_see_student(
        district="d-1", site="s-1", student_id="stu-1", guardians={"g-1"}
    )
    # Linked in the roster, but the token names only stu-1.
    assert not narrowed.can_see_student(
        district="d-1", site="s-1", student_id="stu-2", guardians={"g-1"}
    )
    # Named in the token, but not linked in the roster (finding: a guardian in the token but
    # not in the roster cancelled another family's booking).
    claimed = principal(Role.GUARDIAN, subject="g-9", students=frozenset({"stu-1"}))
    assert not claimed.can_see_student(
        district="d-1", site="s-1", student_id="stu-1", guardians={"g-1"}
    )


def test_guardian_with_sites_still_sees_only_their_children() -> None:
    guardian = principal(Role.GUARDIAN, sites=frozenset({"s-1"}), subject="g-1")
    assert not guardian.can_see_student(
        district="d-1", site="s-1", student_id="stu-2", guardians={"g-2"}
    )


def test_teacher_sees_the_students_of_their_classes_not_the_whole_site() -> None:
    teacher = principal(Role.TEACHER, sites=frozenset({"s-1"}))
    # principal() names the caller "u-1"
    mine = {"district": "d-1", "site": "s-1", "student_id": "st-1", "teachers": {"u-1", "t-2"}}
    assert teacher.can_see_student(**mine)  # type: ignore[arg-type]
    assert not teacher.can_see_student(district="d-1", site="s-1", student_id="st-2")
    assert not teacher.can_see_student(
        district="d-1", site="s-1", student_id="st-3", teachers={"t-2"}
    )
    assert not teacher.can_see_student(**{**mine, "district": "d-2"})  # type: ignore[arg-type]


def test_a_teachers_token_sites_narrow_their_classes() -> None:
    narrowed = principal(Role.TEACHER, sites=frozenset({"s-1"}))
    everywhere = principal(Role.TEACHER, sites=frozenset())
    elsewhere = {"district": "d-1", "site": "s-2", "student_id": "st-1", "teachers": {"u-1"}}
    assert not narrowed.can_see_student(**elsewhere)  # type: ignore[arg-type]
    assert everywhere.can_see_student(**elsewhere)  # type: ignore[arg-type]


def test_a_teachers_sites_from_the_roster_are_exact_none_meaning_nowhere() -> None:
    """Once a service has put the sites of the teacher's classes in place of the token's
    (``shared.auth.http``), no sites is no school, not every school; what the roster ties to
    the teacher (their own students) is narrowed by the token's claim only."""
    nowhere = principal(Role.TEACHER).model_copy(update={"claimed_sites": frozenset()})
    conway = nowhere.model_copy(update={"sites": frozenset({"s-1"})})
    claimed = conway.model_copy(update={"claimed_sites": frozenset({"s-1"})})
    student = {"district": "d-1", "site": "s-2", "student_id": "st-1", "teachers": {"u-1"}}
    assert not nowhere.can_act_for_site("d-1", "s-1") and not nowhere.narrowed_out("s-1")
    assert conway.can_act_for_site("d-1", "s-1") and not conway.can_act_for_site("d-1", "s-2")
    # Their student enrolled at another school, in their class: theirs, unless the claim says no.
    assert conway.can_see_student(**student)  # type: ignore[arg-type]
    assert not claimed.can_see_student(**student) and claimed.narrowed_out("s-2")  # type: ignore[arg-type]


def test_district_admin_sees_every_student_of_their_district() -> None:
    admin = principal(Role.DISTRICT_ADMIN)
    assert admin.can_see_student(district="d-1", site="s-7", student_id="anyone")
    assert not admin.can_see_student(district="d-2", site="s-7", student_id="anyone")


# --- Minting and verifying -------------------------------------------------------------------


def test_minted_token_verifies_to_the_same_principal() -> None:
    token = mint_token(
        secret=SECRET,
        subject="g-1",
        role=Role.GUARDIAN,
        district="d-1",
        sites=["s-1"],
        students=["stu-2", "stu-1"],
    )
    assert TokenVerifier(secret=SECRET).verify(token) == Principal(
        subject="g-1",
        role=Role.GUARDIAN,
        district="d-1",
        sites=frozenset({"s-1"}),
        students=frozenset({"stu-1", "stu-2"}),
    )


def test_token_without_sites_or_students_gives_empty_scopes() -> None:
    token = hs256("sites")
    verified = TokenVerifier(secret=SECRET).verify(token)
    assert verified.sites == frozenset()
    assert verified.students == frozenset()


def test_verifier_needs_a_key() -> None:
    with pytest.raises(ValueError):
        TokenVerifier()


def test_expired_token_is_rejected() -> None:
    token = mint_token(
        secret=SECRET,
        subject="t-1",
        role=Role.TEACHER,
        district="d-1",
        ttl=timedelta(seconds=-1),
    )
    with pytest.raises(TokenError, match="expired"):
        TokenVerifier(secret=SECRET).verify(token)


def test_token_for_another_audience_is_rejected() -> None:
    token = mint_token(
        secret=SECRET, subject="t-1", role=Role.TEACHER, district="d-1", audience="other"
    )
    with pytest.raises(TokenError, match="audience 'slc'"):
        TokenVerifier(secret=SECRET).verify(token)


def test_token_with_no_audience_is_rejected() -> None:
    with pytest.raises(TokenError):
        TokenVerifier(secret=SECRET).verify(hs256("aud"))


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "role", "district"])
def test_token_missing_a_required_claim_is_rejected(claim: str) -> None:
    token = hs256(claim)
    with pytest.raises(TokenError, match=f"lacks the '{claim}' claim"):
        TokenVerifier(secret=SECRET).verify(token)


def test_token_signed_with_another_secret_is_rejected() -> None:
    token = jwt.encode(claims(), "some-other-secret-that-is-also-long-enough", algorithm="HS256")
    with pytest.raises(TokenError, match="invalid token"):
        TokenVerifier(secret=SECRET).verify(token)


def test_tampered_token_is_rejected() -> None:
    header, _, signature = hs256().split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(role="district_admin")).encode())
    forged_payload = forged.decode().rstrip("=")
    with pytest.raises(TokenError, match="invalid token"):
        TokenVerifier(secret=SECRET).verify(f"{header}.{forged_payload}.{signature}")


def test_garbage_token_is_rejected() -> None:
    with pytest.raises(TokenError):
        TokenVerifier(secret=SECRET).verify("not-a-jwt")


def test_unsigned_token_is_rejected() -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(TokenError):
        TokenVerifier(secret=SECRET).verify(token)


@pytest.mark.parametrize("role", ["principal", "TEACHER", ""])
def test_token_with_unknown_role_is_rejected(role: str) -> None:
    with pytest.raises(TokenError, match="claims are not valid"):
        TokenVerifier(secret=SECRET).verify(hs256(role=role))


def test_issuer_is_checked_when_configured() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer="https://idp.example")
    assert verifier.verify(hs256(iss="https://idp.example")).subject == "t-1"
    with pytest.raises(TokenError):
        verifier.verify(hs256(iss="https://elsewhere.example"))
    with pytest.raises(TokenError):
        verifier.verify(hs256())


def test_minted_issuer_is_accepted_by_a_verifier_expecting_it() -> None:
    token = mint_token(
        secret=SECRET,
        subject="a-1",
        role=Role.DISTRICT_ADMIN,
        district="d-1",
        issuer="https://idp.example",
    )
    verified = TokenVerifier(secret=SECRET, issuer="https://idp.example").verify(token)
    assert verified.role is Role.DISTRICT_ADMIN


@pytest.mark.parametrize("value", [None, 5])
def test_non_list_sites_claim_is_rejected_as_a_token_error(value: Any) -> None:
    with pytest.raises(TokenError):
        TokenVerifier(secret=SECRET).verify(hs256(sites=value))


def test_string_sites_claim_is_not_split_into_characters() -> None:
    try:
        verified = TokenVerifier(secret=SECRET).verify(hs256(sites="site-1"))
    except TokenError:
        return
    assert verified.sites == frozenset({"site-1"})


# --- Asymmetric keys -------------------------------------------------------------------------


def _pem_pair(private_key: Any) -> tuple[bytes, str]:
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[bytes, str]:
    return _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def test_rs256_token_verifies_with_the_public_key(rsa_keys: tuple[bytes, str]) -> None:
    private_pem, public_pem = rsa_keys
    token = jwt.encode(
        claims(sub="a-1", role="site_admin", sites=["s-1", "s-2"]), private_pem, algorithm="RS256"
    )
    verified = TokenVerifier(public_key=public_pem).verify(token)
    assert verified == Principal(
        subject="a-1", role=Role.SITE_ADMIN, district="d-1", sites=frozenset({"s-1", "s-2"})
    )


def test_rs256_token_from_another_key_is_rejected(rsa_keys: tuple[bytes, str]) -> None:
    _, public_pem = rsa_keys
    other_private, _ = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    token = jwt.encode(claims(), other_private, algorithm="RS256")
    with pytest.raises(TokenError, match="invalid token"):
        TokenVerifier(public_key=public_pem).verify(token)


def test_public_key_verifier_refuses_hs256_tokens(rsa_keys: tuple[bytes, str]) -> None:
    _, public_pem = rsa_keys
    with pytest.raises(TokenError):
        TokenVerifier(public_key=public_pem).verify(hs256())


def test_expired_rs256_token_is_rejected(rsa_keys: tuple[bytes, str]) -> None:
    private_pem, public_pem = rsa_keys
    token = jwt.encode(claims(exp=int(time.time()) - 10), private_pem, algorithm="RS256")
    with pytest.raises(TokenError, match="expired"):
        TokenVerifier(public_key=public_pem).verify(token)


def test_es256_token_verifies_with_the_public_key() -> None:
    private_pem, public_pem = _pem_pair(ec.generate_private_key(ec.SECP256R1()))
    token = jwt.encode(claims(), private_pem, algorithm="ES256")
    assert TokenVerifier(public_key=public_pem).verify(token).role is Role.TEACHER


def test_a_token_living_longer_than_the_maximum_is_refused() -> None:
    now = int(time.time())
    century = hs256(iat=now, exp=now + 100 * 365 * 24 * 3600)
    with pytest.raises(TokenError, match="at most 12 are accepted"):
        TokenVerifier(secret=SECRET).verify(century)
    day = hs256(iat=now, exp=now + 24 * 3600)
    with pytest.raises(TokenError, match=r"lives 24\.0 hours"):
        TokenVerifier(secret=SECRET).verify(day)
    assert TokenVerifier(secret=SECRET, max_lifetime=timedelta(days=2)).verify(day)


def test_a_token_issued_in_the_future_is_refused() -> None:
    now = int(time.time())
    with pytest.raises(TokenError, match="issued in the future"):
        TokenVerifier(secret=SECRET).verify(hs256(iat=now + 3600, exp=now + 7200))


def test_a_token_of_another_district_is_refused_with_the_reason() -> None:
    verifier = TokenVerifier(secret=SECRET, district="d-1")
    assert verifier.verify(hs256()).district == "d-1"
    with pytest.raises(TokenError, match="token is for district 'other'; this deployment serves"):
        verifier.verify(hs256(district="other"))


@pytest.mark.parametrize("iat", [float("nan"), float("inf"), float("-inf"), -1e300, 1e300, "0"])
def test_an_iat_that_is_not_a_time_is_a_401_reason_not_a_crash(iat: Any) -> None:
    with pytest.raises(TokenError):
        TokenVerifier(secret=SECRET).verify(hs256(iat=iat))


def _routes_with(dependency: Any) -> set[tuple[str, str]]:
    """Every route of the three services whose dependencies (at any depth) include
    ``dependency``, as (method, path)."""

    def uses(dependant: Dependant) -> bool:
        return dependant.call is dependency or any(uses(d) for d in dependant.dependencies)

    found = set()
    for spec in (PORTFOLIO, SCHEDULING, NOTIFICATIONS):
        for router in spec.routers:
            for route in router.routes:
                if isinstance(route, APIRoute) and uses(route.dependant):
                    found |= {(method, route.path) for method in route.methods}
    return found


def test_only_the_listed_routes_leave_a_family_links_revocation_to_their_transaction() -> None:
    """A route taking ``authenticate_revocation_in_transaction`` must refuse a replaced link
    itself (``refuse_if_replaced``), tested in ``tests/integration/
    test_family_links_across_services.py``: a route added here without that would let a
    replaced link in."""
    assert _routes_with(authenticate_revocation_in_transaction) == {("POST", "/bookings")}
    assert ("GET", "/bookings") in _routes_with(authenticate)  # (the walk finds routes)
