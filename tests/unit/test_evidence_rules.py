"""Evidence's rules: who may add, see, review and comment, how a piece's status moves, and
what a piece may hold."""

from __future__ import annotations

import pytest

from services.portfolio.evidence.rules import (
    Status,
    StatusConflict,
    approve,
    hand_in_again,
    may_add_evidence,
    may_comment,
    may_edit_evidence,
    may_manage_framework,
    may_manage_site_settings,
    may_review_evidence,
    may_see_feedback,
    may_see_review_queue,
    return_for_improvement,
    status_when_handed_in,
    unknown_tags,
    visible_statuses,
)
from shared.auth.principal import Principal, Role
from shared.web_links import link_refusal
from tests.support import principal

STUDENT = principal(Role.STUDENT, subject="stu-1")
OTHER_STUDENT = principal(Role.STUDENT, subject="stu-2")
GUARDIAN = principal(Role.GUARDIAN, subject="g-1", students=frozenset({"stu-1"}))
TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"s-1"}))
OTHER_SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-2", sites=frozenset({"s-2"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
STAFF = [TEACHER, SITE_ADMIN, DISTRICT_ADMIN]
STAFF_IDS = ["teacher", "site admin", "district admin"]
ELSEWHERE = principal(Role.DISTRICT_ADMIN, subject="da-9", district="d-2")


# --- Adding and changing -----------------------------------------------------------------------


def test_the_student_adds_their_own_evidence() -> None:
    assert may_add_evidence(STUDENT, district="d-1", student_id="stu-1")


def test_a_student_cannot_add_to_another_students_portfolio() -> None:
    assert not may_add_evidence(OTHER_STUDENT, district="d-1", student_id="stu-1")


@pytest.mark.parametrize("caller", STAFF, ids=STAFF_IDS)
def test_staff_who_see_the_student_add_evidence_with_them(caller: Principal) -> None:
    assert may_add_evidence(caller, district="d-1", student_id="stu-1")


def test_families_never_add_evidence() -> None:
    assert not may_add_evidence(GUARDIAN, district="d-1", student_id="stu-1")


def test_nobody_adds_to_a_portfolio_of_another_district() -> None:
    assert not may_add_evidence(ELSEWHERE, district="d-1", student_id="stu-1")
    assert not may_add_evidence(STUDENT, district="d-2", student_id="stu-1")


def test_only_the_student_changes_their_evidence() -> None:
    assert may_edit_evidence(STUDENT, district="d-1", student_id="stu-1")
    for caller in (OTHER_STUDENT, GUARDIAN, TEACHER, SITE_ADMIN, DISTRICT_ADMIN):
        assert not may_edit_evidence(caller, district="d-1", student_id="stu-1")


# --- Seeing ------------------------------------------------------------------------------------


def test_families_see_approved_evidence_only_and_no_feedback() -> None:
    assert visible_statuses(GUARDIAN) == {Status.APPROVED}
    assert not may_see_feedback(GUARDIAN)


@pytest.mark.parametrize("caller", [STUDENT, *STAFF], ids=["student", *STAFF_IDS])
def test_the_student_and_staff_see_every_piece_with_its_feedback(caller: Principal) -> None:
    assert visible_statuses(caller) == set(Status)
    assert may_see_feedback(caller)


# --- Review ------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", STAFF, ids=STAFF_IDS)
def test_teachers_and_administrators_review_evidence(caller: Principal) -> None:
    assert may_review_evidence(caller, district="d-1")


@pytest.mark.parametrize("caller", [STUDENT, GUARDIAN], ids=["student", "guardian"])
def test_students_and_families_do_not_review_evidence(caller: Principal) -> None:
    assert not may_review_evidence(caller, district="d-1")


def test_a_teacher_sees_the_review_queue_of_their_sites_only() -> None:
    assert may_see_review_queue(TEACHER, district="d-1", site="s-1")
    assert not may_see_review_queue(TEACHER, district="d-1", site="s-2")
    unnarrowed = principal(Role.TEACHER, subject="t-2")
    assert may_see_review_queue(unnarrowed, district="d-1", site="s-2")


def test_administrators_see_the_review_queue_of_sites_they_act_for() -> None:
    assert may_see_review_queue(SITE_ADMIN, district="d-1", site="s-1")
    assert not may_see_review_queue(OTHER_SITE_ADMIN, district="d-1", site="s-1")
    assert may_see_review_queue(DISTRICT_ADMIN, district="d-1", site="s-9")
    assert not may_see_review_queue(ELSEWHERE, district="d-1", site="s-1")


@pytest.mark.parametrize("caller", [STUDENT, GUARDIAN], ids=["student", "guardian"])
def test_students_and_families_have_no_review_queue(caller: Principal) -> None:
    assert not may_see_review_queue(caller, district="d-1", site="s-1")


