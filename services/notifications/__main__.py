"""``python -m services.notifications`` (or ``slc-notifications``): run the notifications service."""

from collections.abc import Sequence

from services.notifications.app import build_app
from services.notifications.settings import NotificationsSettings
from shared.serve import load_settings, parse_arguments, serve

DESCRIPTION = (
    "Run the notifications service: what families hear, by email and text, in their language."
)


def main(argv: Sequence[str] | None = None) -> None:
    parse_arguments(
        NotificationsSettings, prog="slc-notifications", description=DESCRIPTION, argv=argv
    )
    settings = load_settings(NotificationsSettings, prog="slc-notifications")
    serve(lambda: build_app(settings), settings)


if __name__ == "__main__":
    main()
