"""Whether a gettext catalog is a whole translation of its template: every message, every
plural form, nothing fuzzy, the same placeholders; and what the templates say now, extracted in
memory as `make messages` would. Used by the family messages' and the web pages' catalog tests.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The number a plural is chosen by; a form used for one number only may write it as a word
# (Arabic "دقيقتين", two minutes).
COUNT = "count"


# A ``{% trans a=..., b=... %}...{% pluralize [name] %}...{% endtrans %}`` block of a template.
_TRANS_BLOCK = re.compile(
    r"\{%-?\s*trans\b(?P<args>[^%]*?)-?%\}(?P<body>.*?)\{%-?\s*endtrans\s*-?%\}", re.DOTALL
)
_PLURALIZE = re.compile(r"\{%-?\s*pluralize\b\s*(?P<name>\w*)\s*-?%\}")


def plurals_not_by_count(templates: Path) -> Iterator[str]:
    """Each plural of ``templates`` chosen by another number than ``count``. Jinja chooses a
    ``{% pluralize %}`` without a name by the block's *first* variable: with ``{% trans
    when=..., count=... %}`` that is the moment, and a translated page fails on it."""
    for path in sorted(templates.rglob("*.j2")):
        for block in _TRANS_BLOCK.finditer(path.read_text(encoding="utf-8")):
            pluralize = _PLURALIZE.search(block["body"])
            if pluralize is None:
                continue
            first = block["args"].split("=", 1)[0].strip()
            chosen_by = pluralize["name"] or first
            if chosen_by != COUNT:
                line = path.read_text(encoding="utf-8")[: block.start()].count("\n") + 1
                yield f"{path.name}:{line}: the plural is chosen by {chosen_by!r}, not {COUNT!r}"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def po_path(locale: Path, language: str) -> Path:
    return locale / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"


def msgids(catalog: Catalog) -> set[Any]:
    return {message.id for message in catalog if message.id}


def extracted_msgids(babel_cfg: Path, templates: Path) -> set[Any]:
    """What `make messages` would write into the .pot now, extracted in memory."""
    with babel_cfg.open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(templates), method_map, options_map
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
