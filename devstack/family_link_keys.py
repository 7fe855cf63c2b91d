"""The embedded run's family link keys: an Ed25519 key pair made once and kept under ``./var``.

The private key (``var/family-link-ed25519.pem``, mode 0600) goes to notifications only, which
mints the links in families' messages; the public key (``var/family-link-ed25519.pub.pem``,
written again on each run from the private one) goes to every service, which verifies them.
A pair set in the environment (``NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY`` and
``FAMILY_LINK_PUBLIC_KEY``, both) is used instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from devstack.redis_users import write_private
from shared.auth.family_links import generate_key_pair, public_key_pem

PRIVATE_KEY_FILE = "family-link-ed25519.pem"
PUBLIC_KEY_FILE = "family-link-ed25519.pub.pem"
PRIVATE_VARIABLE = "NOTIFICATIONS_FAMILY_LINK_PRIVATE_KEY"
PUBLIC_VARIABLE = "FAMILY_LINK_PUBLIC_KEY"


def family_link_keys(var: Path) -> tuple[str, str]:
    """``(private, public)``: the settings to give notifications and every service (paths of
    the key files in ``var``, or the pair the environment sets)."""
    private_setting = os.environ.get(PRIVATE_VARIABLE)
    public_setting = os.environ.get(PUBLIC_VARIABLE)
    if private_setting and public_setting:
        return private_setting, public_setting
    private = var / PRIVATE_KEY_FILE
    if not private.exists():
        write_private(private, generate_key_pair()[0])
    public = var / PUBLIC_KEY_FILE
    public.write_text(public_key_pem(private.read_text()))
    return str(private), str(public)
