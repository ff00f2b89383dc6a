"""Image parts of chat messages: only data URLs, each decoded and checked before a model sees it.

Remote http(s) URLs are refused unless the settings allow them (then only public addresses,
see image_fetch); `file:` URLs are never followed.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

from engine.backends.image_decoder import load_image, scale_to
from engine.errors import InvalidInput
from engine.schemas import ChatMessage, ImagePart, TextPart
from engine.services.image_fetch import fetch_image

MAX_SIDE = 1024


@dataclass(frozen=True)
class RemoteImages:
    """Whether http(s) image URLs may be fetched, and within which limits."""

    allowed: bool = False
    max_bytes: int = 20 * 1024 * 1024
    time_limit: float = 10.0


def _data_of(url: str, param: str, remote: RemoteImages) -> bytes:
    if url.startswith(("http://", "https://")):
        if not remote.allowed:
            raise InvalidInput(
                "Remote image URLs are not fetched (HEARTH_ALLOW_REMOTE_IMAGES is off); send "
                "the image as a data URL (data:image/png;base64,...).",
                param=param,
                code="remote_image_refused",
            )
        return fetch_image(
            url, max_bytes=remote.max_bytes, time_limit=remote.time_limit, param=param
        )
    if not url.startswith("data:") or ";base64," not in url:
        raise InvalidInput("An image must be a base64 data URL.", param=param, code="invalid_image")
    try:
        return base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "The image data URL is not valid base64.", param=param, code="invalid_image"
        ) from exc


def checked_data_url(
    url: str, max_pixels: int, param: str, remote: RemoteImages | None = None
) -> str:
    """A PNG data URL re-encoded from a checked image."""
    data = _data_of(url, param, remote or RemoteImages())
    try:
        image = load_image(data, max_pixels)
    except InvalidInput as exc:
        exc.param = param
        raise
    out = io.BytesIO()
    scale_to(image, MAX_SIDE).save(out, format="PNG")  # type: ignore[attr-defined]
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def vision_messages(
    messages: list[ChatMessage], max_pixels: int, screen: Any, remote: RemoteImages
) -> list[dict[str, Any]]:
    """Messages for the vision handler: text screened, images checked and re-encoded."""
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        role = "system" if message.role == "developer" else message.role
        if not isinstance(message.content, list):
            out.append({"role": role, "content": screen(message.text())})
            continue
        parts: list[dict[str, Any]] = []
        for j, part in enumerate(message.content):
            if isinstance(part, TextPart):
                parts.append({"type": "text", "text": screen(part.text)})
            elif isinstance(part, ImagePart):
                param = f"messages[{i}].content[{j}]"
                url = checked_data_url(part.image_url.url, max_pixels, param, remote)
                parts.append({"type": "image_url", "image_url": {"url": url}})
        out.append({"role": role, "content": parts})
    return out
