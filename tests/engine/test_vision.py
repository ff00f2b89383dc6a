"""Image input end to end: a generated tiny vision projector paired with the real default model.

This proves the wiring (load, image encode, generate, over HTTP and the openai SDK), not quality.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from PIL import Image

from engine.settings import default_embedded_dir
from tests.conftest import RunningEngine, assert_alive, engine_env, start_engine
from tests.vision_maker import make_projector


def _png(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def _data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def _ask(url: str) -> dict[str, object]:
    return {
        "model": "tiny-vision",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]}],
        "max_tokens": 8, "temperature": 0,
    }  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    home = tmp_path_factory.mktemp("vision")
    models = home / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(
        default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf", models / "tiny-vision.gguf"
    )
    make_projector(models / "mmproj-tiny-vision.gguf")
    running = start_engine(home)
    yield running
    running.process.stop()


def test_vision_model_is_paired_and_advertised(engine: RunningEngine) -> None:
    with engine.http() as http:
        cards = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
        health = http.get("/health").json()
    assert "vision" in cards["tiny-vision"]["capabilities"]
    assert "mmproj-tiny-vision" not in cards  # the projector is a part, not a model
    assert health["vision_models"] == ["tiny-vision"]


def test_image_part_goes_through_the_real_path(engine: RunningEngine) -> None:
    with engine.http() as http:
        response = http.post("/v1/chat/completions", json=_ask(_data_url(_png())))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["choices"][0]["message"]["content"].strip()
        assert body["usage"]["completion_tokens"] > 0
        assert body["usage"]["prompt_tokens"] > 10
        with http.stream(
            "POST", "/v1/chat/completions", json={**_ask(_data_url(_png("blue"))), "stream": True}
        ) as streamed:
            lines = [line for line in streamed.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    assert any('"content":"' in line and '"content":""' not in line for line in lines)


def test_openai_sdk_sends_an_image_part(engine: RunningEngine) -> None:
    client = openai.OpenAI(base_url=engine.url + "/v1", api_key=engine.token, max_retries=0)
    reply = client.chat.completions.create(**_ask(_data_url(_png("green"))))  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    client.close()


def test_captions_endpoint_cli_and_image_job(engine: RunningEngine, tmp_path: object) -> None:
    from pathlib import Path

    with engine.http() as http:
        body = http.post(
            "/v1/images/captions", files={"file": ("a.png", _png())}, data={"detail": "short"}
        ).json()
        assert body["caption"]
        assert body["model"] == "tiny-vision"
        assert (
            http.post(
                "/v1/images/captions", files={"file": ("a.png", _png())}, data={"detail": "huge"}
            ).status_code
            == 400
        )
        job = http.post(
            "/v1/jobs", files={"file": ("a.png", _png())}, data={"kind": "image"}
        ).json()
        deadline = time.monotonic() + 60
        while (state := http.get(f"/v1/jobs/{job['id']}").json())["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert state["status"] == "succeeded", state
    assert state["result"]["caption"]
    image = Path(str(tmp_path)) / "pic.png"
    image.write_bytes(_png("yellow"))
    done = subprocess.run([sys.executable, "-m", "app.cli", "caption", str(image)], env=engine_env(engine.home),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_unsafe_or_bad_image_urls_are_refused(engine: RunningEngine) -> None:
    cases = {
        "https://example.com/cat.png": "remote_image_refused",
        "http://127.0.0.1:9/x.png": "remote_image_refused",
        "file:///etc/passwd": "invalid_image",
        _data_url(b"this is text, not an image", "image/png"): "invalid_image",
        "data:image/png;base64,@@@not-base64@@@": "invalid_image",
        _data_url(_png()[:40]): "invalid_image",
    }
    with engine.http() as http:
        for url, code in cases.items():
            response = http.post("/v1/chat/completions", json=_ask(url))
            assert response.status_code == 400, url
            error = response.json()["error"]
            assert error["code"] == code, url
            assert error["param"].startswith("messages[0].content")
    assert_alive(engine)


def test_without_a_vision_model(http: httpx.Client) -> None:
    response = http.post("/v1/images/captions", files={"file": ("a.png", _png())})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_vision_model"
    assert "smolvlm" in response.json()["error"]["message"]


def test_remote_image_urls_when_allowed_still_never_reach_inside(tmp_path: object) -> None:
    from pathlib import Path

    from tests.file_server import FileServer

    home = Path(str(tmp_path))
    models = home / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(
        default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf", models / "tiny-vision.gguf"
    )
    make_projector(models / "mmproj-tiny-vision.gguf")
    picture = home / "pic.png"
    picture.write_bytes(_png())
    server = FileServer(picture)
    server.start()
    engine = start_engine(home, allow_remote_images=True)
    try:
        with engine.http() as http:
            for url in (server.url + "/pic.png", server.url.replace("127.0.0.1", "localhost") + "/p.png",
                        "http://10.1.2.3/x.png", "http://169.254.169.254/latest/meta-data",
                        "http://[::1]:9/x.png", "http://224.0.0.1/x.png"):  # fmt: skip
                response = http.post("/v1/chat/completions", json=_ask(url))
                assert response.status_code == 400, url
                assert response.json()["error"]["code"] == "remote_image_refused", url
        assert server.ranges == []  # the loopback server never got a request
    finally:
        engine.process.stop()
        server.stop()


def test_a_redirect_to_inside_is_refused() -> None:
    from engine.errors import InvalidInput
    from engine.services.image_fetch import fetch_image

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "images.example"  # nothing else is ever asked
        return httpx.Response(302, headers={"location": "http://127.0.0.1:8931/v1/keys"})

    def resolve(host: str) -> list[str]:
        return {"images.example": ["93.184.216.34"], "127.0.0.1": ["127.0.0.1"]}[host]

    with pytest.raises(InvalidInput, match="inside this machine"):
        fetch_image("http://images.example/cat.png", max_bytes=1 << 20, time_limit=5, param="x",
                    resolve=resolve, transport=httpx.MockTransport(handler))  # fmt: skip
