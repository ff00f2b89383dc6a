"""Hardening of the local API, each item tested against a real engine process."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningEngine, assert_alive, engine_env, start_engine
from tests.fault_proxy import FaultProxy


def test_foreign_origin_cannot_change_state(http: httpx.Client) -> None:
    evil = {"Origin": "https://evil.example"}
    for method, path, body in [
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("POST", "/v1/memories", {"content": "planted"}),
        ("PUT", "/v1/keys/x", {"value": "y"}),
        ("DELETE", "/v1/keys/x", None),
    ]:
        response = http.request(method, path, json=body, headers=evil)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in response.headers
    # Reading needs no Origin check (CORS already keeps a page from seeing the answer).
    assert http.get("/v1/models", headers=evil).status_code == 200
    assert http.post("/v1/memories", json={"content": "a fact"}).status_code == 201


def test_deeply_nested_json_is_refused_cleanly(
    engine_server: RunningEngine, http: httpx.Client
) -> None:
    depth = 200_000
    body = b'{"messages": ' + b"[" * depth + b"]" * depth + b"}"
    response = http.post(
        "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert_alive(engine_server)


def _raw(engine: RunningEngine, request: bytes) -> bytes:
    host, port = engine.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_false_content_length_is_handled(engine_server: RunningEngine) -> None:
    body = b'{"messages": [{"role": "user", "content": "' + b"a" * 5000 + b'"}]}'
    auth = f"Authorization: Bearer {engine_server.token}\r\n".encode()
    short = _raw(
        engine_server,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n" + auth
        + b"Content-Type: application/json\r\nContent-Length: 20\r\n\r\n" + body,
    )  # fmt: skip
    assert short.startswith(b"HTTP/1.1 400")
    huge = _raw(
        engine_server,
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n" + auth
        + b"Content-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n" + body,
    )  # fmt: skip
    assert huge.startswith(b"HTTP/1.1 413")
    assert_alive(engine_server)


def test_symlinked_models_outside_the_folder_are_ignored(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    from engine.settings import default_embedded_dir

    real = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    (outside / "stolen.gguf").symlink_to(real)
    models = tmp_path / "home" / "data" / "models"
    models.mkdir(parents=True)
    (models / "escape.gguf").symlink_to(outside / "stolen.gguf")
    engine = start_engine(tmp_path / "home")
    try:
        with engine.http() as http:
            ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
            assert "escape" not in ids
            body = {"model": "escape", "messages": [{"role": "user", "content": "hi"}]}
            assert http.post("/v1/chat/completions", json=body).status_code == 404
    finally:
        engine.process.stop()


def _places_outside(home: Path, marker: str) -> list[Path]:
    """Files named with `marker` in the folders an escape could reach: every ancestor of the
    engine's home (its parents up to /, each listed) and /tmp, besides the home itself."""
    found = []
    for folder in {*home.parents, Path("/tmp"), Path.cwd()}:
        found += [p for p in folder.glob(f"*{marker}*")]
    return found


def test_upload_file_names_never_become_paths(tmp_path: Path) -> None:
    marker = f"escape-{uuid.uuid4().hex}"
    home = tmp_path / "home"
    engine = start_engine(home)
    wav = tmp_path / "probe.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "hello there"], check=True, timeout=60)
    names = [
        *(("../" * depth) + f"{marker}.wav" for depth in range(1, 10)),
        f"/tmp/{marker}.wav",
        f"..\\..\\..\\{marker}.wav",
        f"uploads/../../{marker}.wav",
    ]
    try:
        with engine.http() as http:
            for name in names:
                for route, extra in (
                    ("/v1/files", {"purpose": "batch"}),
                    ("/v1/audio/transcriptions", {}),
                ):
                    with wav.open("rb") as f:
                        response = http.post(route, files={"file": (name, f)}, data=extra)
                    assert response.status_code in (200, 201, 400), response.text
                job = http.post("/v1/jobs", files={"file": (name, wav.read_bytes())}).json()
                assert "/" not in job["input_name"]
                assert "\\" not in job["input_name"]
    finally:
        engine.process.stop()
    assert _places_outside(home, marker) == []
    # Inside the home, a copy may only lie in the engine's own upload, job and file folders.
    inside = [p.relative_to(home) for p in home.rglob(f"*{marker}*")]
    allowed = ("cache/uploads", "data/jobs", "data/files")
    assert all(str(p).startswith(allowed) for p in inside), inside


