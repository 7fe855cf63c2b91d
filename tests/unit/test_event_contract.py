"""The event contract: envelope, wire layout on a Redis stream, and the published event classes."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import (
    ALL_EVENTS,
    AdministratorRegistered,
    ClassRegistered,
    ClassRemoved,
    CloudEvent,
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceCheckedIn,
    ConferenceCompleted,
    ConferenceInterpreterChanged,
    ConferenceMoved,
    ConferenceNoShow,
    DeliveryDelivered,
    DeliveryFailed,
    DeliverySent,
    EventData,
    EvidenceAdded,
    EvidenceApproved,
    FamiliesNudged,
    FamilyFeedbackReceived,
    FamilyLinkReissued,
    GoalAchieved,
    GoalDropped,
    GoalProgressed,
    GoalRevised,
    GoalSet,
    GuardianLinked,
    GuardianUnlinked,
    NudgedFamily,
    PlanReady,
    ReflectionAdded,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
    UndecodableEvent,
    WaitlistJoined,
    WindowChanged,
    WindowOpened,
    from_stream_fields,
    new_event,
    to_stream_fields,
)
from shared.events.envelope import wrap_checked

EVENT_TYPE = re.compile(r"^slc\.[a-z_]+(\.[a-z_]+)+\.v\d+$")
CONTACT_WORDS = ("email", "e_mail", "mail", "phone", "mobile", "sms", "address", "contact")
STARTS = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)

EXAMPLES: dict[type[EventData], EventData] = {
    SiteRegistered: SiteRegistered(
        site_id="conway", name="Conway Elementary", timezone="America/Los_Angeles", version=1
    ),
    StudentEnrolled: StudentEnrolled(
        student_id="stu-1", given_name="Ana", family_name="López", grade="03", version=2
    ),
    GuardianLinked: GuardianLinked(
        guardian_id="g-1", student_id="stu-1", relationship="mother", version=1
    ),
    GuardianUnlinked: GuardianUnlinked(guardian_id="g-1", student_id="stu-1", version=2),
    StudentWithdrawn: StudentWithdrawn(student_id="stu-1", version=3),
    AdministratorRegistered: AdministratorRegistered(
        administrator_id="a-1", site_ids=["conway", "mjds"], version=2
    ),
    ClassRegistered: ClassRegistered(
        class_id="c-k4",
        title="Kindergarten - Room 4",
        teacher_ids=["t-rivera"],
        student_ids=["s-ava", "s-gio"],
        term_ids=["fall-2026"],
        version=1,
    ),
    ClassRemoved: ClassRemoved(class_id="c-k4", version=2),
    EvidenceAdded: EvidenceAdded(
        evidence_id="e-1",
        student_id="s-gio",
        kind="file",
        file_kind="image",
        title="All the shapes I know",
        learning_area="math",
        tags=["curiosity"],
        status="submitted",
        added_by="s-gio",
    ),
    EvidenceApproved: EvidenceApproved(
        evidence_id="e-1",
        student_id="s-gio",
        title="All the shapes I know",
        approved_by="t-rivera",
        guardian_ids=["g-maria"],
    ),
    ReflectionAdded: ReflectionAdded(
        reflection_id="r-1",
        student_id="s-gio",
        evidence_id="e-1",
        prompts=["glows", "next_steps"],
        written_by="s-gio",
    ),
    GoalProgressed: GoalProgressed(
        goal_id="goal-1",
        student_id="s-ava",
        progress_id="p-1",
        note="I read two chapters by myself",
        percent=40,
        recorded_by="s-ava",
        guardian_ids=["g-wei"],
    ),
    GoalAchieved: GoalAchieved(
        goal_id="goal-1",
        student_id="s-ava",
        title="Read a chapter book on my own",
        recorded_by="t-rivera",
        guardian_ids=["g-wei"],
    ),
    GoalRevised: GoalRevised(
        goal_id="goal-2",
        previous_goal_id="goal-1",
        student_id="s-ava",
        title="Read two chapter books on my own",
        previous_title="Read a chapter book on my own",
        recorded_by="s-ava",
    ),
    GoalDropped: GoalDropped(goal_id="goal-2", student_id="s-ava", recorded_by="s-ava"),
    PlanReady: PlanReady(
        plan_id="plan-1",
        student_id="s-gio",
        cycle_id="fall-2026",
        items=4,
        ready_by="t-rivera",
        guardian_ids=["g-maria"],
    ),
    FamilyFeedbackReceived: FamilyFeedbackReceived(
        feedback_id="fb-1",
        student_id="s-gio",
        guardian_id="g-maria",
        cycle_id="fall-2026",
        rating=5,
        goal_ids=["goal-1"],
    ),
    ConferenceCompleted: ConferenceCompleted(
        booking_id="b-1",
        student_id="s-gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
        starts_at=datetime(2026, 12, 9, 23, 0, tzinfo=UTC),
        completed_by="t-rivera",
        window_id="w-1",
    ),
    WindowOpened: WindowOpened(
        window_id="w-1",
        name="Fall 2026 SLCs at Conway",
        cycle_id="cy-fall",
        timezone="America/Los_Angeles",
        first_day=date(2026, 12, 8),
        last_day=date(2026, 12, 10),
        opens_at=datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
        closes_at=datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
        early_access_at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        change_cutoff_minutes=120,
        opened_by="a-conway",
    ),
    WindowChanged: WindowChanged(
        window_id="w-1",
        name="Fall 2026 SLCs at Conway",
        cycle_id="cy-fall",
        timezone="America/Los_Angeles",
        first_day=date(2026, 12, 8),
        last_day=date(2026, 12, 10),
        opens_at=datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
        closes_at=datetime(2026, 12, 9, 20, 0, tzinfo=UTC),
        early_access_at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        change_cutoff_minutes=60,
        changed=["closes_at", "change_cutoff_minutes"],
        changed_by="a-conway",
    ),
    ConferenceInterpreterChanged: ConferenceInterpreterChanged(
        booking_id="b-1",
        student_id="s-gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
        slot_id="slot-1",
        starts_at=datetime(2026, 12, 9, 23, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 9, 23, 20, tzinfo=UTC),
        room="Room 4",
        sequence=1,
        changed_by="g-maria",
        interpreter_language="es",
        interpreter_id="i-rosa",
        timezone="America/Los_Angeles",
        window_id="w-1",
    ),
    ConferenceMoved: ConferenceMoved(
        booking_id="b-1",
        student_id="s-gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
        slot_id="slot-2",
        starts_at=datetime(2026, 12, 9, 23, 25, tzinfo=UTC),
        ends_at=datetime(2026, 12, 9, 23, 45, tzinfo=UTC),
        room="Room 4",
        previous_slot_id="slot-1",
        previous_starts_at=datetime(2026, 12, 9, 23, 0, tzinfo=UTC),
        sequence=1,
        moved_by="g-maria",
        timezone="America/Los_Angeles",
        window_id="w-1",
    ),
    ConferenceCheckedIn: ConferenceCheckedIn(
        booking_id="b-1",
        student_id="s-gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
        starts_at=datetime(2026, 12, 9, 23, 0, tzinfo=UTC),
        checked_in_by="t-rivera",
        window_id="w-1",
    ),
    ConferenceNoShow: ConferenceNoShow(
        booking_id="b-1",
        student_id="s-gio",
        guardian_id="g-maria",
        teacher_id="t-rivera",
        starts_at=datetime(2026, 12, 9, 23, 0, tzinfo=UTC),
        recorded_by="t-rivera",
        window_id="w-1",
        timezone="America/Los_Angeles",
    ),
    FamiliesNudged: FamiliesNudged(
        nudge_id="n-1",
        window_id="w-1",
        nudged_by="a-conway",
        families=[NudgedFamily(student_id="s-ava", guardian_ids=["g-wei"])],
        closes_at=datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
        timezone="America/Los_Angeles",
    ),
    FamilyLinkReissued: FamilyLinkReissued(
        guardian_id="g-wei",
        revoked_before=datetime(2026, 12, 2, 18, 0, tzinfo=UTC),
        expires_at=datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
        reissued_by="a-conway",
        timezone="America/Los_Angeles",
    ),
    WaitlistJoined: WaitlistJoined(
        entry_id="wl-1",
        window_id="win-1",
        student_id="stu-1",
        guardian_id="g-wei",
        teacher_id="t-rivera",
        day=date(2026, 12, 9),
        part_of_day="evening",
        interpreter_language="zh",
        joined_by="a-conway",
        by_school=True,
        timezone="America/Los_Angeles",
        links_until=datetime(2026, 12, 11, 8, 0, tzinfo=UTC),
    ),
    GoalSet: GoalSet(
        goal_id="goal-1",
        student_id="stu-1",
        title="Read 20 minutes every night",
        area="reading",
        target_date=date(2025, 6, 1),
        set_by="stu-1",
        guardian_ids=["g-1", "g-2"],
    ),
    ConferenceBooked: ConferenceBooked(
        booking_id="b-1",
        slot_id="slot-1",
        student_id="stu-1",
        guardian_id="g-1",
        booked_by="g-1",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(minutes=20),
        room="B12",
        teacher_id="t-1",
        interpreter_language="es",
        timezone="America/Los_Angeles",
    ),
    ConferenceCancelled: ConferenceCancelled(
        booking_id="b-1",
        slot_id="slot-1",
        student_id="stu-1",
        guardian_id="g-1",
        starts_at=STARTS,
        cancelled_by="g-1",
    ),
    DeliverySent: DeliverySent(
        delivery_id="dl-1",
        recipient_id="g-1",
        channel="mailbox",
        template="goal_set",
        language="es",
        cause_event_id="e-1",
    ),
    DeliveryFailed: DeliveryFailed(
        delivery_id="dl-1",
        recipient_id="g-1",
        channel="none",
        template="goal_set",
        error="no contact point on file for this guardian",
        cause_event_id="e-1",
    ),
    DeliveryDelivered: DeliveryDelivered(
        delivery_id="dl-1",
        recipient_id="g-1",
        channel="sms",
        template="conference_booked",
        cause_event_id="e-1",
    ),
}


def event_of(data: EventData, **overrides: Any) -> CloudEvent[Any]:
    values: dict[str, Any] = {"subject": "stu-1", "district": "d-1", "site": "s-1"}
    values.update(overrides)
    return new_event(data, **values)


def as_redis_returns(fields: dict[str, str]) -> dict[bytes, bytes]:
    return {key.encode(): value.encode() for key, value in fields.items()}


# --- The published event classes -------------------------------------------------------------


def test_every_example_is_covered() -> None:
    assert set(EXAMPLES) == set(ALL_EVENTS)


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_event_type_is_namespaced_and_versioned(kind: type[EventData]) -> None:
    assert EVENT_TYPE.match(kind.event_type()), kind.event_type()


def test_event_types_are_unique() -> None:
    types = [kind.event_type() for kind in ALL_EVENTS]
    assert len(types) == len(set(types))


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_each_event_type_has_its_own_stream(kind: type[EventData]) -> None:
    assert kind.stream() == kind.event_type()


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_event_is_documented(kind: type[EventData]) -> None:
    doc = kind.__dict__.get("__doc__")
    assert doc, f"{kind.__name__} has no docstring"
    assert doc.strip()


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_every_event_field_is_described(kind: type[EventData]) -> None:
    undescribed = [
        name for name, field in kind.model_fields.items() if not (field.description or "").strip()
    ]
    assert not undescribed, f"{kind.__name__}: {undescribed}"


def test_every_envelope_field_is_described() -> None:
    undescribed = [
        name
        for name, field in CloudEvent.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert not undescribed


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_events_carry_no_contact_details(kind: type[EventData]) -> None:
    for name in kind.model_fields:
        assert not any(word in name.lower() for word in CONTACT_WORDS), f"{kind.__name__}.{name}"


@pytest.mark.parametrize(
    ("kind", "source"),
    [
        (StudentEnrolled, "portfolio"),
        (GuardianLinked, "portfolio"),
        (GuardianUnlinked, "portfolio"),
        (StudentWithdrawn, "portfolio"),
        (GoalSet, "portfolio"),
        (ConferenceBooked, "scheduling"),
        (ConferenceCancelled, "scheduling"),
        (DeliverySent, "notifications"),
        (DeliveryFailed, "notifications"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_publishing_service(kind: type[EventData], source: str) -> None:
    assert kind.source() == source


def test_known_event_types() -> None:
    assert GoalSet.event_type() == "slc.portfolio.goal.set.v1"
    assert StudentEnrolled.event_type() == "slc.roster.student.enrolled.v1"
    assert ConferenceBooked.schema_url() == "urn:slc:schema:slc.scheduling.conference.booked.v1"


def test_producers_cannot_give_a_field_the_contract_does_not_have() -> None:
    with pytest.raises(ValidationError, match="email"):
        GuardianLinked(
            guardian_id="g-1",
            student_id="stu-1",
            relationship="mother",
            email="rosa@example.org",  # type: ignore[call-arg]
        )


def test_payloads_are_immutable() -> None:
    with pytest.raises(ValidationError):
        EXAMPLES[GoalSet].title = "changed"  # type: ignore[misc]


# --- The envelope ----------------------------------------------------------------------------


def test_new_event_fills_the_envelope() -> None:
    data = EXAMPLES[GoalSet]
    event = event_of(data, subject="stu-9", district="d-2", site="s-3")
    assert event.specversion == "1.0"
    assert event.datacontenttype == "application/json"
    assert event.type == "slc.portfolio.goal.set.v1"
    assert event.source == "portfolio"
    assert event.dataschema == "urn:slc:schema:slc.portfolio.goal.set.v1"
    assert (event.subject, event.district, event.site) == ("stu-9", "d-2", "s-3")
    assert event.data == data
    assert uuid.UUID(event.id)


def test_new_event_ids_are_unique() -> None:
    data = EXAMPLES[GoalSet]
    assert len({event_of(data).id for _ in range(50)}) == 50


def test_new_event_time_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    event = event_of(EXAMPLES[GoalSet])
    after = datetime.now(UTC)
    assert event.time.utcoffset() == timedelta(0)
    assert before <= event.time <= after


def test_new_event_keeps_the_given_time() -> None:
    assert event_of(EXAMPLES[GoalSet], at=STARTS).time == STARTS


# --- Layout on a Redis stream ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_stream_fields_are_flat_strings(kind: type[EventData]) -> None:
    fields = to_stream_fields(event_of(EXAMPLES[kind]))
    assert all(isinstance(key, str) for key in fields)
    assert all(isinstance(value, str) for value in fields.values())
    assert set(fields) == set(CloudEvent.model_fields)


def test_stream_data_is_the_payload_as_json() -> None:
    event = event_of(EXAMPLES[ConferenceCancelled], at=STARTS)
    fields = to_stream_fields(event)
    payload = json.loads(fields["data"])
    assert payload["booking_id"] == "b-1"
    assert payload["reason"] is None
    assert payload["starts_at"] == "2025-03-03T15:00:00Z"
    assert fields["time"] == "2025-03-03T15:00:00Z"


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_every_event_round_trips_through_a_stream(kind: type[EventData]) -> None:
    event = event_of(EXAMPLES[kind])
    decoded = from_stream_fields(as_redis_returns(to_stream_fields(event)), kind)
    assert decoded == event
    assert decoded.data == EXAMPLES[kind]
    assert isinstance(decoded.data, kind)


def test_str_fields_decode_as_well_as_bytes() -> None:
    event = event_of(EXAMPLES[GoalSet])
    assert from_stream_fields(to_stream_fields(event), GoalSet) == event


texts = st.text()
goals = st.builds(
    GoalSet,
    goal_id=texts,
    student_id=texts,
    title=texts,
    area=texts,
    target_date=st.none() | st.dates(),
    set_by=texts,
    guardian_ids=st.lists(texts, max_size=5),
)


@given(
    data=goals,
    subject=texts,
    district=texts,
    site=texts,
    at=st.datetimes(timezones=st.just(UTC)),
)
def test_any_goal_survives_the_stream_unchanged(
    data: GoalSet, subject: str, district: str, site: str, at: datetime
) -> None:
    event = new_event(data, subject=subject, district=district, site=site, at=at)
    fields = to_stream_fields(event)
    assert all(isinstance(value, str) for value in fields.values())
    decoded = from_stream_fields(as_redis_returns(fields), GoalSet)
    assert decoded == event
    assert decoded.data == data


# --- Entries that are not events of the expected type ----------------------------------------


def goal_fields(**overrides: str) -> dict[str, str]:
    fields = to_stream_fields(event_of(EXAMPLES[GoalSet]))
    fields.update(overrides)
    return fields


def test_undecodable_event_is_a_value_error() -> None:
    assert issubclass(UndecodableEvent, ValueError)


def test_wrong_type_is_undecodable() -> None:
    fields = to_stream_fields(event_of(EXAMPLES[ConferenceBooked]))
    with pytest.raises(
        UndecodableEvent, match=re.escape("expected type 'slc.portfolio.goal.set.v1'")
    ):
        from_stream_fields(as_redis_returns(fields), GoalSet)


def test_other_version_of_the_type_is_undecodable() -> None:
    fields = goal_fields(type="slc.portfolio.goal.set.v2")
    with pytest.raises(UndecodableEvent):
        from_stream_fields(fields, GoalSet)


def test_entry_without_type_is_undecodable() -> None:
    fields = goal_fields()
    del fields["type"]
    with pytest.raises(UndecodableEvent):
        from_stream_fields(fields, GoalSet)


@pytest.mark.parametrize("broken", ['{"goal_id": ', "not json", "", "{'goal_id': 'g-1'}"])
def test_broken_json_in_data_is_undecodable(broken: str) -> None:
    with pytest.raises(UndecodableEvent, match=re.escape("slc.portfolio.goal.set.v1")):
        from_stream_fields(as_redis_returns(goal_fields(data=broken)), GoalSet)


@pytest.mark.parametrize(
    "broken",
    [
        '{"goal_id": "g-1", "extra": ' + "1" * 5000 + "}",  # too long for int(): ValueError
        '{"goal_id": ' + "[" * 100_000 + "]" * 100_000 + "}",  # too deep: RecursionError
    ],
    ids=["a-number-of-5000-digits", "nested-100000-deep"],
)
def test_json_python_cannot_read_is_undecodable_not_an_error_of_the_reader(broken: str) -> None:
    """Such an entry must go to the dead letters at once: an exception of another kind would
    escape the consumer's loop, and the entry and those read with it would be tried forever."""
    with pytest.raises(UndecodableEvent, match=re.escape("slc.portfolio.goal.set.v1")):
        from_stream_fields(as_redis_returns(goal_fields(data=broken)), GoalSet)


