"""Benchmarks of the messaging runtime (``make bench``; see docs/benchmarks.md).

Run with ``python -m benchmarks [--quick]``: one private Redis, SQLite files in a temporary
directory, and a results table written between the markers of docs/benchmarks.md.
"""
