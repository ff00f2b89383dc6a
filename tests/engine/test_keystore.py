"""The key store: a real Secret Service, the encrypted-file fallback, and a hanging backend."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.security.key_vault import KeyVault, WrongPassphrase, open_vault
from engine.security.keystore import (
    EncryptedFileStore,
    KeyringStore,
    KeyStoreLocked,
    KeyStoreUnavailable,
)
from tests.secret_service import private_secret_service


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with private_secret_service(tmp_path_factory.mktemp("keyring-home")) as env:
        yield env


def test_real_secret_service_round_trip(secret_service: dict[str, str]) -> None:
    import keyring
    from keyring.backends import SecretService

    store = KeyringStore(timeout=10, backend=SecretService.Keyring())
    store.probe()
    store.set("openai-key", "sk-live-abcdefghijklmnopqrstuvwxyz")
    store.set("groq-key", "gsk-1234567890abcdef")
    assert store.get("openai-key") == "sk-live-abcdefghijklmnopqrstuvwxyz"
    assert store.names() == ["groq-key", "openai-key"]
    store.delete("groq-key")
    assert store.names() == ["openai-key"]
    assert store.get("groq-key") is None
    # The value is really in the Secret Service, not somewhere of ours.
    assert keyring.get_password("hearth", "openai-key") == "sk-live-abcdefghijklmnopqrstuvwxyz"
    chosen = open_vault("auto", Path("/nonexistent/secrets.enc"), 10, 300, SecretService.Keyring())
    assert chosen.kind == "keyring"
    assert chosen.state == "unlocked"
    assert chosen.get("openai-key") == "sk-live-abcdefghijklmnopqrstuvwxyz"


class SleepingBackend:
    """A keyring backend that hangs, as a locked collection waiting for a prompt would."""

    def get_password(self, service: str, name: str) -> str | None:
        time.sleep(30)
        return None


class FailingBackend:
    def get_password(self, service: str, name: str) -> str | None:
        raise RuntimeError("no backend")


def test_hanging_backend_falls_back_within_the_time_limit(tmp_path: Path) -> None:
    started = time.monotonic()
    vault = open_vault("auto", tmp_path / "secrets.enc", 0.5, 300, SleepingBackend())
    assert time.monotonic() - started < 5
    assert vault.kind == "encrypted-file"
    # Asked for the keyring only, and it hangs: the engine still starts, secrets say why.
    only = open_vault("keyring", tmp_path / "other.enc", 0.5, 300, SleepingBackend())
    assert only.state == "unavailable"
    with pytest.raises(KeyStoreUnavailable):
        only.get("anything")


def test_without_a_keyring_the_file_waits_locked_until_a_secret_is_needed(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    vault = open_vault("auto", path, 1, 300, FailingBackend())
    assert (vault.kind, vault.state) == ("encrypted-file", "new")
    assert vault.names() == []
    with pytest.raises(KeyStoreLocked, match="no passphrase yet"):
        vault.set("openai", "sk-1")
    assert not path.exists()  # nothing was created before a passphrase was chosen
    vault.unlock("first passphrase")
    vault.set("openai", "sk-1")
    assert vault.state == "unlocked"
    vault.lock()
    assert vault.state == "locked"
    assert vault.names() == ["openai"]  # names are readable while locked, values are not
    with pytest.raises(KeyStoreLocked, match="locked"):
        vault.get("openai")
    with pytest.raises(WrongPassphrase):
        vault.unlock("not it")
    assert vault.state == "locked"
    vault.unlock("first passphrase")
    assert vault.get("openai") == "sk-1"


def test_an_unremembered_unlock_locks_again_after_the_idle_time(tmp_path: Path) -> None:
    now = [100.0]
    vault = KeyVault(tmp_path / "secrets.enc", None, unlock_seconds=60, clock=lambda: now[0])
    vault.unlock("pass", remember=False)
    now[0] += 50
    assert vault.get("x") is None  # a use restarts the idle time
    now[0] += 50
    assert vault.state == "unlocked"
    now[0] += 61
    assert vault.state == "locked"
    vault.unlock("pass", remember=True)
    now[0] += 10_000
    assert vault.state == "unlocked"


def test_encrypted_file_round_trip_and_format(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "secrets.enc"
    store = EncryptedFileStore(path, "pass phrase")
    store.set("deepseek", "sk-secret-value-1")
    store.set("openai", "sk-secret-value-2")
    assert path.stat().st_mode & 0o777 == 0o600
    raw = path.read_bytes()
    assert b"sk-secret-value" not in raw
    doc = json.loads(raw)
    assert doc["version"] == 1
    assert doc["kdf"]["name"] == "scrypt"
    nonces = {e["nonce"] for e in doc["entries"].values()}
    assert len(nonces) == len(doc["entries"])  # a fresh nonce per entry
    store.set("openai", "sk-secret-value-3")
    assert (
        json.loads(path.read_bytes())["entries"]["openai"]["nonce"]
        != doc["entries"]["openai"]["nonce"]
    )
    again = EncryptedFileStore(path, "pass phrase")
    assert again.get("openai") == "sk-secret-value-3"
    assert again.names() == ["deepseek", "openai"]
    again.delete("deepseek")
    assert EncryptedFileStore(path, "pass phrase").names() == ["openai"]


def test_wrong_passphrase_and_tampering_leave_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "secrets.enc"
    EncryptedFileStore(path, "right").set("k", "v")
    before = path.read_bytes()
    with pytest.raises(KeyStoreLocked, match="passphrase is wrong"):
        EncryptedFileStore(path, "wrong")
    assert path.read_bytes() == before
    doc = json.loads(before)
    # Move one entry's ciphertext under another name: the name is authenticated data.
    doc["entries"]["other"] = doc["entries"]["k"]
    path.write_text(json.dumps(doc))
    tampered = path.read_bytes()
    store = EncryptedFileStore(path, "right")
    with pytest.raises(KeyStoreLocked):
        store.get("other")
    assert path.read_bytes() == tampered
    path.write_text("{not json")
    with pytest.raises(KeyStoreLocked, match="damaged"):
        EncryptedFileStore(path, "right")
