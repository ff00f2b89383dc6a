"""Custom models: small JSON or TOML definitions in the data folder, one per file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from engine.errors import InvalidInput, NotFound
from engine.registry.gguf_file import read_gguf
from engine.schemas import CustomModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class CustomModelStore:
    def __init__(self, folder: Path, models_folder: Path) -> None:
        self._folder = folder
        self._models = models_folder

    def all(self) -> list[CustomModel]:
        if not self._folder.is_dir():
            return []
        found = []
        for path in sorted(self._folder.iterdir()):
            try:
                if path.suffix == ".json":
                    found.append(CustomModel.model_validate_json(path.read_text(encoding="utf-8")))
                elif path.suffix == ".toml":
                    found.append(
                        CustomModel.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
                    )
            except (ValidationError, tomllib.TOMLDecodeError, OSError):
                continue  # a broken definition is skipped, not fatal
        return found

    def lora_path(self, name: str) -> Path:
        """An adapter's file: a name in the models folder or an absolute path; must be a LoRA."""
        path = Path(name)
        if not path.is_absolute():
            if path.name != name:
                raise InvalidInput("A LoRA file name may not hold folders.", param="loras")
            path = self._models / name
        if path.suffix.lower() != ".gguf" or not path.is_file():
            raise InvalidInput(f"The LoRA adapter {path.name} was not found.", param="loras")
        if not read_gguf(path).is_lora_adapter:
            raise InvalidInput(f"{path.name} is not a LoRA adapter.", param="loras")
        return path

    def save(self, model: CustomModel) -> CustomModel:
        for adapter in model.loras:
            self.lora_path(adapter.path)
        self._folder.mkdir(parents=True, exist_ok=True)
        target = self._folder / f"{model.id}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(model.model_dump(), indent=2), encoding="utf-8")
        os.replace(tmp, target)
        return model

    def delete(self, model_id: str) -> None:
        removed = False
        for suffix in (".json", ".toml"):
            path = self._folder / f"{model_id}{suffix}"
            if path.exists():
                path.unlink()
                removed = True
        if not removed:
            raise NotFound(f"No custom model '{model_id}'.", param="id")
