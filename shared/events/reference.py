"""The event reference (docs/events.md), written from the contract classes themselves.

python -m shared.events.reference > docs/events.md
"""

from __future__ import annotations

from typing import Any

from shared.events.contracts import ALL_EVENTS
from shared.events.envelope import CloudEvent, EventData

HEADER = """# Event reference

Written from `shared/events/contracts.py` by `python -m shared.events.reference > docs/events.md`;
a test fails when this file and the code disagree.

Every event is one entry of the Redis stream named after its `type`. The entry's fields are the
CloudEvents 1.0 attributes below plus `data`, the payload as a JSON object. Field values are
strings; times are RFC 3339 in UTC.

Delivery is at least once: deduplicate on `id`. An outside system reads as the read-only
`subscriber` Redis user, with `XREAD` from the last entry id it processed (it may not create a
consumer group: Redis confines a user's keys and commands, not the groups it names). Entries older
than the publisher's `STREAM_RETENTION_HOURS` (7 days by default) are trimmed once every service's
group has read and acknowledged them; a subscriber holds nothing back, so read at least once
within that time, or catch up on the roster with a re-announcement (below).

An entry a service's consumer group gave up on is copied to that group's own dead-letter stream,
`<stream>:dlq:<group>`, with the fields `stream`, `entry_id`, `group`, `consumer`, `deliveries`
(attempts that reached its handler), `error`, `dead_lettered_at_ms`, and the original entry's
fields, each prefixed `original.` (byte for byte). Replaying hands it back to that group alone, on
`<stream>:replay:<group>`: the shared stream never carries an event twice because of a replay.

## Roster events are state: apply the highest version

`slc.roster.*` events carry the whole entity as portfolio holds it, with its `version`, which
portfolio raises in the same write that changes the entity. Keep a copy by applying an event
only if its `version` is higher than the one you hold (in SQL: `INSERT ... ON CONFLICT DO UPDATE
... WHERE excluded.version > current.version`); events may arrive out of order, and portfolio
announces the current state again when asked (`slc-portfolio reannounce`), so a system that
starts late, or whose copy is lost, catches up from the stream.

A guardian's link and its removal (`roster.guardian.linked` / `unlinked`) share one version, and
so do a student's enrolment and withdrawal (`roster.student.enrolled` / `withdrawn`): whichever
of the pair has the higher version says the current state. A withdrawal may reach you before any
enrolment of the student: keep it (the student is out), so that an older enrolment arriving later
does not bring them back. Who may act for a student, and who hears about them, is decided from
these links, never from a token's claims.

## Versions and compatibility

Readers must ignore fields they do not know. A type keeps its version for additive changes: a new
optional field. Any other change (a field removed, renamed, retyped or made required, an enum's
values changed, a new required field) is a new type, `.v2` and on, published beside the old one.
The released schemas of `data` live in `shared/events/released/`, one file per type;
`python -m shared.events.compatibility` checks the code against them, and
`python -m shared.events.compatibility release` updates them when a version is released.

## Envelope

| attribute | meaning |
|---|---|
"""


def render_reference() -> str:
    lines = [HEADER.rstrip("\n")]
    for name, field in CloudEvent[EventData].model_fields.items():  # type: ignore[misc]
        if name != "data":
            lines.append(f"| `{name}` | {field.description} |")
    lines.append("| `data` | The payload, as JSON: see each event below. |")
    for event in ALL_EVENTS:
        lines += ["", f"## `{event.event_type()}`", "", (event.__doc__ or "").strip(), ""]
        lines.append(f"Stream `{event.stream()}`, published by `{event.source()}`.")
        lines += ["", "| field | type | required | meaning |", "|---|---|---|---|"]
        schema = event.model_json_schema()
        required = set(schema.get("required", []))
        for name, field in event.model_fields.items():
            prop = schema["properties"][name]
            kind = _type_name(prop)
            lines.append(
                f"| `{name}` | {kind} | {'yes' if name in required else 'no'} | {field.description} |"
            )
            lines += _object_rows(name, prop, schema.get("$defs", {}))
    return "\n".join(lines) + "\n"


def _object_rows(name: str, prop: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """The fields of an object a field holds (of each one of a list's: ``name[].field``)."""
    items = prop.get("items", {}) if prop.get("type") == "array" else prop
    ref = items.get("$ref", "")
    if not ref.startswith("#/$defs/"):
        return []
    shape = defs[ref.removeprefix("#/$defs/")]
    required = set(shape.get("required", []))
    path = f"{name}[]" if items is not prop else name
    return [
        f"| `{path}.{sub}` | {_type_name(one)} | {'yes' if sub in required else 'no'}"
        f" | {one.get('description', '')} |"
        for sub, one in shape["properties"].items()
    ]


def _type_name(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "object"
    if "anyOf" in prop:
        return " or ".join(_type_name(option) for option in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(f"`{value}`" for value in prop["enum"])
    if prop.get("type") == "array":
        return f"list of {_type_name(prop.get('items', {}))}"
    if "format" in prop:
        return f"{prop['type']} ({prop['format']})"
    return str(prop.get("type", "any"))


if __name__ == "__main__":
    print(render_reference(), end="")
