"""Whisper models the engine can use: CTranslate2 folders, loaded lazily and kept."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from engine.backends.whisper_backend import WhisperModel, cuda_available
from engine.errors import InvalidInput, ModelNotFound
from engine.registry.catalog import Catalog, CatalogModel, check_model_name
from engine.registry.model_queue import ModelQueue
from engine.settings import EngineSettings

OPENAI_DEFAULT_NAME = "whisper-1"


@dataclass
class SpeechModelEntry:
    id: str
    path: Path
    size_bytes: int
    created: int
    embedded: bool
    catalog: CatalogModel | None


def _is_model_dir(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


class SpeechModels:
    """Finds Whisper folders in the models folders; loads each once, on first use."""

    def __init__(self, settings: EngineSettings, catalog: Catalog) -> None:
        self._settings = settings
        self._catalog = catalog
        self._loaded: dict[str, WhisperModel] = {}
        self._load_lock = threading.Lock()
        self._queues: dict[str, ModelQueue] = {}

    def entries(self) -> dict[str, SpeechModelEntry]:
        found: dict[str, SpeechModelEntry] = {}
        folders = [(self._settings.dirs.models, False), (self._settings.embedded_models_dir, True)]
        for folder, embedded in folders:
            if not folder.is_dir():
                continue
            root = folder.resolve()
            candidates = (p for p in folder.iterdir() if p.is_dir() and _is_model_dir(p))
            for path in sorted(c for c in candidates if c.resolve().is_relative_to(root)):
                model_id = path.name.lower()
                if model_id in found:
                    continue
                found[model_id] = SpeechModelEntry(
                    id=model_id,
                    path=path,
                    size_bytes=sum(f.stat().st_size for f in path.iterdir() if f.is_file()),
                    created=int(path.stat().st_mtime),
                    embedded=embedded,
                    catalog=self._catalog.get(model_id),
                )
        return found

    def resolve(self, name: str | None) -> SpeechModelEntry:
        if name is not None:
            check_model_name(name)
        wanted = name or OPENAI_DEFAULT_NAME
        if wanted == OPENAI_DEFAULT_NAME:
            wanted = self._settings.default_transcription_model
        wanted = self._settings.model_aliases.get(wanted, wanted)
        entry = self.entries().get(wanted)
        if entry is None:
            raise ModelNotFound(
                f"The transcription model '{name}' is not installed. GET /v1/models lists the "
                "installed ones.",
                param="model",
            )
        return entry

    def queue_for(self, model_id: str) -> ModelQueue:
        if model_id not in self._queues:
            self._queues[model_id] = ModelQueue(
                self._settings.max_queue, self._settings.retry_after_seconds
            )
        return self._queues[model_id]

    def loaded_ids(self) -> list[str]:
        return sorted(self._loaded)

    def load_blocking(self, entry: SpeechModelEntry) -> WhisperModel:
        with self._load_lock:
            model = self._loaded.get(entry.id)
            if model is None:
                device = self._settings.whisper_device
                if device == "auto":
                    device = "cuda" if cuda_available() else "cpu"
                compute = self._settings.whisper_compute_type
                if compute == "default":
                    compute = "float16" if device == "cuda" else "int8"
                model = WhisperModel(entry.path, device, compute, self._settings.whisper_threads)
                self._loaded[entry.id] = model
            return model

    def check_language(self, entry: SpeechModelEntry, model: WhisperModel, language: str) -> None:
        """400 naming a model that can, when this one cannot do `language`."""
        known = entry.catalog.languages if entry.catalog else []
        english_only = not model.multilingual or known == ["en"]
        if not english_only or language.lower() in ("en", "english"):
            return
        names = [m.id for m in self._catalog.multilingual_speech_models()]
        suggestion = "whisper-small" if "whisper-small" in names else next(iter(names), None)
        hint = (
            f" Install a multilingual model such as '{suggestion}' (`hearth models pull "
            f"{suggestion}`) and name it in `model`."
            if suggestion
            else ""
        )
        raise InvalidInput(
            f"The model '{entry.id}' understands English only, not '{language}'.{hint}",
            param="language",
            code="unsupported_language",
        )
