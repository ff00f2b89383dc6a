"""Model discovery, aliases, per-model options, lazy loading and idle unloading."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from engine.backends.llama_batch import BatchModel, LoadOptions
from engine.errors import ModelNotFound
from engine.registry.catalog import load_catalog
from engine.registry.model_registry import ModelRegistry
from engine.schemas import CustomModel
from engine.serving.model_pool import ModelPool
from engine.settings import EngineSettings, ModelOptions, default_catalog_path, default_embedded_dir
from tests.conftest import start_engine
from tests.gguf_maker import make_gguf

REAL = default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"


class RecordingLoader:
    """Stands in for llama.cpp in the fast unit tests; records what it was asked to load."""

    def __init__(self) -> None:
        self.loads: list[tuple[Path, LoadOptions]] = []
        self.closed = 0

    def __call__(self, path: Path, options: LoadOptions) -> BatchModel:
        self.loads.append((path, options))
        loader = self

        class Loaded:
            def close(self) -> None:
                loader.closed += 1

        return Loaded()  # type: ignore[return-value]


def _registry(tmp_path: Path, loader: RecordingLoader, **settings: object) -> ModelRegistry:
    config = EngineSettings(home=tmp_path, **settings)  # type: ignore[arg-type]
    return ModelRegistry(config, load_catalog(default_catalog_path()))


def _pool(tmp_path: Path, loader: RecordingLoader, **settings: object) -> ModelPool:
    config = EngineSettings(home=tmp_path, **settings)  # type: ignore[arg-type]
    return ModelPool(config, ModelRegistry(config, load_catalog(default_catalog_path())), loader)


def test_the_folders_are_scanned_again_only_when_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "data" / "models"
    (models / "nested").mkdir(parents=True)
    make_gguf(models / "first.gguf")
    registry = _registry(tmp_path, RecordingLoader())
    scans = []
    real_scan = registry._scan
    monkeypatch.setattr(registry, "_scan", lambda: scans.append(1) or real_scan())

    def age(path: Path) -> None:  # older than a clock tick, as the cache requires
        for item in [path, *path.rglob("*")]:
            os.utime(item, (time.time() - 10, time.time() - 10))

    age(tmp_path)
    assert "first" in registry.entries()
    assert "first" in registry.entries()
    assert len(scans) == 1
    make_gguf(models / "nested" / "second.gguf")  # a subfolder's file
    assert "second" in registry.entries()  # fresh: seen at once, and not cached yet
    age(tmp_path)
    registry.entries()
    registry.entries()
    assert len(scans) == 3
    (models / "first.gguf").unlink()
    assert "first" not in registry.entries()
    (models / "gone.gguf").symlink_to(tmp_path / "nowhere.gguf")  # a broken link is no model
    age(models / "nested")
    registry.entries()
    make_gguf(models / "third.gguf")
    os.utime(models / "third.gguf", (time.time() - 10, time.time() - 10))
    os.utime(models, (time.time() - 10, time.time() - 10))
    assert "third" in registry.entries()  # the broken link does not hide the change
    registry.custom.save(CustomModel(id="mine", base="second"))
    assert registry.entries()["mine"].path == models / "nested" / "second.gguf"


def test_discovers_embedded_and_user_models(tmp_path: Path) -> None:
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    make_gguf(models / "My-Model.Q8_0.gguf")
    make_gguf(models / "some-mmproj-f16.gguf")  # projectors are not chat models
    make_gguf(models / "bge-small.gguf", architecture="bert", pooling=2)  # CLS pooling
    (models / "notes.txt").write_text("not a model")
    entries = _registry(tmp_path, RecordingLoader()).entries()
    assert set(entries) == {"smollm2-135m-instruct", "my-model.q8_0", "multilingual-e5-small",
                            "bge-small"}  # fmt: skip
    assert entries["my-model.q8_0"].kind == "chat"
    assert entries["bge-small"].kind == "embedding"  # from its header
    assert entries["multilingual-e5-small"].kind == "embedding"  # from the catalog
    assert entries["smollm2-135m-instruct"].embedded
    assert entries["smollm2-135m-instruct"].catalog is not None
    assert not entries["my-model.q8_0"].embedded


def test_aliases_and_default(tmp_path: Path) -> None:
    registry = _registry(
        tmp_path, RecordingLoader(), model_aliases={"gpt-3.5-turbo": "smollm2-135m-instruct"}
    )
    assert registry.resolve(None).id == "smollm2-135m-instruct"
    assert registry.resolve("gpt-3.5-turbo").id == "smollm2-135m-instruct"
    assert registry.aliases_of("smollm2-135m-instruct") == ["gpt-3.5-turbo"]
    with pytest.raises(ModelNotFound):
        registry.resolve("gpt-4")


def _load_default(pool: ModelPool) -> None:
    try:
        pool.load_blocking(pool._registry.resolve(None))
    finally:
        pool.close()


def test_loads_once_with_per_model_options(tmp_path: Path) -> None:
    loader = RecordingLoader()
    pool = _pool(
        tmp_path,
        loader,
        n_ctx=2048,
        parallel=3,
        model_options={
            "smollm2-135m-instruct": ModelOptions(n_ctx=1024, n_threads=1, n_gpu_layers=0)
        },
    )
    try:
        entry = pool._registry.resolve(None)
        pool.load_blocking(entry)
        pool.load_blocking(entry)
    finally:
        pool.close()
    assert len(loader.loads) == 1
    options = loader.loads[0][1]
    assert (options.n_ctx, options.n_threads, options.n_gpu_layers) == (1024, 1, 0)
    assert options.n_seq == 3
    assert options.kv_tokens >= 1024  # at least one full context, shared by the slots


def test_context_is_capped_at_the_trained_length(tmp_path: Path) -> None:
    loader = RecordingLoader()
    _load_default(_pool(tmp_path, loader, n_ctx=100_000))
    assert loader.loads[0][1].n_ctx == 8192


def test_gpu_layers_all_and_number(tmp_path: Path) -> None:
    loader = RecordingLoader()
    _load_default(_pool(tmp_path, loader, n_gpu_layers="all"))
    assert loader.loads[0][1].n_gpu_layers == -1
    loader2 = RecordingLoader()
    _load_default(_pool(tmp_path, loader2, n_gpu_layers=7))
    assert loader2.loads[0][1].n_gpu_layers == 7


def test_a_custom_model_without_adapters_shares_its_base(tmp_path: Path) -> None:
    loader = RecordingLoader()
    pool = _pool(tmp_path, loader)
    registry = pool._registry
    try:
        registry.custom.save(CustomModel(id="terse", base="smollm2-135m-instruct"))
        base = pool.load_blocking(registry.resolve(None))
        custom = pool.load_blocking(registry.resolve("terse"))
    finally:
        pool.close()
    assert custom is base
    assert len(loader.loads) == 1


def test_idle_models_are_unloaded_unless_busy(tmp_path: Path) -> None:
    loader = RecordingLoader()
    pool = _pool(tmp_path, loader, idle_unload_seconds=0.05)

    async def scenario() -> None:
        entry = pool._registry.resolve(None)
        held = await pool.acquire(entry)  # in use: must stay loaded
        await asyncio.sleep(0.1)
        assert await pool.unload_idle() == []
        pool.release(held)
        await asyncio.sleep(0.1)
        assert await pool.unload_idle() == [entry.id]

    try:
        asyncio.run(scenario())
    finally:
        pool.close()
    assert loader.closed == 1
    assert pool.loaded() == {}


def test_real_engine_unloads_after_idle_time_and_reloads(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, idle_unload_seconds=1)
    try:
        with engine.http() as client:
            body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
            assert client.post("/v1/chat/completions", json=body).status_code == 200
            assert client.get("/health").json()["loaded_models"] == ["smollm2-135m-instruct"]
            deadline = time.monotonic() + 10
            while client.get("/health").json()["loaded_models"] and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.get("/health").json()["loaded_models"] == []
            assert client.post("/v1/chat/completions", json=body).status_code == 200
    finally:
        engine.process.stop()


def test_user_model_and_chat_template_override(tmp_path: Path) -> None:
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(REAL, models / "my-copy.gguf")
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}<|im_start|>assistant\n" + "Certainly, here is my answer. " * 20
    )
    engine = start_engine(tmp_path, model_options={"my-copy": {"chat_template": template}})
    try:
        with engine.http() as client:
            listing = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
            assert not listing["my-copy"]["embedded"]
            ask = {
                "messages": [{"role": "user", "content": "Say hi"}],
                "max_tokens": 3,
                "temperature": 0,
            }
            plain = client.post(
                "/v1/completions", json={"prompt": "x", "max_tokens": 1, "model": "my-copy"}
            )
            assert plain.status_code == 200
            own = client.post("/v1/chat/completions", json={**ask, "model": "my-copy"}).json()
            base = client.post("/v1/chat/completions", json=ask).json()
        # The override's long assistant preamble makes the prompt longer than the GGUF's template.
        assert own["usage"]["prompt_tokens"] > base["usage"]["prompt_tokens"]
    finally:
        engine.process.stop()


def test_models_endpoint_lists_the_embedded_model(http: httpx.Client) -> None:
    body = http.get("/v1/models").json()
    assert body["object"] == "list"
    card = next(m for m in body["data"] if m["id"] == "smollm2-135m-instruct")
    assert card["object"] == "model"
    assert card["embedded"] is True
    assert card["size_bytes"] == 98362432
    detail = http.get("/v1/models/smollm2-135m-instruct").json()
    assert detail["architecture"] == "llama"
    assert detail["quantization"] == "Q4_1"
    assert detail["has_chat_template"] is True
