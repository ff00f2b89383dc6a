"""A first run on a machine with no system keyring: nothing asks for a passphrase until a secret
is needed, and then the API, the engine and the terminal say what it is for."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from app.engine_client.launcher import EngineProcess
from engine.security.keystore import EncryptedFileStore
from tests.conftest import PASSPHRASE, RunningEngine, engine_env, start_engine

HEARTH = [sys.executable, "-m", "app.cli"]


def no_keyring_env(home: Path) -> dict[str, str]:
    """The engine's default settings (keystore "auto") where no Secret Service answers."""
    env = engine_env(home)
    for key in ("HEARTH_KEYSTORE", "HEARTH_KEYSTORE_PASSPHRASE"):
        env.pop(key)
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/hearth-test-bus"
    return env


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[RunningEngine]:
    home = tmp_path / "home"
    engine = start_engine(home, _env=no_keyring_env(home))
    yield engine
    engine.process.stop()


def test_everything_starts_without_a_prompt_and_works_while_locked(
    bare: RunningEngine, tmp_path: Path
) -> None:
    env = no_keyring_env(bare.home)
    for command in ([sys.executable, "-m", "engine", "token"], [*HEARTH, "token"]):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == bare.token
        assert "passphrase" not in (done.stdout + done.stderr).lower()
    with bare.http() as http:
        health = http.get("/health").json()
        assert health["keystore"] == "new"
        chat = http.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
        )
        assert chat.status_code == 200
        assert http.get("/v1/keys").json()["data"] == []
        refused = http.put("/v1/keys/openai", json={"value": "sk-123"})
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["code"] == "keystore_locked"
        assert "choose a passphrase" in error["message"]
        http.post(
            "/v1/providers",
            json={"name": "far", "base_url": "http://127.0.0.1:9/v1", "key_name": "far-key"},
        )
        listed = http.get("/v1/providers").json()["data"]
        assert listed[0]["key_locked"] is True
        # Using the provider needs its key: a clear 403, not a hang or a 5xx that SDKs retry.
        remote = http.post(
            "/v1/chat/completions",
            json={"model": "far/m", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert remote.status_code in (403, 404), remote.text
    assert not (bare.home / "config" / "secrets.enc").exists()


def test_unlock_creates_then_opens_the_store_and_says_a_wrong_passphrase(
    bare: RunningEngine,
) -> None:
    with bare.http() as http:
        assert http.get("/v1/keys/status").json()["state"] == "new"
        opened = http.post("/v1/keys/unlock", json={"passphrase": "tea and toast"})
        assert opened.json()["state"] == "unlocked"
        assert http.put("/v1/keys/openai", json={"value": "sk-123"}).status_code == 200
        http.post("/v1/providers", json={"name": "far", "base_url": "http://127.0.0.1:9/v1",
                                         "key_name": "openai"})  # fmt: skip
        assert http.get("/v1/providers").json()["data"][0]["key_locked"] is False
        assert http.post("/v1/keys/lock").json()["state"] == "locked"
        assert http.get("/health").json()["keystore"] == "locked"
        assert [k["name"] for k in http.get("/v1/keys").json()["data"]] == ["openai"]
        wrong = http.post("/v1/keys/unlock", json={"passphrase": "coffee"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "wrong_passphrase"
        assert wrong.json()["error"]["param"] == "passphrase"
        assert http.get("/v1/keys/status").json()["state"] == "locked"
        again = http.post("/v1/keys/unlock", json={"passphrase": "tea and toast"})
        assert again.json()["state"] == "unlocked"
    # The value really is in the encrypted file, under the passphrase the user chose.
    store = EncryptedFileStore(bare.home / "config" / "secrets.enc", "tea and toast")
    assert store.get("openai") == "sk-123"


def test_an_unremembered_unlock_locks_itself_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = start_engine(
        home, _env={**no_keyring_env(home), "HEARTH_KEYSTORE_UNLOCK_SECONDS": "1"}
    )
    try:
        with engine.http() as http:
            http.post("/v1/keys/unlock", json={"passphrase": "p", "remember": False})
            assert http.get("/v1/keys/status").json()["state"] == "unlocked"
            started = time.monotonic()
            while http.get("/v1/keys/status").json()["state"] != "locked":
                assert time.monotonic() - started < 30, "it never locked itself again"
                time.sleep(0.2)
            assert http.put("/v1/keys/x", json={"value": "y"}).status_code == 403
    finally:
        engine.process.stop()


def test_a_wrong_configured_passphrase_leaves_the_engine_up_and_locked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    EncryptedFileStore(home / "config" / "secrets.enc", PASSPHRASE).set("openai", "sk-1")
    env = {**no_keyring_env(home), "HEARTH_KEYSTORE_PASSPHRASE": "not the one"}
    engine = start_engine(home, _env=env)
    try:
        with engine.http() as http:
            assert http.get("/health").json()["keystore"] == "locked"
        assert any("does not open the key store" in line for line in engine.process.log)
        assert not any("not the one" in line for line in engine.process.log)
    finally:
        engine.process.stop()


def test_a_token_kept_by_an_earlier_version_is_taken_over(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = EncryptedFileStore(home / "config" / "secrets.enc", PASSPHRASE)
    old.set("local-api-token", "hearth-token-from-version-0-2")
    env = {**no_keyring_env(home), "HEARTH_KEYSTORE_PASSPHRASE": PASSPHRASE}
    process = EngineProcess(env=env)
    url = process.start(timeout=120)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            auth = {"Authorization": "Bearer hearth-token-from-version-0-2"}
            assert http.get("/v1/models", headers=auth).status_code == 200
    finally:
        process.stop()
    assert (home / "config" / "api-token").read_text().strip() == "hearth-token-from-version-0-2"
    assert "local-api-token" not in EncryptedFileStore(old.path, PASSPHRASE).names()


def _spawn(args: list[str], env: dict[str, str]) -> pexpect.spawn:
    return pexpect.spawn(
        HEARTH[0], [*HEARTH[1:], *args], env=env, encoding="utf-8", timeout=120, cwd=Path.cwd()
    )


def test_the_terminal_asks_twice_when_choosing_and_again_after_a_wrong_one(
    bare: RunningEngine,
) -> None:
    env = no_keyring_env(bare.home)
    first = _spawn(["keys", "set", "deepseek"], env)
    first.expect("Value for deepseek")
    first.sendline("sk-deepseek-1")
    first.expect("encrypted file")  # says why before asking
    first.expect("New passphrase")
    first.sendline("alpha")
    first.expect("same passphrase again")
    first.sendline("beta")
    first.expect("differ")
    first.expect("New passphrase")
    first.sendline("alpha")
    first.expect("same passphrase again")
    first.sendline("alpha")
    first.expect(r"Keep the key store open")
    first.sendline("n")
    first.expect("stored deepseek")
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 0
    with bare.http() as http:
        http.post("/v1/keys/lock")
    second = _spawn(["keys", "set", "groq"], env)
    second.expect("Value for groq")
    second.sendline("gsk-2")
    second.expect("is locked")
    second.expect("Passphrase for Hearth's key store")
    second.sendline("wrong")
    second.expect("does not open the key store")
    second.expect("Passphrase for Hearth's key store")
    second.sendline("alpha")
    second.expect(r"Keep the key store open")
    second.sendline("y")
    second.expect("stored groq")
    second.expect(pexpect.EOF)
    second.close()
    assert second.exitstatus == 0
    store = EncryptedFileStore(bare.home / "config" / "secrets.enc", "alpha")
    assert (store.get("deepseek"), store.get("groq")) == ("sk-deepseek-1", "gsk-2")


def test_without_a_terminal_a_locked_store_says_how_to_unlock(bare: RunningEngine) -> None:
    env = no_keyring_env(bare.home)
    done = subprocess.run(
        [*HEARTH, "keys", "set", "openai"], input="sk-1\n", env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "hearth keys unlock" in done.stderr
    assert "Traceback" not in done.stderr
    unlocked = subprocess.run(
        [*HEARTH, "keys", "unlock"], input="from a script\n", env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unlocked.returncode == 0, unlocked.stderr
    assert "unlocked" in unlocked.stdout
    stored = subprocess.run(
        [*HEARTH, "keys", "set", "openai"], input="sk-1\n", env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr


def test_bare_hearth_on_a_fresh_machine_chats_without_asking_anything(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in no_keyring_env(tmp_path / "home").items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY")
    }
    done = subprocess.run(
        HEARTH, input="/exit\n", env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert "Chatting with" in done.stdout
    assert "passphrase" not in (done.stdout + done.stderr).lower()
