"""Where secrets live: the OS keyring when one works, else an encrypted file. Never plaintext.

`KeyringStore` goes through `keyring` (macOS Keychain, Windows Credential Locker, Secret Service)
with every call under a time limit, so a locked or hanging backend cannot hang Hearth.
`EncryptedFileStore` keeps AES-256-GCM entries under a key derived with scrypt from a passphrase;
the entry name is the associated data, each write has a fresh nonce, the file is 0600 and written
atomically, and a wrong passphrase or a changed file gives a clear error and leaves it untouched.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from engine.errors import HearthError, InvalidInput

T = TypeVar("T")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
SERVICE = "hearth"
INDEX_ENTRY = "__index__"
CHECK_ENTRY = "__check__"
FORMAT_VERSION = 1
SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class KeyStoreUnavailable(HearthError):
    status = 503
    type = "server_error"
    code = "keystore_unavailable"


class KeyStoreLocked(HearthError):
    """The encrypted file needs its passphrase, or the one given is wrong. Not retryable as it
    is (403, so SDKs do not retry it): someone has to unlock the store first."""

    status = 403
    type = "permission_error"
    code = "keystore_locked"


class PassphraseRejected(KeyStoreLocked):
    """The passphrase is empty, or not the one the encrypted file was made with."""


class KeyStore(Protocol):
    kind: str

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def names(self) -> list[str]: ...


def check_name(name: str) -> str:
    """Secret names are plain identifiers, never paths."""
    if not _NAME.match(name) or name.startswith("__"):
        raise InvalidInput(
            "A key name may hold letters, digits, '.', '_' and '-' (at most 128).", param="name"
        )
    return name


# -- the OS keyring -----------------------------------------------------------------------------
class KeyringStore:
    """Secrets in the OS keyring, each call bounded by `timeout` seconds."""

    kind = "keyring"

    def __init__(self, timeout: float = 5.0, backend: Any = None) -> None:
        import keyring

        self._keyring = backend or keyring.get_keyring()
        self._timeout = timeout
        # One worker: calls to a keyring backend are serialized anyway; a hung one is abandoned.
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hearth-keyring")
        self._lock = threading.Lock()

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        future = self._pool.submit(fn, *args)
        try:
            return future.result(timeout=self._timeout)
        except concurrent.futures.TimeoutError as exc:
            # The stuck call keeps its thread; later calls get a fresh one.
            self._pool = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="hearth-keyring"
            )
            raise KeyStoreUnavailable("The system keyring did not answer in time.") from exc
        except Exception as exc:  # keyring backends raise many kinds
            raise KeyStoreUnavailable(f"The system keyring failed ({type(exc).__name__}).") from exc

    def probe(self) -> None:
        """Raise KeyStoreUnavailable unless a read works now."""
        self._call(self._keyring.get_password, SERVICE, INDEX_ENTRY)

    def _index(self) -> list[str]:
        raw = self._call(self._keyring.get_password, SERVICE, INDEX_ENTRY)
        return list(json.loads(raw)) if raw else []

    def get(self, name: str) -> str | None:
        value = self._call(self._keyring.get_password, SERVICE, name)
        return None if value is None else str(value)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            self._call(self._keyring.set_password, SERVICE, name, value)
            names = sorted({*self._index(), name})
            self._call(self._keyring.set_password, SERVICE, INDEX_ENTRY, json.dumps(names))

    def delete(self, name: str) -> None:
        with self._lock:
            if self.get(name) is not None:
                self._call(self._keyring.delete_password, SERVICE, name)
            names = [n for n in self._index() if n != name]
            self._call(self._keyring.set_password, SERVICE, INDEX_ENTRY, json.dumps(names))

    def names(self) -> list[str]:
        return self._index()


# -- the encrypted file -------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class EncryptedFileStore:
    """Secrets in one AES-256-GCM file; the key comes from a passphrase through scrypt."""

    kind = "encrypted-file"

    def __init__(self, path: Path, passphrase: str) -> None:
        if not passphrase:
            raise PassphraseRejected("The key store's passphrase is empty.")
        self.path = path
        self._lock = threading.Lock()
        if path.exists():
            self._doc = self._load()
            self._key = self._derive(passphrase, self._doc["kdf"])
            try:
                self._decrypt(CHECK_ENTRY)  # a wrong passphrase fails here, before any write
            except KeyStoreLocked as exc:
                raise PassphraseRejected(exc.message) from exc
        else:
            kdf = {"name": "scrypt", **SCRYPT, "salt": _b64(secrets.token_bytes(16))}
            self._doc = {"version": FORMAT_VERSION, "kdf": kdf, "entries": {}}
            self._key = self._derive(passphrase, kdf)
            self._doc["entries"][CHECK_ENTRY] = self._encrypt(CHECK_ENTRY, "hearth")
            self._write()

    def _load(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if doc.get("version") != FORMAT_VERSION or doc["kdf"]["name"] != "scrypt":
                raise KeyStoreLocked("The key store file has an unknown format version.")
            return dict(doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreLocked("The key store file is damaged; it was left untouched.") from exc

    @staticmethod
    def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        scrypt = Scrypt(salt=_unb64(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"])
        return scrypt.derive(passphrase.encode("utf-8"))

    def _aad(self, name: str) -> bytes:
        return f"hearth-keystore/v{FORMAT_VERSION}/{name}".encode()

    def _encrypt(self, name: str, value: str) -> dict[str, str]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._key).encrypt(nonce, value.encode("utf-8"), self._aad(name))
        return {"nonce": _b64(nonce), "data": _b64(sealed)}

    def _decrypt(self, name: str) -> str | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        entry = self._doc["entries"].get(name)
        if entry is None:
            return None
        try:
            plain = AESGCM(self._key).decrypt(
                _unb64(entry["nonce"]), _unb64(entry["data"]), self._aad(name)
            )
        except (InvalidTag, ValueError, KeyError, TypeError) as exc:
            raise KeyStoreLocked(
                "The key store cannot be opened: the passphrase is wrong or the file was changed. "
                "The file was left untouched."
            ) from exc
        return plain.decode("utf-8")

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keystore-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._doc, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._decrypt(name)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            self._doc["entries"][name] = self._encrypt(name, value)
            self._write()

    def delete(self, name: str) -> None:
        with self._lock:
            if self._doc["entries"].pop(name, None) is not None:
                self._write()

    def names(self) -> list[str]:
        return sorted(n for n in self._doc["entries"] if n != CHECK_ENTRY)
