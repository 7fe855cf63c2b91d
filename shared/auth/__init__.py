"""Who may do what: bearer tokens (JWT) carrying role and scope, verified the same way everywhere."""

from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenError, TokenVerifier, mint_token

__all__ = ["Principal", "Role", "TokenError", "TokenVerifier", "mint_token"]
