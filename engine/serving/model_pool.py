"""The models loaded now: each with its scheduler, loaded on first use, shared by the requests
that use it, and unloaded after an idle time. Custom models without adapters of their own share
their base's loaded model (their prompt and defaults are applied per request)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.backends.device_memory import gpu_free_bytes, system_available_bytes
from engine.backends.llama_backend import VisionModel, gpu_offload_supported, resolve_gpu_layers
from engine.backends.llama_batch import BatchModel, LoadOptions
from engine.errors import InvalidModelFile, ModelLoadFailed
from engine.registry.gguf_file import GgufInfo, read_gguf
from engine.registry.gpu_fit import estimate, kv_bytes_per_layer
from engine.registry.model_queue import ModelQueue
from engine.registry.model_registry import ModelEntry, ModelRegistry
from engine.serving.draft_model import Drafter
from engine.serving.scheduler import Scheduler
from engine.serving.sizing import ServingPlan, physical_cores, plan_serving
from engine.serving.state_cache import StateCache
from engine.settings import EngineSettings

log = logging.getLogger(__name__)


# Makes the served model from a file (BatchModel; the unit tests pass recording fakes).
ModelLoader = Callable[[Path, LoadOptions], BatchModel]


@dataclass
class DeviceMemory:
    """Where free memory figures come from (tests pass their own)."""

    gpu: Callable[[], int | None] = gpu_free_bytes
    ram: Callable[[], int] = system_available_bytes


@dataclass
class LoadedModel:
    key: str
    entry: ModelEntry
    model: BatchModel
    scheduler: Scheduler[BatchModel]
    info: GgufInfo
    plan: ServingPlan
    last_used: float
    users: int = 0  # requests holding it; it is never unloaded under them


@dataclass
class _Vision:
    """A model's image-chat side: its own llama-cpp-python instance (loaded on its thread on
    first use), one request at a time."""

    queue: ModelQueue
    thread: ThreadPoolExecutor
    model: VisionModel | None = None
    last_used: float = field(default_factory=time.monotonic)


def load_key(entry: ModelEntry) -> str:
    """Which loaded model serves an entry: its own when it brings adapters, else its file's."""
    if entry.custom is not None and entry.custom.loras:
        return f"{entry.path}|{entry.id}"
    return str(entry.path)


