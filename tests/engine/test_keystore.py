"""The key store: a real Secret Service, the encrypted-file fallback, and a hanging backend."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.security.keystore import (
    EncryptedFileStore,
    KeyringStore,
    KeyStoreLocked,
    KeyStoreUnavailable,
    open_keystore,
)


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """gnome-keyring-daemon on a private D-Bus session bus, unlocked; ended after the tests."""
    home = tmp_path_factory.mktemp("keyring-home")
    bus = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    address, pid = bus.stdout.split()[:2]
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    # In the foreground the daemon stays our child, so the test ends exactly what it started.
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert daemon.stdin is not None
    daemon.stdin.write(b"test-login-password")
    daemon.stdin.close()
    old = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "HOME")}
    os.environ.update(DBUS_SESSION_BUS_ADDRESS=address, HOME=str(home))
    time.sleep(0.5)
    try:
        yield env
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        daemon.terminate()
        daemon.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)


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
    chosen = open_keystore(
        "auto", Path("/nonexistent/secrets.enc"), 10, None, SecretService.Keyring()
    )
    assert chosen.kind == "keyring"


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
    store = open_keystore("auto", tmp_path / "secrets.enc", 0.5, "a passphrase", SleepingBackend())
    assert time.monotonic() - started < 5
    assert store.kind == "encrypted-file"
    with pytest.raises(KeyStoreUnavailable):
        open_keystore("keyring", tmp_path / "other.enc", 0.5, "x", SleepingBackend())


def test_no_backend_means_the_encrypted_file_and_it_needs_a_passphrase(tmp_path: Path) -> None:
    store = open_keystore("auto", tmp_path / "secrets.enc", 1, "pass", FailingBackend())
    assert isinstance(store, EncryptedFileStore)
    with pytest.raises(KeyStoreLocked, match="passphrase"):
        open_keystore("auto", tmp_path / "more.enc", 1, None, FailingBackend())


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
