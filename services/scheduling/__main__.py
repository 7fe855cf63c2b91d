"""``python -m services.scheduling`` (or ``slc-scheduling``): run the scheduling service."""

from services.scheduling.app import build_app
from services.scheduling.settings import SchedulingSettings
from shared.serve import load_settings, serve


def main() -> None:
    settings = load_settings(SchedulingSettings, prog="slc-scheduling")
    serve(lambda: build_app(settings), settings)


if __name__ == "__main__":
    main()
