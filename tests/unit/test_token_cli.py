"""`slc-token` mints a development token that the services accept."""

import pytest

from shared.auth import Role, TokenVerifier
from shared.auth.cli import main
from shared.settings import DEV_JWT_SECRET


def test_slc_token_mints_a_token_the_verifier_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "--role",
            "guardian",
            "--sub",
            "g-maria",
            "--district",
            "demo",
            "--sites",
            "conway",
            "--students",
            "s-gio",
        ]
    )
    token = capsys.readouterr().out.strip()

    principal = TokenVerifier(secret=DEV_JWT_SECRET).verify(token)

    assert principal.subject == "g-maria"
    assert principal.role is Role.GUARDIAN
    assert principal.sites == {"conway"} and principal.students == {"s-gio"}


def test_slc_token_refuses_an_unknown_role(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--role", "principal", "--sub", "x", "--district", "demo"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'principal'" in capsys.readouterr().err


def test_slc_token_names_the_issuer_and_audience_the_services_require(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside an identity provider the services require its issuer on every token, the
    deployment's own too: slc-token takes it (and the audience) from their settings."""
    secret = "the-deployments-own-secret-" + "x" * 32
    monkeypatch.setenv("AUTH_JWT_SECRET", secret)
    monkeypatch.setenv("AUTH_JWT_ISSUER", "https://login.demo.k12")
    monkeypatch.setenv("AUTH_JWT_AUDIENCE", "slc-demo")
    main(["--role", "district_admin", "--sub", "it-admin", "--district", "demo"])
    token = capsys.readouterr().out.strip()
    verifier = TokenVerifier(secret=secret, issuer="https://login.demo.k12", audience="slc-demo")
    assert verifier.verify(token).role is Role.DISTRICT_ADMIN
