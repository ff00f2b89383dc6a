"""The GGUF header check: real files pass, damaged ones are refused before llama.cpp sees them."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from engine.errors import InvalidModelFile
from engine.registry.gguf_file import read_gguf
from engine.settings import default_embedded_dir
from tests.conftest import RunningEngine, assert_alive
from tests.gguf_maker import make_gguf

REAL = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_real_model_header() -> None:
    info = read_gguf(REAL)
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.layer_count == 30
    assert info.quantization == "Q4_1"
    assert 130_000_000 < info.parameter_count < 140_000_000
    assert info.chat_template
    assert "im_start" in info.chat_template
    assert not info.is_lora_adapter
    assert not info.is_vision_projector


def test_small_valid_file_passes(tmp_path: Path) -> None:
    info = read_gguf(make_gguf(tmp_path / "ok.gguf"))
    assert info.tensor_count == 1
    assert info.parameter_count == 8


def _truncated_real(tmp_path: Path) -> Path:
    target = tmp_path / "truncated.gguf"
    with REAL.open("rb") as src, target.open("wb") as dst:
        dst.write(src.read(REAL.stat().st_size // 2))
    return target


def _header_only(tmp_path: Path) -> Path:
    target = tmp_path / "header-cut.gguf"
    target.write_bytes(REAL.read_bytes()[:5000])
    return target


BROKEN = {
    "bad-magic": lambda p: make_gguf(p, magic=b"GGML"),
    "bad-version": lambda p: make_gguf(p, version=99),
    "absurd-tensor-count": lambda p: make_gguf(p, tensor_count=1 << 40),
    "absurd-kv-count": lambda p: make_gguf(p, kv_count=1 << 33),
    "more-keys-than-file": lambda p: make_gguf(p, kv_count=500),
    "offset-past-end": lambda p: make_gguf(p, offset=1 << 20),
    "misaligned-offset": lambda p: make_gguf(p, offset=3),
    "data-cut-short": lambda p: make_gguf(p, dims=(1024,), data_bytes=100),
    "zero-dimension": lambda p: make_gguf(p, dims=(0,)),
    "too-many-dimensions": lambda p: make_gguf(p, dims=(2, 2, 2, 2, 2)),
    "absurd-dimension": lambda p: make_gguf(p, dims=(1 << 50,), data_bytes=64),
    "empty": lambda p: (p.write_bytes(b""), p)[1],
    "tiny": lambda p: (p.write_bytes(b"GGUF\x03\x00"), p)[1],
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_are_refused(tmp_path: Path, name: str) -> None:
    path = BROKEN[name](tmp_path / f"{name}.gguf")
    with pytest.raises(InvalidModelFile) as refused:
        read_gguf(path)
    assert str(tmp_path) not in refused.value.message


@pytest.mark.parametrize("make", [_truncated_real, _header_only])
def test_truncated_real_model_is_refused(tmp_path: Path, make: object) -> None:
    with pytest.raises(InvalidModelFile):
        read_gguf(make(tmp_path))  # type: ignore[operator]


def test_engine_refuses_broken_models_and_stays_up(
    engine_server: RunningEngine, http: httpx.Client, tmp_path: Path
) -> None:
    models = engine_server.home / "data" / "models"
    models.mkdir(parents=True, exist_ok=True)
    names = ["bad-magic", "offset-past-end", "absurd-kv-count", "data-cut-short"]
    for name in names:
        BROKEN[name](models / f"broken-{name}.gguf")
    shutil.copy(_truncated_real(tmp_path), models / "broken-truncated.gguf")
    # A header that passes but a model llama.cpp cannot build: it fails inside llama.cpp.
    make_gguf(models / "broken-unbuildable.gguf", architecture="llama")
    try:
        listed = {m["id"] for m in http.get("/v1/models").json()["data"]}
        for name in [*(f"broken-{n}" for n in names), "broken-truncated", "broken-unbuildable"]:
            assert name in listed
            response = http.post(
                "/v1/chat/completions",
                json={"model": name, "messages": [{"role": "user", "content": "hi"}]},
            )
            assert response.status_code == 500, response.text
            error = response.json()["error"]
            assert error["code"] == "model_load_failed"
            assert "/" not in error["message"]
            detail = http.get(f"/v1/models/{name}")
            assert detail.status_code == 200
        assert http.get("/v1/models/broken-bad-magic").json()["problem"]
        assert_alive(engine_server)
    finally:
        for path in models.glob("broken-*.gguf"):
            path.unlink()