def test_an_undecodable_events_reason_names_the_fields_not_their_values() -> None:
    """The reason goes to the dead letters, which operators and ``GET /dead-letters`` read:
    never the event's data."""
    data = json.dumps({"goal_id": "g-1", "student_id": "maria@example.org", "title": 7})
    with pytest.raises(UndecodableEvent) as refused:
        from_stream_fields(as_redis_returns(goal_fields(data=data)), GoalSet)
    reason = str(refused.value)
    assert "data.title" in reason
    assert "maria@example.org" not in reason and "input" not in reason


@pytest.mark.parametrize("event_id", ["", "x" * 37])
def test_an_id_the_inbox_cannot_keep_is_undecodable(event_id: str) -> None:
    """The inbox and the parked events keep an event's id in 36 characters (a UUID): a longer
    one would be refused by PostgreSQL inside the batch's transaction."""
    with pytest.raises(UndecodableEvent, match="id"):
        from_stream_fields(as_redis_returns(goal_fields(id=event_id)), GoalSet)


def test_entry_without_data_is_undecodable() -> None:
    fields = goal_fields()
    del fields["data"]
    with pytest.raises(UndecodableEvent):
        from_stream_fields(fields, GoalSet)


@pytest.mark.parametrize(
    "data",
    [
        "[]",
        "null",
        '{"goal_id": "g-1"}',
    ],
    ids=["list", "null", "missing fields"],
)
def test_payload_of_the_wrong_shape_is_undecodable(data: str) -> None:
    with pytest.raises(UndecodableEvent):
        from_stream_fields(goal_fields(data=data), GoalSet)


