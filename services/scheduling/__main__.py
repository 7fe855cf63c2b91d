"""``python -m services.scheduling`` (or ``slc-scheduling``): run the scheduling service."""

from collections.abc import Sequence

from services.scheduling.app import build_app
from services.scheduling.settings import SchedulingSettings
from shared.serve import load_settings, parse_arguments, serve

DESCRIPTION = "Run the scheduling service: conference windows, times, bookings, the waitlist, interpreters and calendars."


def main(argv: Sequence[str] | None = None) -> None:
    parse_arguments(SchedulingSettings, prog="slc-scheduling", description=DESCRIPTION, argv=argv)
    settings = load_settings(SchedulingSettings, prog="slc-scheduling")
    serve(lambda: build_app(settings), settings)


if __name__ == "__main__":
    main()
