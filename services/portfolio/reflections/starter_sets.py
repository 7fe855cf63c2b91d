"""The sentence starters districts and sites write for themselves, as sets: one per scope (a site,
or the district), grade band and language."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.reflections.rules import PROMPTS, Starters
from services.portfolio.reflections.tables import SentenceStarter
from shared.database import lock_for_transaction

# scope -> grade band -> language -> starters
StoredSets = dict[str, dict[str, dict[str, Starters]]]


async def stored_sets(
    session: AsyncSession,
    *,
    district: str,
    scopes: Collection[str],
    band: str | None = None,
    language: str | None = None,
) -> StoredSets:
    """The sets the scopes hold, narrowed to one grade band or language if given."""
    query = select(SentenceStarter).where(
        SentenceStarter.district == district, col(SentenceStarter.scope).in_(scopes)
    )
    if band is not None:
        query = query.where(SentenceStarter.grade_band == band)
    if language is not None:
        query = query.where(SentenceStarter.language == language)
    rows = (await session.exec(query.order_by(col(SentenceStarter.position)))).all()
    found: defaultdict[tuple[str, str, str], dict[str, list[str]]] = defaultdict(
        lambda: {prompt: [] for prompt in PROMPTS}
    )
    for row in rows:
        found[row.scope, row.grade_band, row.language][row.prompt].append(row.text)
    sets: StoredSets = {}
    for (scope, grade_band, tag), starters in found.items():
        sets.setdefault(scope, {}).setdefault(grade_band, {})[tag] = starters
    return sets


async def replace_set(
    session: AsyncSession,
    *,
    district: str,
    scope: str,
    band: str,
    language: str,
    starters: Mapping[str, Sequence[str]],
) -> None:
    """Put ``starters`` in place of the scope's set for the band and language, if it had one."""
    await _take_turns(session, district=district, scope=scope, band=band, language=language)
    await delete_set(session, district=district, scope=scope, band=band, language=language)
    session.add_all(
        SentenceStarter(
            district=district,
            scope=scope,
            grade_band=band,
            language=language,
            prompt=prompt,
            text=text,
            position=position,
        )
        for prompt in PROMPTS
        for position, text in enumerate(starters.get(prompt, ()))
    )


async def delete_set(
    session: AsyncSession, *, district: str, scope: str, band: str, language: str
) -> bool:
    """Remove the scope's set for the band and language; whether it had one."""
    await _take_turns(session, district=district, scope=scope, band=band, language=language)
    result = await session.exec(
        delete(SentenceStarter).where(
            col(SentenceStarter.district) == district,
            col(SentenceStarter.scope) == scope,
            col(SentenceStarter.grade_band) == band,
            col(SentenceStarter.language) == language,
        )
    )
    return bool(result.rowcount)


async def _take_turns(
    session: AsyncSession, *, district: str, scope: str, band: str, language: str
) -> None:
    # Two replacements of one set at once would otherwise both delete, then both insert.
    await lock_for_transaction(session, f"sentence-starters:{district}:{scope}:{band}:{language}")
