"""District IT's pages (``/district``): the roster import with its progress and report, each
service's state, and the services' dead letters with a replay button."""
