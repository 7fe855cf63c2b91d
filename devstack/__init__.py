"""Running the whole system on one machine: a bundled Redis, the three services, demo data."""
