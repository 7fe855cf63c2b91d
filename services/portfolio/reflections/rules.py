"""Reflections' rules: who writes a reflection and who reads it, which grade band a student is in,
and which sentence starters they are offered. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from services.portfolio.rules import staff_writes_for
from shared.auth.principal import Principal, Role

Prompt = Literal["glows", "grows", "learned", "hard", "next_steps"]
PROMPTS: Final[tuple[Prompt, ...]] = ("glows", "grows", "learned", "hard", "next_steps")
GradeBand = Literal["K-2", "3-5", "6-8", "9-12"]
GRADE_BANDS: Final[tuple[GradeBand, ...]] = ("K-2", "3-5", "6-8", "9-12")
DISTRICT_SCOPE: Final = "district"
BUILT_IN: Final = "built-in"
FALLBACK_LANGUAGE: Final = "en"

# Grades that are not numbers (CEDS codes, as OneRoster writes them): infant/toddler, preschool,
# pre-kindergarten, transitional kindergarten, kindergarten; postsecondary reads as high school.
_EARLY_GRADES: Final = frozenset({"IT", "PR", "PK", "TK", "KG", "K"})
_POSTSECONDARY: Final = frozenset({"PS"})
# Chinese with no sign of the Traditional script (`zh`, `zh-CN`, `zh-SG`) reads Simplified.
_TRADITIONAL_CHINESE: Final = frozenset({"Hant", "TW", "HK", "MO"})
_RIGHT_TO_LEFT: Final = frozenset(
    {"ar", "arc", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi"}
)

Starters = Mapping[str, Sequence[str]]
"""One set of sentence starters: each prompt's starters, in the order they are offered."""


def may_write_reflection(
    principal: Principal, *, district: str, site: str, student_id: str
) -> bool:
    """The student writes their own; a teacher or admin may write it down for them (a young child
    says it, the teacher types it). Families may not. Asked once the caller is known to see the
    student (``services.portfolio.access``)."""
    if principal.role is Role.STUDENT:
        return principal.district == district and principal.subject == student_id
    return staff_writes_for(principal, district=district, site=site)


def family_may_see(*, evidence_id: str | None, evidence_status: str | None) -> bool:
    """A family sees reflections on the term, and those on evidence a teacher has approved (what
    is still waiting for review, or was returned, stays between the student and teacher)."""
    return evidence_id is None or evidence_status == "approved"


def sees_every_reflection(principal: Principal) -> bool:
    """The student and staff see every reflection; a guardian only what ``family_may_see``."""
    return principal.role is not Role.GUARDIAN


def answered_prompts(answers: Mapping[str, str | None]) -> list[Prompt]:
    """The prompts answered, in the prompts' order."""
    return [prompt for prompt in PROMPTS if answers.get(prompt)]


def grade_band_of(grade: str) -> GradeBand:
    """The band of a roster grade (`KG`, `03`, `11`). Grades the roster leaves empty or marks
    ungraded (`UG`, `Other`) get K-2: its simple starters read well at any age, while the older
    bands' would stump a young child."""
    code = grade.strip().upper()
    if code in _EARLY_GRADES:
        return "K-2"
    if code in _POSTSECONDARY:
        return "9-12"
    if not (code.isascii() and code.isdigit()):  # ("³" is a digit to Python, not to int())
        return "K-2"
    number = int(code)
    if number <= 2:
        return "K-2"
    if number <= 5:
        return "3-5"
    if number <= 8:
        return "6-8"
    return "9-12"


def canonical_language(tag: str) -> str:
    """A BCP 47 tag in its usual case (`zh-Hans`, `es-MX`, `sr-Latn-RS`), `_` read as `-`."""
    first, *rest = tag.replace("_", "-").split("-")
    subtags = [first.lower()]
    for subtag in rest:
        if len(subtag) == 4 and subtag.isalpha():
            subtags.append(subtag.title())
        elif len(subtag) == 2 or (len(subtag) == 3 and subtag.isdigit()):
            subtags.append(subtag.upper())
        else:
            subtags.append(subtag.lower())
    return "-".join(subtags)


def language_lookup(tag: str) -> list[str]:
    """The tags to try for ``tag``, most specific first (RFC 4647 lookup): `es-MX` then `es`;
    Chinese with no sign of the Traditional script then tries `zh-Hans`."""
    subtags = canonical_language(tag).split("-")
    simplified = subtags[0] == "zh" and not _TRADITIONAL_CHINESE & set(subtags)
    tried: list[str] = []
    while subtags:
        tried.append("-".join(subtags))
        if tried[-1] == "zh" and simplified and "zh-Hans" not in tried:
            tried.append("zh-Hans")
        subtags.pop()
        # A lone single-letter subtag (an extension's key) is never the end of a tag.
        while subtags and len(subtags[-1]) == 1:
            subtags.pop()
    return tried


def languages_to_offer(*, requested: str | None, student_language: str | None) -> list[str]:
    """Where to look for starters: the language asked for, else the student's, else English."""
    order: list[str] = []
    for tag in (requested, student_language, FALLBACK_LANGUAGE):
        for candidate in language_lookup(tag) if tag else ():
            if candidate not in order:
                order.append(candidate)
    return order


def text_direction(language: str) -> Literal["ltr", "rtl"]:
    """Which way the language's text runs (Arabic, Hebrew, Persian, Urdu... right to left)."""
    subtags = canonical_language(language).split("-")
    if "Arab" in subtags or "Hebr" in subtags:
        return "rtl"
    if any(len(subtag) == 4 and subtag.isalpha() for subtag in subtags[1:]):
        return "ltr"  # written in another script, e.g. `az-Latn`
    return "rtl" if subtags[0] in _RIGHT_TO_LEFT else "ltr"


@dataclass(frozen=True)
class StarterSource:
    """The sentence starters held for one grade band, by language: a site's own, the district's
    own, or the built-in ones."""

    name: str
    by_language: Mapping[str, Starters]


@dataclass(frozen=True)
class ResolvedStarters:
    language: str
    source: str
    starters: Starters


def starter_sources(
    *,
    site: str | None,
    site_sets: Mapping[str, Starters],
    district_sets: Mapping[str, Starters],
    built_in: Mapping[str, Starters],
) -> list[StarterSource]:
    """Where starters come from, first found first: the site's own replace the district's, which
    replace the built-in ones."""
    sources = [StarterSource(DISTRICT_SCOPE, district_sets), StarterSource(BUILT_IN, built_in)]
    if site is not None:
        sources.insert(0, StarterSource(site, site_sets))
    return sources


def resolve_starters(
    languages: Iterable[str], sources: Sequence[StarterSource]
) -> ResolvedStarters | None:
    """The first set found, trying each language in turn in every source (a child asking in
    Vietnamese gets Vietnamese starters, even if their school wrote its own only in English);
    None if no source has any of the languages."""
    for language in languages:
        for source in sources:
            found = source.by_language.get(language)
            if found is not None:
                return ResolvedStarters(language=language, source=source.name, starters=found)
    return None


def may_read_starters(principal: Principal, *, district: str, scope: str) -> bool:
    """Staff read the starters of the district and of the sites they act for."""
    if not principal.is_staff or principal.district != district:
        return False
    return scope == DISTRICT_SCOPE or principal.can_act_for_site(district, scope)


def may_edit_starters(principal: Principal, *, district: str, scope: str) -> bool:
    """The district's starters are the district admin's; a site's, its admin's (or the district
    admin's)."""
    if scope == DISTRICT_SCOPE:
        return principal.role is Role.DISTRICT_ADMIN and principal.district == district
    return principal.is_admin and principal.can_act_for_site(district, scope)
