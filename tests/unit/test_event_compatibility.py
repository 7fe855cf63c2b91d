"""The event contract stays compatible with the released schemas, and readers are tolerant."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from shared.events import (
    ALL_EVENTS,
    EventData,
    GoalSet,
    from_stream_fields,
    new_event,
    to_stream_fields,
)
from shared.events.compatibility import (
    breaking_changes,
    current_schemas,
    released_dir,
    released_schemas,
    schema_text,
)

# --- The code against the released schemas ---------------------------------------------------


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_no_breaking_change_against_the_released_schema(kind: type[EventData]) -> None:
    path = released_dir() / f"{kind.event_type()}.json"
    # A new type is recorded when it is introduced, so its first change is checked too.
    assert path.exists(), (
        f"{kind.event_type()} has no released schema: python -m shared.events.compatibility release"
    )
    released = json.loads(path.read_text(encoding="utf-8"))
    assert breaking_changes(released, kind.model_json_schema()) == [], (
        f"{kind.event_type()} breaks its released schema: publish a new .vN type instead"
    )


def test_every_released_type_is_still_published() -> None:
    released = released_schemas()
    assert released, "no released schemas found"
    assert set(released) <= set(current_schemas()), "a released event type was dropped"


def test_released_files_are_written_as_the_release_writes_them() -> None:
    for path in released_dir().glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text == schema_text(json.loads(text)), path.name


# --- The checker -----------------------------------------------------------------------------


class Delivery(BaseModel):
    """A delivery."""

    delivery_id: str = Field(description="The delivery's id.")
    channel: Literal["mailbox", "email", "sms"] = Field(description="How it went.")
    sent_on: date = Field(description="When.")
    note: str | None = Field(None, description="A note.")
    tags: list[str] = Field(default_factory=list, description="Tags.")


RELEASED = Delivery.model_json_schema()


def schema(**fields: Any) -> dict[str, Any]:
    """A hand-written flat object schema; a field is required unless its name ends in '?'."""
    return {
        "type": "object",
        "properties": {name.rstrip("?"): prop for name, prop in fields.items()},
        "required": [name for name in fields if not name.endswith("?")],
    }


STRING = {"type": "string"}
NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}


def test_an_unchanged_schema_has_no_breaking_change() -> None:
    assert breaking_changes(RELEASED, Delivery.model_json_schema()) == []


def test_removing_a_field_is_breaking() -> None:
    class Changed(BaseModel):
        delivery_id: str
        channel: Literal["mailbox", "email", "sms"]
        sent_on: date
        tags: list[str] = []

    reasons = breaking_changes(RELEASED, Changed.model_json_schema())
    assert reasons == ["field 'note' was removed"]


def test_changing_str_to_int_is_breaking() -> None:
    reasons = breaking_changes(schema(count=STRING), schema(count={"type": "integer"}))
    assert len(reasons) == 1
    assert "'count'" in reasons[0]
    assert "from string to integer" in reasons[0]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}),
        ({"type": "string", "format": "date"}, STRING),
        (STRING, NULLABLE_STRING),
        (NULLABLE_STRING, STRING),
        ({"type": "array", "items": STRING}, {"type": "array", "items": {"type": "integer"}}),
        ({"type": "array", "items": STRING}, STRING),
        ({"enum": ["a", "b"], "type": "string"}, STRING),
        (STRING, {"const": "a", "type": "string"}),
    ],
    ids=[
        "format",
        "format dropped",
        "now nullable",
        "no longer nullable",
        "list items",
        "list to scalar",
        "enum to string",
        "string to const",
    ],
)
def test_other_type_changes_are_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    reasons = breaking_changes(schema(value=old), schema(value=new))
    assert len(reasons) == 1
    assert reasons[0].startswith("field 'value' changed type from")


def test_making_an_optional_field_required_is_breaking() -> None:
    reasons = breaking_changes(schema(**{"note?": NULLABLE_STRING}), schema(note=NULLABLE_STRING))
    assert reasons == ["field 'note' was optional and is now required"]


def test_making_an_optional_model_field_required_is_breaking() -> None:
    class Changed(Delivery):
        tags: list[str] = Field(description="Tags.")

    reasons = breaking_changes(RELEASED, Changed.model_json_schema())
    assert reasons == ["field 'tags' was optional and is now required"]


def test_adding_a_required_field_is_breaking() -> None:
    class Changed(Delivery):
        language: str = Field(description="Language.")

    reasons = breaking_changes(RELEASED, Changed.model_json_schema())
    assert len(reasons) == 1
    assert reasons[0].startswith("new field 'language' is required")


def test_narrowing_an_enum_is_breaking() -> None:
    class Changed(Delivery):
        channel: Literal["mailbox", "email"] = Field(description="How it went.")

    reasons = breaking_changes(RELEASED, Changed.model_json_schema())
    assert len(reasons) == 1
    assert reasons[0].startswith("field 'channel' lost enum value(s) 'sms'")


def test_widening_an_enum_is_breaking() -> None:
    class Changed(BaseModel):
        delivery_id: str
        channel: Literal["mailbox", "email", "sms", "push"]
        sent_on: date
        note: str | None = None
        tags: list[str] = []

    reasons = breaking_changes(RELEASED, Changed.model_json_schema())
    assert len(reasons) == 1
    assert reasons[0].startswith("field 'channel' gained enum value(s) 'push'")


def test_changing_a_nullable_enum_reports_both_sides() -> None:
    def nullable(*values: str) -> dict[str, Any]:
        return {"anyOf": [{"enum": list(values), "type": "string"}, {"type": "null"}]}

    reasons = breaking_changes(schema(kind=nullable("a", "b")), schema(kind=nullable("b", "c")))
    assert reasons == [
        "field 'kind' lost enum value(s) 'a': events already on the stream may carry them",
        "field 'kind' gained enum value(s) 'c': readers of the old version do not know them",
    ]


def test_adding_an_optional_field_is_not_breaking() -> None:
    class Changed(Delivery):
        language: str | None = Field(None, description="Language, if known.")
        retries: int = Field(0, description="Retries.")

    assert breaking_changes(RELEASED, Changed.model_json_schema()) == []


def test_changing_descriptions_and_titles_is_not_breaking() -> None:
    class Changed(BaseModel):
        """Something else entirely."""

        delivery_id: str = Field(title="Id", description="Another description.")
        channel: Literal["mailbox", "email", "sms"] = Field(description="Changed.")
        sent_on: date = Field(description="Changed.")
        note: str | None = Field(None, description="Changed.")
        tags: list[str] = Field(default_factory=list, description="Changed.")

    assert breaking_changes(RELEASED, Changed.model_json_schema()) == []


def test_reordering_fields_and_enum_values_is_not_breaking() -> None:
    class Changed(BaseModel):
        tags: list[str] = []
        note: str | None = None
        sent_on: date
        channel: Literal["sms", "email", "mailbox"]
        delivery_id: str

    assert breaking_changes(RELEASED, Changed.model_json_schema()) == []


# --- Tolerant readers ------------------------------------------------------------------------


GOAL = GoalSet(
    goal_id="goal-1",
    student_id="stu-1",
    title="Read 20 minutes every night",
    area="reading",
    target_date=date(2025, 6, 1),
    set_by="stu-1",
    guardian_ids=["g-1"],
)


def test_a_reader_ignores_a_field_it_does_not_know() -> None:
    event = new_event(GOAL, subject="stu-1", district="d-1", site="s-1")
    fields = to_stream_fields(event)
    fields["data"] = json.dumps(json.loads(fields["data"]) | {"mood": "happy"})
    decoded = from_stream_fields(
        {key.encode(): value.encode() for key, value in fields.items()}, GoalSet
    )
    assert decoded == event
    assert decoded.data == GOAL
    assert "mood" not in decoded.data.model_dump()


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_published_schemas_allow_additional_properties(kind: type[EventData]) -> None:
    assert '"additionalProperties": false' not in json.dumps(kind.model_json_schema())
