"""The local API token every /v1 request must carry, kept in the key store."""

from __future__ import annotations

import hmac
import secrets

from engine.security.keystore import KeyStore

TOKEN_NAME = "local-api-token"  # noqa: S105 - the key store entry's name


def ensure_api_token(store: KeyStore) -> str:
    """The token, created on first use."""
    token = store.get(TOKEN_NAME)
    if token is None:
        token = "hearth-" + secrets.token_urlsafe(32)
        store.set(TOKEN_NAME, token)
    return token


class ApiToken:
    """The token the engine checks now; rotating it replaces the stored one at once."""

    def __init__(self, value: str) -> None:
        self.value = value

    def rotate(self, store: KeyStore) -> str:
        token = "hearth-" + secrets.token_urlsafe(32)
        store.set(TOKEN_NAME, token)
        self.value = token
        return token


def token_matches(expected: str, presented: str) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(expected.encode(), presented.encode())
