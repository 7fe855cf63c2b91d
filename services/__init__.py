"""The three services; each imports `shared`, never another service."""
