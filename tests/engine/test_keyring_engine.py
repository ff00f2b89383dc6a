"""The engine and `hearth keys` on a real Secret Service (gnome-keyring on a private bus): the
keys go to the system keyring, and a remote provider's requests carry the key read from it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from tests.conftest import engine_env, start_engine
from tests.secret_service import private_secret_service
from tests.upstream import UPSTREAM_KEY, llama_server


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with private_secret_service(tmp_path_factory.mktemp("keyring-home")) as env:
        yield env


def _keyring_engine_env(home: Path, service: dict[str, str]) -> dict[str, str]:
    env = engine_env(home)
    env.pop("HEARTH_KEYSTORE_PASSPHRASE")
    env["HEARTH_KEYSTORE"] = "auto"
    env["DBUS_SESSION_BUS_ADDRESS"] = service["DBUS_SESSION_BUS_ADDRESS"]
    env["HOME"] = service["HOME"]
    return env


def test_keys_live_in_the_keyring_and_reach_the_provider(
    secret_service: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = _keyring_engine_env(home, secret_service)
    engine = start_engine(home, _env=env)
    cli = [sys.executable, "-m", "app.cli", "keys"]
    try:
        with engine.http() as http:
            status = http.get("/v1/keys/status").json()
            assert (status["store"], status["state"]) == ("keyring", "unlocked")
            stored = subprocess.run([*cli, "set", "upstream-key"], input=UPSTREAM_KEY + "\n",
                                    env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
            assert stored.returncode == 0, stored.stderr
            assert keyring.get_password("hearth", "upstream-key") == UPSTREAM_KEY
            listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True,
                                    timeout=60)  # fmt: skip
            assert listed.stdout.split() == ["upstream-key"]
            with llama_server() as upstream:
                http.post("/v1/providers", json={"name": "lab", "base_url": upstream + "/v1",
                                                 "models": ["smol"], "key_name": "upstream-key"})  # fmt: skip
                assert http.get("/v1/providers").json()["data"][0]["key_locked"] is False
                reply = http.post("/v1/chat/completions", json={
                    "model": "lab/smol", "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 3,
                })  # fmt: skip
                # The upstream refuses requests without its key: this one carried it.
                assert reply.status_code == 200, reply.text
                assert reply.json()["hearth"]["provider"] == "lab"
            gone = subprocess.run([*cli, "delete", "upstream-key"], env=env, capture_output=True,
                                  text=True, timeout=60)  # fmt: skip
            assert gone.returncode == 0, gone.stderr
            assert keyring.get_password("hearth", "upstream-key") is None
    finally:
        engine.process.stop()
    assert not (home / "config" / "secrets.enc").exists()  # nothing fell back to the file
