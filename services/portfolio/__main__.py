"""``python -m services.portfolio`` (or ``slc-portfolio``): run the portfolio service."""

from services.portfolio.app import build_app
from services.portfolio.settings import PortfolioSettings
from shared.serve import serve


def main() -> None:
    settings = PortfolioSettings()
    serve(lambda: build_app(settings), settings)


if __name__ == "__main__":
    main()
