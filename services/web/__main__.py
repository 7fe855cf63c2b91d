"""``python -m services.web`` (or ``slc-web``): run the web front on uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import uvicorn

from services.web.app import build_app
from services.web.settings import WebSettings
from shared.serve import load_settings, parse_arguments

DESCRIPTION = (
    "Run the web front: the pages families, students, teachers, offices and district IT use."
)


def main(argv: Sequence[str] | None = None) -> None:
    parse_arguments(WebSettings, prog="slc-web", description=DESCRIPTION, argv=argv)
    settings = load_settings(WebSettings, prog="slc-web")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(levelname)s %(message)s")
    # No access log: a family's first request carries its link in the address.
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, access_log=False)


if __name__ == "__main__":
    main()
