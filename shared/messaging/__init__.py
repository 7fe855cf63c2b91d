"""The messaging runtime: transactional outbox, relay, idempotent consumer. Written once."""
