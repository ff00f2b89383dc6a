"""The models the engine can serve: discovered GGUF files, loaded lazily, unloaded when idle."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from engine.backends.device_memory import gpu_free_bytes, system_available_bytes
from engine.backends.llama_backend import (
    LlamaModel,
    LoadOptions,
    gpu_offload_supported,
    resolve_gpu_layers,
)
from engine.errors import InvalidModelFile, ModelLoadFailed, ModelNotFound
from engine.registry.catalog import Catalog, CatalogModel, check_model_name
from engine.registry.custom_models import CustomModelStore
from engine.registry.gguf_file import GgufInfo, read_gguf
from engine.registry.gpu_fit import estimate
from engine.registry.model_queue import ModelQueue
from engine.schemas import CustomModel
from engine.settings import EngineSettings

log = logging.getLogger(__name__)

ModelLoader = Callable[[Path, LoadOptions], LlamaModel]


@dataclass
class DeviceMemory:
    """Where free memory figures come from (tests pass their own)."""

    gpu: Callable[[], int | None] = gpu_free_bytes
    ram: Callable[[], int] = system_available_bytes


@dataclass
class ModelEntry:
    """A model file the engine knows about."""

    id: str
    path: Path
    size_bytes: int
    created: int
    embedded: bool
    catalog: CatalogModel | None = None
    kind: str = "chat"
    custom: CustomModel | None = None
    projector: Path | None = None  # its vision projector (mmproj), when it takes images


@dataclass
class LoadedModel:
    entry: ModelEntry
    model: LlamaModel
    info: GgufInfo
    last_used: float


def _is_model_file(path: Path) -> bool:
    name = path.name.lower()
    return path.suffix.lower() == ".gguf" and "mmproj" not in name and path.is_file()


_QUANT_SUFFIX = re.compile(r"[-._](i?q\d[\w]*|f16|f32|bf16)$")


def _family(name: str) -> str:
    """A GGUF's name without 'mmproj', its extension and its quantisation tag."""
    stem = name.lower().removesuffix(".gguf").replace("mmproj-", "").replace("-mmproj", "")
    return _QUANT_SUFFIX.sub("", stem.replace(".mmproj", ""))


def _projector_for(model: Path) -> Path | None:
    """The vision projector beside a model, paired by name (mmproj-<name>-<quant>.gguf)."""
    family = _family(model.name)
    for candidate in sorted(model.parent.glob("*.gguf")):
        if "mmproj" in candidate.name.lower() and _family(candidate.name) == family:
            return candidate
    return None


