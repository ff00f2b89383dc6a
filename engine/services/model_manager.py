"""Getting models onto the device and off it: pull (catalog or URL), import, remove."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from engine.backends.device_memory import gpu_free_bytes, system_available_bytes
from engine.errors import InvalidInput, InvalidModelFile, ModelNotFound
from engine.registry.catalog import Catalog, CatalogFile
from engine.registry.downloads import Downloader, DownloadProgress, file_from_url
from engine.registry.gguf_file import read_gguf
from engine.registry.model_registry import ModelRegistry
from engine.registry.recommend import Candidate, fits, memory_needed, recommend
from engine.registry.speech_models import SpeechModels
from engine.schemas import CatalogEntry
from engine.services.thread_stream import ThreadStream
from engine.settings import EngineSettings


class ModelManager:
    def __init__(
        self,
        settings: EngineSettings,
        catalog: Catalog,
        registry: ModelRegistry,
        speech: SpeechModels,
        downloader: Downloader,
        executor: Executor,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._registry = registry
        self._speech = speech
        self._downloader = downloader
        self._executor = executor

    def catalog_entries(self) -> list[CatalogEntry]:
        """The catalog with what is installed now (a model manager's "available" list)."""
        installed = set(self._registry.entries()) | set(self._speech.entries())
        entries = [
            CatalogEntry(
                id=m.id,
                name=m.name,
                kind=m.kind,
                license=m.license,
                embedded=m.embedded,
                quantization=m.quantization,
                context_length=m.context_length,
                parameters=m.parameters,
                size_bytes=sum(f.size or 0 for f in m.files) or m.approx_size,
                verified=all(f.sha256 for f in m.files),
                installed=m.id in installed,
            )
            for m in self._catalog.models
        ]
        ram_free, gpu_free = system_available_bytes(), gpu_free_bytes()
        chat = [e for e in entries if e.kind == "chat" and not e.embedded and e.size_bytes]
        for entry in chat:
            assert entry.size_bytes is not None
            entry.memory_bytes = memory_needed(entry.size_bytes)
            entry.fits = fits(entry.size_bytes, ram_free, gpu_free)
        best = recommend([Candidate(e.id, e.size_bytes or 0) for e in chat], ram_free, gpu_free)
        for entry in chat:
            entry.recommended = entry.id == best
        return entries

    @property
    def _folder(self) -> Path:
        return self._settings.dirs.models

    def plan(
        self, model: str | None, url: str | None, sha256: str | None
    ) -> tuple[str, list[CatalogFile]]:
        """What a pull will fetch: a catalog model's files, or one GGUF from a URL."""
        if url:
            entry = file_from_url(url, sha256)
            return Path(entry.name).stem.lower(), [entry]
        card = self._catalog.get(model or "")
        if card is None:
            raise ModelNotFound(
                f"'{model}' is not in the catalog. Give a catalog id or a URL.", param="model"
            )
        return card.id, card.files

    def pull(self, files: list[CatalogFile]) -> ThreadStream[DownloadProgress]:
        """Fetch the files in a worker thread; iterate the stream for progress."""

        def produce(emit: Callable[[DownloadProgress], None], cancel: threading.Event) -> list[str]:
            fetched = []
            for entry in files:
                target = self._folder / entry.name
                self._downloader.fetch(entry, target, emit, cancel)
                if target.suffix == ".gguf":
                    try:
                        read_gguf(target)
                    except InvalidModelFile:
                        target.unlink(missing_ok=True)
                        raise
                fetched.append(entry.name)
            return fetched

        return ThreadStream(self._executor, produce)

    def import_file(self, source: str) -> str:
        """Copy a local GGUF into the models folder after checking its header."""
        path = Path(source)
        if not path.is_absolute() or path.suffix.lower() != ".gguf" or not path.is_file():
            raise InvalidInput("Give the absolute path of an existing .gguf file.", param="path")
        read_gguf(path)
        target = self._folder / path.name
        if target.exists():
            raise InvalidInput(
                f"A model file named {path.name} is already installed.", param="path"
            )
        self._folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(path, partial)
        os.replace(partial, target)
        return path.stem.lower()

    def remove(self, model_id: str) -> list[str]:
        """Delete a downloaded or imported model's files (embedded models stay). A custom
        model is only a definition over its base: removing it never touches the base's file."""
        entry = self._registry.find(model_id)
        model_id = entry.id if entry is not None else model_id
        speech = self._speech.entries().get(model_id)
        found = entry or speech
        if found is None:
            raise ModelNotFound(f"The model '{model_id}' is not installed.", param="model")
        if entry is not None and entry.custom is not None:
            self._registry.custom.delete(model_id)
            return []
        if found.embedded:
            raise InvalidInput(
                f"'{model_id}' ships with Hearth and cannot be removed.", param="model"
            )
        if entry is not None:
            entry.path.unlink(missing_ok=True)
            return [entry.path.name]
        assert speech is not None
        shutil.rmtree(speech.path, ignore_errors=True)
        return [speech.path.name]