def test_key_names_never_become_paths(http: httpx.Client) -> None:
    bad_key = http.put("/v1/keys/..%2F..%2Fetc", json={"value": "x"})
    assert bad_key.status_code in (400, 404)
    assert http.put("/v1/keys/a b", json={"value": "x"}).status_code == 400
    assert http.put("/v1/keys/local-api-token", json={"value": "x"}).status_code == 400


def test_keys_api_and_no_plaintext_anywhere(tmp_path: Path) -> None:
    secret = "sk-plaintext-hunt-7f3a9c1e5b2d4f6a8c0e"
    passphrase = "passphrase-hunt-0d9c8b7a"
    lines: list[str] = []
    env = {**engine_env(tmp_path, log_level="debug", access_log=True)}
    env.pop("HEARTH_KEYSTORE_PASSPHRASE")
    engine = start_engine(tmp_path, _env=env, _log_to=lines)
    echo = FaultProxy(upstream="http://127.0.0.1:9", faults=["echo"])  # answers by itself
    echo.start()
    try:
        with engine.http() as http:
            assert http.post("/v1/keys/unlock", json={"passphrase": passphrase}).status_code == 200
            assert http.put("/v1/keys/openai", json={"value": secret}).json()["stored"] is True
            listed = http.get("/v1/keys").json()
            assert "openai" in [k["name"] for k in listed["data"]]
            assert secret not in str(listed)
            # A failing request that names the key's value must not echo it anywhere.
            http.post("/v1/chat/completions", json={"model": secret, "messages": []})
            http.post("/v1/memories", json={"content": "ok"})
            # The key really goes out, in the provider's Authorization header, and only there.
            http.post("/v1/providers", json={"name": "far", "base_url": echo.url + "/v1",
                                             "models": ["m"], "key_name": "openai"})  # fmt: skip
            reply = http.post(
                "/v1/chat/completions",
                json={"model": "far/m", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert reply.status_code == 200, reply.text
        assert echo.seen[-1].headers["authorization"] == f"Bearer {secret}"
    finally:
        echo.stop()
        engine.process.stop()
    log = "\n".join(lines)
    assert "DEBUG" in log
    assert '"PUT /v1/keys/openai HTTP/1.1" 200' in log
    for hidden in (secret, engine.token, passphrase):
        assert hidden not in log
    holding_token = []
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data, path
            assert passphrase.encode() not in data, path
            if engine.token.encode() in data:
                holding_token.append(path.relative_to(tmp_path))
    assert holding_token == [Path("config/api-token")]  # its 0600 file, and nowhere else


def test_cli_keys_set_list_delete(engine_server: RunningEngine) -> None:
    env = engine_env(engine_server.home)
    cli = [sys.executable, "-m", "app.cli", "keys"]
    done = subprocess.run([*cli, "set", "deepseek"], input="sk-deepseek-value-123\n", env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, timeout=60)
    assert "deepseek" in listed.stdout.split()
    assert "sk-deepseek" not in listed.stdout
    gone = subprocess.run(
        [*cli, "delete", "deepseek"], env=env, capture_output=True, text=True, timeout=60
    )
    assert gone.returncode == 0
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, timeout=60)
    assert "deepseek" not in listed.stdout.split()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_public_bind_needs_the_flag(tmp_path: Path, host: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "serve", "--host", host, "--port", "0"],
        env=engine_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
