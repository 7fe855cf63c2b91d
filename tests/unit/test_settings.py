"""Settings refuse what would be unsafe, and read the documented environment names."""

import pytest
from pydantic import ValidationError

from services.portfolio.settings import PortfolioSettings
from shared.settings import DEV_JWT_SECRET


def test_development_secret_is_refused_beyond_loopback() -> None:
    with pytest.raises(ValidationError, match=r"refusing to listen on 0\.0\.0\.0"):
        PortfolioSettings(host="0.0.0.0")


def test_real_secret_or_public_key_may_listen_anywhere() -> None:
    assert PortfolioSettings(host="0.0.0.0", jwt_secret="a-real-secret-" + "x" * 32).port == 8001
    assert PortfolioSettings(host="0.0.0.0", jwks_url="http://127.0.0.1/jwks").host == "0.0.0.0"
    assert PortfolioSettings().jwt_secret == DEV_JWT_SECRET  # on loopback, the default is fine


def test_settings_come_from_the_documented_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", "postgresql+asyncpg://u@db/portfolio")
    monkeypatch.setenv("PORTFOLIO_PORT", "9001")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("CONSUMER_NAME", "portfolio-a")
    settings = PortfolioSettings()
    assert settings.database_url == "postgresql+asyncpg://u@db/portfolio"
    assert (settings.port, settings.redis_url, settings.consumer_name) == (
        9001,
        "redis://cache:6379/0",
        "portfolio-a",
    )
