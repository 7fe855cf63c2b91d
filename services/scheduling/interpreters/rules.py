"""Interpreters' rules. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable


def primary(language: str) -> str:
    """A BCP 47 tag's language, e.g. ``es`` of ``es-MX``: an interpreter of Spanish serves both."""
    return language.replace("_", "-").split("-")[0].lower()


def speaks(languages: Iterable[str], language: str) -> bool:
    return primary(language) in {primary(one) for one in languages}
