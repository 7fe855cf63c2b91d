"""Reflections: what a student says about a piece of work or a term, helped by sentence starters."""
