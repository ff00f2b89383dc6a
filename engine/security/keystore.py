"""Where secrets are kept. `KeyStore` is the interface; `FileKeyStore` the first implementation.

FileKeyStore keeps one file per secret, mode 0600 in a 0700 folder, written atomically. The
security work adds the OS keyring and an encrypted file behind the same interface.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from engine.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class KeyStore(Protocol):
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def names(self) -> list[str]: ...


def check_name(name: str) -> str:
    """Secret names are plain identifiers, never paths."""
    if not _NAME.match(name):
        raise InvalidInput("a secret name may hold letters, digits, '.', '_' and '-' only")
    return name


class FileKeyStore:
    """Secrets as private files in one folder."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _path(self, name: str) -> Path:
        return self._folder / check_name(name)

    def get(self, name: str) -> str | None:
        path = self._path(name)
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def set(self, name: str, value: str) -> None:
        path = self._path(name)
        self._folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self._folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self._folder, prefix=".tmp-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        if not self._folder.is_dir():
            return []
        return sorted(p.name for p in self._folder.iterdir() if not p.name.startswith("."))
