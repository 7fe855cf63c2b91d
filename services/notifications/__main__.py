"""``python -m services.notifications`` (or ``slc-notifications``): run the notifications service."""

from services.notifications.app import build_app
from services.notifications.settings import NotificationsSettings
from shared.serve import load_settings, serve


def main() -> None:
    settings = load_settings(NotificationsSettings, prog="slc-notifications")
    serve(lambda: build_app(settings), settings)


if __name__ == "__main__":
    main()
