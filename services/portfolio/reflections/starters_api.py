"""Sentence starters' HTTP routes: what a student is offered, and the district's and sites' own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Self

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import visible_student
from services.portfolio.reflections.built_in_starters import built_in_for
from services.portfolio.reflections.rules import (
    DISTRICT_SCOPE,
    GRADE_BANDS,
    PROMPTS,
    GradeBand,
    ResolvedStarters,
    Starters,
    canonical_language,
    grade_band_of,
    languages_to_offer,
    may_edit_starters,
    may_read_starters,
    resolve_starters,
    starter_sources,
    text_direction,
)
from services.portfolio.reflections.starter_sets import (
    StoredSets,
    delete_set,
    replace_set,
    stored_sets,
)
from services.portfolio.tables import Site
from shared.api_types import ID_PATTERN, LANGUAGE_PATTERN, IdPath, Text
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["reflections"])

StarterText = Annotated[Text, Field(min_length=1, max_length=200)]
StarterList = Annotated[list[StarterText], Field(max_length=20)]
LanguageQuery = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=35,
        pattern=LANGUAGE_PATTERN,
        description="BCP 47 language, e.g. `es`, `vi`, `zh-Hans`, `ar`.",
    ),
]
LanguagePath = Annotated[
    str, Path(min_length=2, max_length=35, pattern=LANGUAGE_PATTERN, examples=["es"])
]
ScopePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        description="`district` for the district's own, or a site's id for the site's.",
    ),
]


class StarterSet(BaseModel):
    """Each prompt's sentence starters, in the order they are offered."""

    model_config = ConfigDict(extra="forbid")

    glows: StarterList = Field(default_factory=list, examples=[["I am proud of …", "I can …"]])
    grows: StarterList = Field(default_factory=list, examples=[["I am still working on …"]])
    learned: StarterList = Field(default_factory=list)
    hard: StarterList = Field(default_factory=list)
    next_steps: StarterList = Field(default_factory=list, examples=[["Next I will …"]])


class StarterSetIn(BaseModel):
    starters: StarterSet

    @model_validator(mode="after")
    def _has_a_starter(self) -> Self:
        if not any(getattr(self.starters, prompt) for prompt in PROMPTS):
            raise ValueError("give at least one starter (DELETE goes back to the defaults)")
        return self


class StarterSetOut(BaseModel):
    grade_band: GradeBand
    language: str = Field(description="BCP 47 language of the starters.")
    direction: Literal["ltr", "rtl"] = Field(description="Which way the language's text runs.")
    source: str = Field(
        description="Whose they are: a site's id, `district`, or `built-in` (the defaults)."
    )
    starters: StarterSet


