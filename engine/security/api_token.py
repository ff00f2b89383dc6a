"""The local API token every /v1 request must carry.

It is not a key-store secret: like Jupyter's and Ollama's, it lives in a file only the user can
read (0600 in the config folder), so the engine, `hearth token` and the window start without
asking for anything, on machines with or without a system keyring.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

TOKEN_NAME = "local-api-token"  # noqa: S105 - the name earlier versions used in the key store


def _new_token() -> str:
    return "hearth-" + secrets.token_urlsafe(32)


def _write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a 0600 file holding `text`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_api_token(path: Path, earlier: Callable[[], str | None] | None = None) -> str:
    """The token in `path`, created on first use (from `earlier`, a token an older version kept
    elsewhere, when it gives one). Two processes creating it at once agree on one token."""
    with contextlib.suppress(FileNotFoundError):
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    token = (earlier() if earlier else None) or _new_token()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        os.link(tmp, path)  # atomic, and fails when another process made the file first
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    finally:
        Path(tmp).unlink(missing_ok=True)
    return token


class ApiToken:
    """The token the engine checks now; rotating it replaces the stored one at once."""

    def __init__(self, value: str, path: Path) -> None:
        self.value = value
        self._path = path

    def rotate(self) -> str:
        token = _new_token()
        _write_private(self._path, token)
        self.value = token
        return token


def token_matches(expected: str, presented: str) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(expected.encode(), presented.encode())
