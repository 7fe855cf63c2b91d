"""Reflections' rules: who writes and reads reflections, grade bands, and which sentence starters
a student is offered (and the built-in ones themselves)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from services.portfolio.reflections.built_in_starters import built_in_starters
from services.portfolio.reflections.rules import (
    BUILT_IN,
    DISTRICT_SCOPE,
    GRADE_BANDS,
    PROMPTS,
    Starters,
    StarterSource,
    answered_prompts,
    canonical_language,
    family_may_see,
    grade_band_of,
    language_lookup,
    languages_to_offer,
    may_edit_starters,
    may_read_starters,
    may_write_reflection,
    resolve_starters,
    sees_every_reflection,
    starter_sources,
    text_direction,
)
from shared.api_types import Text
from shared.auth.principal import Principal, Role
from tests.support import principal

STUDENT = principal(Role.STUDENT, subject="stu-1", sites=frozenset({"s-1"}))
TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"s-1"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
GUARDIAN = principal(Role.GUARDIAN, subject="g-1", students=frozenset({"stu-1"}))
LANGUAGES = ("en", "es", "vi", "zh-Hans", "ar")


# --- Writing and reading reflections ---------------------------------------------------------


def test_student_writes_their_own_reflection_only() -> None:
    assert may_write_reflection(STUDENT, district="d-1", site="s-1", student_id="stu-1")
    assert not may_write_reflection(STUDENT, district="d-1", site="s-1", student_id="stu-2")
    assert not may_write_reflection(STUDENT, district="d-2", site="s-1", student_id="stu-1")


@pytest.mark.parametrize("caller", [TEACHER, SITE_ADMIN, DISTRICT_ADMIN])
def test_staff_write_it_down_for_a_student_of_their_site(caller: Principal) -> None:
    assert may_write_reflection(caller, district="d-1", site="s-1", student_id="stu-1")
    assert not may_write_reflection(caller, district="d-2", site="s-1", student_id="stu-1")


def test_teacher_of_another_site_does_not_write_it() -> None:
    assert not may_write_reflection(TEACHER, district="d-1", site="s-2", student_id="stu-1")


def test_guardian_never_writes_their_childs_reflection() -> None:
    assert not may_write_reflection(GUARDIAN, district="d-1", site="s-1", student_id="stu-1")


def test_family_sees_term_reflections_and_those_on_approved_evidence_only() -> None:
    assert family_may_see(evidence_id=None, evidence_status=None)
    assert family_may_see(evidence_id="e-1", evidence_status="approved")
    assert not family_may_see(evidence_id="e-1", evidence_status="submitted")
    assert not family_may_see(evidence_id="e-1", evidence_status="returned")
    # Evidence that is gone: what was said about it stays between student and teacher.
    assert not family_may_see(evidence_id="e-1", evidence_status=None)


def test_only_guardians_see_a_filtered_list() -> None:
    assert [sees_every_reflection(p) for p in (STUDENT, TEACHER, DISTRICT_ADMIN, GUARDIAN)] == [
        True,
        True,
        True,
        False,
    ]


def test_answered_prompts_are_the_non_empty_ones_in_prompt_order() -> None:
    answers = {"next_steps": "Read more", "glows": "My letters", "hard": None, "grows": ""}
    assert answered_prompts(answers) == ["glows", "next_steps"]
    assert answered_prompts({}) == []


# --- Grade bands -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "band"),
    [
        ("IT", "K-2"),
        ("PR", "K-2"),
        ("PK", "K-2"),
        ("TK", "K-2"),
        ("KG", "K-2"),
        ("kg", "K-2"),
        ("01", "K-2"),
        ("02", "K-2"),
        ("03", "3-5"),
        ("5", "3-5"),
        ("06", "6-8"),
        ("08", "6-8"),
        ("09", "9-12"),
        ("12", "9-12"),
        ("13", "9-12"),
        ("PS", "9-12"),
    ],
)
def test_roster_grades_fall_in_their_band(grade: str, band: str) -> None:
    assert grade_band_of(grade) == band


@pytest.mark.parametrize("grade", ["", "UG", "Other", "?", "³", "٣"])
def test_ungraded_or_unknown_grades_get_the_simplest_starters(grade: str) -> None:
    assert grade_band_of(grade) == "K-2"


# --- Languages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [("ES", "es"), ("es-mx", "es-MX"), ("zh_hans", "zh-Hans"), ("es-419", "es-419")],
)
def test_language_tags_are_written_in_their_usual_case(tag: str, canonical: str) -> None:
    assert canonical_language(tag) == canonical


@pytest.mark.parametrize(
    ("tag", "tried"),
    [
        ("es-MX", ["es-MX", "es"]),
        ("zh", ["zh", "zh-Hans"]),
        ("zh-CN", ["zh-CN", "zh", "zh-Hans"]),
        ("zh-Hans-CN", ["zh-Hans-CN", "zh-Hans", "zh"]),
        ("zh-TW", ["zh-TW", "zh"]),
        ("zh-Hant", ["zh-Hant", "zh"]),
        ("en-US-x-slc", ["en-US-x-slc", "en-US", "en"]),
    ],
)
def test_a_language_is_looked_up_from_most_to_least_specific(tag: str, tried: list[str]) -> None:
    assert language_lookup(tag) == tried


def test_starters_are_offered_in_the_language_asked_else_the_students_else_english() -> None:
    assert languages_to_offer(requested="vi", student_language="es-MX") == [
        "vi",
        "es-MX",
        "es",
        "en",
    ]
    assert languages_to_offer(requested=None, student_language="ar") == ["ar", "en"]
    assert languages_to_offer(requested=None, student_language=None) == ["en"]


@pytest.mark.parametrize(
    ("tag", "direction"),
    [("ar", "rtl"), ("ar-EG", "rtl"), ("he", "rtl"), ("en", "ltr"), ("zh-Hans", "ltr")],
)
def test_text_direction(tag: str, direction: str) -> None:
    assert text_direction(tag) == direction


def test_a_language_written_in_another_script_runs_that_scripts_way() -> None:
    assert text_direction("pa-Arab") == "rtl"
    assert text_direction("ku-Latn") == "ltr"


# --- Which starters ------------------------------------------------------------------------

SITE_EN: Starters = {"glows": ["At Conway we are kind when …"]}
DISTRICT_EN: Starters = {"glows": ["In our district I …"]}
DISTRICT_ES: Starters = {"glows": ["En nuestro distrito yo …"]}
BUILT_EN: Starters = {"glows": ["I am proud of …"]}
BUILT_VI: Starters = {"glows": ["Em tự hào về …"]}


def sources(
    site: dict[str, Starters] | None = None, district: dict[str, Starters] | None = None
) -> list[StarterSource]:
    return starter_sources(
        site="s-1",
        site_sets=site or {},
        district_sets=district or {},
        built_in={"en": BUILT_EN, "vi": BUILT_VI},
    )


def test_the_sites_own_starters_replace_the_districts_which_replace_the_built_in() -> None:
    everything = sources(site={"en": SITE_EN}, district={"en": DISTRICT_EN})
    found = resolve_starters(["en"], everything)
    assert found is not None
    assert (found.source, found.starters) == ("s-1", SITE_EN)
    found = resolve_starters(["en"], sources(district={"en": DISTRICT_EN}))
    assert found is not None
    assert (found.source, found.starters) == (DISTRICT_SCOPE, DISTRICT_EN)
    found = resolve_starters(["en"], sources())
    assert found is not None
    assert (found.source, found.starters) == (BUILT_IN, BUILT_EN)


def test_the_language_comes_before_whose_starters_they_are() -> None:
    """A child asking in Vietnamese gets Vietnamese, though their school wrote only English."""
    found = resolve_starters(["vi", "en"], sources(site={"en": SITE_EN}))
    assert found is not None
    assert (found.language, found.source, found.starters) == ("vi", BUILT_IN, BUILT_VI)


def test_a_language_nobody_wrote_starters_in_falls_to_the_next() -> None:
    found = resolve_starters(["fr", "es", "en"], sources(district={"es": DISTRICT_ES}))
    assert found is not None
    assert (found.language, found.source) == ("es", DISTRICT_SCOPE)
    assert resolve_starters(["fr"], sources()) is None


def test_the_district_has_no_site_source() -> None:
    found = starter_sources(site=None, site_sets={}, district_sets={}, built_in={})
    assert [source.name for source in found] == [DISTRICT_SCOPE, BUILT_IN]


# --- Who reads and edits starters ----------------------------------------------------------


def test_district_admin_edits_the_districts_and_every_sites_starters() -> None:
    assert may_edit_starters(DISTRICT_ADMIN, district="d-1", scope=DISTRICT_SCOPE)
    assert may_edit_starters(DISTRICT_ADMIN, district="d-1", scope="s-9")
    assert not may_edit_starters(DISTRICT_ADMIN, district="d-2", scope=DISTRICT_SCOPE)


def test_site_admin_edits_their_sites_starters_only() -> None:
    assert may_edit_starters(SITE_ADMIN, district="d-1", scope="s-1")
    assert not may_edit_starters(SITE_ADMIN, district="d-1", scope="s-2")
    assert not may_edit_starters(SITE_ADMIN, district="d-1", scope=DISTRICT_SCOPE)


@pytest.mark.parametrize("caller", [TEACHER, STUDENT, GUARDIAN])
def test_others_do_not_edit_starters(caller: Principal) -> None:
    assert not may_edit_starters(caller, district="d-1", scope="s-1")
    assert not may_edit_starters(caller, district="d-1", scope=DISTRICT_SCOPE)


def test_staff_read_the_starters_of_the_district_and_their_sites() -> None:
    assert may_read_starters(TEACHER, district="d-1", scope=DISTRICT_SCOPE)
    assert may_read_starters(TEACHER, district="d-1", scope="s-1")
    assert not may_read_starters(TEACHER, district="d-1", scope="s-2")
    assert not may_read_starters(TEACHER, district="d-2", scope=DISTRICT_SCOPE)
    assert not may_read_starters(GUARDIAN, district="d-1", scope=DISTRICT_SCOPE)
    assert not may_read_starters(STUDENT, district="d-1", scope="s-1")


# --- The built-in starters -------------------------------------------------------------------


def test_built_in_starters_cover_every_band_language_and_prompt() -> None:
    starters = built_in_starters()
    assert tuple(starters) == GRADE_BANDS
    for band, by_language in starters.items():
        assert tuple(by_language) == LANGUAGES, band
        for language, by_prompt in by_language.items():
            assert tuple(by_prompt) == PROMPTS, (band, language)
            assert all(1 <= len(texts) <= 20 for texts in by_prompt.values()), (band, language)


def test_built_in_starters_are_plain_short_text() -> None:
    plain = TypeAdapter(Text)
    for by_language in built_in_starters().values():
        for by_prompt in by_language.values():
            for text in (text for texts in by_prompt.values() for text in texts):
                assert len(text) <= 200, text
                try:
                    plain.validate_python(text)
                except ValidationError as error:  # pragma: no cover - the message says which
                    raise AssertionError(f"{text!r}: {error}") from None


def test_the_youngest_start_with_i_am_proud_of() -> None:
    kindergarten = built_in_starters()["K-2"]["en"]
    assert kindergarten["glows"][:2] == ["I am proud of …", "I can …"]
    assert "I used to …, now I …" in kindergarten["learned"]
    assert "Next I will …" in kindergarten["next_steps"]
    assert "One strength I showed was …" in built_in_starters()["6-8"]["en"]["glows"]
    assert "I am still working on …" in built_in_starters()["9-12"]["en"]["grows"]