class ModelRegistry:
    """Finds models, loads them on first use and unloads them after an idle time."""

    def __init__(
        self,
        settings: EngineSettings,
        catalog: Catalog,
        loader: ModelLoader = LlamaModel,
        memory: DeviceMemory | None = None,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._memory = memory or DeviceMemory()
        self.notices: dict[str, str] = {}
        self.custom = CustomModelStore(settings.dirs.custom_models, settings.dirs.models)
        self._standalone: dict[tuple[str, int, int], bool] = {}
        self._loader = loader
        self._loaded: dict[str, LoadedModel] = {}
        self._queues: dict[str, ModelQueue] = {}
        self._threads: dict[str, ThreadPoolExecutor] = {}

    # -- discovery -------------------------------------------------------------------------
    def entries(self) -> dict[str, ModelEntry]:
        """Every model file present now, by id (a directory listing: cheap enough per call)."""
        found: dict[str, ModelEntry] = {}
        folders = [(self._settings.dirs.models, False), (self._settings.embedded_models_dir, True)]
        for folder, embedded in folders:
            if not folder.is_dir():
                continue
            root = folder.resolve()
            for path in sorted(folder.glob("*.gguf")) + sorted(folder.glob("*/*.gguf")):
                # A symlink may point anywhere: only files that really lie inside count.
                if not _is_model_file(path) or not path.resolve().is_relative_to(root):
                    continue
                if not self._is_standalone(path):
                    continue  # LoRA adapters and projectors are parts, not models
                card = self._catalog.by_file_name(path.name)
                model_id = card.id if card else path.stem.lower()
                if model_id in found:
                    continue  # the user's own models folder wins over the embedded one
                stat = path.stat()
                found[model_id] = ModelEntry(
                    projector=_projector_for(path),
                    id=model_id,
                    path=path,
                    size_bytes=stat.st_size,
                    created=int(stat.st_mtime),
                    embedded=embedded,
                    catalog=card,
                    kind=card.kind if card else "chat",
                )
        for custom in self.custom.all():
            base = found.get(self._settings.model_aliases.get(custom.base, custom.base))
            if base is not None and custom.id not in found:
                found[custom.id] = ModelEntry(
                    id=custom.id, path=base.path, size_bytes=base.size_bytes,
                    created=base.created, embedded=False, catalog=base.catalog, custom=custom,
                    projector=base.projector,
                )  # fmt: skip
        return found

    def _is_standalone(self, path: Path) -> bool:
        """Whether a GGUF is a model of its own; its header is read once per file version."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._standalone:
            try:
                info = read_gguf(path)
                self._standalone[key] = not (info.is_lora_adapter or info.is_vision_projector)
            except InvalidModelFile:
                self._standalone[key] = True  # listed, so that using it says what is wrong
        return self._standalone[key]

    def resolve(self, name: str | None) -> ModelEntry:
        """The entry for a model id or alias; None means the default model."""
        if name is not None:
            check_model_name(name)
        wanted = name or self._settings.default_model
        wanted = self._settings.model_aliases.get(wanted, wanted)
        entry = self.entries().get(wanted)
        if entry is None:
            raise ModelNotFound(
                f"The model '{name or wanted}' does not exist. GET /v1/models lists the "
                "models installed here.",
                param="model",
            )
        return entry

    def aliases_of(self, model_id: str) -> list[str]:
        return sorted(a for a, target in self._settings.model_aliases.items() if target == model_id)

    # -- loading ---------------------------------------------------------------------------
    def queue_for(self, model_id: str) -> ModelQueue:
        queue = self._queues.get(model_id)
        if queue is None:
            queue = ModelQueue(self._settings.max_queue, self._settings.retry_after_seconds)
            self._queues[model_id] = queue
        return queue

    def thread_for(self, model_id: str) -> ThreadPoolExecutor:
        """The one OS thread that loads and runs this model.

        llama.cpp's CPU backend keeps its worker threads with the thread that calls it: calls
        from a rotating pool leave earlier workers competing for the cores (measured: generation
        fell to half speed after a few requests). One thread per model keeps it steady.
        """
        thread = self._threads.get(model_id)
        if thread is None:
            thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hearth-{model_id[:16]}")
            self._threads[model_id] = thread
        return thread

    def queues(self) -> dict[str, ModelQueue]:
        return dict(self._queues)

    def loaded(self) -> dict[str, LoadedModel]:
        return dict(self._loaded)

    def inspect(self, entry: ModelEntry) -> GgufInfo:
        """The checked GGUF header of an entry (raises InvalidModelFile when bad)."""
        loaded = self._loaded.get(entry.id)
        return loaded.info if loaded else read_gguf(entry.path)

    def load_blocking(self, entry: ModelEntry) -> LoadedModel:
        """Load `entry` if needed. Call only while holding its queue slot, off the event loop."""
        current = self._loaded.get(entry.id)
        if current is not None and current.entry.path == entry.path:
            current.last_used = time.monotonic()
            return current
        info = read_gguf(entry.path)
        if info.is_vision_projector or info.is_lora_adapter:
            raise InvalidModelFile(f"{entry.path.name} is not a standalone language model")
        opts = self._settings.options_for(entry.custom.base if entry.custom else entry.id)
        trained = info.context_length or opts.n_ctx or 2048
        n_ctx = min(opts.n_ctx or trained, trained)
        gpu_layers = self._gpu_layers(entry, info, n_ctx, opts.n_gpu_layers or 0)
        custom = entry.custom
        loras = tuple(
            (self.custom.lora_path(a.path), a.scale) for a in (custom.loras if custom else [])
        )
        options = LoadOptions(
            n_ctx=n_ctx,
            n_threads=opts.n_threads,
            n_gpu_layers=gpu_layers,
            chat_template=(custom.chat_template if custom else None) or opts.chat_template,
            prompt_cache_bytes=self._settings.prompt_cache_bytes,
            loras=loras,
            projector=entry.projector,
        )
        started = time.monotonic()
        log.info("loading model %s", entry.id)
        try:
            model = self._load(entry, options)
        except ModelLoadFailed:
            if options.n_gpu_layers == 0:
                raise
            # A GPU load that fails (driver, memory) falls back to the CPU, and says so.
            self.notices[entry.id] = "loading on the GPU failed; running on the CPU instead"
            log.warning("model %s: %s", entry.id, self.notices[entry.id])
            model = self._load(entry, replace(options, n_gpu_layers=0))
        log.info("loaded model %s in %.2fs", entry.id, time.monotonic() - started)
        loaded = LoadedModel(entry=entry, model=model, info=info, last_used=time.monotonic())
        if current is not None:
            current.model.close()
        self._loaded[entry.id] = loaded
        return loaded

    def _load(self, entry: ModelEntry, options: LoadOptions) -> LlamaModel:
        try:
            return self._loader(entry.path, options)
        except ModelLoadFailed:
            raise
        except Exception as exc:  # a loader may fail in ways we cannot list; keep the engine up
            raise ModelLoadFailed(f"the model '{entry.id}' could not be loaded") from exc

    def _gpu_layers(self, entry: ModelEntry, info: GgufInfo, n_ctx: int, wanted: int | str) -> int:
        """Layers to offload; refuses, with the numbers, a model that cannot fit at all."""
        gpu_free = self._memory.gpu() if gpu_offload_supported() else None
        fit = estimate(info, n_ctx, gpu_free or 0)
        if wanted == "auto":
            layers = fit.layers_fit if gpu_free else 0
            chosen = -1 if layers >= fit.layers else layers
        else:
            chosen = resolve_gpu_layers(wanted)
        on_gpu = fit.layers if chosen == -1 else min(chosen, fit.layers)
        host_needed = fit.total_bytes - on_gpu * (fit.layer_bytes + fit.kv_bytes_per_layer)
        host_free = self._memory.ram()
        if host_needed > host_free:
            gb = 1024**3
            raise ModelLoadFailed(
                f"'{entry.id}' needs {host_needed / gb:.2f} GiB of memory with a {n_ctx}-token "
                f"context and {host_free / gb:.2f} GiB is available. Lower n_ctx or free memory."
            )
        return chosen

    async def unload_idle(self, limit: float | None = None) -> list[str]:
        """Unload models unused for `limit` seconds (default: the idle time) whose queues are
        empty; return their ids."""
        limit = self._settings.idle_unload_seconds if limit is None else limit
        now = time.monotonic()
        unloaded: list[str] = []
        for model_id, loaded in list(self._loaded.items()):
            queue = self.queue_for(model_id)
            if now - loaded.last_used < limit or not await queue.acquire_if_idle():
                continue
            try:
                self._loaded.pop(model_id, None)
                thread = self.thread_for(model_id)
                await asyncio.get_running_loop().run_in_executor(thread, loaded.model.close)
                unloaded.append(model_id)
                log.info("unloaded idle model %s", model_id)
            finally:
                queue.release()
        return unloaded

    async def run_idle_unloader(self) -> None:
        """Background task: check for idle models now and then."""
        period = max(1.0, min(30.0, self._settings.idle_unload_seconds / 2))
        while True:
            await asyncio.sleep(period)
            await self.unload_idle()

    def close(self) -> None:
        for model_id, loaded in self._loaded.items():
            self.thread_for(model_id).submit(loaded.model.close).result()
        self._loaded.clear()
        for thread in self._threads.values():
            thread.shutdown(wait=True, cancel_futures=True)