@router.get(
    "/students/{student_id}/sentence-starters",
    response_model=StarterSetOut,
    responses=refusals(404),
)
async def starters_for_student(
    student_id: IdPath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    language: LanguageQuery = None,
) -> StarterSetOut:
    """The sentence starters offered to a student: for their grade band, in the language asked
    for, else the student's, else English; their site's own, else the district's, else the
    built-in ones."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        band = grade_band_of(student.grade)
        stored = await stored_sets(
            session, district=student.district, scopes=(student.site, DISTRICT_SCOPE), band=band
        )
    sources = starter_sources(
        site=student.site,
        site_sets=_of(stored, student.site, band),
        district_sets=_of(stored, DISTRICT_SCOPE, band),
        built_in=built_in_for(band),
    )
    languages = languages_to_offer(requested=language, student_language=student.language)
    resolved = resolve_starters(languages, sources)
    assert resolved is not None, "the built-in starters are in English"
    return _out(band, resolved)


@router.get(
    "/sentence-starters/{scope}",
    response_model=list[StarterSetOut],
    responses=refusals(403, 404),
)
async def list_starters(
    scope: ScopePath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    grade_band: GradeBand | None = None,
    language: LanguageQuery = None,
) -> list[StarterSetOut]:
    """The sentence starters in effect for the district or a site, each set with whose it is
    (staff of the district or of the site)."""
    if not may_read_starters(principal, district=principal.district, scope=scope):
        raise forbidden(f"you may not see the sentence starters of {scope!r}")
    tag = canonical_language(language) if language else None
    async with uow.read() as session:
        await _check_scope(session, principal, scope)
        stored = await stored_sets(
            session,
            district=principal.district,
            scopes={scope, DISTRICT_SCOPE},
            band=grade_band,
            language=tag,
        )
    found = []
    for band in (grade_band,) if grade_band else GRADE_BANDS:
        built_in = built_in_for(band)
        sources = starter_sources(
            site=None if scope == DISTRICT_SCOPE else scope,
            site_sets=_of(stored, scope, band),
            district_sets=_of(stored, DISTRICT_SCOPE, band),
            built_in=built_in,
        )
        languages = [tag] if tag else _languages(built_in, stored, band)
        for each in languages:
            resolved = resolve_starters([each], sources)
            if resolved is not None:
                found.append(_out(band, resolved))
    return found


@router.put(
    "/sentence-starters/{scope}/{grade_band}/{language}",
    response_model=StarterSetOut,
    responses=refusals(403, 404),
)
async def replace_starters(
    scope: ScopePath,
    grade_band: GradeBand,
    language: LanguagePath,
    body: StarterSetIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> StarterSetOut:
    """Replace the district's or a site's own sentence starters for one grade band and language
    (the district admin; a site's admin for their site)."""
    if not may_edit_starters(principal, district=principal.district, scope=scope):
        raise forbidden(f"you may not change the sentence starters of {scope!r}")
    tag = canonical_language(language)
    async with uow.transaction() as session:
        await _check_scope(session, principal, scope)
        await replace_set(
            session,
            district=principal.district,
            scope=scope,
            band=grade_band,
            language=tag,
            starters=body.starters.model_dump(),
        )
    return _out(grade_band, ResolvedStarters(tag, scope, body.starters.model_dump()))


@router.delete(
    "/sentence-starters/{scope}/{grade_band}/{language}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=refusals(403, 404),
)
async def remove_starters(
    scope: ScopePath,
    grade_band: GradeBand,
    language: LanguagePath,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> None:
    """Go back to the defaults: remove the district's or a site's own sentence starters for one
    grade band and language (404 if it has none)."""
    if not may_edit_starters(principal, district=principal.district, scope=scope):
        raise forbidden(f"you may not change the sentence starters of {scope!r}")
    tag = canonical_language(language)
    async with uow.transaction() as session:
        await _check_scope(session, principal, scope)
        if not await delete_set(
            session, district=principal.district, scope=scope, band=grade_band, language=tag
        ):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"{scope!r} has no sentence starters of its own for {grade_band} in {tag!r}",
            )


async def _check_scope(session: AsyncSession, principal: Principal, scope: str) -> None:
    """404 unless the scope is the district or one of its sites."""
    if scope == DISTRICT_SCOPE:
        return
    site = await session.get(Site, scope)
    if site is None or site.district != principal.district:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {scope!r}")


def _of(stored: StoredSets, scope: str, band: str) -> Mapping[str, Starters]:
    return stored.get(scope, {}).get(band, {})


def _languages(built_in: Mapping[str, Starters], stored: StoredSets, band: str) -> list[str]:
    """The built-in languages in their order, then any others the scopes wrote sets in."""
    known = list(built_in)
    others = {tag for sets in stored.values() for tag in sets.get(band, {})} - set(known)
    return known + sorted(others)


def _out(band: GradeBand, resolved: ResolvedStarters) -> StarterSetOut:
    return StarterSetOut(
        grade_band=band,
        language=resolved.language,
        direction=text_direction(resolved.language),
        source=resolved.source,
        starters=StarterSet.model_validate(
            {prompt: list(resolved.starters.get(prompt, ())) for prompt in PROMPTS}
        ),
    )
