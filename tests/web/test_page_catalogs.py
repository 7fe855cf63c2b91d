"""The web pages' catalogs are whole: the .pot holds exactly what the page templates say, and
every language's .po translates all of it (nothing fuzzy, the same placeholders). The checks are
the family messages' own (tests/catalog_checks.py).

When one of these fails: run `make messages`, then translate what it marks (docs/translations.md).
"""

from __future__ import annotations

import pytest

from services.web.languages import LANGUAGES, LOCALE
from services.web.pages import TEMPLATES
from tests.catalog_checks import (
    extracted_msgids,
    msgids,
    plurals_not_by_count,
    po_path,
    problems,
    read_catalog,
)

BABEL_CFG = TEMPLATES.parent / "babel.cfg"
POT = LOCALE / "messages.pot"
TRANSLATED = [language for language in LANGUAGES if language != "en"]


def test_the_pot_holds_exactly_what_the_page_templates_say() -> None:
    in_pot = msgids(read_catalog(POT))
    in_templates = extracted_msgids(BABEL_CFG, TEMPLATES)
    assert in_templates - in_pot == set(), "text not in messages.pot: run make messages"
    assert in_pot - in_templates == set(), "messages.pot has text no template has: make messages"
    assert "Choose a time for %(name)s" in in_templates


def test_a_catalog_for_each_language_of_the_family_messages() -> None:
    assert set(TRANSLATED) == {"ar", "es", "vi", "zh-Hans"}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_translates_every_page_string(language: str) -> None:
    found = list(problems(read_catalog(po_path(LOCALE, language)), read_catalog(POT)))
    assert found == [], "\n".join(found)


def test_every_plural_of_the_pages_is_chosen_by_its_count() -> None:
    assert list(plurals_not_by_count(TEMPLATES)) == []
