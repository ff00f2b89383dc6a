"""What a dropped or attached file is, and how it goes to the engine. Qt-free."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Literal

AUDIO = frozenset(
    {".wav", ".mp3", ".m4a", ".ogg", ".opus", ".flac", ".webm", ".mp4", ".mkv", ".mov", ".aac"}
)
IMAGES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
IMAGE_PART_LIMIT = 20 * 1024 * 1024

Kind = Literal["audio", "image", "model"]


def kind_of(path: Path) -> Kind | None:
    suffix = path.suffix.lower()
    if suffix in AUDIO:
        return "audio"
    if suffix in IMAGES:
        return "image"
    if suffix == ".gguf":
        return "model"
    return None


def image_part(path: Path) -> dict[str, object]:
    """An OpenAI image content part holding the file as a data URL."""
    data = path.read_bytes()
    if len(data) > IMAGE_PART_LIMIT:
        raise ValueError(f"{path.name} is larger than {IMAGE_PART_LIMIT // (1024 * 1024)} MB.")
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return {"type": "image_url", "image_url": {"url": url}}
