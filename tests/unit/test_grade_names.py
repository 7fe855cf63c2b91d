"""A student's grade on the office's pages: OneRoster's (CEDS) codes in words, in the reader's
language; a code of the district's own as it is."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from services.web.pages import _ENVIRONMENTS


def grade(code: str, language: str = "en") -> str:
    return _ENVIRONMENTS[language].get_template("_grade.html.j2").render(grade=code).strip()


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("01", "Grade 1"),
        ("03", "Grade 3"),
        ("12", "Grade 12"),
        ("13", "Grade 13"),
        ("KG", "Kindergarten"),
        ("TK", "Transitional kindergarten"),
        ("PK", "Pre-kindergarten"),
        ("PR", "Preschool"),
        ("IT", "Infant and toddler"),
        ("PS", "Postsecondary"),
        ("UG", "Ungraded"),
        ("Other", "Other grade"),
        # Not CEDS grades (OneRoster 1.2 lets a district add its own): shown as given.
        # As a district's files or the API may give them: one digit, any case, spaces around.
        ("3", "Grade 3"),
        (" kg ", "Kindergarten"),
        ("other", "Other grade"),
        ("00", "grade 00"),
        ("14", "grade 14"),
        ("003", "grade 003"),
        ("\u0663", "grade \u0663"),  # (an Arabic-Indic three: a digit to Python, not a CEDS grade)
        ("ext:Y7", "grade Y7"),
        ("Year 7", "grade Year 7"),
        ("<b>", "grade &lt;b&gt;"),
    ],
)
def test_a_grade_code_is_said_in_words(code: str, words: str) -> None:
    assert grade(code) == words


def test_a_grade_is_said_in_the_readers_language() -> None:
    assert [grade("03", language) for language in ("es", "vi", "zh-Hans", "ar")] == [
        "3.º grado",
        "Lớp 3",
        "3年级",
        "الصف 3",
    ]
    assert [grade("KG", language) for language in ("es", "vi", "zh-Hans", "ar")] == [
        "Kínder",
        "Mẫu giáo",
        "幼儿园",
        "الروضة",
    ]


def test_a_list_in_words_escapes_text_and_keeps_markup() -> None:
    """The pages' ``in_words`` filter: a list as the language writes one, each item escaped
    unless it is markup already (a link), escaped once."""
    items = ["A & B", Markup('<a href="x">y</a>')]
    render = _ENVIRONMENTS["en"].from_string("{{ items | in_words }}").render
    assert render(items=items) == 'A &amp; B and <a href="x">y</a>'
    chinese = _ENVIRONMENTS["zh-Hans"].from_string("{{ items | in_words }}").render
    assert chinese(items=["甲", "乙", "丙"]) == "甲、乙和丙"


@pytest.mark.parametrize(
    ("items", "words"),
    [
        (["Conway", "Irving"], "Conway e Irving"),
        (["Conway", "MJDS", "Hidalgo"], "Conway, MJDS e Hidalgo"),
        (["Conway", "Íñigo López"], "Conway e Íñigo López"),
        (["Agua Fría", "Hielo Alto"], "Agua Fría y Hielo Alto"),  # /j/, not /i/
        (["Conway", "Iowa"], "Conway y Iowa"),
        (["Ana y Eva", "Irene"], "Ana y Eva e Irene"),  # only the list's own "y"
        (["Conway", Markup('<a href="x">Irving</a>')], 'Conway e <a href="x">Irving</a>'),
        (["\x001\x00", "B"], "\x001\x00 y B"),  # an item's text is never read as a marker
        (["Irving"], "Irving"),
    ],
)
def test_spanish_lists_say_e_before_an_i_sound(items: list[str], words: str) -> None:
    render = _ENVIRONMENTS["es"].from_string("{{ items | in_words }}").render
    assert render(items=items) == words