@pytest.mark.parametrize("current", [Status.SUBMITTED, Status.RETURNED])
def test_submitted_or_returned_evidence_is_approved(current: Status) -> None:
    assert approve(current) is Status.APPROVED


def test_approved_evidence_is_not_approved_again() -> None:
    with pytest.raises(StatusConflict, match="the evidence is approved"):
        approve(Status.APPROVED)


def test_only_submitted_evidence_is_returned() -> None:
    assert return_for_improvement(Status.SUBMITTED) is Status.RETURNED
    for current in (Status.RETURNED, Status.APPROVED):
        with pytest.raises(StatusConflict, match=f"the evidence is {current}"):
            return_for_improvement(current)


def test_new_evidence_waits_for_review_only_where_the_site_reviews() -> None:
    assert status_when_handed_in(requires_approval=True) is Status.SUBMITTED
    assert status_when_handed_in(requires_approval=False) is Status.APPROVED


@pytest.mark.parametrize("current", [Status.SUBMITTED, Status.RETURNED])
def test_improved_evidence_is_handed_in_again(current: Status) -> None:
    assert hand_in_again(current, requires_approval=True) is Status.SUBMITTED
    assert hand_in_again(current, requires_approval=False) is Status.APPROVED


def test_approved_evidence_is_not_changed() -> None:
    with pytest.raises(StatusConflict, match="the evidence is approved"):
        hand_in_again(Status.APPROVED, requires_approval=True)


# --- Comments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [STUDENT, *STAFF], ids=["student", *STAFF_IDS])
def test_staff_comment_and_the_student_answers(caller: Principal) -> None:
    assert may_comment(caller, district="d-1", student_id="stu-1")


def test_families_and_other_students_take_no_part_in_comments() -> None:
    assert not may_comment(GUARDIAN, district="d-1", student_id="stu-1")
    assert not may_comment(OTHER_STUDENT, district="d-1", student_id="stu-1")


# --- Settings and the framework ----------------------------------------------------------------


def test_a_sites_admin_or_district_it_sets_how_the_site_reviews() -> None:
    assert may_manage_site_settings(SITE_ADMIN, district="d-1", site="s-1")
    assert may_manage_site_settings(DISTRICT_ADMIN, district="d-1", site="s-1")
    assert not may_manage_site_settings(OTHER_SITE_ADMIN, district="d-1", site="s-1")
    for caller in (TEACHER, STUDENT, GUARDIAN):
        assert not may_manage_site_settings(caller, district="d-1", site="s-1")


def test_only_district_it_keeps_the_districts_framework() -> None:
    assert may_manage_framework(DISTRICT_ADMIN, district="d-1", scope="district")
    for caller in (SITE_ADMIN, TEACHER, STUDENT, GUARDIAN, ELSEWHERE):
        assert not may_manage_framework(caller, district="d-1", scope="district")


def test_a_sites_framework_is_kept_by_its_admin_or_district_it() -> None:
    assert may_manage_framework(SITE_ADMIN, district="d-1", scope="s-1")
    assert may_manage_framework(DISTRICT_ADMIN, district="d-1", scope="s-1")
    for caller in (OTHER_SITE_ADMIN, TEACHER, STUDENT, GUARDIAN, ELSEWHERE):
        assert not may_manage_framework(caller, district="d-1", scope="s-1")


# --- What a piece may hold ---------------------------------------------------------------------


def test_unknown_tags_are_named_in_the_order_asked_once_each() -> None:
    assert unknown_tags(["kindness", "grit", "x", "grit"], {"kindness"}) == ["grit", "x"]
    assert unknown_tags(["kindness"], {"kindness", "grit"}) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/ava/volcano",
        "http://school.example:8080/work?id=4#top",
        "HTTPS://EXAMPLE.ORG/",
        "https://例え.jp/作品",
    ],
)
def test_web_addresses_are_links(url: str) -> None:
    assert link_refusal(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "http:// or https://"),
        ("data:text/html,<script>alert(1)</script>", "http:// or https://"),
        ("ftp://files.example/work.pdf", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://ava:secret@example.org/", "user name or password"),
        ("https://token@example.org/", "user name or password"),
        ("https:///no-host", "names a web site"),
        ("https://example.org:99999/", "not a valid web address"),
        ("https://example.org/a b", "no spaces"),
        ("https://example.org/\u202egpj.exe", "no spaces, control characters"),
        ("https://example.org/\n", "no spaces, control characters"),
    ],
)
def test_other_addresses_are_refused_with_a_reason(url: str, reason: str) -> None:
    assert reason in (link_refusal(url) or "")
