"""Shared fixtures: real engines in child processes, each with its own temporary HEARTH_HOME."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from app.engine_client import EngineClient
from app.engine_client.launcher import EngineProcess
from engine.security.api_token import ensure_api_token
from engine.settings import resolve_dirs

DEFAULT_MODEL = "smollm2-135m-instruct"
# Engines under test keep secrets in the encrypted file (never the developer's own keyring).
PASSPHRASE = "correct horse battery staple"


@dataclass
class RunningEngine:
    url: str
    token: str
    home: Path
    process: EngineProcess

    def http(self, token: str | None = "default", **kw: object) -> httpx.Client:
        auth = self.token if token == "default" else token
        headers = {"Authorization": f"Bearer {auth}"} if auth else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kw)  # type: ignore[arg-type]

    def client(self) -> EngineClient:
        return EngineClient(self.url, self.token)

    def env(self) -> dict[str, str]:
        return {**os.environ, "HEARTH_HOME": str(self.home)}


def engine_env(home: Path, **settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_HOME"] = str(home)
    env["HEARTH_LOG_LEVEL"] = "warning"
    env["HEARTH_KEYSTORE"] = "file"
    env["HEARTH_KEYSTORE_PASSPHRASE"] = PASSPHRASE
    for key, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(value)
        env[f"HEARTH_{key.upper()}"] = text
    return env


def start_engine(
    home: Path,
    _env_extra: dict[str, str] | None = None,
    _env: dict[str, str] | None = None,
    _log_to: list[str] | None = None,
    **settings: object,
) -> RunningEngine:
    """Start a real engine process on a free loopback port with a fresh home folder (in `_env`
    instead of the tests' usual environment when given; every line it prints goes to
    `_log_to` when given, where `process.log` keeps only the last ones)."""
    home.mkdir(parents=True, exist_ok=True)
    token = ensure_api_token(resolve_dirs(home).token_file)
    env = _env if _env is not None else engine_env(home, **settings)
    process = EngineProcess(env={**env, **(_env_extra or {})})
    url = process.start(timeout=120, on_line=_log_to.append if _log_to is not None else None)
    return RunningEngine(url=url, token=token, home=home, process=process)


@pytest.fixture(scope="session")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """One engine for the session, on the embedded default model and an empty HEARTH_HOME."""
    running = start_engine(
        tmp_path_factory.mktemp("hearth-home"),
        model_aliases={"gpt-4o-mini": DEFAULT_MODEL},
    )
    yield running
    running.process.stop()


@pytest.fixture
def http(engine_server: RunningEngine) -> Iterator[httpx.Client]:
    with engine_server.http() as client:
        yield client


@pytest.fixture
def sdk(engine_server: RunningEngine) -> Iterator[openai.OpenAI]:
    """The official OpenAI client on the session's engine (no retries: a failure shows)."""
    client = openai.OpenAI(
        base_url=engine_server.url + "/v1", api_key=engine_server.token, max_retries=0
    )
    yield client
    client.close()


def assert_alive(engine: RunningEngine) -> None:
    """The engine still answers a real chat request."""
    with engine.http() as client:
        response = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Say ok"}], "max_tokens": 3},
        )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]


def kill_engine(engine: RunningEngine) -> None:
    """SIGKILL the engine process (a crash, a power cut) and wait until it is gone."""
    process = engine.process.process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
