"""The GPU fit estimator on the real model's GGUF metadata, with simulated device memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.backends.llama_batch import BatchModel, LoadOptions
from engine.errors import ModelLoadFailed
from engine.registry.catalog import load_catalog
from engine.registry.gguf_file import read_gguf
from engine.registry.gpu_fit import COMPUTE_RESERVE, estimate, kv_bytes_per_layer
from engine.registry.model_registry import ModelRegistry
from engine.serving.model_pool import DeviceMemory, ModelPool
from engine.settings import EngineSettings, default_catalog_path, default_embedded_dir

INFO = read_gguf(default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf")
MiB = 1024 * 1024


def test_sizes_come_from_the_file() -> None:
    # 30 layers; 3 KV heads of 64 dimensions: keys and values, f16, per token of context.
    assert kv_bytes_per_layer(INFO, 4096) == 2 * 4096 * (3 * 64 + 3 * 64)
    fit = estimate(INFO, 4096, 0)
    assert fit.layers == 30
    weights = sum(INFO.tensor_bytes.values())
    assert fit.other_bytes + 30 * fit.layer_bytes >= weights  # the largest layer bounds them all
    assert abs(weights - INFO.file_size) < 0.05 * INFO.file_size


def _free_for(layers: int, n_ctx: int = 4096) -> int:
    fit = estimate(INFO, n_ctx, 0)
    return COMPUTE_RESERVE + layers * (fit.layer_bytes + fit.kv_bytes_per_layer)


@pytest.mark.parametrize(
    ("free", "expected"),
    [
        (0, 0),
        (COMPUTE_RESERVE, 0),
        (_free_for(1), 1),
        (_free_for(10) + 1, 10),
        (_free_for(30), 29),  # the layers fit, the output head does not: one stays on the CPU
        (_free_for(30) + estimate(INFO, 4096, 0).other_bytes, 30),
        (80 * 1024**3, 30),
    ],
)
def test_layers_that_fit_for_a_table_of_device_sizes(free: int, expected: int) -> None:
    assert estimate(INFO, 4096, free).layers_fit == expected


def test_longer_context_fits_fewer_layers() -> None:
    free = _free_for(20, 4096)
    assert estimate(INFO, 8192, free).layers_fit < estimate(INFO, 4096, free).layers_fit


class Recording:
    def __init__(self, fail_on_gpu: bool = False) -> None:
        self.calls: list[LoadOptions] = []
        self.fail_on_gpu = fail_on_gpu

    def __call__(self, path: Path, options: LoadOptions) -> BatchModel:
        self.calls.append(options)
        if self.fail_on_gpu and options.n_gpu_layers != 0:
            raise ModelLoadFailed("cudaMalloc failed: out of memory")
        return Closable()  # type: ignore[return-value]


class Closable:
    def close(self) -> None:
        pass


def _load(tmp_path: Path, loader: Recording, memory: DeviceMemory, **settings: object) -> ModelPool:
    """Load the default model (one slot: the KV cache is one context, as the table assumes)."""
    config = EngineSettings(home=tmp_path, parallel=1, **settings)  # type: ignore[arg-type]
    pool = ModelPool(
        config, ModelRegistry(config, load_catalog(default_catalog_path())), loader, memory
    )
    try:
        pool.load_blocking(pool._registry.resolve(None))
    finally:
        pool.close()
    return pool


def test_auto_offloads_what_fits_on_a_simulated_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.serving.model_pool.gpu_offload_supported", lambda: True)
    for free, expected in ((_free_for(12) + 1, 12), (80 * 1024**3, -1), (COMPUTE_RESERVE, 0)):
        loader = Recording()
        _load(tmp_path, loader, DeviceMemory(gpu=lambda f=free: f, ram=lambda: 64 * 1024**3))
        assert loader.calls[-1].n_gpu_layers == expected


def test_a_failed_gpu_load_falls_back_to_the_cpu_with_a_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.serving.model_pool.gpu_offload_supported", lambda: True)
    loader = Recording(fail_on_gpu=True)
    pool = _load(tmp_path, loader, DeviceMemory(gpu=lambda: 80 * 1024**3, ram=lambda: 64 * 1024**3))
    assert [c.n_gpu_layers for c in loader.calls] == [-1, 0]
    assert "CPU" in pool.notices["smollm2-135m-instruct"]


def test_a_model_that_cannot_fit_is_refused_with_the_numbers(tmp_path: Path) -> None:
    loader = Recording()
    with pytest.raises(ModelLoadFailed, match=r"needs 0\.\d+ GiB .* 0\.02 GiB is available"):
        _load(tmp_path, loader, DeviceMemory(gpu=lambda: None, ram=lambda: 20 * MiB))
    assert loader.calls == []  # refused before llama.cpp was asked
