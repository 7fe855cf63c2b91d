"""Take it with you: a student's whole portfolio as a zip that opens offline."""
