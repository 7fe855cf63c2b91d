"""The AsyncAPI document rendered on the server as a plain HTML page.

No renderer for AsyncAPI ships as a Python package, and the browser one lives on a public CDN:
this page is what a reader on a district network without internet sees instead. It shows what
the document holds: each stream the service publishes or reads (with its consumer group), the
message on it, and every payload schema, field by field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class FieldRow:
    name: str
    type: str
    required: bool
    description: str
    links_to: str | None  # the anchor of the schema the field's value follows


@dataclass(frozen=True)
class SchemaSection:
    name: str
    anchor: str
    description: str
    fields: list[FieldRow]


@dataclass(frozen=True)
class ChannelSection:
    address: str
    description: str
    group: str | None
    message: str
    message_anchor: str | None


def render_asyncapi(document: Mapping[str, Any]) -> str:
    """The HTML page of an AsyncAPI 3.0 document (as JSON)."""
    info = document.get("info", {})
    channels: dict[str, list[ChannelSection]] = {"send": [], "receive": []}
    for operation in document.get("operations", {}).values():
        channel = _resolve(document, operation["channel"]["$ref"])
        channels.setdefault(operation.get("action", "send"), []).append(
            _channel_section(document, channel)
        )
    schemas = document.get("components", {}).get("schemas", {})
    return _templates.get_template("asyncapi.html.j2").render(
        title=info.get("title", "AsyncAPI"),
        version=info.get("version", ""),
        description=info.get("description", ""),
        asyncapi_version=document.get("asyncapi", ""),
        servers=[
            f"{server.get('protocol', '')}://{server.get('host', '')}{server.get('pathname', '')}"
            for server in document.get("servers", {}).values()
        ],
        published=sorted(channels["send"], key=lambda c: c.address),
        read=sorted(channels["receive"], key=lambda c: c.address),
        schemas=[_schema_section(name, schema) for name, schema in sorted(schemas.items())],
    )


def _channel_section(document: Mapping[str, Any], channel: Mapping[str, Any]) -> ChannelSection:
    payload: Mapping[str, Any] = {}
    for reference in channel.get("messages", {}).values():
        message = _resolve(document, reference["$ref"])
        payload = message.get("payload", {})
    label, anchor = _type_of(payload)
    return ChannelSection(
        address=channel.get("address", ""),
        description=channel.get("description", ""),
        group=channel.get("bindings", {}).get("redis", {}).get("groupName"),
        message=label,
        message_anchor=anchor,
    )


def _schema_section(name: str, schema: Mapping[str, Any]) -> SchemaSection:
    required = set(schema.get("required", []))
    fields = []
    for field_name, field in schema.get("properties", {}).items():
        label, anchor = _type_of(field)
        if "default" in field and field["default"] is not None:
            label += f", default {field['default']}"
        fields.append(
            FieldRow(
                name=field_name,
                type=label,
                required=field_name in required,
                description=field.get("description", ""),
                links_to=anchor,
            )
        )
    return SchemaSection(
        name=name, anchor=_anchor(name), description=schema.get("description", ""), fields=fields
    )


def _type_of(schema: Mapping[str, Any]) -> tuple[str, str | None]:
    """A reader's name for the values a schema allows, and the anchor of the schema it names."""
    if "$ref" in schema:
        name = _schema_name(schema["$ref"])
        return name, _anchor(name)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [_type_of(option) for option in schema[combinator]]
            anchor = next((a for _, a in options if a), None)
            return " or ".join(label for label, _ in options), anchor
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"]), None
    kind = schema.get("type", "any")
    if kind == "array":
        item, anchor = _type_of(schema.get("items", {}))
        return f"list of {item}", anchor
    if "format" in schema:
        return f"{kind} ({schema['format']})", None
    return str(kind), None


def _resolve(document: Mapping[str, Any], reference: str) -> Mapping[str, Any]:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node  # type: ignore[no-any-return]


def _schema_name(reference: str) -> str:
    return unquote(reference.rsplit("/", 1)[-1])


def _anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
