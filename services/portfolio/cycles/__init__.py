"""Conference cycles: a site's SLC rounds ("Fall 2026"), and a student's growth across them."""
