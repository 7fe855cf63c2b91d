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
