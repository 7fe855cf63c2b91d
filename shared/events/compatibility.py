"""Checks the event contract against the schemas already released, so a version never breaks.

``shared/events/released/`` holds one file per released event type, ``<event type>.json``, with
the JSON schema of its ``data`` as pydantic generates it. A change to an event class keeps its
version only if readers and writers of the released schema still work with the new one.

Breaking (needs a new ``.vN`` type published beside the old one):

- a field is removed;
- a field's type changes: its JSON type, its ``format`` (``date``, ``date-time``), whether it may
  be null, the type of a list's items, or the values of an ``enum``/``const`` (``Literal``).
  Gaining a value breaks old readers, which do not know it; losing one breaks new readers, since
  events already on the stream may carry it;
- a field that was optional becomes required;
- a new field is required: events already on the stream, and producers of the old version, lack
  it, so a new field must be optional with a default.

Not breaking: a new optional field (readers ignore fields they do not know), and changes to a
description, a title, a default, or the order of fields, ``required`` or ``enum`` values.
Constraints such as ``pattern``, lengths or bounds are not compared: the events have none.

    python -m shared.events.compatibility            # check the code against released/
    python -m shared.events.compatibility release    # write the current schemas to released/
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.events.contracts import ALL_EVENTS

Schema = dict[str, Any]


def released_dir() -> Path:
    """The directory of released schemas, one ``<event type>.json`` per type."""
    return Path(__file__).resolve().parent / "released"


def current_schemas() -> dict[str, Schema]:
    """The ``data`` schema of every event the code publishes, by event type."""
    return {event.event_type(): event.model_json_schema() for event in ALL_EVENTS}


def released_schemas(directory: Path | None = None) -> dict[str, Schema]:
    """The released schemas, by event type."""
    directory = directory or released_dir()
    return {
        path.name.removesuffix(".json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def schema_text(schema: Schema) -> str:
    """A schema as stored in ``released/``: pretty-printed, sorted keys, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Why ``new`` breaks readers or writers of ``old`` under the same version (empty if not)."""
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    reasons = []
    for name, old_prop in old_fields.items():
        if name not in new_fields:
            reasons.append(f"field {name!r} was removed")
            continue
        reasons += _type_changes(name, old_prop, new_fields[name], old, new)
        if name in new_required and name not in old_required:
            reasons.append(f"field {name!r} was optional and is now required")
    for name in new_fields:
        if name not in old_fields and name in new_required:
            reasons.append(
                f"new field {name!r} is required: events already on the stream lack it "
                "(a new field must be optional, with a default)"
            )
    return reasons


def _type_changes(
    name: str, old: Schema, new: Schema, old_root: Schema, new_root: Schema
) -> list[str]:
    old_type, new_type = _type_text(old, old_root), _type_text(new, new_root)
    if old_type == new_type:
        return []
    old_values, new_values = _enum_values(old, old_root), _enum_values(new, new_root)
    same_base = _type_text(old, old_root, values=False) == _type_text(new, new_root, values=False)
    if not (same_base and old_values is not None and new_values is not None):
        return [f"field {name!r} changed type from {old_type} to {new_type}"]
    reasons = []
    if lost := old_values - new_values:
        reasons.append(
            f"field {name!r} lost enum value(s) {_listed(lost)}: events already on the stream may carry them"
        )
    if gained := new_values - old_values:
        reasons.append(
            f"field {name!r} gained enum value(s) {_listed(gained)}: readers of the old version do not know them"
        )
    return reasons


def _type_text(prop: Schema, root: Schema, *, values: bool = True) -> str:
    """A property's type as canonical text, e.g. ``string (date) or null``, ``list of string``."""
    prop = _resolve(prop, root)
    options = prop.get("anyOf") or prop.get("oneOf")
    kinds = prop.get("type", "any")
    if options or isinstance(kinds, list):
        parts = options or [{**prop, "type": kind} for kind in kinds]
        texts = {_type_text(part, root, values=values) for part in parts}
        return " or ".join(sorted(texts, key=lambda text: (text == "null", text)))
    text = str(kinds)
    if kinds == "array":
        text = f"list of {_type_text(prop.get('items', {}), root, values=values)}"
    if "format" in prop:
        text += f" ({prop['format']})"
    enum = _own_enum(prop)
    if values and enum is not None:
        text += f" in {{{_listed(enum)}}}"
    return text


def _enum_values(prop: Schema, root: Schema) -> frozenset[Any] | None:
    """The values an enum property allows (across ``anyOf`` options), or None if not an enum."""
    prop = _resolve(prop, root)
    options = [_resolve(option, root) for option in prop.get("anyOf") or prop.get("oneOf") or []]
    enums = [enum for enum in map(_own_enum, options or [prop]) if enum is not None]
    return frozenset().union(*enums) if enums else None


def _own_enum(prop: Schema) -> frozenset[Any] | None:
    if "enum" in prop:
        return frozenset(prop["enum"])
    if "const" in prop:
        return frozenset([prop["const"]])
    return None


def _resolve(prop: Schema, root: Schema) -> Schema:
    """Follow a ``$ref`` into the schema's ``$defs`` (pydantic uses them for Enum classes)."""
    ref = prop.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return prop
    target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return {
        **_resolve(target, root),
        **{key: value for key, value in prop.items() if key != "$ref"},
    }


def _listed(values: frozenset[Any]) -> str:
    return ", ".join(sorted(map(repr, values)))


def problems(current: dict[str, Schema], released: dict[str, Schema]) -> dict[str, list[str]]:
    """Breaking changes by event type, including a released type the code no longer has."""
    found = {
        event_type: reasons
        for event_type, schema in current.items()
        if event_type in released and (reasons := breaking_changes(released[event_type], schema))
    }
    for event_type in released.keys() - current.keys():
        found[event_type] = [
            "released, but no longer in ALL_EVENTS: a released type is never dropped silently"
        ]
    return dict(sorted(found.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.events.compatibility",
        description="Check the event contract against the released schemas, or release it.",
    )
    parser.add_argument(
        "mode",
        nargs="?",
        choices=["check", "release"],
        default="check",
        help="check (default): report breaking changes; release: write the schemas to released/",
    )
    parser.add_argument(
        "--force", action="store_true", help="release even if a schema breaks its released one"
    )
    args = parser.parse_args(argv)
    current, released = current_schemas(), released_schemas()
    found = problems(current, released)
    for event_type, reasons in found.items():
        for reason in reasons:
            print(f"{event_type}: {reason}")
    if args.mode == "check":
        for event_type in sorted(current.keys() - released.keys()):
            print(f"{event_type}: new, not yet released")
        if found:
            return 1
        print("no breaking changes")
        return 0
    breaking = [event_type for event_type in found if event_type in current]
    if breaking and not args.force:
        print(
            "refusing to release: a breaking change needs a new .vN event type published beside "
            "the old one, not a new schema for the same type (--force overrides)",
            file=sys.stderr,
        )
        return 1
    directory = released_dir()
    directory.mkdir(exist_ok=True)
    for event_type, schema in sorted(current.items()):
        (directory / f"{event_type}.json").write_text(schema_text(schema), encoding="utf-8")
    print(f"released {len(current)} event schemas to {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
