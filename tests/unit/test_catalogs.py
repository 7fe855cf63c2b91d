"""The message catalogs are whole: the .pot holds exactly what the templates say, and every
language's .po translates all of it (every plural form, nothing fuzzy, the same placeholders).

When one of these fails: run `make messages`, then translate what it marks (docs/translations.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural

from services.notifications.messages import LOCALE, SUPPORTED_LANGUAGES, TEMPLATES
from tests import catalog_checks
from tests.catalog_checks import msgids, plural_forms, problems, read_catalog, single_number_forms

BABEL_CFG = TEMPLATES.parent / "babel.cfg"
POT = LOCALE / "messages.pot"
TRANSLATED = [language for language in SUPPORTED_LANGUAGES if language != "en"]


def po_path(language: str) -> Path:
    return catalog_checks.po_path(LOCALE, language)


def extracted_msgids() -> set[object]:
    return catalog_checks.extracted_msgids(BABEL_CFG, TEMPLATES)


# --- The template ----------------------------------------------------------------------------


def test_the_pot_holds_exactly_what_the_templates_say() -> None:
    in_pot = msgids(read_catalog(POT))
    in_templates = extracted_msgids()
    assert in_templates - in_pot == set(), "text not in messages.pot: run make messages"
    assert in_pot - in_templates == set(), "messages.pot has text no template has: make messages"


def test_every_message_template_has_text_to_translate() -> None:
    extracted = extracted_msgids()
    assert len(extracted) > 50
    assert "Hello %(guardian)s," in extracted
    assert (
        "Invitation: %(children)s's student-led conference",
        "Invitation: %(children)s's student-led conferences",
    ) in extracted


# --- Each language ---------------------------------------------------------------------------


def test_a_catalog_for_each_supported_language() -> None:
    assert set(TRANSLATED) == {"ar", "es", "vi", "zh-Hans"}
    for language in TRANSLATED:
        assert po_path(language).is_file()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalog_translates_every_message(language: str) -> None:
    found = list(problems(read_catalog(po_path(language)), read_catalog(POT)))
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(("language", "forms"), [("ar", 6), ("es", 3), ("vi", 1), ("zh-Hans", 1)])
def test_plural_forms_are_the_languages_own(language: str, forms: int) -> None:
    catalog = read_catalog(po_path(language))
    assert catalog.num_plurals == forms
    assert catalog.plural_expr == get_plural(catalog.locale).plural_expr


# --- The check itself fails when it should ---------------------------------------------------


def broken(language: str, change: str) -> Catalog:
    catalog = read_catalog(po_path(language))
    message = next(m for m in catalog if m.id == "Reason: %(reason)s")
    plural = next(m for m in catalog if isinstance(m.id, tuple) and "minute" in m.id[0])
    if change == "blank":
        message.string = ""
    elif change == "fuzzy":
        message.flags.add("fuzzy")
    elif change == "placeholder dropped":
        message.string = "Motivo"
    elif change == "placeholder misspelt":
        message.string = "Motivo: %(razon)s"
    elif change == "plural form blank":
        plural.string = (*plural_forms(plural)[:-1], "")
    elif change == "removed":
        del catalog[message.id]
    return catalog


@pytest.mark.parametrize(
    "change",
    [
        "blank",
        "fuzzy",
        "placeholder dropped",
        "placeholder misspelt",
        "plural form blank",
        "removed",
    ],
)
def test_the_check_finds_a_broken_translation(change: str) -> None:
    # (The catalog as checked in has no problem: test_every_catalog_translates_every_message.)
    assert list(problems(broken("es", change), read_catalog(POT)))


def test_only_a_form_for_one_number_may_write_the_number_as_a_word() -> None:
    catalog = read_catalog(po_path("ar"))
    assert single_number_forms(catalog) == {0, 1, 2}
    assert single_number_forms(read_catalog(po_path("es"))) == {0}
    plural = next(m for m in catalog if isinstance(m.id, tuple) and "minute" in m.id[0])
    forms = list(plural_forms(plural))
    forms[3] = forms[1]  # "few" (3-10 minutes) without the number: wrong
    plural.string = tuple(forms)
    assert [p for p in problems(catalog, read_catalog(POT)) if "left out ['count']" in p]


def test_every_plural_of_the_messages_is_chosen_by_its_count() -> None:
    assert list(catalog_checks.plurals_not_by_count(TEMPLATES)) == []
