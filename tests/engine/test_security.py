"""Token, Host checks, CORS and bind rules, against a real engine process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEngine, engine_env, start_engine


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/v1/unknown")],
)
def test_v1_needs_the_token(engine_server: RunningEngine, method: str, path: str) -> None:
    for token in (None, "wrong", engine_server.token + "x", engine_server.token[:-1]):
        with engine_server.http(token=token) as client:
            response = client.request(method, path, json={})
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
        assert engine_server.token not in response.text


def test_scheme_must_be_bearer(engine_server: RunningEngine) -> None:
    with httpx.Client(base_url=engine_server.url) as client:
        response = client.get(
            "/v1/models", headers={"Authorization": f"Basic {engine_server.token}"}
        )
    assert response.status_code == 401


def test_health_needs_no_token(engine_server: RunningEngine) -> None:
    with engine_server.http(token=None) as client:
        body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["default_model"] == "smollm2-135m-instruct"
    assert isinstance(body["gpu_offload"], bool)
    assert "version" in body


@pytest.mark.parametrize(
    "host", ["evil.example", "attacker.com:8931", "192.168.1.10", "localhost.evil"]
)
def test_foreign_host_header_is_403(http: httpx.Client, host: str) -> None:
    response = http.get("/health", headers={"Host": host})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    assert http.get("/v1/models", headers={"Host": host}).status_code == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:1234", "[::1]:8931", "LOCALHOST"])
def test_loopback_host_headers_pass(http: httpx.Client, host: str) -> None:
    assert http.get("/health", headers={"Host": host}).status_code == 200


def test_no_cors_headers_by_default(http: httpx.Client) -> None:
    response = http.get("/v1/models", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = http.options(
        "/v1/chat/completions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_configured_origins(tmp_path: Path) -> None:
    from tests.conftest import start_engine

    engine = start_engine(tmp_path, cors_origins=["https://app.example"])
    try:
        with engine.http() as client:
            good = client.get("/v1/models", headers={"Origin": "https://app.example"})
            bad = client.get("/v1/models", headers={"Origin": "https://evil.example"})
        assert good.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in bad.headers
    finally:
        engine.process.stop()


def test_binding_beyond_loopback_needs_the_flag(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=engine_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--allow-remote-bind" in done.stderr


def test_token_is_kept_in_a_file_only_the_user_can_read(engine_server: RunningEngine) -> None:
    token_file = engine_server.home / "config" / "api-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.parent.stat().st_mode & 0o777 == 0o700
    assert token_file.read_text().strip() == engine_server.token


def test_token_never_logged(tmp_path: Path) -> None:
    # At the most talkative settings: debug logging and a line per request.
    log: list[str] = []
    engine = start_engine(tmp_path, log_level="debug", access_log=True, _log_to=log)
    try:
        with engine.http() as client:
            client.get("/v1/models")
            client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
            )
        with engine.http(token=engine.token + "x") as wrong:
            assert wrong.get("/v1/models").status_code == 401
        with engine.http() as client:
            rotated = client.post("/v1/token/rotate").json()["token"]
    finally:
        engine.process.stop()
    assert any('"GET /v1/models HTTP/1.1" 200' in line for line in log), "no access log"
    assert any("DEBUG" in line for line in log), "not at debug level"
    for token in (engine.token, rotated):
        assert not any(token in line for line in log)