@pytest.mark.parametrize("attribute", ["id", "subject", "time", "district", "site", "source"])
def test_entry_missing_an_envelope_attribute_is_undecodable(attribute: str) -> None:
    fields = goal_fields()
    del fields[attribute]
    with pytest.raises(UndecodableEvent):
        from_stream_fields(fields, GoalSet)


def test_entry_with_an_unparseable_time_is_undecodable() -> None:
    with pytest.raises(UndecodableEvent):
        from_stream_fields(goal_fields(time="yesterday"), GoalSet)


def test_entry_that_is_not_utf8_is_undecodable() -> None:
    fields = as_redis_returns(goal_fields())
    fields[b"data"] = b"\xff\xfe"
    with pytest.raises(UndecodableEvent):
        from_stream_fields(fields, GoalSet)


def test_every_event_is_declared_by_the_service_that_publishes_it() -> None:
    """A service trims and documents (AsyncAPI) the streams it declares it publishes."""
    from services.notifications.app import SPEC as NOTIFICATIONS
    from services.portfolio.app import SPEC as PORTFOLIO
    from services.scheduling.app import SPEC as SCHEDULING

    publishers = {
        kind: spec.name
        for spec in (PORTFOLIO, SCHEDULING, NOTIFICATIONS)
        for kind in spec.publishes
    }
    assert set(publishers) == set(ALL_EVENTS)
    assert all(publishers[kind] == kind.source() for kind in ALL_EVENTS)


@pytest.mark.parametrize("kind", ALL_EVENTS, ids=lambda kind: kind.__name__)
def test_an_event_wrapped_without_checking_is_the_same_entry_on_the_stream(
    kind: type[EventData],
) -> None:
    data = EXAMPLES[kind]
    at = datetime(2026, 12, 2, 17, 30, 5, 123456, tzinfo=UTC)
    checked = new_event(data, subject="stu-1", district="d-1", site="s-1", at=at)
    quick = wrap_checked(data, subject="stu-1", district="d-1", site="s-1", at=at)
    fields = to_stream_fields(quick)
    assert fields == {**to_stream_fields(checked), "id": quick.id}
    assert from_stream_fields(fields, kind).data == data
