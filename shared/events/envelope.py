"""The CloudEvents 1.0 envelope every event travels in, and its layout on a Redis stream.

A stream entry is a flat hash of the CloudEvents attributes plus ``data`` (the payload as JSON),
so any Redis client can read it: ``XREADGROUP`` then ``json.loads(fields["data"])``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
SCHEMA_BASE = "urn:slc:schema"
# Validation context of decoding a stream entry: unknown fields are then ignored.
_READING = "reading"


class EventData(BaseModel):
    """Base of every event payload; subclasses name their type, version and publisher."""

    # Tolerant readers: an unknown field is ignored, not an error. Additive changes (a new optional
    # field) keep the version, so a reader must accept events from producers newer than itself,
    # and the published JSON schema must not forbid additional properties.
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _producers_stay_strict(cls, data: Any, info: ValidationInfo) -> Any:
        """A misspelt field in a producer's code is an error, not silently dropped; only decoding
        a stream entry (``from_stream_fields``) tolerates fields this code does not know."""
        if isinstance(data, dict) and not (info.context or {}).get(_READING):
            unknown = data.keys() - cls.model_fields.keys()
            if unknown:
                raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
        return data

    # e.g. "portfolio.goal.set": the publishing service is its first part, unless ``publisher``
    # names another.
    event_name: ClassVar[str]
    type_version: ClassVar[int] = 1  # the N of `.vN`: a breaking change is a new type
    publisher: ClassVar[str | None] = None

    @classmethod
    def event_type(cls) -> str:
        return f"slc.{cls.event_name}.v{cls.type_version}"

    @classmethod
    def stream(cls) -> str:
        """One Redis stream per event type, named after the type."""
        return cls.event_type()

    @classmethod
    def source(cls) -> str:
        return cls.publisher or cls.event_name.split(".", 1)[0]

    @classmethod
    def schema_url(cls) -> str:
        return f"{SCHEMA_BASE}:{cls.event_type()}"


DataT = TypeVar("DataT", bound=EventData)


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 envelope; ``id`` is stable across redeliveries and is the dedup key."""

    model_config = ConfigDict(frozen=True)

    specversion: str = Field(SPEC_VERSION, description="CloudEvents spec version.")
    id: str = Field(
        min_length=1,
        max_length=36,
        description="Unique event id (a UUID); the same on every redelivery.",
    )
    source: str = Field(description="The publishing service, e.g. `portfolio`.")
    type: str = Field(
        description="Event type with version suffix, e.g. `slc.portfolio.goal.set.v1`."
    )
    subject: str = Field(
        description="The sourcedId of what the event is about: the student's; for roster"
        " events about a site, a class or an administrator, theirs."
    )
    time: datetime = Field(description="When the change happened (UTC, RFC 3339).")
    datacontenttype: str = Field(CONTENT_TYPE, description="Always `application/json`.")
    dataschema: str = Field(
        description="URN naming the JSON schema of `data` (the AsyncAPI document carries it)."
    )
    district: str = Field(description="Extension attribute: the district the event belongs to.")
    site: str = Field(
        description="Extension attribute: the school (site) the event belongs to; for"
        " `roster.administrator.registered`, the first of the administrator's schools (all are"
        " in `site_ids`), empty when they have none."
    )
    data: DataT = Field(description="The event payload.")


class UndecodableEvent(ValueError):
    """A stream entry that is not a valid event of the expected type."""


def new_event(
    data: EventData, *, subject: str, district: str, site: str, at: datetime | None = None
) -> CloudEvent[Any]:
    """Wrap a payload in a fresh envelope."""
    kind = type(data)
    return CloudEvent[kind](  # type: ignore[valid-type]
        id=str(uuid.uuid4()),
        source=kind.source(),
        type=kind.event_type(),
        subject=subject,
        time=at or datetime.now(UTC),
        dataschema=kind.schema_url(),
        district=district,
        site=site,
        data=data,
    )


def wrap_checked(
    data: EventData, *, subject: str, district: str, site: str, at: datetime | None = None
) -> CloudEvent[Any]:
    """``new_event`` for a payload that is already a validated ``EventData``, without
    validating the envelope again: the same entry on the stream, at a fraction of the cost
    (what a bulk change that records a million events needs)."""
    kind = type(data)
    return CloudEvent.model_construct(
        specversion=SPEC_VERSION,
        id=str(uuid.uuid4()),
        source=kind.source(),
        type=kind.event_type(),
        subject=subject,
        time=at or datetime.now(UTC),
        datacontenttype=CONTENT_TYPE,
        dataschema=kind.schema_url(),
        district=district,
        site=site,
        data=data,
    )


def to_stream_fields(event: CloudEvent[Any]) -> dict[str, str]:
    """The flat field/value layout of an event on a Redis stream."""
    fields = event.model_dump(mode="json", exclude={"data"})
    fields["data"] = event.data.model_dump_json()
    return {key: str(value) for key, value in fields.items()}


def from_stream_fields(fields: Mapping[Any, Any], data_type: type[DataT]) -> CloudEvent[DataT]:
    """Decode a stream entry into a typed envelope, or raise ``UndecodableEvent`` saying why."""
    text = entry_text(fields)
    if text.get("type") != data_type.event_type():
        raise UndecodableEvent(
            f"expected type {data_type.event_type()!r}, got {text.get('type')!r}"
        )
    try:
        text["data"] = json.loads(text.get("data", ""))
        return CloudEvent[data_type].model_validate(  # type: ignore[valid-type]
            text, context={_READING: True}
        )
    except ValidationError as error:
        raise UndecodableEvent(f"{data_type.event_type()}: {_problems(error)}") from error
    except (ValueError, TypeError, RecursionError) as error:
        # (ValueError: JSON that is not, a number too long for ``int``; RecursionError: JSON
        # nested too deep. Each is the entry's own, never worth retrying.)
        raise UndecodableEvent(f"{data_type.event_type()}: {error}") from error


def _problems(error: ValidationError) -> str:
    """What the model refused, field by field, without the values: a dead letter's error is
    read by operators and over HTTP, and must not carry the event's data."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'event'}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False)
    )


def entry_text(fields: Mapping[Any, Any]) -> dict[str, str]:
    """A stream entry's fields as text (Redis returns bytes), or ``UndecodableEvent``."""
    try:
        return {as_text(key): as_text(value) for key, value in fields.items()}
    except UnicodeDecodeError as error:
        raise UndecodableEvent(f"entry is not UTF-8 text: {error}") from error


def as_text(value: bytes | str) -> str:
    """Text of a Redis reply value (bytes unless the client decodes responses)."""
    return value.decode() if isinstance(value, bytes) else value


def stream_id(value: bytes | str) -> tuple[int, int]:
    """A stream entry id as (milliseconds, sequence), to compare ids or read their time."""
    millis, _, seq = as_text(value).partition("-")
    return int(millis), int(seq or 0)
