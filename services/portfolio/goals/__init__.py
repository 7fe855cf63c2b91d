"""Goals: set, followed with progress updates, achieved, revised or dropped."""
