"""The sentence starters every school has until it writes its own (sentence_starters.json), by
grade band and language."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from services.portfolio.reflections.rules import GradeBand, Starters

STARTERS_FILE = Path(__file__).with_name("sentence_starters.json")


@cache
def built_in_starters() -> Mapping[str, Mapping[str, Starters]]:
    """Grade band -> language -> prompt -> starters, read once."""
    return json.loads(STARTERS_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def built_in_for(band: GradeBand) -> Mapping[str, Starters]:
    """One grade band's built-in starters, by language."""
    return built_in_starters()[band]
