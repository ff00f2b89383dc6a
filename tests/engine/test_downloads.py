"""Pulling models: full, interrupted and resumed, corrupted, stalled, no space; import and rm."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.registry.catalog import CatalogFile
from engine.registry.downloads import Downloader, DownloadFailed, NotEnoughSpace, mirror_url
from engine.registry.embedded import sha256_of
from engine.settings import default_embedded_dir
from tests.conftest import RunningEngine, engine_env, start_engine
from tests.file_server import FileServer

REAL = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    copy = tmp_path_factory.mktemp("served") / "tiny-chat.gguf"
    shutil.copy(REAL, copy)
    server = FileServer(copy)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, served: FileServer) -> Iterator[RunningEngine]:
    home = tmp_path_factory.mktemp("pull-home")
    catalog = home / "catalog.toml"
    catalog.write_text(
        f"""
[[models]]
id = "tiny-chat"
name = "Tiny chat (served on loopback)"
kind = "chat"
license = "Apache-2.0"
recommended = {{ max_tokens = 3, temperature = 0 }}
[[models.files]]
name = "tiny-chat.gguf"
size = {REAL.stat().st_size}
sha256 = "{SHA}"
url = "https://huggingface.co/org/tiny/resolve/main/tiny-chat.gguf"
"""
    )
    running = start_engine(home, catalog_path=str(catalog), hf_endpoint=served.url)
    yield running
    running.process.stop()


def _pull(http: httpx.Client, **body: object) -> list[dict[str, object]]:
    with http.stream("POST", "/v1/models/pull", json=body) as response:
        assert response.status_code == 200, response.read()
        return [json.loads(x[6:]) for x in response.iter_lines() if x.startswith("data: {")]


def test_interrupted_pull_resumes_and_the_model_then_chats(
    engine: RunningEngine, served: FileServer
) -> None:
    served.cut_after = 30 * 1024 * 1024
    served.ranges.clear()
    with engine.http() as http:
        first = _pull(http, model="tiny-chat")
        assert "error" in first[-1]
        assert "resume" in first[-1]["error"]["message"]
        partial = engine.home / "data" / "models" / "tiny-chat.gguf.partial"
        assert partial.stat().st_size >= 30 * 1024 * 1024
        second = _pull(http, model="tiny-chat")
        assert second[-1]["status"] == "success"
        done = [e["completed"] for e in second if e.get("status") == "downloading"]
        assert done == sorted(done)
        assert done[0] > 30 * 1024 * 1024  # it went on from where it stopped
        assert served.ranges[-1] is not None
        assert served.ranges[-1].startswith("bytes=")
        assert not partial.exists()
        assert sha256_of(engine.home / "data" / "models" / "tiny-chat.gguf") == SHA
        ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert "tiny-chat" in ids
        reply = http.post(
            "/v1/chat/completions",
            json={
                "model": "tiny-chat",
                "messages": [{"role": "user", "content": "Tell me a story."}],
            },
        )
        assert reply.status_code == 200
        assert reply.json()["usage"]["completion_tokens"] <= 3  # the catalog's recommended value
        removed = http.delete("/v1/models/tiny-chat").json()
        assert removed["deleted"] is True
        assert "tiny-chat" not in [m["id"] for m in http.get("/v1/models").json()["data"]]
        cards = http.get("/v1/models").json()["data"]
        embedded = next(m["id"] for m in cards if m["embedded"] and m["kind"] == "chat")
        assert http.delete(f"/v1/models/{embedded}").status_code == 400  # ships with Hearth


def test_corrupted_download_is_refused_and_deleted(
    engine: RunningEngine, served: FileServer
) -> None:
    served.corrupt = True
    try:
        with engine.http() as http:
            events = _pull(http, url=served.url + "/x/broken.gguf", sha256=SHA)
    finally:
        served.corrupt = False
    assert "sha256" in events[-1]["error"]["message"]
    models = engine.home / "data" / "models"
    assert not (models / "broken.gguf").exists()
    assert not (models / "broken.gguf.partial").exists()


def test_stalled_server_gives_a_clear_error(tmp_path: Path, served: FileServer) -> None:
    # Its own engine with a short read time limit, and a stall five times as long.
    engine = start_engine(tmp_path, download_read_timeout=1)
    served.stall_seconds = 5
    try:
        with engine.http() as http:
            events = _pull(http, url=served.url + "/slow.gguf")
    finally:
        served.stall_seconds = 0
        engine.process.stop()
    assert events[-1]["error"]["code"] == "download_failed"
    assert "stopped sending" in events[-1]["error"]["message"]


def test_bad_pull_requests(engine: RunningEngine) -> None:
    with engine.http() as http:
        assert http.post("/v1/models/pull", json={"model": "no-such"}).status_code == 404
        assert http.post("/v1/models/pull", json={"url": "ftp://x/y.gguf"}).status_code == 400
        assert (
            http.post("/v1/models/pull", json={"url": "http://127.0.0.1/y.bin"}).status_code == 400
        )
        assert http.post("/v1/models/pull", json={}).status_code == 400


def test_disk_too_small_is_refused_before_downloading(tmp_path: Path, served: FileServer) -> None:
    downloader = Downloader(None, 5, free_space=lambda _folder: 10 * 1024 * 1024)
    entry = CatalogFile(
        name="tiny.gguf", size=REAL.stat().st_size, sha256=SHA, url=served.url + "/t.gguf"
    )
    with pytest.raises(NotEnoughSpace, match="MB free"):
        downloader.fetch(entry, tmp_path / "tiny.gguf", lambda _p: None, threading.Event())
    assert not (tmp_path / "tiny.gguf.partial").exists()


def test_cancel_keeps_the_partial_file(tmp_path: Path, served: FileServer) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(p: object) -> None:
        seen.append(p.completed)  # type: ignore[attr-defined]
        if p.completed > 5_000_000:  # type: ignore[attr-defined]
            cancel.set()

    entry = CatalogFile(name="c.gguf", url=served.url + "/c.gguf")
    with pytest.raises(DownloadFailed, match="cancelled"):
        Downloader(None, 5).fetch(entry, tmp_path / "c.gguf", progress, cancel)
    assert (tmp_path / "c.gguf.partial").stat().st_size > 5_000_000


def test_mirror_urls() -> None:
    url = "https://huggingface.co/Qwen/x/resolve/main/a.gguf"
    assert (
        mirror_url(url, "https://hf-mirror.com")
        == "https://hf-mirror.com/Qwen/x/resolve/main/a.gguf"
    )
    assert mirror_url(url, None) == url
    other = "https://modelscope.cn/models/qwen/x/resolve/master/a.gguf"
    assert mirror_url(other, "https://hf-mirror.com") == other


def test_import_show_and_cli(engine: RunningEngine, tmp_path: Path, served: FileServer) -> None:
    mine = tmp_path / "My-Model.gguf"
    shutil.copy(REAL, mine)
    env = engine_env(engine.home)
    cli = [sys.executable, "-m", "app.cli", "models"]
    done = subprocess.run(
        [*cli, "import", str(mine)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    shown = subprocess.run(
        [*cli, "show", "my-model"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "architecture: llama" in shown.stdout
    again = subprocess.run(
        [*cli, "import", str(mine)], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 1
    assert "already installed" in again.stderr
    pulled = subprocess.run(
        [*cli, "pull", served.url + "/cli-pulled.gguf"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert "100%" in pulled.stderr
    removed = subprocess.run(
        [*cli, "rm", "cli-pulled"], env=env, capture_output=True, text=True, timeout=60
    )
    assert removed.returncode == 0
    with engine.http() as http:
        ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
    assert "my-model" in ids
    assert "cli-pulled" not in ids
