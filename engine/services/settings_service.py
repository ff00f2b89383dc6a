"""Settings changed while the engine runs: checked, applied to the live objects, and kept in
`engine.toml` so the next start has them too."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.schemas import EngineSettingsView, SettingsUpdate
from engine.security.redaction import Redactor
from engine.services.generation import GenerationService
from engine.serving.model_pool import ModelPool
from engine.settings import EngineSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Changing one of these only matters at the next load, so idle models are unloaded at once.
LOAD_OPTIONS = frozenset({"n_ctx", "n_threads", "n_gpu_layers", "parallel"})


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def write_toml(path: Path, values: dict[str, Any]) -> None:
    """Write flat settings atomically (the file only ever holds top-level keys and lists)."""
    lines = [f"{key} = {_toml_value(v)}" for key, v in sorted(values.items()) if v is not None]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("# Written by Hearth's settings; safe to edit.\n" + "\n".join(lines) + "\n")
    os.replace(tmp, path)


class SettingsService:
    def __init__(
        self,
        settings: EngineSettings,
        redactor: Redactor,
        generation: GenerationService,
        pool: ModelPool,
        gpu_offload: bool,
    ) -> None:
        self._settings = settings
        self._redactor = redactor
        self._generation = generation
        self._pool = pool
        self._gpu_offload = gpu_offload
        generation.moderation_enabled = settings.moderation

    @property
    def file(self) -> Path:
        return self._settings.dirs.config / "engine.toml"

    def view(self, reloaded: list[str] | None = None) -> EngineSettingsView:
        s = self._settings
        return EngineSettingsView(
            models_dir=str(s.dirs.models),
            default_model=s.default_model,
            default_transcription_model=s.default_transcription_model,
            n_ctx=s.n_ctx,
            n_threads=s.n_threads or 0,
            n_gpu_layers=s.n_gpu_layers,
            route_policy=s.route_policy,
            default_remote_model=s.default_remote_model,
            redact_words=s.redact_words,
            redact_patterns=s.redact_patterns,
            moderation=s.moderation,
            memory_from_chat=s.memory_from_chat,
            audit_content=s.audit_content,
            ollama_without_token=s.ollama_without_token,
            gpu_offload=self._gpu_offload,
            reloaded=reloaded or [],
        )

    def check(self, update: SettingsUpdate) -> dict[str, Any]:
        """The changed values, in the settings' own types; raises InvalidInput on a bad one."""
        changes = update.model_dump(exclude_unset=True)
        if "models_dir" in changes:
            folder = changes["models_dir"]
            if not folder:
                changes["models_dir"] = None
            else:
                path = Path(folder).expanduser()
                if not path.is_absolute():
                    raise InvalidInput("The models folder must be a full path.", param="models_dir")
                changes["models_dir"] = path
        if changes.get("n_threads") == 0:
            changes["n_threads"] = None
        for pattern in changes.get("redact_patterns") or []:
            try:
                Redactor((), [pattern])
            except Exception as exc:  # re.error and its kin: a user's pattern, said plainly
                raise InvalidInput(
                    f"'{pattern[:60]}' is not a valid regular expression.", param="redact_patterns"
                ) from exc
        return changes

    def apply(self, changes: dict[str, Any]) -> None:
        """Set the live values and keep them (blocking: writes the settings file)."""
        s = self._settings
        for key, value in changes.items():
            setattr(s, key, value)
        if "models_dir" in changes and s.models_dir is not None:
            s.models_dir.mkdir(parents=True, exist_ok=True)
        if {"redact_words", "redact_patterns"} & changes.keys():
            self._redactor.configure(s.redact_words, s.redact_patterns)
        self._generation.moderation_enabled = s.moderation
        kept: dict[str, Any] = {}
        if self.file.exists():
            kept = tomllib.loads(self.file.read_text(encoding="utf-8"))
        for key, value in changes.items():
            kept[key] = str(value) if isinstance(value, Path) else value
            if value is None:
                kept.pop(key, None)
        write_toml(self.file, kept)

    async def update(self, update: SettingsUpdate) -> EngineSettingsView:
        """Check, apply and keep a change; idle models are unloaded when a load option changed,
        so the next request loads them with it."""
        changes = self.check(update)
        await asyncio.to_thread(self.apply, changes)
        reloaded = await self._pool.unload_idle(0) if LOAD_OPTIONS & changes.keys() else []
        return self.view(reloaded)
