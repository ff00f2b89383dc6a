"""The models the engine can serve: GGUF files in the models folders, custom models over them,
aliases and the default. Loading them is the model pool's work (engine.serving.model_pool)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from engine.errors import InvalidInput, InvalidModelFile, ModelNotFound
from engine.registry.catalog import Catalog, CatalogModel, check_model_name
from engine.registry.custom_models import CustomModelStore
from engine.registry.gguf_file import read_gguf
from engine.schemas import CustomModel
from engine.settings import EngineSettings


@dataclass(frozen=True)
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


def file_id_of(name: str) -> str:
    """A fine-tuned model's OpenAI name (`ft:base:suffix:ftjob-…`) as the id of the file it is
    installed as (ids are file names here); any other name as it is."""
    return name.lower().replace(":", "-") if name.startswith("ft:") else name


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


Listing = tuple[tuple[str, int, int, "Listing"], ...]  # name, time, size, what a folder holds
RACY_NS = 2_000_000_000  # a folder changed this recently may change again within its clock tick


def _listing(folder: Path, depth: int) -> Listing:
    """What a folder holds, with each file's size and time (and a level of subfolders): when
    it is unchanged, so are the models found in it."""
    try:
        with os.scandir(folder) as found:
            items = sorted(found, key=lambda item: item.name)
    except OSError:
        return ()
    listing: list[tuple[str, int, int, Listing]] = []
    for item in items:
        try:
            st = item.stat()
            inside = _listing(Path(item.path), depth - 1) if depth and item.is_dir() else ()
        except OSError:  # a broken link, or gone since the listing: its name still counts
            listing.append((item.name, -1, -1, ()))
            continue
        listing.append((item.name, st.st_mtime_ns, st.st_size, inside))
    return tuple(listing)


def _newest(listing: Listing) -> int:
    return max((max(mtime, _newest(sub)) for _n, mtime, _s, sub in listing), default=0)


class ModelRegistry:
    """Finds models: what is installed now, by id or alias."""

    def __init__(self, settings: EngineSettings, catalog: Catalog) -> None:
        self._settings = settings
        self._catalog = catalog
        self.custom = CustomModelStore(settings.dirs.custom_models, settings.dirs.models)
        self._headers: dict[tuple[str, int, int], tuple[str | None, str | None]] = {}
        self._scanned: tuple[object, dict[str, ModelEntry]] | None = None

    # -- discovery -------------------------------------------------------------------------
    def entries(self) -> dict[str, ModelEntry]:
        """Every model file present now, by id. Scanned again only when the folders' listings
        changed: a scan resolves every path and reads every custom model's definition, which
        was half of a chat request's preparation with eight clients on a 2-core CPU."""
        dirs = self._settings.dirs
        folders = (dirs.models, self._settings.embedded_models_dir, dirs.custom_models)
        listings = tuple(_listing(folder, 1) for folder in folders)
        signature = (folders, listings, tuple(sorted(self._settings.model_aliases.items())))
        scanned = self._scanned
        if scanned is not None and scanned[0] == signature:
            return dict(scanned[1])
        found = self._scan()
        # A change within a file system's clock tick of the last leaves the times as they
        # were: a listing that new is not trusted until it has aged.
        if time.time_ns() - max(_newest(listing) for listing in listings) > RACY_NS:
            self._scanned = (signature, found)
        return dict(found)

    def _scan(self) -> dict[str, ModelEntry]:
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
                kind, tuned = self._header(path)
                if kind is None:
                    continue  # LoRA adapters and projectors are parts, not models
                card = self._catalog.by_file_name(path.name)
                model_id = card.id if card else tuned or path.stem.lower()
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
                    kind=card.kind if card else kind,
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

    def _header(self, path: Path) -> tuple[str | None, str | None]:
        """What a GGUF is, from its header read once per file version: a "chat" or
        "embedding" model, or None for a part of one (a LoRA adapter, a vision projector); and a
        fine-tuned model's `ft:` name, kept as its general.name (its file name has `-` for
        `:`), or None."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._headers:
            try:
                info = read_gguf(path)
            except InvalidModelFile:
                self._headers[key] = ("chat", None)  # listed, so that using it says what is wrong
                return self._headers[key]
            part = info.is_lora_adapter or info.is_vision_projector
            pooled = info.arch_value("pooling_type") not in (None, 0)
            name = str(info.metadata.get("general.name") or "")
            tuned = name.startswith("ft:") and file_id_of(name) == path.stem.lower()
            kind = None if part else ("embedding" if pooled else "chat")
            self._headers[key] = (kind, name if tuned else None)
        return self._headers[key]

    def find(self, name: str) -> ModelEntry | None:
        """The entry named `name`, a fine-tuned model by its `ft:` name or its file's id."""
        entries = self.entries()
        if name in entries:
            return entries[name]
        wanted = file_id_of(name)
        return next((e for e in entries.values() if file_id_of(e.id) == wanted), None)

    def resolve(self, name: str | None) -> ModelEntry:
        """The entry for a model id or alias; None means the default model."""
        if name is not None:
            check_model_name(name)
        wanted = name or self._settings.default_model
        wanted = self._settings.model_aliases.get(wanted, wanted)
        entry = self.find(wanted)
        if entry is None:
            raise ModelNotFound(
                f"The model '{name or wanted}' does not exist. GET /v1/models lists the "
                "models installed here.",
                param="model",
            )
        return entry

    # -- custom models -----------------------------------------------------------------------
    def add_custom(self, model: CustomModel) -> CustomModel:
        """Save a custom model (replacing one of the same id); a model file's id is taken."""
        entries = self.entries()
        taken = entries.get(model.id)
        if taken is not None and taken.custom is None:
            raise InvalidInput(f"'{model.id}' is already an installed model's id.", param="id")
        if model.base not in entries:
            raise InvalidInput(f"The base model '{model.base}' is not installed.", param="base")
        return self.custom.save(model)

    def copy(self, source: str, destination: str) -> CustomModel:
        """A model under another name (Ollama's copy): a custom model over the same file, with
        the source's prompt, defaults and adapters when the source is a custom model itself."""
        entry = self.resolve(source)
        base = entry.custom.model_dump() if entry.custom else {"base": entry.id}
        try:
            model = CustomModel.model_validate({**base, "id": destination})
        except ValidationError as exc:
            raise InvalidInput(
                "A model's new name is lowercase letters, digits, '.', '_' and '-' (64 at most).",
                param="destination",
            ) from exc
        return self.add_custom(model)

    def aliases_of(self, model_id: str) -> list[str]:
        return sorted(a for a, target in self._settings.model_aliases.items() if target == model_id)
