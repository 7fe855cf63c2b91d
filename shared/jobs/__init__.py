"""Durable jobs: side effects (email, SMS, webhooks) run by a worker after the commit that asked
for them, never inside a handler's or a route's transaction. See docs/jobs.md."""
