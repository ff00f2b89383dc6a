"""The key store as the engine holds it: the OS keyring, or the encrypted file that stays locked
until someone gives its passphrase. Opening it never asks for anything, so nothing that is not a
secret (start-up, the API token, local chat) ever waits for a passphrase."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.security.keystore import (
    CHECK_ENTRY,
    EncryptedFileStore,
    KeyringStore,
    KeyStore,
    KeyStoreLocked,
    KeyStoreUnavailable,
    PassphraseRejected,
)

PASSPHRASE_ENV = "HEARTH_KEYSTORE_PASSPHRASE"  # noqa: S105 - a variable name


class WrongPassphrase(InvalidInput):
    """The passphrase given to unlock the encrypted file is not its own."""

    code = "wrong_passphrase"


def stored_names(path: Path) -> list[str]:
    """The entry names in an encrypted file, readable without its passphrase (only the values
    are encrypted), so a locked store can still say which keys it holds."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return sorted(n for n in doc["entries"] if n != CHECK_ENTRY)
    except (OSError, ValueError, KeyError, TypeError):
        return []


class KeyVault:
    """The key store as the engine holds it.

    With a working OS keyring it is simply that keyring. Otherwise secrets go to the encrypted
    file, which stays locked until someone gives its passphrase (the first one creates the file):
    nothing else waits for it, and only reading or writing a secret says it is locked. Unlocked
    without `remember`, it locks itself again after `unlock_seconds` without use.
    """

    def __init__(
        self,
        file_path: Path,
        keyring_store: KeyringStore | None = None,
        unlock_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        keyring_only: bool = False,
    ) -> None:
        self.file_path = file_path
        self._keyring = keyring_store
        self._keyring_only = keyring_only  # the keyring was asked for and does not answer
        self._file: EncryptedFileStore | None = None
        self._unlock_seconds = unlock_seconds
        self._clock = clock
        self._lock_at: float | None = None  # None: stays unlocked until the engine stops
        self._guard = threading.Lock()
        self.kind = keyring_store.kind if keyring_store else EncryptedFileStore.kind

    @property
    def state(self) -> str:
        """'unlocked', 'locked', 'new' (an encrypted file that has no passphrase yet), or
        'unavailable' (only the OS keyring may be used, and it does not answer)."""
        if self._keyring_only:
            return "unavailable"
        if self._keyring is not None or self._open() is not None:
            return "unlocked"
        return "locked" if self.file_path.exists() else "new"

    def _open(self, use: bool = False) -> EncryptedFileStore | None:
        """The open file, or None; `use` (a secret read or written) restarts the idle time."""
        with self._guard:
            if self._file is not None and self._lock_at is not None:
                if self._clock() >= self._lock_at:
                    self._file = None
                elif use:
                    self._lock_at = self._clock() + self._unlock_seconds
            return self._file

    def _store(self) -> KeyStore:
        if self._keyring is not None:
            return self._keyring
        if self._keyring_only:
            raise KeyStoreUnavailable(
                "The system keyring does not answer, and the settings allow no other key store."
            )
        store = self._open(use=True)
        if store is None:
            if self.file_path.exists():
                raise KeyStoreLocked(
                    "The key store is locked. Secrets such as remote providers' API keys are "
                    "kept in an encrypted file: unlock it with its passphrase."
                )
            raise KeyStoreLocked(
                "The key store has no passphrase yet. Secrets such as remote providers' API "
                "keys are kept in an encrypted file: choose a passphrase to create it."
            )
        return store

    def unlock(self, passphrase: str, remember: bool = True) -> None:
        """Open the encrypted file (creating it on first use); WrongPassphrase when it differs."""
        if self._keyring is not None:
            return
        if self._keyring_only:
            self._store()  # says why
        try:
            store = EncryptedFileStore(self.file_path, passphrase)
        except PassphraseRejected as exc:
            raise WrongPassphrase(
                "That passphrase does not open the key store. Try again.", param="passphrase"
            ) from exc
        with self._guard:
            self._file = store
            self._lock_at = None if remember else self._clock() + self._unlock_seconds

    def lock(self) -> None:
        with self._guard:
            self._file = None

    def get(self, name: str) -> str | None:
        return self._store().get(name)

    def set(self, name: str, value: str) -> None:
        self._store().set(name, value)

    def delete(self, name: str) -> None:
        self._store().delete(name)

    def names(self) -> list[str]:
        if self._keyring is not None:
            return self._keyring.names()
        if self._keyring_only:
            return []
        store = self._open()
        return store.names() if store is not None else stored_names(self.file_path)


def open_vault(
    mode: str,
    file_path: Path,
    timeout: float,
    unlock_seconds: float = 300.0,
    keyring_backend: Any = None,
) -> KeyVault:
    """The keyring when `mode` allows and it answers; else the encrypted file, locked. Never
    asks for anything."""
    if mode in ("auto", "keyring"):
        try:
            store = KeyringStore(timeout, keyring_backend)
            store.probe()
            return KeyVault(file_path, store, unlock_seconds)
        except KeyStoreUnavailable:
            if mode == "keyring":
                return KeyVault(file_path, None, unlock_seconds, keyring_only=True)
    return KeyVault(file_path, None, unlock_seconds)
