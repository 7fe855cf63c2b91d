"""The message catalogs are whole: the .pot holds exactly what the templates say, and every
language's .po translates all of it (every plural form, nothing fuzzy, the same placeholders).

When one of these fails: run `make messages`, then translate what it marks (docs/translations.md).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from services.notifications.messages import LOCALE, SUPPORTED_LANGUAGES, TEMPLATES

BABEL_CFG = TEMPLATES.parent / "babel.cfg"
POT = LOCALE / "messages.pot"
TRANSLATED = [language for language in SUPPORTED_LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The number a plural is chosen by; a form used for one number only may write it as a word
# (Arabic "دقيقتين", two minutes).
COUNT = "count"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def po_path(language: str) -> Path:
    return LOCALE / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"


def msgids(catalog: Catalog) -> set[Any]:
    return {message.id for message in catalog if message.id}


def extracted_msgids() -> set[Any]:
    """What `make messages` would write into the .pot now, extracted in memory."""
    with BABEL_CFG.open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(TEMPLATES), method_map, options_map
        )
    }


def plural_forms(message: Message) -> tuple[str, ...]:
    assert isinstance(message.string, tuple)
    return message.string


def single_number_forms(catalog: Catalog) -> set[int]:
    """The plural forms used for exactly one number (Arabic: zero, one, two)."""
    choose = gettext.c2py(catalog.plural_expr)
    numbers: dict[int, int] = {}
    for n in range(1000):
        form = choose(n)
        numbers[form] = numbers.get(form, 0) + 1
    return {form for form, count in numbers.items() if count == 1}


def problems(catalog: Catalog, template: Catalog) -> Iterator[str]:
    """Everything that keeps ``catalog`` from being a whole translation of ``template``."""
    expected = get_plural(catalog.locale)
    if catalog.num_plurals != expected.num_plurals:
        yield f"Plural-Forms has {catalog.num_plurals} forms; {catalog.locale} needs {expected}"
    for msgid in sorted(msgids(template) - msgids(catalog), key=str):
        yield f"missing (run make messages): {msgid!r}"
    for msgid in sorted(msgids(catalog) - msgids(template), key=str):
        yield f"not in the templates any more (run make messages): {msgid!r}"
    single = single_number_forms(catalog)
    for message in catalog:
        if message.id and message.id in msgids(template):
            yield from _message_problems(message, catalog.num_plurals, single)


def _message_problems(message: Message, num_plurals: int, single: set[int]) -> Iterator[str]:
    if message.fuzzy:
        yield f"fuzzy (check it, then remove the flag): {message.id!r}"
    source = tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)
    wanted = {name for text in source for name in PLACEHOLDER.findall(text)}
    forms = tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)
    if message.pluralizable and len(forms) != num_plurals:
        yield f"{len(forms)} plural forms of {num_plurals}: {message.id!r}"
    for form, text in enumerate(forms):
        if not text:
            yield f"untranslated (form {form}): {message.id!r}"
            continue
        used = set(PLACEHOLDER.findall(text))
        may_leave_out = {COUNT} if message.pluralizable and form in single else set()
        if used - wanted:
            yield f"placeholders the English lacks {sorted(used - wanted)}: {text!r}"
        if wanted - used - may_leave_out:
            yield f"placeholders left out {sorted(wanted - used - may_leave_out)}: {text!r}"


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