class ModelPool:
    def __init__(
        self,
        settings: EngineSettings,
        registry: ModelRegistry,
        loader: ModelLoader = BatchModel,
        memory: DeviceMemory | None = None,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._loader = loader
        self._memory = memory or DeviceMemory()
        self.notices: dict[str, str] = {}
        self._loaded: dict[str, LoadedModel] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._loads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hearth-load")
        self._vision: dict[str, _Vision] = {}

    # -- what is loaded --------------------------------------------------------------------
    def loaded(self) -> dict[str, LoadedModel]:
        """By the id of the entry that loaded it."""
        return {m.entry.id: m for m in list(self._loaded.values())}

    def inspect(self, entry: ModelEntry) -> GgufInfo:
        """The checked GGUF header of an entry (raises InvalidModelFile when bad)."""
        return self.loaded_info(entry) or read_gguf(entry.path)

    def loaded_info(self, entry: ModelEntry) -> GgufInfo | None:
        """The GGUF header of an entry when it is loaded (no file to read)."""
        loaded = self._loaded.get(load_key(entry))
        return loaded.info if loaded else None

    # -- using a model -----------------------------------------------------------------------
    async def acquire(self, entry: ModelEntry) -> LoadedModel:
        """The loaded model for `entry` (loading it off the event loop when needed), held
        until `release`."""
        loaded = self._loaded.get(load_key(entry))
        if loaded is None:
            loop = asyncio.get_running_loop()
            loaded = await loop.run_in_executor(self._loads, self.load_blocking, entry)
        loaded.users += 1
        loaded.last_used = time.monotonic()
        return loaded

    def release(self, loaded: LoadedModel) -> None:
        loaded.users -= 1
        loaded.last_used = time.monotonic()

    def load_blocking(self, entry: ModelEntry) -> LoadedModel:
        """Load `entry` if needed (one load per model at a time), off the event loop."""
        key = load_key(entry)
        with self._guard:
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            current = self._loaded.get(key)
            if current is not None:
                current.last_used = time.monotonic()
                return current
            loaded = self._load(key, entry)
            self._loaded[key] = loaded
            return loaded

    def _load(self, key: str, entry: ModelEntry) -> LoadedModel:
        info = read_gguf(entry.path)
        if info.is_vision_projector or info.is_lora_adapter:
            raise InvalidModelFile(f"{entry.path.name} is not a standalone language model")
        settings = self._settings
        opts = settings.options_for(entry.custom.base if entry.custom else entry.id)
        trained = info.context_length or opts.n_ctx or 2048
        n_ctx = min(opts.n_ctx or trained, trained)
        kv_per_token = kv_bytes_per_layer(info, 1) * (info.layer_count or 1)
        plan = plan_serving(
            n_ctx=n_ctx,
            kv_bytes_per_token=kv_per_token,
            free_bytes=max(0, self._memory.ram() - info.file_size),
            slots=settings.parallel,
            kv_tokens=settings.kv_tokens,
            threads=opts.n_threads,
            state_cache_bytes=settings.prompt_cache_bytes,
            unified=settings.kv_unified,
        )
        gpu_layers = self._gpu_layers(entry, info, plan.kv_tokens, opts.n_gpu_layers or 0)
        custom = entry.custom
        adapters = custom.loras if custom else []
        options = LoadOptions(
            n_ctx=n_ctx,
            kv_tokens=plan.kv_tokens,
            n_seq=plan.slots,
            kv_unified=settings.kv_unified,
            batch_tokens=settings.batch_tokens,
            n_threads=plan.threads,
            n_gpu_layers=gpu_layers,
            flash_attn=settings.flash_attn,
            loras=tuple((self._registry.custom.lora_path(a.path), a.scale) for a in adapters),
        )
        started = time.monotonic()
        log.info("loading model %s", entry.id)
        try:
            scheduler = self._start(entry, options, plan)
        except ModelLoadFailed:
            if options.n_gpu_layers == 0:
                raise
            # A GPU load that fails (driver, memory) falls back to the CPU, and says so.
            self.notices[entry.id] = "loading on the GPU failed; running on the CPU instead"
            log.warning("model %s: %s", entry.id, self.notices[entry.id])
            scheduler = self._start(entry, replace(options, n_gpu_layers=0), plan)
        log.info("loaded model %s in %.2fs", entry.id, time.monotonic() - started)
        return LoadedModel(key, entry, scheduler.model, scheduler, info, plan, time.monotonic())

    def _start(
        self, entry: ModelEntry, options: LoadOptions, plan: ServingPlan
    ) -> Scheduler[BatchModel]:
        settings = self._settings
        return Scheduler(
            lambda: self._call_loader(entry, options),
            make_drafter=self._drafter_for(entry, options, plan),
            slots=plan.slots,
            batch_tokens=settings.batch_tokens,
            step_seconds=settings.step_ms / 1000,
            max_pending=settings.max_queue,
            retry_after=settings.retry_after_seconds,
            state_cache=StateCache(plan.state_cache_bytes) if plan.state_cache_bytes else None,
            shared_kv=options.kv_unified,
        )

    def _drafter_for(
        self, entry: ModelEntry, options: LoadOptions, plan: ServingPlan
    ) -> Callable[[BatchModel], Drafter] | None:
        """The draft model the settings name for `entry` (loaded beside it, on its thread)."""
        opts = self._settings.options_for(entry.custom.base if entry.custom else entry.id)
        if not opts.draft_model:
            return None
        draft = self._registry.resolve(opts.draft_model)
        info = read_gguf(draft.path)
        gpu_layers = self._gpu_layers(draft, info, plan.kv_tokens, opts.n_gpu_layers or 0)
        draft_options = replace(options, n_gpu_layers=gpu_layers, loras=())

        def make(model: BatchModel) -> Drafter:
            small = self._call_loader(draft, draft_options)
            if small.n_vocab != model.n_vocab:
                small.close()
                raise ModelLoadFailed(
                    f"the draft model '{draft.id}' has another vocabulary than '{entry.id}'"
                )
            return Drafter(small, plan.slots, options.batch_tokens)

        return make

    def _call_loader(self, entry: ModelEntry, options: LoadOptions) -> BatchModel:
        try:
            return self._loader(entry.path, options)
        except ModelLoadFailed:
            raise
        except Exception as exc:  # a loader may fail in ways we cannot list; keep the engine up
            raise ModelLoadFailed(f"the model '{entry.id}' could not be loaded") from exc

    def _gpu_layers(
        self, entry: ModelEntry, info: GgufInfo, kv_tokens: int, wanted: int | str
    ) -> int:
        """Layers to offload; refuses, with the numbers, a model that cannot fit at all."""
        gpu_free = self._memory.gpu() if gpu_offload_supported() else None
        fit = estimate(info, kv_tokens, gpu_free or 0)
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
                f"'{entry.id}' needs {host_needed / gb:.2f} GiB of memory with a "
                f"{kv_tokens}-token KV cache and {host_free / gb:.2f} GiB is available. "
                "Lower n_ctx or parallel, or free memory."
            )
        return chosen

    # -- images ------------------------------------------------------------------------------
    def vision(self, entry: ModelEntry) -> tuple[ModelQueue, ThreadPoolExecutor]:
        """The turn-taking and the thread of an entry's image chats."""
        side = self._vision.get(entry.id)
        if side is None:
            side = _Vision(
                queue=ModelQueue(self._settings.max_queue, self._settings.retry_after_seconds),
                thread=ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearth-vision"),
            )
            self._vision[entry.id] = side
        side.last_used = time.monotonic()
        return side.queue, side.thread

    def vision_model(self, entry: ModelEntry) -> VisionModel:
        """The image-chat model of `entry`; call on its vision thread."""
        side = self._vision[entry.id]
        if side.model is None:
            if entry.projector is None:
                raise ModelLoadFailed(f"'{entry.id}' has no vision projector")
            opts = self._settings.options_for(entry.custom.base if entry.custom else entry.id)
            info = read_gguf(entry.path)
            n_ctx = min(opts.n_ctx or 4096, info.context_length or 4096)
            gpu_layers = self._gpu_layers(entry, info, n_ctx, opts.n_gpu_layers or 0)
            threads = opts.n_threads or physical_cores()
            side.model = VisionModel(entry.path, entry.projector, n_ctx, threads, gpu_layers)
        return side.model

    # -- unloading ---------------------------------------------------------------------------
    async def unload_idle(self, limit: float | None = None) -> list[str]:
        """Unload models unused for `limit` seconds (default: the idle time) that no request
        holds; return their ids."""
        limit = self._settings.idle_unload_seconds if limit is None else limit
        now = time.monotonic()
        unloaded: list[str] = []
        loop = asyncio.get_running_loop()
        for key, loaded in list(self._loaded.items()):
            if loaded.users or now - loaded.last_used < limit or loaded.scheduler.pending:
                continue
            self._loaded.pop(key, None)
            await loop.run_in_executor(self._loads, _close, loaded)
            unloaded.append(loaded.entry.id)
            log.info("unloaded idle model %s", loaded.entry.id)
        for model_id, side in list(self._vision.items()):
            model = side.model
            if model is None or side.queue.pending or now - side.last_used < limit:
                continue
            side.model = None
            await loop.run_in_executor(side.thread, model.close)
            unloaded.append(model_id)
        return unloaded

    async def run_idle_unloader(self) -> None:
        """Background task: check for idle models now and then."""
        period = max(1.0, min(30.0, self._settings.idle_unload_seconds / 2))
        while True:
            await asyncio.sleep(period)
            await self.unload_idle()

    def close(self) -> None:
        for loaded in self._loaded.values():
            _close(loaded)
        self._loaded.clear()
        for side in self._vision.values():
            if side.model is not None:
                side.thread.submit(side.model.close).result()
            side.thread.shutdown(wait=True, cancel_futures=True)
        self._loads.shutdown(wait=True, cancel_futures=True)


def _close(loaded: LoadedModel) -> None:
    loaded.scheduler.close()  # which frees the model, on its own thread
