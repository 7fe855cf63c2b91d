"""Events scheduling reacts to: it keeps a local copy of the roster to check bookings against
(sites and their time zones, students, which guardians are linked to each, and the classes
whose teachers act for them), and whose conference plans are ready."""

from __future__ import annotations

from services.scheduling.conference_day.consumers import keep_plan_readiness
from services.scheduling.tables import RosterStudent
from services.scheduling.waitlist.promotion import leave_waitlists_of_removed
from shared.environment import Environment
from shared.events import PlanReady
from shared.messaging.consumer import EventConsumers, HandlerContext
from shared.roster import keep_administrator_copy, keep_roster_copy, keep_site_copy
from shared.roster_classes import keep_class_copy

consumers = EventConsumers(group="scheduling")
Context = HandlerContext[Environment]


keep_site_copy(consumers)
keep_administrator_copy(consumers)
keep_roster_copy(consumers, RosterStudent, after_removals=leave_waitlists_of_removed)
keep_class_copy(consumers)
consumers.handles_batch(PlanReady)(keep_plan_readiness)
