"""Web addresses people type in (a piece of work's link, a teacher's video-call link): what
makes one usable, in one rule every service applies."""

from __future__ import annotations

from urllib.parse import urlsplit

LINK_SCHEMES = frozenset({"http", "https"})


def link_refusal(url: str, *, schemes: frozenset[str] = LINK_SCHEMES) -> str | None:
    """Why ``url`` cannot be shown to people as a link, or None: an address of a host in one of
    ``schemes``, printable, with no user name or password in it (which everyone shown the link
    would read)."""
    if any(character.isspace() or not character.isprintable() for character in url):
        return "a link has no spaces, control characters or invisible formatting"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError:
        return "the link is not a valid web address"
    if parts.scheme.lower() not in schemes:
        starts = " or ".join(f"{scheme}://" for scheme in sorted(schemes))
        return f"a link starts with {starts}"
    if parts.username is not None or parts.password is not None:
        return "a link may not carry a user name or password"
    if not parts.hostname:
        return "a link names a web site, e.g. https://example.org/my-work"
    return None
