"""Multipart uploads: the form read by the route itself (so the size cap can stop it), the file
saved under the cache folder, the fields handed back as plain strings."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from engine.errors import InvalidInput


@dataclass
class Upload:
    path: Path
    filename: str
    fields: dict[str, list[str]]

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def multipart_body(**fields: str) -> dict[str, object]:
    """The OpenAPI description of a route that reads its form itself: `file` plus `fields`
    (name -> what it means), so the API reference lists them."""
    properties: dict[str, object] = {"file": {"type": "string", "format": "binary"}}
    properties.update({k.replace("__", "[]"): {"type": "string", "description": v}
                       for k, v in fields.items()})  # fmt: skip
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True,
                            "content": {"multipart/form-data": {"schema": schema}}}}  # fmt: skip


async def read_upload(request: Request, folder: Path) -> Upload:
    """Read a multipart form with exactly one file under `file`; 400 for anything else."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        raise InvalidInput("Send the file as multipart/form-data under 'file'.", param="file")
    try:
        form = await request.form(max_files=1, max_fields=64)
    except MultiPartException as exc:
        raise InvalidInput(f"The multipart form is invalid: {exc.message}", param="file") from exc
    fields: dict[str, list[str]] = {}
    upload: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "file":
                raise InvalidInput(f"Unexpected file field '{key}'.", param=key)
            upload = value
        else:
            fields.setdefault(key, []).append(value)
    if upload is None:
        raise InvalidInput("Missing required parameter: 'file'.", param="file")
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.filename or "").suffix.lower()[:10]
    target = folder / f"{uuid.uuid4().hex}{suffix if suffix.isascii() else ''}"
    loop = asyncio.get_running_loop()

    def save() -> None:
        upload.file.seek(0)
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)

    try:
        await loop.run_in_executor(None, save)
    finally:
        await form.close()
    return Upload(path=target, filename=display_name(upload.filename), fields=fields)


def display_name(raw: str | None, default: str = "audio") -> str:
    """An upload's name as shown back: its last part under either platform's separators
    (a name is never a path), without control characters."""
    name = PureWindowsPath(raw or "").name  # splits at both '/' and '\\'
    name = "".join(ch for ch in name if ch.isprintable())[:255].strip()
    return name if name not in ("", ".", "..") else default
